# shellcheck shell=bash
# What every staged recipe (recipes/se.sh, recipes/vp.sh) starts with. Source it first, before the
# option defaults (it defines no option), from the script's own directory:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/utils/prelude.sh"
#   stage=0 ...                         # the options, then
#   check_recipe_dir; . ./path.sh; . ./cmd.sh; . utils/parse_options.sh
#   start_clock
#   check_common_options "$@"           # and the script's own checks
#   exp=${expdir}/$(experiment_name)
#   if stage_selected 2; then ... fi
#   log_done
#
# The common options it reads: stage, stop_stage, ngpu, nnodes, rdzv_endpoint, inference_ngpu, nj,
# train_set, test_sets, conf, tag, exp_name (and expdir), valid_set; cmd.sh's train_cmd and decode_cmd.

# The options read here and the variables set here belong to the sourcing script:
# shellcheck disable=SC2034,SC2154

# the command line as given (parse_options.sh consumes it)
recipe_cmdline="$0 $*"
_recipe_script=$(basename "$0")

log() {
    echo "$(date '+%Y-%m-%d %H:%M:%S') (${_recipe_script}) $*"
}
die() {
    log "Error: $*" >&2
    exit 1
}

# the recipe runs from egs/<corpus>/<task>: path.sh, cmd.sh and the utils link are there
check_recipe_dir() {
    if [ ! -f ./path.sh ] || [ ! -f ./cmd.sh ] || [ ! -d ./utils ]; then
        die "run me from a recipe directory (egs/<corpus>/<task>, with path.sh, cmd.sh and utils/), not from ${PWD}"
    fi
}

# the run's clock: call it after parse_options.sh (SECONDS would otherwise be listed as an option)
start_clock() {
    SECONDS=0
}
log_done() {
    log "Done in ${SECONDS} s"
}

# succeeds when stage $1 lies in --stage .. --stop_stage
stage_selected() {
    [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]
}

# dies unless every named option is an integer
require_integers() {
    local name
    for name in "$@"; do
        [[ "${!name}" =~ ^-?[0-9]+$ ]] || die "--${name} must be an integer, got '${!name}'"
    done
}

# the checks every recipe shares; "$@" are the arguments left after the options
check_common_options() {
    local name
    [ "$#" -eq 0 ] || die "unexpected arguments: $* (options are written --name value; see --help)"
    for name in train_set test_sets conf; do
        [ -n "${!name}" ] || die "--${name} is required (see $0 --help)"
    done
    require_integers stage stop_stage ngpu nnodes inference_ngpu nj
    [ "${nj}" -ge 1 ] || die "--nj must be at least 1"
    [ "${nnodes}" -eq 1 ] || [ -n "${rdzv_endpoint}" ] ||
        die "--nnodes ${nnodes} needs --rdzv_endpoint HOST:PORT (the same on every node)"
    : "${train_cmd:?cmd.sh must set train_cmd}" "${decode_cmd:?cmd.sh must set decode_cmd}"
}

# the experiment's name: --exp_name, or <train_set>_<conf basename>[_<tag>]
experiment_name() {
    if [ -n "${exp_name}" ]; then
        echo "${exp_name}"
    else
        echo "${train_set}_$(basename "${conf}" .yaml)${tag:+_${tag}}"
    fi
}

# sets _test_sets (--test_sets as an array) and _all_sets (training, validation, then the test sets
# that are neither, each once)
collect_sets() {
    local s
    read -r -a _test_sets <<<"${test_sets}"
    _all_sets=("${train_set}")
    [ -z "${valid_set}" ] || _all_sets+=("${valid_set}")
    for s in "${_test_sets[@]}"; do
        [[ " ${_all_sets[*]} " == *" ${s} "* ]] || _all_sets+=("${s}")
    done
}

# checksum of a file's content and some words: changes when either does
signature() {
    { cat "$1"; echo "${*:2}"; } | cksum | awk '{ print $1 }'
}

# dies unless $1 CUDA devices are visible
check_gpus() {
    python -c "import sys, torch; sys.exit(torch.cuda.device_count() < $1)" ||
        die "--ngpu $1 but $(python -c 'import torch; print(torch.cuda.device_count())') CUDA device(s)" \
            "are visible; pass --ngpu 0 to train on the CPU"
}

# sets launcher: utils/train.sh with --ngpu / --nnodes / --rdzv_endpoint and a rendezvous id named
# after the recipe directory (<corpus>_<task>), then --; seqgan train's arguments follow it
make_launcher() {
    launcher=(utils/train.sh --ngpu "${ngpu}" --nnodes "${nnodes}" --rdzv_endpoint "${rdzv_endpoint}"
        --rdzv_id "$(basename "$(dirname "${PWD}")")_$(basename "${PWD}")" --)
}
