#!/usr/bin/env bash
# Checks a Kaldi / ESPnet speech-enhancement data directory and says what is wrong and how to fix it.
#
#   utils/validate_data_dir.sh [--required "wav.scp spk1.scp"] [--check-files false] data/train
#
# Checks, for every table present (wav.scp, spk1.scp, noise1.scp, any other *.scp, utt2spk, utt2dur,
# utt2num_samples, text, spk2utt, spk2gender): no empty lines, every line "<id> <value>", ids unique and
# sorted in byte order (LC_ALL=C sort); the utterance-keyed tables have exactly the ids of wav.scp;
# spk2utt is what utt2spk gives; utt2dur holds numbers >= 0; the *.scp values are existing files and
# no command pipes ("... |": seqgan reads only files). The same rules as seqgan.data.scp.validate_data_dir.
set -euo pipefail
export LC_ALL=C

required="wav.scp"   # tables that must exist (the first one defines the utterance ids)
check_files=true     # check that every path in the *.scp tables is an existing file
help_message="Usage: $0 [options] DATA_DIR"
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"

if [ "$#" -ne 1 ]; then
    echo "${help_message}" >&2
    exit 1
fi
dir=${1%/}
errors=0
fail() {
    echo "$0: $*" >&2
    errors=$((errors + 1))
}

[ -d "${dir}" ] || { echo "$0: ${dir}: not a directory" >&2; exit 1; }
read -r -a req <<<"${required}"
[ "${#req[@]}" -gt 0 ] || { echo "$0: --required is empty" >&2; exit 1; }
for name in "${req[@]}"; do
    [ -f "${dir}/${name}" ] || { echo "$0: ${dir}: ${name} is missing (required: ${required})" >&2; exit 1; }
done
ref=${req[0]}

tmp=$(mktemp -d)
trap 'rm -rf "${tmp}"' EXIT

# one table's format: lines, ids unique and sorted
check_table() {
    local file=$1 name
    name=$(basename "${file}")
    if [ ! -s "${file}" ]; then
        fail "${file}: is empty"
        return 1
    fi
    local bad
    bad=$(awk 'NF == 0 { print "line " NR " is empty"; exit }
               NF == 1 { print "line " NR " has an id (" $1 ") but no value"; exit }' "${file}")
    if [ -n "${bad}" ]; then
        fail "${file}: ${bad}"
        return 1
    fi
    bad=$(awk 'seen[$1]++ { print "line " NR " repeats the id " $1; exit }' "${file}")
    if [ -n "${bad}" ]; then
        fail "${file}: ${bad}; ids must be unique"
        return 1
    fi
    if ! sort -C -k1,1 "${file}"; then
        fail "${file}: not sorted by id; sort it with: LC_ALL=C sort -k1,1 -o ${file} ${file}"
        return 1
    fi
    awk '{ print $1 }' "${file}" >"${tmp}/${name}.ids"
}

tables=()
for file in "${dir}"/*.scp "${dir}"/utt2spk "${dir}"/utt2dur "${dir}"/utt2num_samples "${dir}"/text \
    "${dir}"/spk2utt "${dir}"/spk2gender; do
    [ -f "${file}" ] || continue
    if check_table "${file}"; then
        tables+=("$(basename "${file}")")
    fi
done
[ "${errors}" -eq 0 ] || exit 1

n=$(wc -l <"${tmp}/${ref}.ids")
for name in "${tables[@]}"; do
    case "${name}" in
        spk2utt | spk2gender | "${ref}") continue ;;
    esac
    if ! cmp -s "${tmp}/${ref}.ids" "${tmp}/${name}.ids"; then
        only_ref=$(comm -23 "${tmp}/${ref}.ids" "${tmp}/${name}.ids" | awk 'NR <= 3' | paste -sd ' ' -)
        only_tab=$(comm -13 "${tmp}/${ref}.ids" "${tmp}/${name}.ids" | awk 'NR <= 3' | paste -sd ' ' -)
        fail "${dir}/${name}: ids do not match ${ref} (only in ${ref}: ${only_ref:-none}; only in ${name}:" \
            "${only_tab:-none}); regenerate the tables together or filter them with utils/subset_data_dir.sh"
    fi
done

if [ -f "${dir}/utt2spk" ] && [ -f "${dir}/spk2utt" ]; then
    "$(dirname "${BASH_SOURCE[0]}")/utt2spk_to_spk2utt.sh" "${dir}/utt2spk" >"${tmp}/spk2utt"
    if ! cmp -s "${tmp}/spk2utt" "${dir}/spk2utt"; then
        fail "${dir}/spk2utt does not agree with utt2spk; rebuild it with:" \
            "utils/utt2spk_to_spk2utt.sh ${dir}/utt2spk > ${dir}/spk2utt"
    fi
fi

if [ -f "${dir}/utt2dur" ]; then
    bad=$(awk '!($2 ~ /^[0-9]+([.][0-9]*)?([eE][-+]?[0-9]+)?$/ || $2 ~ /^[.][0-9]+$/) {
                   print "the duration of " $1 " is not a number >= 0: " $2; exit }' "${dir}/utt2dur")
    [ -z "${bad}" ] || fail "${dir}/utt2dur: ${bad}"
fi

for name in "${tables[@]}"; do
    case "${name}" in
        *.scp) ;;
        *) continue ;;
    esac
    file=${dir}/${name}
    bad=$(awk '$NF ~ /[|]$/ { print "line " NR " (" $1 ") is a command pipe; convert the audio to files"; exit }' \
        "${file}")
    if [ -n "${bad}" ]; then
        fail "${file}: ${bad}"
        continue
    fi
    if [ "${check_files}" = true ]; then
        missing=0
        shown=""
        # the path is everything after the id and its whitespace (paths may hold spaces)
        while IFS= read -r path; do
            if [ ! -f "${path}" ]; then
                missing=$((missing + 1))
                [ "${missing}" -le 3 ] && shown="${shown} ${path}"
            fi
        done < <(sed -E 's/^[^[:space:]]+[[:space:]]+//; s/[[:space:]]+$//' "${file}")
        if [ "${missing}" -gt 0 ]; then
            fail "${file}: ${missing} of ${n} files do not exist (${shown# }$([ "${missing}" -gt 3 ] && echo " ...")); relative paths are read from ${PWD}"
        fi
    fi
done

[ "${errors}" -eq 0 ] || exit 1
echo "$0: ${dir}: OK (${n} utterances; ${tables[*]})"
