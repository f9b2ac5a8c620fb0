#!/usr/bin/env bash
# Next-frame prediction on bouncing balls (Sutskever et al. 2008 setting: 30x30 grey, 3 balls, 100
# frames; generated, nothing to download): corpus, a multi-scale GAN and its no-adversarial baseline,
# export, 4 -> 10 rollouts on the test set and per-step PSNR / SSIM / sharpness against copy-last-frame.
#
#   ./run.sh                                                   the CPU demo: 200 videos, conf/tiny.yaml
#   ./run.sh --ngpu 1 --conf conf/mathieu2016.yaml --local_data_opts "--num_episodes 4000"
#                                                              the paper-size model (GPU)
#   ./run.sh --stage 4 --stop-stage 5 --steps 20               roll out and score again, 20 steps
#   ./run.sh --help                                            every option
set -euo pipefail

./vp.sh \
    --train_set train \
    --valid_set dev \
    --test_sets test \
    --conf conf/tiny.yaml \
    --local_data_opts "--num_episodes 200" \
    --corpus_desc "bouncing balls" \
    --steps 10 \
    --rollout_starts "0 30 60" \
    --ngpu 0 \
    --cpu_threads 1 \
    "$@"
