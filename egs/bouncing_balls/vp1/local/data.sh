#!/usr/bin/env bash
# Stage 0 of egs/bouncing_balls/vp1: generates the bouncing-balls corpus (seqgan data bouncing-balls;
# Sutskever et al. 2008 setting: 30x30 grey, 3 balls, 100 frames) under downloads/ and copies its data
# directories to data/{train,dev,test}. Generation is skipped when the corpus is already complete, and
# data/ is left untouched when it is already up to date.
#   local/data.sh --num_episodes 100
set -euo pipefail

num_episodes=1000    # videos in the corpus (split 80/10/10 into train/dev/test)
num_frames=100       # frames per video
size=30              # frame side in pixels
num_balls=3          # balls per video
seed=0               # corpus seed (the same seed gives the same files)
corpus_dir=""        # where the corpus goes (default: downloads/balls<size>_b<balls>_n<episodes>_t<frames>_seed<seed>)
help_message="Usage: $0 [options]
Generates the bouncing-balls corpus and data/{train,dev,test}."
# shellcheck disable=SC1091
. ./path.sh
# shellcheck source=SCRIPTDIR/../utils/parse_options.sh
. utils/parse_options.sh

[ -n "${corpus_dir}" ] ||
    corpus_dir=downloads/balls${size}_b${num_balls}_n${num_episodes}_t${num_frames}_seed${seed}
seqgan data bouncing-balls --out "${corpus_dir}" --num-episodes "${num_episodes}" --num-frames "${num_frames}" \
    --size "${size}" --num-balls "${num_balls}" --seed "${seed}"
utils/copy_frame_sets.sh "${corpus_dir}" data "train dev test"
echo "$0: data/{train,dev,test} from ${corpus_dir}"
