#!/usr/bin/env bash
# Splits a table into N contiguous parts with (almost) equal line counts, Kaldi style:
#   utils/split_scp.sh data/test/wav.scp split/wav.1.scp split/wav.2.scp split/wav.3.scp
# Parts differ by at most one line; every part gets at least one line (so N must not exceed the number
# of lines). Each part is written to a temporary file and renamed.
set -euo pipefail
if [ "$#" -lt 2 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
    echo "Usage: $0 IN OUT1 [OUT2 ...]" >&2
    exit 1
fi
in=$1
shift
[ -f "${in}" ] || { echo "$0: ${in}: no such file" >&2; exit 1; }
lines=$(grep -c . "${in}" || true)
n=$#
if [ "${lines}" -lt "${n}" ]; then
    echo "$0: ${in} has ${lines} lines, fewer than the ${n} parts asked for; use at most ${lines} jobs" >&2
    exit 1
fi
i=0
start=1
for out in "$@"; do
    i=$((i + 1))
    count=$((lines / n + (i <= lines % n ? 1 : 0)))
    mkdir -p "$(dirname "${out}")"
    awk -v s="${start}" -v e="$((start + count - 1))" 'NF { k++; if (k >= s && k <= e) print }' \
        "${in}" >"${out}.tmp.$$"
    mv "${out}.tmp.$$" "${out}"
    start=$((start + count))
done
