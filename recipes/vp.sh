#!/usr/bin/env bash
# Next-frame prediction with multi-scale GANs (Mathieu et al. 2016; action-conditioned for games):
# every stage of the recipe, for any frame corpus. The corpus recipes (egs/<corpus>/vp1/run.sh) call it
# with their settings; run it from such a directory, which holds cmd.sh, path.sh, conf/, local/data.sh,
# and the links utils -> recipes/utils, vp.sh -> recipes/vp.sh.
#
#   stage 0  data       local/data.sh generates or records the corpus and writes
#                       data/<set>/{episodes.scp,stats.json}
#   stage 1  check      validates every data directory (ids, files, readable episodes, one frame shape,
#                       disjoint sets), writes data/<set>/utt2num_frames and refreshes stale stats.json
#   stage 2  train      the GAN (${conf}) and the baseline: the same generator and settings with
#                       ${baseline_args} (no adversarial term); seqgan train resumes from the last
#                       checkpoint; torchrun with --ngpu N > 1
#   stage 3  export     both generators to <exp>/model.safetensors
#   stage 4  rollouts   seqgan predict on the test sets: ${steps} frames from every --rollout_starts
#                       position of every test episode long enough for it
#   stage 5  score      per-step PSNR / SSIM / sharpness difference of the GAN, the baseline and
#                       copy-last-frame, the protocol printed beside them; the action sensitivity of
#                       action-conditioned models; RESULTS.md, per_step.csv, a plot and a GIF
#
# Every stage skips what is already done and can be re-run alone (--stage N --stop-stage N).
set -euo pipefail
# log, die, the option checks, experiment naming, stage selection, signatures, the GPU check
# shellcheck source=SCRIPTDIR/utils/prelude.sh
. "$(dirname "${BASH_SOURCE[0]}")/utils/prelude.sh"

stage=0              # first stage to run (0 data, 1 check, 2 train, 3 export, 4 rollouts, 5 score)
stop_stage=5         # last stage to run
ngpu=1               # GPUs for training: 0 trains on CPU; N > 1 launches N processes with torchrun
nnodes=1             # nodes for training: run stage 2 with the same options on each (shared exp dir)
rdzv_endpoint=""     # with --nnodes > 1: HOST:PORT where the nodes meet (e.g. the first node:29500)
inference_ngpu=0     # GPUs for the rollouts and scoring (0: CPU)
cpu_threads=0        # torch threads per CPU process (OMP_NUM_THREADS); 0 leaves torch's default
nj=2                 # parallel rollout jobs (one per --rollout_starts position)
expdir=exp           # experiments go under this directory
train_set=""         # training set: a directory under data/
valid_set=""         # validation set rolled out during training (empty: none)
test_sets=""         # sets to roll out and score, separated by spaces
conf=""              # training configuration of the GAN (YAML, task next_frame)
tag=""               # suffix of the experiment name
exp_name=""          # experiment name (default: <train_set>_<conf basename>[_<tag>])
train_args=""        # extra key=value overrides of seqgan train for both models, e.g. "train.max_steps=200"
baseline_args="loss.adv_weight=0 loss.gdl_weight=0 train.n_critic=0"  # the baseline: no adversarial or GDL term, no D turns
baseline_tag=l1      # the baseline is <exp_name>_<baseline_tag>; empty: no baseline
baseline_name="l1"   # the baseline's name in the tables
init_from=""         # start both models from these weights (checkpoint or .safetensors; not a resume)
local_data_opts=""   # options given to local/data.sh
steps=10             # predicted frames per test sequence (rollout horizon)
rollout_starts="0"   # first context frame of the test sequences in each test episode, separated by spaces
predict_args=""      # extra options of seqgan predict, e.g. "--fps 8"
corpus_desc=""       # corpus name in the protocol lines of RESULTS.md (default: the training set's name)
psnr_cap=100         # PSNR and sharpness difference per frame are capped at this many dB (identical frames)
num_gif=4            # test sequences shown in the GIF
sensitivity_region=auto  # action sensitivity: auto (known games), none, or "x0:x1" / "y0:y1,x0:x1" pixels
sensitivity_horizons="1 4"  # action sensitivity after this many steps of the same action
help_message="Usage: $0 --train_set SET --test_sets \"SET ...\" --conf conf/X.yaml [options]
Next-frame prediction recipe stages (run from egs/<corpus>/vp1; see the top of recipes/vp.sh)."

check_recipe_dir
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
# shellcheck source=SCRIPTDIR/utils/parse_options.sh
. utils/parse_options.sh
start_clock

check_common_options "$@"
[ -f "${conf}" ] || die "--conf ${conf}: no such file"
require_integers cpu_threads steps psnr_cap num_gif
[ "${steps}" -ge 1 ] || die "--steps must be at least 1"
for s in ${rollout_starts} ${sensitivity_horizons}; do
    [[ "${s}" =~ ^[0-9]+$ ]] || die "--rollout_starts and --sensitivity_horizons take integers >= 0, got '${s}'"
done
[ "${cpu_threads}" -eq 0 ] || export OMP_NUM_THREADS=${cpu_threads} MKL_NUM_THREADS=${cpu_threads}

exp=${expdir}/$(experiment_name)
# the experiments: the GAN first, then the baseline (same config + ${baseline_args})
exps=("${exp}")
[ -z "${baseline_tag}" ] || exps+=("${exp}_${baseline_tag}")
collect_sets
read -r -a _starts <<<"${rollout_starts}"
[ "${#_starts[@]}" -gt 0 ] || die "--rollout_starts is empty"
if [ "${inference_ngpu}" -gt 0 ]; then device=cuda; else device=cpu; fi

# a key of an experiment's resolved config.yaml, e.g. config_value exp/x data.context
config_value() {
    python - "$1/config.yaml" "$2" <<'EOF'
import sys, yaml
value = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
for key in sys.argv[2].split("."):
    value = value[key]
print(value)
EOF
}

log "${recipe_cmdline}"
log "experiments: ${exps[*]}"

if stage_selected 0; then
    log "Stage 0: data: local/data.sh ${local_data_opts}"
    [ -x local/data.sh ] || die "local/data.sh is missing or not executable (in ${PWD})"
    # shellcheck disable=SC2086
    local/data.sh ${local_data_opts}
    for s in "${_all_sets[@]}"; do
        [ -f "data/${s}/episodes.scp" ] || die "local/data.sh did not write data/${s}/episodes.scp"
    done
fi

if stage_selected 1; then
    log "Stage 1: check the data directories and their statistics"
    dirs=()
    for s in "${_all_sets[@]}"; do
        [ -f "data/${s}/episodes.scp" ] || die "data/${s}/episodes.scp is missing: run stage 0 first"
        utils/validate_data_dir.sh --required episodes.scp "data/${s}"
        dirs+=("data/${s}")
    done
    python utils/vp_check_data.py "${dirs[@]}"
fi

if stage_selected 2; then
    log "Stage 2: training ${exps[*]} (${conf}, ngpu=${ngpu})"
    for s in "${_all_sets[@]}"; do
        [ -f "data/${s}/utt2num_frames" ] || die "data/${s} is not checked: run stage 1 first"
    done
    common=("data.train_scp=data/${train_set}/episodes.scp")
    if [ -n "${valid_set}" ]; then
        common+=("data.valid_scp=data/${valid_set}/episodes.scp")
    else
        common+=(train.eval_interval=0 train.sample_interval=0)
    fi
    if [ "${ngpu}" -eq 0 ]; then
        common+=(train.device=cpu)
    else
        common+=(train.device=cuda)
        check_gpus "${ngpu}"
    fi
    make_launcher
    read -r -a _extra <<<"${train_args}"
    read -r -a _baseline <<<"${baseline_args}"
    for e in "${exps[@]}"; do
        mkdir -p "${e}/log"
        if [ -f "${e}/conf.yaml" ] && ! cmp -s "${conf}" "${e}/conf.yaml"; then
            log "  note: ${conf} differs from the copy in ${e}/conf.yaml; a resumed run takes the new settings"
        fi
        cp "${conf}" "${e}/conf.yaml"
        args=(-c "${e}/conf.yaml" -o "${e}")
        # the options before the key=value overrides, which argparse takes as one positional list
        [ -z "${init_from}" ] || args+=(--init-from "${init_from}")
        args+=("${common[@]}")
        args+=("${_extra[@]}")
        [ "${e}" = "${exp}" ] || args+=("${_baseline[@]}")  # the user's overrides first, the baseline's last
        sig=$(signature "${e}/conf.yaml" "${launcher[*]} ${args[*]} $(cksum <"data/${train_set}/episodes.scp")")
        if [ -f "${e}/checkpoints/last.pt" ] && [ "$(cat "${e}/.train_done" 2>/dev/null)" = "${sig}" ]; then
            log "  ${e}: already trained with these settings (remove ${e}/.train_done to run it again)"
            continue
        fi
        rm -f "${e}/.train_done"
        log "  ${e}: log ${e}/log/train.log (follow it with: tail -f ${e}/train.log)"
        ${train_cmd} --gpu "${ngpu}" "${e}/log/train.log" "${launcher[@]}" "${args[@]}"
        echo "${sig}" >"${e}/.train_done"
        python utils/train_progress.py "${e}" --each-kind --width 300 | sed 's/^/  /' || true
    done
fi

if stage_selected 3; then
    log "Stage 3: export ${exps[*]/%//model.safetensors}"
    for e in "${exps[@]}"; do
        model=${e}/model.safetensors
        [ -f "${e}/checkpoints/last.pt" ] || die "${e}/checkpoints/last.pt is missing: run stage 2 first"
        if [ -f "${model}" ] && [ "${model}" -nt "${e}/checkpoints/last.pt" ]; then
            log "  ${model}: up to date"
            continue
        fi
        ${train_cmd} "${e}/log/export.log" seqgan export "${e}" -o "${model}" --overwrite
        tail -n 2 "${e}/log/export.log" | head -n 1 | sed 's/^/  /'
    done
fi

if stage_selected 4; then
    log "Stage 4: roll out ${steps} frames on ${test_sets} from frames ${rollout_starts} of each episode"
    read -r -a _extra <<<"${predict_args}"
    for e in "${exps[@]}"; do
        model=${e}/model.safetensors
        [ -f "${model}" ] || die "${model} is missing: run stage 3 first"
        k=$(config_value "${e}" data.context)
        for s in "${_test_sets[@]}"; do
            data=data/${s}
            root=${e}/rollouts/${s}
            [ -f "${data}/utt2num_frames" ] || die "${data} is not checked: run stage 1 first"
            todo=()
            for start in "${_starts[@]}"; do
                out=${root}/start${start}
                if [ -f "${out}/.done" ] && [ "${out}/.done" -nt "${model}" ] &&
                    [ "${out}/.done" -nt "${data}/episodes.scp" ] &&
                    [ "$(cat "${out}/.done")" = "${steps} ${predict_args}" ]; then
                    log "  ${out}: up to date"
                    continue
                fi
                rm -rf "${out}"
                mkdir -p "${out}"
                # the episodes long enough for K context frames and ${steps} true future frames
                awk -v need=$((start + k + steps)) 'NR == FNR { n[$1] = $2; next } n[$1] >= need' \
                    "${data}/utt2num_frames" "${data}/episodes.scp" >"${out}/episodes.scp"
                if [ -s "${out}/episodes.scp" ]; then
                    todo+=("${start}")
                else
                    log "  ${out}: no episode of ${s} has $((start + k + steps)) frames; skipped"
                    echo "${steps} ${predict_args}" >"${out}/.done"
                fi
            done
            [ "${#todo[@]}" -gt 0 ] || continue
            # one job per start position, at most ${nj} at once; job j rolls out from the j-th start
            mkdir -p "${root}/log"
            printf '%s\n' "${todo[@]}" >"${root}/starts"
            # shellcheck disable=SC2016
            ${decode_cmd} --max-jobs-run "${nj}" --gpu "${inference_ngpu}" JOB=1:"${#todo[@]}" \
                "${root}/log/predict.JOB.log" bash -c \
                'start=$(sed -n "$1p" "$0/starts"); shift
                 exec seqgan predict --start "${start}" --episodes "${0}/start${start}/episodes.scp" \
                     -o "${0}/start${start}" "$@"' \
                "${root}" JOB -m "${model}" --steps "${steps}" --device "${device}" "${_extra[@]}"
            for start in "${todo[@]}"; do
                echo "${steps} ${predict_args}" >"${root}/start${start}/.done"
            done
            log "  ${root}: $(cat "${root}"/start*/episodes.scp | wc -l) sequences from ${#todo[@]} start(s)" \
                "(logs: ${root}/log/predict.*.log, job j = line j of ${root}/starts)"
        done
    done
fi

if stage_selected 5; then
    log "Stage 5: score ${test_sets}: ${exps[*]} and copy-last-frame"
    for e in "${exps[@]}"; do
        for s in "${_test_sets[@]}"; do
            for start in "${_starts[@]}"; do
                [ -f "${e}/rollouts/${s}/start${start}/.done" ] ||
                    die "${e}/rollouts/${s}/start${start} is not complete: run stage 4 first"
            done
        done
    done
    if [ "$(config_value "${exp}" model.num_actions)" -gt 0 ]; then
        read -r -a _horizons <<<"${sensitivity_horizons}"
        for e in "${exps[@]}"; do
            for s in "${_test_sets[@]}"; do
                out=${e}/scores/${s}/action_sensitivity.json
                sig="${sensitivity_region} ${sensitivity_horizons} ${rollout_starts}"
                if [ -f "${out}" ] && [ "${out}" -nt "${e}/model.safetensors" ] &&
                    [ "$(cat "${out%.json}.signature" 2>/dev/null)" = "${sig}" ]; then
                    log "  ${out}: up to date"
                    continue
                fi
                mkdir -p "${e}/scores/${s}/log"
                ${decode_cmd} --gpu "${inference_ngpu}" "${e}/scores/${s}/log/action_sensitivity.log" \
                    python utils/action_sensitivity.py -m "${e}/model.safetensors" \
                    --episodes "data/${s}/episodes.scp" --starts "${_starts[@]}" \
                    --horizons "${_horizons[@]}" --region "${sensitivity_region}" --device "${device}" \
                    -o "${out}"
                echo "${sig}" >"${out%.json}.signature"
                tail -n 3 "${e}/scores/${s}/log/action_sensitivity.log" | head -n 2 | sed 's/^/  /'
            done
        done
    fi
    opts=(--exp "${exp}" --name GAN --starts "${_starts[@]}" --psnr-cap "${psnr_cap}" --num-gif "${num_gif}"
        --corpus "${corpus_desc:-${train_set}}")
    [ -z "${baseline_tag}" ] || opts+=(--baseline "${exp}_${baseline_tag}" --baseline-name "${baseline_name}")
    python utils/vp_results.py "${opts[@]}" "${_test_sets[@]}"
    log "Results: ${exp}/RESULTS.md (per-step CSV under ${exp}/scores/, plots and GIFs in ${exp}/images/)"
    log "Predict from your own episodes with:"
    log "  seqgan predict -m ${PWD}/${exp}/model.safetensors --episode my_episode.npz --steps ${steps} -o rollouts/"
fi

log_done
