#!/usr/bin/env bash
# SEGAN on the synthetic noisy-speech corpus (espeak-ng talkers + synthetic noises; nothing to
# download): corpus, training, export, enhancement and scoring on a laptop CPU (`make demo`).
#
#   ./run.sh                                                    the demo: small corpus, conf/small.yaml
#   ./run.sh --conf conf/tiny.yaml --local_data_opts "--size tiny"        a 1-2 minute smoke test
#   ./run.sh --ngpu 1 --conf conf/segan.yaml --local_data_opts "--size medium"   the paper's SEGAN (GPU)
#   ./run.sh --stage 4 --stop-stage 5                           enhance and score again
#   ./run.sh --train_threads 2                                  train on 2 cores (a quiet machine)
#   ./run.sh --help                                             every option
set -euo pipefail

./se.sh \
    --train_set train \
    --valid_set dev \
    --test_sets test \
    --conf conf/small.yaml \
    --ngpu 0 \
    --train_threads 1 \
    --nj 2 \
    "$@"
