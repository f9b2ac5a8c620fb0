#!/usr/bin/env bash
# Action-conditioned next-frame prediction on Atari game play recorded through ale-py (the ROMs come
# with its wheel; nothing is downloaded): a sticky random policy's episodes with their actions, a
# multi-scale GAN whose generator and discriminator see the action (Oh et al. 2015 / GameGAN style) and
# its no-adversarial baseline, 4 -> 10 rollouts with the recorded actions, per-step PSNR / SSIM /
# sharpness against copy-last-frame, the action sensitivity (does the action move the paddle?), and
# (stage 6) the counterfactual evaluation against the emulator: every action from held-out states.
#
#   ./run.sh                                                  Pong on a CPU: 20 short episodes, conf/tiny.yaml
#   ./run.sh --game Breakout --sensitivity_region none        another game (see README.md)
#   ./run.sh --ngpu 1 --conf conf/mathieu2016.yaml --local_data_opts "--num_episodes 200"   (GPU)
#   ./run.sh --stage 5                                        score again
#   ./run.sh --stage 6                                        the counterfactual evaluation alone
#   ./run.sh --help                                           every option of vp.sh
#
# Stages 0-5 are recipes/vp.sh's; stage 6 is this recipe's (local/counterfactual.py). --game,
# --local_data_opts and the options below are this script's (parse_options.sh); they and every other
# option go on to vp.sh. The game names the data sets (data/train_<game>, ...).
set -euo pipefail

game=Pong           # the game: an ale-py ROM (Pong, Breakout, SpaceInvaders, ...; see README.md)
local_data_opts=""  # more options of local/data.sh, after the recipe's own (--game, --num_episodes, ...)
stage=0             # first stage to run (0-5: recipes/vp.sh; 6: counterfactual evaluation; 7: a played session)
stop_stage=7        # last stage to run
conf=conf/tiny.yaml # training configuration of the GAN
tag=""              # suffix of the experiment name
exp_name=""         # experiment name (default: train_<game>_<conf basename>[_<tag>])
expdir=exp          # experiments go under this directory
baseline_tag=l1     # the baseline is <exp_name>_<baseline_tag>; empty: no baseline
steps=10            # predicted frames per test sequence; stage 6: steps each action is held for
rollout_starts="60 140 220"  # first context frame of the test sequences (and stage 6's states) per episode
help_message="Usage: $0 [--game GAME] [--local_data_opts OPTS] [options of vp.sh]
Action-conditioned next-frame prediction on Atari game play (see the top of run.sh and README.md)."
pass_unknown_options=true
# shellcheck source=SCRIPTDIR/utils/parse_options.sh
. utils/parse_options.sh
# shellcheck disable=SC1091
. ./path.sh
id=$(python -c 'import sys; from seqgan.data.synth.atari import rom_id; print(rom_id(sys.argv[1]))' "${game}")
corpus_desc="Atari ${game} (ale-py v5 settings, sticky random policy)"

./vp.sh \
    --train_set "train_${id}" \
    --valid_set "dev_${id}" \
    --test_sets "test_${id}" \
    --conf "${conf}" \
    --tag "${tag}" \
    --exp_name "${exp_name}" \
    --expdir "${expdir}" \
    --baseline_tag "${baseline_tag}" \
    --stage "${stage}" \
    --stop_stage "${stop_stage}" \
    --local_data_opts "--game ${game} --num_episodes 20 --split 12,2,6 --max_frames 300 ${local_data_opts}" \
    --corpus_desc "${corpus_desc}" \
    --steps "${steps}" \
    --rollout_starts "${rollout_starts}" \
    --ngpu 0 \
    --cpu_threads 1 \
    "$@"
for arg in "$@"; do
    case "${arg}" in --help | -h) exit 0 ;; esac
done

if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
    exp=${expdir}/${exp_name:-train_${id}_$(basename "${conf}" .yaml)${tag:+_${tag}}}
    models=(-m "GAN=${exp}/model.safetensors")
    [ -z "${baseline_tag}" ] || models+=(-m "${baseline_tag}=${exp}_${baseline_tag}/model.safetensors")
    out=${exp}/scores/test_${id}
    sig="${models[*]} ${rollout_starts} ${steps}"
    echo "$(date '+%F %T') (run.sh) Stage 6: counterfactual evaluation of ${exp} against the emulator"
    if [ -f "${out}/counterfactual.json" ] && [ "${out}/counterfactual.json" -nt "${exp}/model.safetensors" ] &&
        [ "$(cat "${out}/counterfactual.signature" 2>/dev/null)" = "${sig}" ]; then
        echo "  ${out}/counterfactual.json: up to date"
    else
        mkdir -p "${out}/log"
        # shellcheck disable=SC2086  # the starts are words
        python local/counterfactual.py "${models[@]}" --episodes "data/test_${id}/episodes.scp" \
            --starts ${rollout_starts} --steps "${steps}" --corpus "${corpus_desc}" \
            -o "${out}/counterfactual.json" --markdown "${out}/counterfactual.md" >"${out}/log/counterfactual.log"
        echo "${sig}" >"${out}/counterfactual.signature"
    fi
    # the section goes into RESULTS.md (written by stage 5), replacing an earlier one
    python local/counterfactual.py --insert "${exp}/RESULTS.md" "${out}/counterfactual.md"
    echo "  ${exp}/RESULTS.md: counterfactual table (JSON: ${out}/counterfactual.json)"
fi

if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    exp=${expdir}/${exp_name:-train_${id}_$(basename "${conf}" .yaml)${tag:+_${tag}}}
    echo "$(date '+%F %T') (run.sh) Stage 7: a scripted session played inside ${exp}'s model (seqgan play)"
    mkdir -p "${exp}/images" "${exp}/log"
    seqgan play "${game}" -m "${exp}/model.safetensors" --headless --compare --actions local/session_actions.txt \
        --record "${exp}/images/play.gif" --screenshot "${exp}/images/play_last.png" >"${exp}/log/play.log" 2>&1 ||
        { echo "stage 7: seqgan play failed; see ${exp}/log/play.log" >&2; exit 1; }
    section=${exp}/log/play_section.md
    {
        echo "### A session played inside the model"
        echo
        echo "\`seqgan play ${game} -m ${exp}/model.safetensors --headless --compare --actions local/session_actions.txt\`:"
        echo "the emulator (left) and the model's dream (right) under the same scripted actions"
        echo "($(grep -v '^#' local/session_actions.txt | tr '\n' ' ' | sed 's/ *$//')), each frame predicted from the model's own previous predictions."
        echo
        echo "![played session](images/play.gif)"
    } >"${section}"
    python local/counterfactual.py --insert "${exp}/RESULTS.md" "${section}"
    echo "  ${exp}/RESULTS.md: played session (${exp}/images/play.gif)"
fi
