#!/usr/bin/env bash
# Stage 0 of egs/moving_digits/vp1: generates moving-digit videos (seqgan data moving-digits: two digits
# bouncing in a 64x64 canvas with Moving MNIST's motion, 20 frames) under downloads/ and copies its data
# directories to data/{train,dev,test}. The digits are scikit-learn's bundled 8x8 digits upscaled to
# 28x28 unless --mnist DIR gives real MNIST; --moving_mnist FILE converts the published
# mnist_test_seq.npy instead. Generation is skipped when the corpus is already complete.
#   local/data.sh --num_episodes 300
set -euo pipefail

num_episodes=2000    # videos (split 80/10/10 into train/dev/test; with --moving_mnist: at most 10000)
num_frames=20        # frames per video
num_digits=2         # digits per video
canvas=64            # frame side in pixels
mnist=""             # directory holding train-images-idx3-ubyte[.gz] (real MNIST digits)
moving_mnist=""      # mnist_test_seq.npy to convert (the published Moving MNIST test set)
seed=0               # corpus seed (the same seed gives the same files)
corpus_dir=""        # where the corpus goes (default: downloads/<source>_<settings>_seed<seed>)
help_message="Usage: $0 [options]
Generates moving-digit videos and data/{train,dev,test}."
# shellcheck disable=SC1091
. ./path.sh
# shellcheck source=SCRIPTDIR/../utils/parse_options.sh
. utils/parse_options.sh

opts=(--num-episodes "${num_episodes}" --seed "${seed}")
if [ -n "${moving_mnist}" ]; then
    [ -z "${mnist}" ] || { echo "$0: give --mnist or --moving_mnist, not both" >&2; exit 1; }
    opts+=(--moving-mnist "${moving_mnist}")
    name=mmnist_n${num_episodes}
else
    opts+=(--num-frames "${num_frames}" --num-digits "${num_digits}" --canvas "${canvas}")
    if [ -n "${mnist}" ]; then
        opts+=(--mnist "${mnist}")
        name=mnist
    else
        name=sklearn
    fi
    name=${name}${canvas}_d${num_digits}_n${num_episodes}_t${num_frames}
fi
[ -n "${corpus_dir}" ] || corpus_dir=downloads/${name}_seed${seed}
seqgan data moving-digits --out "${corpus_dir}" "${opts[@]}"
utils/copy_frame_sets.sh "${corpus_dir}" data "train dev test"
echo "$0: data/{train,dev,test} from ${corpus_dir}"
