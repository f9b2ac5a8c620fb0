#!/usr/bin/env bash
# Runs `seqgan train ARGS...` on this node: one process, or torchrun with one process per GPU, on one
# node or, with --nnodes M, on each of M nodes (run the same command on every node; they meet at
# --rdzv_endpoint, a HOST:PORT that every node reaches, usually the first node).
#
# Usage: utils/train.sh [--ngpu N] [--nnodes M --rdzv_endpoint HOST:PORT [--rdzv_id ID]] -- ARGS...
set -euo pipefail

ngpu=1
nnodes=1
rdzv_endpoint=""
rdzv_id=seqgan
die() {
    echo "train.sh: $*" >&2
    exit 2
}
while [ "$#" -gt 0 ]; do
    case "$1" in
        --ngpu | --nnodes | --rdzv_endpoint | --rdzv_id)
            [ "$#" -ge 2 ] || die "$1 needs a value"
            declare "${1#--}=$2"
            shift 2
            ;;
        --)
            shift
            break
            ;;
        *) die "unknown option '$1' (options come before --, seqgan train's arguments after it)" ;;
    esac
done
[[ "${ngpu}" =~ ^[0-9]+$ ]] || die "--ngpu must be an integer >= 0, got '${ngpu}'"
[[ "${nnodes}" =~ ^[1-9][0-9]*$ ]] || die "--nnodes must be an integer >= 1, got '${nnodes}'"

procs=$((ngpu > 0 ? ngpu : 1))  # on CPU, one process per node (gloo)
if [ "${nnodes}" -gt 1 ]; then
    [ -n "${rdzv_endpoint}" ] || die "--nnodes ${nnodes} needs --rdzv_endpoint HOST:PORT (the same on every node)"
    exec torchrun --nnodes "${nnodes}" --nproc_per_node "${procs}" --rdzv_backend c10d \
        --rdzv_endpoint "${rdzv_endpoint}" --rdzv_id "${rdzv_id}" -m seqgan train "$@"
elif [ "${ngpu}" -gt 1 ]; then
    exec torchrun --standalone --nproc_per_node "${ngpu}" -m seqgan train "$@"
fi
exec seqgan train "$@"
