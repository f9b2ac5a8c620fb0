#!/usr/bin/env bash
# Speech enhancement with SEGAN-style GANs: every stage of the recipe, for any corpus. The corpus
# recipes (egs/<corpus>/se1/run.sh) call it with their settings; run it from such a directory, which
# holds cmd.sh, path.sh, conf/, local/data.sh, and the links utils -> recipes/utils, se.sh -> recipes/se.sh.
#
#   stage -1 download   local/download.sh, for corpora that have one (only when asked: --stage -1)
#   stage 0  data       local/data.sh writes data/<set>/{wav.scp,spk1.scp,utt2spk,spk2utt,...}
#   stage 1  format     audio at ${fs} Hz mono under ${dumpdir}/<set> (resampled where needed), utt2dur,
#                       validated data directories
#   stage 2  train      seqgan train (resumes from the last checkpoint; torchrun with --ngpu N > 1)
#   stage 3  export     the generator to ${exp}/model.safetensors
#   stage 4  enhance    the test sets, split into --nj parallel jobs
#   stage 5  score      noisy input and enhanced output against the clean references; RESULTS.md with
#                       the metrics table, spectrograms and training curves
#
# Every stage skips what is already done and can be re-run alone (--stage N --stop-stage N).
set -euo pipefail
# log, die, the option checks, experiment naming, stage selection, signatures, the GPU check
# shellcheck source=SCRIPTDIR/utils/prelude.sh
. "$(dirname "${BASH_SOURCE[0]}")/utils/prelude.sh"

stage=0              # first stage (-1 download, 0 data, 1 format, 2 train, 3 export, 4 enhance, 5 score)
stop_stage=5         # last stage to run
ngpu=1               # GPUs for training: 0 trains on CPU; N > 1 launches N processes with torchrun
nnodes=1             # nodes for training: run stage 2 with the same options on each (shared exp dir)
rdzv_endpoint=""     # with --nnodes > 1: HOST:PORT where the nodes meet (e.g. the first node:29500)
train_threads=""     # CPU threads of training (OMP_NUM_THREADS; empty: torch's default, all cores)
inference_ngpu=0     # GPUs per enhancement job (0: CPU)
nj=4                 # parallel jobs of the format, enhancement and scoring stages
fs=16000             # sample rate of the model; stage 1 resamples the corpus to it
dumpdir=dump         # formatted data directories (stage 1)
expdir=exp           # experiments go under this directory
train_set=""         # training set: a directory under data/
valid_set=""         # validation set scored during training (empty: none)
test_sets=""         # sets to enhance and score, separated by spaces
conf=""              # training configuration (YAML)
tag=""               # suffix of the experiment name
exp_name=""          # experiment name (default: <train_set>_<conf basename>[_<tag>])
train_args=""        # extra key=value overrides of seqgan train, e.g. "train.max_steps=200"
init_from=""         # start from these weights (checkpoint or .safetensors; not a resume)
download_opts=""     # options given to local/download.sh (stage -1)
local_data_opts=""   # options given to local/data.sh
enhance_args=""      # extra options of seqgan enhance, e.g. "--batch-size 16"
score_metrics=""     # metrics of seqgan score, comma-separated (default: all)
num_plots=3          # test utterances shown as spectrograms in RESULTS.md
ablation_exp=""      # another experiment (e.g. the no-adversarial ablation) shown beside this one in RESULTS.md
progress_interval=60 # seconds between the training progress lines (0: every report)
help_message="Usage: $0 --train_set SET --test_sets \"SET ...\" --conf conf/X.yaml [options]
Speech-enhancement recipe stages (run from egs/<corpus>/<task>; see the top of recipes/se.sh)."

check_recipe_dir
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
# shellcheck source=SCRIPTDIR/utils/parse_options.sh
. utils/parse_options.sh
start_clock

check_common_options "$@"
! stage_selected 2 || [ -f "${conf}" ] || die "--conf ${conf}: no such file"
require_integers fs num_plots progress_interval
[ -z "${train_threads}" ] || [[ "${train_threads}" =~ ^[1-9][0-9]*$ ]] ||
    die "--train_threads must be a positive integer or empty, got '${train_threads}'"

exp=${expdir}/$(experiment_name)
model=${exp}/model.safetensors
collect_sets
_ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)

# min(nj, number of utterances in $1)
jobs_for() {
    local n
    n=$(wc -l <"$1")
    [ "${n}" -gt 0 ] || die "$1 is empty"
    echo $((nj < n ? nj : n))
}
# waits for the training job $1, showing the latest report of experiment $2 (its metrics.jsonl) every
# ${progress_interval} s: the step, the main losses, the validation scores and the time left
follow_training() {
    local pid=$1 dir=$2 last="" line shown=0
    while kill -0 "${pid}" 2>/dev/null; do
        sleep 2
        if [ $((SECONDS - shown)) -ge "${progress_interval}" ] && [ -f "${dir}/metrics.jsonl" ]; then
            line=$(python utils/train_progress.py "${dir}" \
                --keys 'd_loss|g_adv|g_l1|eval/(?!.*_improvement$)[a-z0-9_]+' 2>/dev/null || true)
            if [ -n "${line}" ] && [ "${line}" != "${last}" ]; then
                echo "  ${line}"
                last=${line}
                shown=${SECONDS}
            fi
        fi
    done
    wait "${pid}"
}

log "${recipe_cmdline}"
log "experiment: ${exp}"

if stage_selected -1; then
    log "Stage -1: download: local/download.sh ${download_opts}"
    [ -x local/download.sh ] || die "this recipe has no local/download.sh (its corpus is made in stage 0)"
    # shellcheck disable=SC2086
    local/download.sh ${download_opts}
fi

if stage_selected 0; then
    log "Stage 0: data preparation: local/data.sh ${local_data_opts}"
    [ -x local/data.sh ] || die "local/data.sh is missing or not executable (in ${PWD})"
    # shellcheck disable=SC2086
    local/data.sh ${local_data_opts}
    for s in "${_all_sets[@]}"; do
        [ -f "data/${s}/wav.scp" ] || die "local/data.sh did not write data/${s}/wav.scp"
    done
fi

if stage_selected 1; then
    log "Stage 1: format the audio at ${fs} Hz (mono) into ${dumpdir}/ and validate"
    for s in "${_all_sets[@]}"; do
        src=data/${s}
        dst=${dumpdir}/${s}
        [ -f "${src}/wav.scp" ] || die "${src}/wav.scp is missing: run stage 0 first"
        if [ -f "${dst}/.done" ] && [ -z "$(find "${src}" -newer "${dst}/.done" -type f | awk 'NR == 1')" ]; then
            log "  ${dst}: up to date"
            continue
        fi
        rm -f "${dst}/.done"
        mkdir -p "${dst}/log"
        _nj=$(jobs_for "${src}/wav.scp")
        split=${dst}/split${_nj}
        # wav.scp first: utt2dur comes from it
        tables=(wav)
        for file in "${src}"/*.scp; do
            table=$(basename "${file}" .scp)
            [ "${table}" = wav ] || tables+=("${table}")
        done
        pairs=()
        for table in "${tables[@]}"; do
            parts=()
            for ((j = 1; j <= _nj; j++)); do
                parts+=("${split}/${table}.${j}.scp")
            done
            utils/split_scp.sh "${src}/${table}.scp" "${parts[@]}"
            pairs+=("${split}/${table}.JOB.scp" "${split}/${table}.JOB.out")
        done
        ${decode_cmd} JOB=1:"${_nj}" "${dst}/log/format.JOB.log" python utils/format_wav_scp.py \
            --fs "${fs}" --out-dir "${dst}/audio" --utt2dur "${split}/utt2dur.JOB" "${pairs[@]}"
        for table in "${tables[@]}"; do
            for ((j = 1; j <= _nj; j++)); do cat "${split}/${table}.${j}.out"; done | sort -k1,1 >"${dst}/${table}.scp"
        done
        for ((j = 1; j <= _nj; j++)); do cat "${split}/utt2dur.${j}"; done | sort -k1,1 >"${dst}/utt2dur"
        # the other tables as they are (utt2dur and utt2num_samples were for the original audio)
        for file in "${src}"/*; do
            name=$(basename "${file}")
            case "${name}" in
                *.scp | utt2dur | utt2num_samples) ;;
                *) [ -f "${file}" ] && cp "${file}" "${dst}/${name}" ;;
            esac
        done
        utils/validate_data_dir.sh --required "wav.scp spk1.scp" "${dst}"
        awk '{ s += $2 } END { printf "  %d utterances, %.2f hours\n", NR, s / 3600 }' "${dst}/utt2dur"
        touch "${dst}/.done"
    done
fi

if stage_selected 2; then
    log "Stage 2: training ${exp} (${conf}, ngpu=${ngpu})"
    [ -f "${dumpdir}/${train_set}/.done" ] || die "${dumpdir}/${train_set} is not ready: run stage 1 first"
    [ -z "${valid_set}" ] || [ -f "${dumpdir}/${valid_set}/.done" ] ||
        die "${dumpdir}/${valid_set} is not ready: run stage 1 first"
    mkdir -p "${exp}/log"
    if [ -f "${exp}/conf.yaml" ] && ! cmp -s "${conf}" "${exp}/conf.yaml"; then
        log "  note: ${conf} differs from the copy in ${exp}/conf.yaml; a resumed run takes the new settings"
    fi
    cp "${conf}" "${exp}/conf.yaml"
    args=(-c "${exp}/conf.yaml" -o "${exp}")
    # options before the key=value overrides (argparse takes no option after them)
    [ -z "${init_from}" ] || args+=(--init-from "${init_from}")
    args+=("data.train_dir=${dumpdir}/${train_set}"
        "data.valid_dir=${valid_set:+${dumpdir}/${valid_set}}" "data.sample_rate=${fs}")
    if [ "${ngpu}" -eq 0 ]; then
        args+=(train.device=cpu)
    else
        args+=(train.device=cuda)
        check_gpus "${ngpu}"
    fi
    read -r -a _extra <<<"${train_args}"
    args+=(${_extra[@]+"${_extra[@]}"})
    make_launcher
    sig=$(signature "${exp}/conf.yaml" "${launcher[*]} ${args[*]}")
    if [ -f "${exp}/checkpoints/last.pt" ] && [ "$(cat "${exp}/.train_done" 2>/dev/null)" = "${sig}" ]; then
        log "  ${exp}: already trained with these settings (remove ${exp}/.train_done to run it again)"
    else
        rm -f "${exp}/.train_done"
        log "  log: ${exp}/log/train.log (all of it: tail -f ${exp}/train.log)"
        threads=()
        [ -z "${train_threads}" ] || threads=(env "OMP_NUM_THREADS=${train_threads}")
        ${train_cmd} --gpu "${ngpu}" "${exp}/log/train.log" ${threads[@]+"${threads[@]}"} "${launcher[@]}" "${args[@]}" &
        follow_training $! "${exp}"
        echo "${sig}" >"${exp}/.train_done"
    fi
fi

if stage_selected 3; then
    log "Stage 3: export ${model}"
    [ -f "${exp}/checkpoints/last.pt" ] || die "${exp}/checkpoints/last.pt is missing: run stage 2 first"
    if [ -f "${model}" ] && [ "${model}" -nt "${exp}/checkpoints/last.pt" ]; then
        log "  ${model}: up to date"
    else
        ${train_cmd} "${exp}/log/export.log" seqgan export "${exp}" -o "${model}" --overwrite
        grep '^exported' "${exp}/log/export.log" | sed 's/^/  /' || true
    fi
fi

if stage_selected 4; then
    log "Stage 4: enhance ${test_sets} with ${model}"
    [ -f "${model}" ] || die "${model} is missing: run stage 3 first"
    for s in "${_test_sets[@]}"; do
        data=${dumpdir}/${s}
        out=${exp}/enhanced/${s}
        [ -f "${data}/.done" ] || die "${data} is not ready: run stage 1 first"
        if [ -f "${out}/.done" ] && [ "${out}/.done" -nt "${model}" ] && [ "${out}/.done" -nt "${data}/.done" ]; then
            log "  ${out}: up to date"
            continue
        fi
        rm -f "${out}/.done"
        mkdir -p "${out}/wav" "${out}/log"
        # outputs of an older model are stale; those of this one are kept (an interrupted run resumes)
        find "${out}/wav" -name '*.wav' ! -newer "${model}" -exec rm -f {} +
        _nj=$(jobs_for "${data}/wav.scp")
        parts=()
        for ((j = 1; j <= _nj; j++)); do
            parts+=("${out}/split${_nj}/wav.${j}.scp")
        done
        utils/split_scp.sh "${data}/wav.scp" "${parts[@]}"
        opts=()
        if [ "${inference_ngpu}" -gt 0 ]; then
            opts+=(--device cuda)
        else
            opts+=(--device cpu --threads $((_ncpu / _nj > 0 ? _ncpu / _nj : 1)))
        fi
        read -r -a _extra <<<"${enhance_args}"
        opts+=(${_extra[@]+"${_extra[@]}"})
        ${decode_cmd} --gpu "${inference_ngpu}" JOB=1:"${_nj}" "${out}/log/enhance.JOB.log" \
            seqgan enhance -m "${model}" --scp "${out}/split${_nj}/wav.JOB.scp" -o "${out}/wav" "${opts[@]}"
        awk -v dir="${out}/wav" '{ print $1, dir "/" $1 ".wav" }' "${data}/wav.scp" >"${out}/wav.scp"
        utils/validate_data_dir.sh "${out}" >/dev/null
        touch "${out}/.done"
        log "  ${out}/wav: $(wc -l <"${out}/wav.scp") files"
    done
fi

if stage_selected 5; then
    log "Stage 5: score ${test_sets} (noisy input and enhanced output against clean)"
    metric_opts=()
    [ -z "${score_metrics}" ] || metric_opts=(--metrics "${score_metrics}")
    for s in "${_test_sets[@]}"; do
        data=${dumpdir}/${s}
        scores=${exp}/scores/${s}
        [ -f "${exp}/enhanced/${s}/.done" ] || die "${exp}/enhanced/${s} is not complete: run stage 4 first"
        mkdir -p "${scores}/log"
        _nj=$(jobs_for "${data}/wav.scp")
        for kind in noisy enhanced; do
            if [ "${kind}" = noisy ]; then est=${data}/wav.scp; else est=${exp}/enhanced/${s}/wav.scp; fi
            sig=$(signature "${est}" "${score_metrics}")
            if [ -f "${scores}/${kind}/scores.json" ] && [ "${scores}/${kind}/scores.json" -nt "${est}" ] &&
                [ "$(cat "${scores}/${kind}/.signature" 2>/dev/null)" = "${sig}" ]; then
                log "  ${scores}/${kind}: up to date"
                continue
            fi
            log "  scoring ${kind} ${s} (${_nj} processes; log: ${scores}/log/score_${kind}.log)"
            ${decode_cmd} --num-threads "${_nj}" "${scores}/log/score_${kind}.log" \
                seqgan score --ref "${data}/spk1.scp" --est "${est}" -o "${scores}/${kind}" --nj "${_nj}" \
                ${metric_opts[@]+"${metric_opts[@]}"}
            echo "${sig}" >"${scores}/${kind}/.signature"
        done
    done
    ablation_opts=()
    [ -z "${ablation_exp}" ] || ablation_opts=(--ablation "${ablation_exp}")
    python utils/se_results.py --exp "${exp}" --dumpdir "${dumpdir}" --num-plots "${num_plots}" \
        ${ablation_opts[@]+"${ablation_opts[@]}"} "${_test_sets[@]}"
    exp_abs=$(cd "${exp}" && pwd)
    log "Results: ${exp_abs}/RESULTS.md (plots in ${exp_abs}/images/)"
    log "Enhance your own recordings (any sample rate, mono or multi-channel) with:"
    log "  seqgan enhance -m ${exp_abs}/model.safetensors noisy.wav more_noisy/ -o enhanced/"
fi

log_done
