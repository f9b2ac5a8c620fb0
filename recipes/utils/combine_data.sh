#!/usr/bin/env bash
# Merges data directories into one:
#
#   utils/combine_data.sh data/train_all data/train_a data/train_b
#
# Each table present in every source (*.scp, utt2*, text, spk2gender) is concatenated and sorted;
# a table missing from some source is left out, with a note. spk2utt is rebuilt from utt2spk.
# Utterance ids must not repeat across the sources. DEST is written in a temporary directory and then
# put in place, replacing an older DEST.
set -euo pipefail
export LC_ALL=C

help_message="Usage: $0 DEST_DIR SRC_DIR1 [SRC_DIR2 ...]"
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"

die() {
    echo "$0: $*" >&2
    exit 1
}
[ "$#" -ge 2 ] || die "${help_message}"
dest=${1%/}
shift
for src in "$@"; do
    [ -f "${src}/wav.scp" ] || die "${src}: no wav.scp (not a data directory?)"
    if [ -d "${dest}" ] && [ "$(cd "${src}" && pwd -P)" = "$(cd "${dest}" && pwd -P)" ]; then
        die "DEST_DIR ${dest} is also a source"
    fi
done

mkdir -p "$(dirname "${dest}")"
tmp=$(mktemp -d "${dest}.tmp.XXXXXX")
trap 'rm -rf "${tmp}"' EXIT

names=$(for src in "$@"; do
    for file in "${src}"/*.scp "${src}"/utt2* "${src}"/text "${src}"/spk2gender; do
        if [ -f "${file}" ]; then basename "${file}"; fi
    done
done | sort -u)
for name in ${names}; do
    missing=()
    for src in "$@"; do
        [ -f "${src}/${name}" ] || missing+=("${src}")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "$0: note: leaving out ${name}: not in ${missing[*]}" >&2
        continue
    fi
    files=()
    for src in "$@"; do
        files+=("${src}/${name}")
    done
    if [ "${name}" = spk2gender ]; then
        sort -u -k1,1 "${files[@]}" >"${tmp}/${name}"
    else
        sort -k1,1 "${files[@]}" >"${tmp}/${name}"
        dup=$(awk 'seen[$1]++ { print $1; exit }' "${tmp}/${name}")
        [ -z "${dup}" ] || die "the utterance id ${dup} is in more than one source (${name})"
    fi
done
if [ -f "${tmp}/utt2spk" ]; then
    "$(dirname "${BASH_SOURCE[0]}")/utt2spk_to_spk2utt.sh" "${tmp}/utt2spk" >"${tmp}/spk2utt"
fi

rm -rf "${dest}"
mv "${tmp}" "${dest}"
trap - EXIT
echo "$0: ${dest}: $(wc -l <"${dest}/wav.scp") utterances from $# directories"
