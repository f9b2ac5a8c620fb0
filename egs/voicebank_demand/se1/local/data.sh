#!/usr/bin/env bash
# Stage 0 of egs/voicebank_demand/se1: data directories of VoiceBank-DEMAND as distributed (48 kHz;
# stage 1 resamples to 16 kHz):
#   data/train  the 28 training speakers but the validation ones (11 572 utterances in all)
#   data/dev    the validation speakers (default p226 and p287), held out of training
#   data/test   p232 and p257 (824 utterances)
# wav.scp lists the noisy files, spk1.scp the clean ones (the same names in both folders).
set -euo pipefail

db=${VOICEBANK_DEMAND:-downloads/VoiceBank-DEMAND}   # folder of the four *_wav folders
valid_speakers="p226 p287"                           # training speakers held out for validation
help_message="Usage: $0 [options]
Writes data/{train,dev,test} for VoiceBank-DEMAND."
# shellcheck disable=SC1091
. ./path.sh
# shellcheck source=SCRIPTDIR/../utils/parse_options.sh
. utils/parse_options.sh
export LC_ALL=C

die() {
    echo "$0: $*" >&2
    exit 1
}
[ -d "${db}" ] || die "${db}: no such folder. Point --db at the VoiceBank-DEMAND folder (with clean_trainset_28spk_wav/ etc.) or download it with: ./run.sh --stage -1 --stop-stage -1"
db=$(cd "${db}" && pwd)
for folder in clean_trainset_28spk_wav noisy_trainset_28spk_wav clean_testset_wav noisy_testset_wav; do
    [ -d "${db}/${folder}" ] || die "${db}/${folder} is missing; the corpus folder must hold clean_trainset_28spk_wav, noisy_trainset_28spk_wav, clean_testset_wav and noisy_testset_wav (unzip all four archives there)"
done

tmp=data/local
rm -rf "${tmp}"
mkdir -p "${tmp}"

# <set> <noisy folder> <clean folder>: wav.scp, spk1.scp, utt2spk, spk2utt
make_dir() {
    local dir=$1 noisy=$2 clean=$3
    mkdir -p "${dir}"
    find "${noisy}" -maxdepth 1 -name '*.wav' | sed -E 's|^.*/([^/]+)\.wav$|\1 &|' | sort -k1,1 >"${dir}/wav.scp"
    find "${clean}" -maxdepth 1 -name '*.wav' | sed -E 's|^.*/([^/]+)\.wav$|\1 &|' | sort -k1,1 >"${dir}/spk1.scp"
    [ -s "${dir}/wav.scp" ] || die "${noisy}: no .wav files"
    local only_noisy only_clean
    only_noisy=$(join -v 1 "${dir}/wav.scp" "${dir}/spk1.scp" | awk '{ print $1 }')
    only_clean=$(join -v 2 "${dir}/wav.scp" "${dir}/spk1.scp" | awk '{ print $1 }')
    if [ -n "${only_noisy}${only_clean}" ]; then
        die "the noisy and clean folders do not match (only in ${noisy}: $(echo "${only_noisy}" | awk 'NR <= 3' | paste -sd ' ' -);" \
            "only in ${clean}: $(echo "${only_clean}" | awk 'NR <= 3' | paste -sd ' ' -)); the corpus is incomplete: extract the archives again"
    fi
    awk '{ split($1, a, "_"); print $1, a[1] }' "${dir}/wav.scp" >"${dir}/utt2spk"
    utils/utt2spk_to_spk2utt.sh "${dir}/utt2spk" >"${dir}/spk2utt"
}

make_dir "${tmp}/train_all" "${db}/noisy_trainset_28spk_wav" "${db}/clean_trainset_28spk_wav"
make_dir "${tmp}/test" "${db}/noisy_testset_wav" "${db}/clean_testset_wav"
tr ' ' '\n' <<<"${valid_speakers}" | awk 'NF' >"${tmp}/valid_speakers"
missing=$(awk 'NR == FNR { s[$1] = 1; next } !($1 in s)' "${tmp}/train_all/spk2utt" "${tmp}/valid_speakers")
[ -z "${missing}" ] || die "validation speaker(s) $(echo "${missing}" | paste -sd ' ' -) not among the training speakers"
utils/subset_data_dir.sh --spk-list "${tmp}/valid_speakers" "${tmp}/train_all" "${tmp}/dev"
utils/subset_data_dir.sh --exclude-spk-list "${tmp}/valid_speakers" "${tmp}/train_all" "${tmp}/train"

for s in train dev test; do
    utils/copy_data_dir.sh "${tmp}/${s}" "data/${s}"
    utils/validate_data_dir.sh --required "wav.scp spk1.scp" "data/${s}"
done
echo "$0: data/{train,dev,test} from ${db}: $(wc -l <data/train/wav.scp) / $(wc -l <data/dev/wav.scp) /" \
    "$(wc -l <data/test/wav.scp) utterances; validation speakers: ${valid_speakers}"
