#!/usr/bin/env bash
# Stage 0 of egs/synth/se1: generates the synthetic noisy-speech corpus (seqgan data synth-speech)
# under downloads/ and writes its data directories data/{train,dev,test}. Generation is skipped when
# the corpus is already complete, and data/ is left untouched when it is already up to date.
#   local/data.sh --size tiny
#   local/data.sh --sample_rate 48000     a full-band corpus: data/{train,dev,test}_48k beside the 16 kHz sets
set -euo pipefail

size=small        # corpus size: tiny (24/6/6 utterances), small (600/60/60), medium (3000/200/400)
seed=0            # corpus seed (the same seed gives the same files)
num_train=""      # train utterances (default: from --size)
num_dev=""        # dev utterances (default: from --size)
num_test=""       # test utterances (default: from --size)
nj=2              # parallel generation jobs
sample_rate=16000 # rate of the corpus in Hz (48000: full band, for conf/fullband.yaml)
set_suffix=""     # suffix of the data directories (default: _48k etc. when sample_rate is not 16000)
corpus_dir=""     # where the corpus goes (default: downloads/synth-speech_<size>_seed<seed>[_<counts>])
help_message="Usage: $0 [options]
Generates the synthetic noisy-speech corpus and data/{train,dev,test}."
# shellcheck disable=SC1091
. ./path.sh
# shellcheck source=SCRIPTDIR/../utils/parse_options.sh
. utils/parse_options.sh

if ! command -v espeak-ng >/dev/null 2>&1; then
    echo "$0: espeak-ng is needed to synthesise the speech: sudo apt-get install espeak-ng" \
        "(Debian/Ubuntu), sudo dnf install espeak-ng (Fedora) or brew install espeak-ng (macOS)" >&2
    exit 1
fi

opts=(--size "${size}" --seed "${seed}" --nj "${nj}" --sample-rate "${sample_rate}")
suffix=""
if [ "${sample_rate}" != 16000 ]; then
    rate_tag=_$((sample_rate / 1000))k
    [ $((sample_rate % 1000)) -eq 0 ] || rate_tag=_${sample_rate}
    suffix=${rate_tag}
    [ -n "${set_suffix}" ] || set_suffix=${rate_tag}
fi
for pair in "train:${num_train}" "dev:${num_dev}" "test:${num_test}"; do
    split=${pair%%:*}
    count=${pair#*:}
    if [ -n "${count}" ]; then
        opts+=("--num-${split}" "${count}")
        suffix="${suffix}_${split}${count}"
    fi
done
[ -n "${corpus_dir}" ] || corpus_dir=downloads/synth-speech_${size}_seed${seed}${suffix}

seqgan data synth-speech --out "${corpus_dir}" "${opts[@]}"
for split in train dev test; do
    utils/copy_data_dir.sh "${corpus_dir}/data/${split}" "data/${split}${set_suffix}"
done
echo "$0: data/{train,dev,test}${set_suffix} from ${corpus_dir}"
