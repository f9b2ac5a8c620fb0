#!/usr/bin/env bash
# Runs a command as one job or as an array of jobs, each with its own log file, on this machine or
# through Slurm. Recipes call it through ${train_cmd} / ${decode_cmd} from cmd.sh, so the backend is
# chosen in one place:
#
#   utils/run_jobs.sh [options] [JOB=1:N] LOG COMMAND [ARG ...]
#
#   utils/run_jobs.sh exp/log/train.log seqgan train -c conf.yaml -o exp
#   utils/run_jobs.sh --max-jobs-run 2 JOB=1:4 exp/log/enhance.JOB.log \
#       seqgan enhance -m model.safetensors --scp split/wav.JOB.scp -o out
#
# With JOB=1:N, every occurrence of the word JOB (any name may be used: TASK=1:N) in LOG and in the
# arguments is replaced by the job number 1..N and the N jobs run in parallel. COMMAND runs with its
# arguments as given (no shell: write `bash -c '...'` for a pipeline); stdout and stderr go to the log,
# which starts with the command line and ends with its exit code and run time. The exit code is 0 when
# every job succeeded; otherwise the failed jobs' logs are named (with their last lines) and it is 1.
#
# Backends:
#   local  run here, at most --max-jobs-run jobs at once (0: all at once). --gpu, --mem, --time,
#          --partition and --slurm-opts are accepted and ignored, so call sites do not depend on it.
#   slurm  each job is one `srun` (blocking, from this shell): --gpu N -> --gres=gpu:N,
#          --num-threads N -> --cpus-per-task=N, --mem, --time, --partition, and any other sbatch
#          options in --slurm-opts. Run the recipe inside tmux/screen or inside an salloc allocation,
#          since the jobs end when this shell does.
set -euo pipefail

backend=local      # local | slurm
max_jobs_run=0     # most jobs running at once (0: all)
gpu=0              # GPUs per job (slurm: --gres=gpu:N)
num_threads=1      # CPU cores per job (slurm: --cpus-per-task)
mem=""             # memory per job, e.g. 16G (slurm: --mem)
time=""            # time limit per job, e.g. 1-00:00:00 (slurm: --time)
partition=""       # slurm partition
slurm_opts=""      # more srun options, e.g. "--account=abc --qos=high"
help_message="Usage: $0 [options] [JOB=1:N] LOG COMMAND [ARG ...]
Runs COMMAND (N parallel jobs with JOB=1:N, JOB replaced by the job number) with its output in LOG."
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"

die() {
    echo "$0: $*" >&2
    exit 1
}

var=""
first=1
last=1
if [[ "${1:-}" =~ ^([A-Za-z_][A-Za-z0-9_]*)=([0-9]+):([0-9]+)$ ]]; then
    var=${BASH_REMATCH[1]}
    first=${BASH_REMATCH[2]}
    last=${BASH_REMATCH[3]}
    shift
    [ "${first}" -le "${last}" ] || die "empty job range ${var}=${first}:${last}"
elif [[ "${1:-}" =~ ^[A-Za-z_]+= ]]; then
    die "bad job range '$1'; write JOB=1:N"
fi
[ "$#" -ge 2 ] || die "need a log file and a command (see $0 --help)"
log_pattern=$1
shift
if [ -n "${var}" ] && [[ "${log_pattern}" != *"${var}"* ]] && [ "${first}" -ne "${last}" ]; then
    die "the log file ${log_pattern} does not contain ${var}: the jobs would share one log"
fi
case "${backend}" in
    local | slurm) ;;
    *) die "unknown --backend '${backend}'; choose local or slurm" ;;
esac
if [ "${backend}" = slurm ] && ! command -v srun >/dev/null 2>&1; then
    die "--backend slurm but srun is not on PATH; run on a Slurm login node or use --backend local"
fi

# one job: substitutes the job number, writes the log header, runs, appends the footer
run_one() {
    local id=$1
    shift
    local log=${log_pattern}
    local -a cmd=("$@")
    local i start rc
    if [ -n "${var}" ]; then
        log=${log//${var}/${id}}
        for i in "${!cmd[@]}"; do
            cmd[i]=${cmd[i]//${var}/${id}}
        done
    fi
    if [ "${backend}" = slurm ]; then
        local -a sl=(srun --job-name "$(basename "${log}" .log)" --ntasks 1 --cpus-per-task "${num_threads}")
        [ "${gpu}" -gt 0 ] && sl+=(--gres "gpu:${gpu}")
        [ -n "${mem}" ] && sl+=(--mem "${mem}")
        [ -n "${time}" ] && sl+=(--time "${time}")
        [ -n "${partition}" ] && sl+=(--partition "${partition}")
        if [ -n "${slurm_opts}" ]; then
            local -a extra
            read -r -a extra <<<"${slurm_opts}"
            sl+=("${extra[@]}")
        fi
        cmd=("${sl[@]}" "${cmd[@]}")
    fi
    mkdir -p "$(dirname "${log}")"
    start=$(date +%s)
    {
        printf '#'
        printf ' %q' "${cmd[@]}"
        printf '\n# Started at %s on %s\n' "$(date)" "$(hostname)"
    } >"${log}"
    rc=0
    "${cmd[@]}" >>"${log}" 2>&1 </dev/null || rc=$?
    printf '# Ended (code %d) at %s, elapsed time %d seconds\n' "${rc}" "$(date)" \
        "$(($(date +%s) - start))" >>"${log}"
    return "${rc}"
}

pids=()
ids=()
# on INT / TERM: stop the running jobs (each job's command is a child of its subshell)
cleanup() {
    local pid
    for pid in "${pids[@]:-}"; do
        if [ -n "${pid}" ]; then
            pkill -TERM -P "${pid}" 2>/dev/null || true
            kill "${pid}" 2>/dev/null || true
        fi
    done
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

for ((id = first; id <= last; id++)); do
    if [ "${max_jobs_run}" -gt 0 ]; then
        while [ "$(jobs -rp | wc -l)" -ge "${max_jobs_run}" ]; do
            sleep 0.2
        done
    fi
    run_one "${id}" "$@" &
    pids+=($!)
    ids+=("${id}")
done

failed=()
for i in "${!pids[@]}"; do
    if ! wait "${pids[i]}"; then
        failed+=("${ids[i]}")
    fi
done
trap - INT TERM

if [ "${#failed[@]}" -gt 0 ]; then
    total=$((last - first + 1))
    for id in "${failed[@]}"; do
        log=${log_pattern}
        [ -n "${var}" ] && log=${log//${var}/${id}}
        echo "$0: job ${id} failed (${#failed[@]} of ${total} failed); log: ${log}; its last lines:" >&2
        tail -n 15 "${log}" | sed 's/^/    /' >&2 || true
    done
    exit 1
fi
