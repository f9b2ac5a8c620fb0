#!/usr/bin/env bash
# Action-conditioned next-frame prediction on Atari game play recorded through ale-py (the ROMs come
# with its wheel; nothing is downloaded): a sticky random policy's episodes with their actions, a
# multi-scale GAN whose generator and discriminator see the action (Oh et al. 2015 / GameGAN style) and
# its no-adversarial baseline, 4 -> 10 rollouts with the recorded actions, per-step PSNR / SSIM /
# sharpness against copy-last-frame, and the action sensitivity (does the action move the paddle?).
#
#   ./run.sh                                                  Pong on a CPU: 20 short episodes, conf/tiny.yaml
#   ./run.sh --game Breakout --sensitivity_region none        another game (see README.md)
#   ./run.sh --ngpu 1 --conf conf/mathieu2016.yaml --local_data_opts "--num_episodes 200"   (GPU)
#   ./run.sh --stage 5                                        score again
#   ./run.sh --help                                           every option of vp.sh
#
# --game GAME is this script's option (default Pong); it names the data sets (data/train_<game>, ...)
# and is given to local/data.sh before the --local_data_opts given here.
set -euo pipefail

game=Pong
args=()
user_data_opts=""
while [ "$#" -gt 0 ]; do
    case "$1" in
        --game) game=${2:?--game needs a value}; shift 2 ;;
        --game=*) game=${1#*=}; shift ;;
        --local_data_opts | --local-data-opts) user_data_opts=${2:?$1 needs a value}; shift 2 ;;
        --local_data_opts=* | --local-data-opts=*) user_data_opts=${1#*=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
# shellcheck disable=SC1091
. ./path.sh
id=$(python -c 'import sys; from seqgan.data.synth.atari import rom_id; print(rom_id(sys.argv[1]))' "${game}")

./vp.sh \
    --train_set "train_${id}" \
    --valid_set "dev_${id}" \
    --test_sets "test_${id}" \
    --conf conf/tiny.yaml \
    --local_data_opts "--game ${game} --num_episodes 20 --split 12,2,6 --max_frames 300 ${user_data_opts}" \
    --corpus_desc "Atari ${game} (ale-py v5 settings, sticky random policy)" \
    --steps 10 \
    --rollout_starts "60 140 220" \
    --ngpu 0 \
    --cpu_threads 1 \
    "${args[@]}"
