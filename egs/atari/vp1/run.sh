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
# --game and --local_data_opts are this script's options (parse_options.sh); every other option goes
# on to vp.sh. The game names the data sets (data/train_<game>, ...).
set -euo pipefail

game=Pong           # the game: an ale-py ROM (Pong, Breakout, SpaceInvaders, ...; see README.md)
local_data_opts=""  # more options of local/data.sh, after the recipe's own (--game, --num_episodes, ...)
help_message="Usage: $0 [--game GAME] [--local_data_opts OPTS] [options of vp.sh]
Action-conditioned next-frame prediction on Atari game play (see the top of run.sh and README.md)."
pass_unknown_options=true
# shellcheck source=SCRIPTDIR/utils/parse_options.sh
. utils/parse_options.sh
# shellcheck disable=SC1091
. ./path.sh
id=$(python -c 'import sys; from seqgan.data.synth.atari import rom_id; print(rom_id(sys.argv[1]))' "${game}")

./vp.sh \
    --train_set "train_${id}" \
    --valid_set "dev_${id}" \
    --test_sets "test_${id}" \
    --conf conf/tiny.yaml \
    --local_data_opts "--game ${game} --num_episodes 20 --split 12,2,6 --max_frames 300 ${local_data_opts}" \
    --corpus_desc "Atari ${game} (ale-py v5 settings, sticky random policy)" \
    --steps 10 \
    --rollout_starts "60 140 220" \
    --ngpu 0 \
    --cpu_threads 1 \
    "$@"
