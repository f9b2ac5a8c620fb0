#!/usr/bin/env bash
# Stage 0 of egs/atari/vp1: records Atari game play with its actions through ale-py (seqgan data atari;
# the ale-py wheel ships the ROMs, nothing is downloaded) under downloads/ and copies its data
# directories to data/{train,dev,test}_<game>. Recording is skipped when the corpus is already
# complete, and data/ is left untouched when it is already up to date.
#   local/data.sh --game Pong --num_episodes 12 --max_frames 400
set -euo pipefail

game=Pong            # ALE game: Pong, Breakout, SpaceInvaders, ... (seqgan data atari --list-games)
num_episodes=40      # recorded episodes
split=0.8,0.1,0.1    # train,dev,test: fractions or episode counts
max_frames=1000      # frames per episode at most (an episode also ends at game over)
policy=sticky        # random (uniform each step) or sticky (repeat the last action with --repeat_prob)
repeat_prob=0.75     # sticky policy: probability of repeating the previous action
frameskip=4          # emulator frames per recorded step (as ALE v5)
sticky_actions=0.25  # the emulator's repeat_action_probability (as ALE v5)
crop=34,16,0,0       # rows/columns removed: top,bottom,left,right (Pong: the score and the bottom wall)
resize=80,80         # H,W after cropping (empty: keep)
grayscale=true       # record one luma channel
seed=0               # recording seed (the same seed gives the same episodes)
branches=false       # true: also record the frames every action leads to from every state (data.branch_prob)
branch_steps=1       # with --branches true: steps each action is held for
corpus_dir=""        # where the corpus goes (default: downloads/<game>_<settings>_seed<seed>)
help_message="Usage: $0 [options]
Records Atari game play with actions and writes data/{train,dev,test}_<game>."
# shellcheck disable=SC1091
. ./path.sh
# shellcheck source=SCRIPTDIR/../utils/parse_options.sh
. utils/parse_options.sh

id=$(python -c 'import sys; from seqgan.data.synth.atari import rom_id; print(rom_id(sys.argv[1]))' "${game}") ||
    { echo "$0: unknown game '${game}'; list them with: seqgan data atari --list-games --out x" >&2; exit 1; }
opts=(--game "${game}" --num-episodes "${num_episodes}" --max-frames "${max_frames}" --policy "${policy}"
    --repeat-prob "${repeat_prob}" --frameskip "${frameskip}" --sticky-actions "${sticky_actions}"
    --seed "${seed}")
read -r -a _split <<<"${split//,/ }"
opts+=(--split "${_split[@]}")
read -r -a _crop <<<"${crop//,/ }"
[ "${#_crop[@]}" -eq 0 ] || opts+=(--crop "${_crop[@]}")
read -r -a _resize <<<"${resize//,/ }"
[ "${#_resize[@]}" -eq 0 ] || opts+=(--resize "${_resize[@]}")
[ "${grayscale}" = false ] || opts+=(--grayscale)
[ "${branches}" = false ] || opts+=(--branches --branch-steps "${branch_steps}")
if [ -z "${corpus_dir}" ]; then
    settings="${num_episodes}x${max_frames}_split${split//,/-}_${policy}_crop${crop//[, ]/-}_${resize//[, ]/x}"
    [ "${grayscale}" = false ] || settings+=_grey
    [ "${branches}" = false ] || settings+=_branches
    [ "${branches}" = false ] || [ "${branch_steps}" = 1 ] || settings+="${branch_steps}"
    corpus_dir=downloads/${id}_${settings}_seed${seed}
fi
seqgan data atari --out "${corpus_dir}" "${opts[@]}"
utils/copy_frame_sets.sh --suffix "_${id}" "${corpus_dir}" data "train dev test"
echo "$0: data/{train,dev,test}_${id} from ${corpus_dir}"
