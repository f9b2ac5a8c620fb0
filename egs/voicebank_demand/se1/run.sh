#!/usr/bin/env bash
# SEGAN on VoiceBank-DEMAND (Valentini-Botinhao et al. 2016), resampled to 16 kHz; p226 and p287 are
# held out of the 28 training speakers for validation; the test set is the usual 824 utterances.
#
#   ./run.sh --db /data/VoiceBank-DEMAND                       the paper's SEGAN on one GPU
#   ./run.sh --db /data/VoiceBank-DEMAND --ngpu 4              the paper's 4 x 100 windows (torchrun)
#   ./run.sh --db /data/VoiceBank-DEMAND --conf conf/segan_plus.yaml
#   ./run.sh --stage -1 --stop-stage -1 --db downloads/VoiceBank-DEMAND   download it (about 2.5 GB)
#   ./run.sh --help                                            every option
#
# --db DIR: the folder holding clean_trainset_28spk_wav/, noisy_trainset_28spk_wav/, clean_testset_wav/
# and noisy_testset_wav/ (default: downloads/VoiceBank-DEMAND, where --stage -1 puts it).
set -euo pipefail

db=${VOICEBANK_DEMAND:-downloads/VoiceBank-DEMAND}
help=false
args=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --db) [ "$#" -ge 2 ] || { echo "$0: --db needs a folder" >&2; exit 1; }; db=$2; shift 2 ;;
        --db=*) db=${1#*=}; shift ;;
        --help | -h) help=true; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
export VOICEBANK_DEMAND=${db}  # read by local/download.sh and local/data.sh
[ "${help}" = false ] || args+=(--help)

status=0
./se.sh \
    --train_set train \
    --valid_set dev \
    --test_sets test \
    --conf conf/segan.yaml \
    --ngpu 1 \
    --nj 8 \
    ${args[@]+"${args[@]}"} || status=$?
[ "${help}" = false ] || printf '  --%-24s %s [%s]\n' db "the VoiceBank-DEMAND folder (run.sh)" "${db}"
exit "${status}"
