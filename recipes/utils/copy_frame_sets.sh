#!/usr/bin/env bash
# Copies the data directories of a frame corpus (written by `seqgan data bouncing-balls|moving-digits|
# atari --out CORPUS`) to the recipe's data/: CORPUS/data/<set>/{episodes.scp,stats.json} ->
# DEST/<set><suffix>/. A file that is already the same is left untouched (its modification time too, so
# later stages see nothing new); files the corpus no longer has are removed.
#   utils/copy_frame_sets.sh downloads/balls_tiny data "train dev test"
#   utils/copy_frame_sets.sh --suffix _pong downloads/pong data "train dev test"   (data/train_pong ...)
set -euo pipefail

suffix=""            # appended to the set names in DEST_DIR
help_message="Usage: $0 CORPUS_DIR DEST_DIR \"SET ...\""
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"

if [ "$#" -ne 3 ]; then
    echo "${help_message}" >&2
    exit 1
fi
corpus=${1%/}
dest=${2%/}
read -r -a sets <<<"$3"
[ -f "${corpus}/.done" ] || { echo "$0: ${corpus} is not a complete frame corpus (no .done)" >&2; exit 1; }
for s in "${sets[@]}"; do
    src=${corpus}/data/${s}
    [ -f "${src}/episodes.scp" ] || { echo "$0: ${src}/episodes.scp is missing" >&2; exit 1; }
    out=${dest}/${s}${suffix}
    mkdir -p "${out}"
    for name in episodes.scp stats.json; do
        file=${out}/${name}
        if [ ! -f "${src}/${name}" ]; then
            rm -f "${file}"
        elif ! cmp -s "${src}/${name}" "${file}"; then
            cp "${src}/${name}" "${out}/.${name}.tmp"
            mv "${out}/.${name}.tmp" "${file}"
        fi
    done
done
