#!/usr/bin/env bash
# Next-frame prediction on moving digits (two digits bouncing in 64x64 with Moving MNIST's motion, 20
# frames; scikit-learn's bundled digits, so nothing to download): corpus, a multi-scale GAN and its
# no-adversarial baseline, export, 4 -> 10 rollouts and per-step PSNR / SSIM / sharpness against
# copy-last-frame. The sklearn digits are NOT MNIST: the numbers are not comparable with Moving MNIST
# results (see README.md).
#
#   ./run.sh                                                   the CPU demo: 300 videos, conf/tiny.yaml
#   ./run.sh --local_data_opts "--mnist $HOME/data/mnist"          real MNIST digits (idx files you have)
#   ./run.sh --ngpu 1 --conf conf/mathieu2016.yaml --local_data_opts "--num_episodes 10000"   (GPU)
#   ./run.sh --help                                            every option
set -euo pipefail

./vp.sh \
    --train_set train \
    --valid_set dev \
    --test_sets test \
    --conf conf/tiny.yaml \
    --local_data_opts "--num_episodes 300" \
    --corpus_desc "moving digits (sklearn 8x8 digits upscaled; not Moving MNIST)" \
    --steps 10 \
    --rollout_starts "0 6" \
    --ngpu 0 \
    --cpu_threads 1 \
    "$@"
