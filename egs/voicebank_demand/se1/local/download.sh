#!/usr/bin/env bash
# Downloads VoiceBank-DEMAND (Valentini-Botinhao, 2017; Edinburgh DataShare, doi:10.7488/ds/2117;
# licence CC BY 4.0) and unzips it into --db: clean_trainset_28spk_wav/, noisy_trainset_28spk_wav/,
# clean_testset_wav/, noisy_testset_wav/ (about 2.5 GB of zip files; 48 kHz wav). Archives already
# downloaded and folders already complete are kept. Run through the recipe: ./run.sh --stage -1
# --stop-stage -1 --db DIR.
set -euo pipefail

db=${VOICEBANK_DEMAND:-downloads/VoiceBank-DEMAND}   # where the four folders go
url=https://datashare.ed.ac.uk/bitstream/handle/10283/2791   # the corpus on Edinburgh DataShare
keep_zip=false                                       # keep the zip files after unzipping
help_message="Usage: $0 [options]
Downloads VoiceBank-DEMAND from Edinburgh DataShare into --db."
# shellcheck source=SCRIPTDIR/../utils/parse_options.sh
. utils/parse_options.sh

die() {
    echo "$0: $*" >&2
    exit 1
}
command -v unzip >/dev/null 2>&1 || die "unzip is needed (apt-get install unzip)"
if command -v wget >/dev/null 2>&1; then
    fetch() { wget --continue --tries 3 -O "$2" "$1"; }
elif command -v curl >/dev/null 2>&1; then
    fetch() { curl --fail --location --retry 3 --continue-at - -o "$2" "$1"; }
else
    die "wget or curl is needed"
fi

mkdir -p "${db}"
for name in clean_trainset_28spk_wav noisy_trainset_28spk_wav clean_testset_wav noisy_testset_wav; do
    if [ -f "${db}/${name}/.complete" ]; then
        echo "$0: ${db}/${name}: already there"
        continue
    fi
    zip=${db}/${name}.zip
    if ! unzip -tqq "${zip}" >/dev/null 2>&1; then
        echo "$0: downloading ${url}/${name}.zip"
        fetch "${url}/${name}.zip" "${zip}" || die "could not download ${url}/${name}.zip; download it by hand from https://datashare.ed.ac.uk/handle/10283/2791 into ${db}/"
        unzip -tqq "${zip}" >/dev/null || die "${zip} is not a complete zip file; remove it and run again"
    fi
    rm -rf "${db:?}/${name}"
    unzip -q "${zip}" -d "${db}"
    [ -d "${db}/${name}" ] || die "${zip} did not hold the folder ${name}/"
    touch "${db}/${name}/.complete"
    [ "${keep_zip}" = true ] || rm -f "${zip}"
done
echo "$0: VoiceBank-DEMAND is in ${db}: $(find "${db}/noisy_trainset_28spk_wav" -name '*.wav' | wc -l) training and" \
    "$(find "${db}/noisy_testset_wav" -name '*.wav' | wc -l) test utterances"
