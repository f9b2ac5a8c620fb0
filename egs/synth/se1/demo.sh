#!/usr/bin/env bash
# The CPU demo (`make demo`): on the synthetic noisy-speech corpus (made here, nothing downloaded), a
# MetricGAN+-style enhancer and its no-adversarial ablation, trained, enhanced and scored on 2 cores:
#
#   1. stages 0-2: the corpus, its formatting, and conf/demo_pretrain.yaml (the generator with its
#      reconstruction term alone) on both cores;
#   2. stages 2-4, side by side on one core each, from those weights: conf/demo.yaml (the metric
#      discriminator joins) and the same configuration without its adversarial term (the ablation:
#      exp/train_demo_noadv, same generator steps);
#   3. stage 5: both scored on the test set (talkers and noise sources never heard in training);
#      exp/train_demo/RESULTS.md puts the noisy input, the ablation and the GAN side by side and says
#      where the GAN is worse than either.
#
#   ./demo.sh                 everything (about 15 minutes on 2 cores: see README.md)
#   ./demo.sh --stage 5       score again
set -euo pipefail

stage=0              # 0 everything, 2 from the pretraining, 3 from the side-by-side training, 5 scoring
local_data_opts=""   # options of local/data.sh (the corpus; default: the small one)
pretrain_args=""     # extra seqgan train overrides of the pretraining, e.g. "train.max_steps=100"
train_args=""        # extra overrides of the GAN and of its ablation, e.g. "train.sample_interval=0"
ablation_steps=250   # the ablation's steps: conf/demo.yaml's max_steps minus its d_warmup_steps
# shellcheck disable=SC2034  # read by utils/parse_options.sh
help_message="Usage: $0 [--stage N] [--local_data_opts ...] [--pretrain_args ...] [--train_args ...] [--ablation_steps N]"
# shellcheck source=SCRIPTDIR/utils/parse_options.sh
. utils/parse_options.sh

common=(--train_set train --valid_set dev --test_sets test --ngpu 0)
init=exp/train_demo_pretrain/checkpoints/last.pt
gan=(--conf conf/demo.yaml --init_from "${init}" --train_args "${train_args}")
ablation=(--conf conf/demo.yaml --init_from "${init}" --tag noadv --train_args
    "${train_args} loss.adversarial_weight=0 train.n_critic=0 train.d_warmup_steps=0 train.max_steps=${ablation_steps}")

if [ "${stage}" -le 2 ]; then
    ./se.sh "${common[@]}" --conf conf/demo_pretrain.yaml --train_threads 2 --nj 2 \
        --local_data_opts "${local_data_opts}" --train_args "${pretrain_args}" --stage "${stage}" --stop-stage 2
fi
if [ "${stage}" -le 4 ]; then
    mkdir -p exp
    echo "$0: training the GAN and its ablation side by side (the ablation's log: exp/train_demo_noadv.log)"
    ./se.sh "${common[@]}" "${ablation[@]}" --train_threads 1 --nj 1 --stage 2 --stop-stage 4 \
        >exp/train_demo_noadv.log 2>&1 &
    ablation_pid=$!
    gan_status=0
    ./se.sh "${common[@]}" "${gan[@]}" --train_threads 1 --nj 1 --stage 2 --stop-stage 4 || gan_status=$?
    ablation_status=0
    wait "${ablation_pid}" || ablation_status=$?
    if [ "${ablation_status}" -ne 0 ]; then
        tail -n 20 exp/train_demo_noadv.log >&2
        echo "$0: the ablation failed (exit ${ablation_status}); its log: exp/train_demo_noadv.log" >&2
        exit "${ablation_status}"
    fi
    [ "${gan_status}" -eq 0 ] || exit "${gan_status}"
fi
./se.sh "${common[@]}" "${ablation[@]}" --nj 2 --stage 5 --stop-stage 5 >>exp/train_demo_noadv.log 2>&1 ||
    { tail -n 20 exp/train_demo_noadv.log >&2; exit 1; }
# the noisy input's scores are the same for both: the GAN's stage 5 finds them up to date
if [ -d exp/train_demo_noadv/scores/test/noisy ] && [ ! -e exp/train_demo/scores/test/noisy ]; then
    mkdir -p exp/train_demo/scores/test
    cp -rp exp/train_demo_noadv/scores/test/noisy exp/train_demo/scores/test/noisy
fi
./se.sh "${common[@]}" "${gan[@]}" --nj 2 --stage 5 --stop-stage 5 --ablation_exp exp/train_demo_noadv
