#!/usr/bin/env bash
# Copies the tables of a data directory, leaving a table that is already the same untouched (its
# modification time too, so later stages see nothing new), and removing tables that SRC no longer has.
#   utils/copy_data_dir.sh downloads/corpus/data/train data/train
set -euo pipefail

help_message="Usage: $0 SRC_DIR DEST_DIR"
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"

if [ "$#" -ne 2 ]; then
    echo "${help_message}" >&2
    exit 1
fi
src=${1%/}
dest=${2%/}
[ -f "${src}/wav.scp" ] || { echo "$0: ${src}: no wav.scp (not a data directory?)" >&2; exit 1; }
mkdir -p "${dest}"
for file in "${src}"/*; do
    [ -f "${file}" ] || continue
    name=$(basename "${file}")
    if ! cmp -s "${file}" "${dest}/${name}"; then
        cp "${file}" "${dest}/.${name}.tmp"
        mv "${dest}/.${name}.tmp" "${dest}/${name}"
    fi
done
for file in "${dest}"/*; do
    [ -f "${file}" ] || continue
    [ -f "${src}/$(basename "${file}")" ] || rm -f "${file}"
done
