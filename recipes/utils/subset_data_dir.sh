#!/usr/bin/env bash
# Copies part of a data directory: the first / last / a random N utterances, or those of given
# utterances or speakers (or all but given speakers).
#
#   utils/subset_data_dir.sh --first 100 data/train data/train_100
#   utils/subset_data_dir.sh --random 50 --seed 3 data/train data/train_r50
#   utils/subset_data_dir.sh --spk-list dev_speakers.txt data/all data/dev
#   utils/subset_data_dir.sh --exclude-spk-list dev_speakers.txt data/all data/train
#   utils/subset_data_dir.sh --utt-list ids.txt data/train data/train_sub
#
# Every utterance-keyed table (*.scp, utt2*, text) is filtered to the chosen ids, spk2utt is rebuilt
# from utt2spk and spk2gender keeps the speakers that remain. Lists hold one id per line (first
# column). DEST is written in a temporary directory and then put in place, replacing an older DEST.
set -euo pipefail
export LC_ALL=C

first=0              # the first N utterances
last=0               # the last N utterances
random=0             # N utterances drawn at random (see --seed)
seed=0               # seed of --random
utt_list=""          # file of utterance ids to keep
spk_list=""          # file of speaker ids to keep (needs utt2spk)
exclude_spk_list=""  # file of speaker ids to leave out (needs utt2spk)
help_message="Usage: $0 [options] SRC_DIR DEST_DIR   (exactly one of the selection options)"
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"

die() {
    echo "$0: $*" >&2
    exit 1
}
[ "$#" -eq 2 ] || die "need SRC_DIR and DEST_DIR (see $0 --help)"
src=${1%/}
dest=${2%/}
[ -f "${src}/wav.scp" ] || die "${src}: no wav.scp (not a data directory?)"
if [ -d "${dest}" ] && [ "$(cd "${src}" && pwd -P)" = "$(cd "${dest}" && pwd -P)" ]; then
    die "SRC_DIR and DEST_DIR are the same directory"
fi

chosen=0
for v in "${first}" "${last}" "${random}"; do
    [[ "${v}" =~ ^[0-9]+$ ]] || die "--first, --last and --random take a number, got '${v}'"
    [ "${v}" -gt 0 ] && chosen=$((chosen + 1))
done
for v in "${utt_list}" "${spk_list}" "${exclude_spk_list}"; do
    if [ -n "${v}" ]; then
        [ -f "${v}" ] || die "${v}: no such file"
        chosen=$((chosen + 1))
    fi
done
[ "${chosen}" -eq 1 ] || die "give exactly one of --first, --last, --random, --utt-list, --spk-list, --exclude-spk-list"
if [ -n "${spk_list}${exclude_spk_list}" ] && [ ! -f "${src}/utt2spk" ]; then
    die "${src}: --spk-list / --exclude-spk-list need utt2spk"
fi

mkdir -p "$(dirname "${dest}")"
tmp=$(mktemp -d "${dest}.tmp.XXXXXX")
trap 'rm -rf "${tmp}"' EXIT

# the chosen ids, sorted
ids=${tmp}/.ids
if [ "${first}" -gt 0 ]; then
    awk -v n="${first}" 'NR <= n { print $1 }' "${src}/wav.scp" >"${ids}"
elif [ "${last}" -gt 0 ]; then
    awk '{ print $1 }' "${src}/wav.scp" | tail -n "${last}" >"${ids}"
elif [ "${random}" -gt 0 ]; then
    awk -v seed="${seed}" 'BEGIN { srand(seed) } { printf "%.12f %s\n", rand(), $1 }' "${src}/wav.scp" |
        sort -k1,1 | awk -v n="${random}" 'NR <= n { print $2 }' | sort >"${ids}"
elif [ -n "${utt_list}" ]; then
    awk 'NR == FNR { keep[$1] = 1; next } ($1 in keep) { print $1 }' "${utt_list}" "${src}/wav.scp" >"${ids}"
else
    list=${spk_list:-${exclude_spk_list}}
    want=$([ -n "${spk_list}" ] && echo 1 || echo 0)
    awk -v want="${want}" 'NR == FNR { s[$1] = 1; next } (($2 in s) ? 1 : 0) == want { print $1 }' \
        "${list}" "${src}/utt2spk" >"${ids}"
fi
[ -s "${ids}" ] || die "the selection leaves no utterances of ${src}"

for file in "${src}"/*.scp "${src}"/utt2* "${src}"/text; do
    [ -f "${file}" ] || continue
    awk 'NR == FNR { keep[$1] = 1; next } ($1 in keep)' "${ids}" "${file}" >"${tmp}/$(basename "${file}")"
done
if [ -f "${tmp}/utt2spk" ]; then
    "$(dirname "${BASH_SOURCE[0]}")/utt2spk_to_spk2utt.sh" "${tmp}/utt2spk" >"${tmp}/spk2utt"
    if [ -f "${src}/spk2gender" ]; then
        awk 'NR == FNR { keep[$1] = 1; next } ($1 in keep)' "${tmp}/spk2utt" "${src}/spk2gender" \
            >"${tmp}/spk2gender"
    fi
fi
rm -f "${ids}"

rm -rf "${dest}"
mv "${tmp}" "${dest}"
trap - EXIT
echo "$0: ${dest}: $(wc -l <"${dest}/wav.scp") of $(wc -l <"${src}/wav.scp") utterances of ${src}"
