#!/usr/bin/env bash
# Turns an utt2spk table into spk2utt (speaker followed by its utterances, in input order), sorted by
# speaker. Reads the file named as the argument, or stdin; writes stdout.
#   utils/utt2spk_to_spk2utt.sh data/train/utt2spk > data/train/spk2utt
set -euo pipefail
if [ "$#" -gt 1 ] || [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
    echo "Usage: $0 [utt2spk] > spk2utt" >&2
    exit 1
fi
awk 'NF >= 2 {
        if (!($2 in utts)) { order[++n] = $2; utts[$2] = $1 } else { utts[$2] = utts[$2] " " $1 }
     }
     END { for (i = 1; i <= n; i++) print order[i], utts[order[i]] }' "${1:-/dev/stdin}" | LC_ALL=C sort -k1,1
