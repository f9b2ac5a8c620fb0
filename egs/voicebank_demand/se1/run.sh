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

db=${VOICEBANK_DEMAND:-downloads/VoiceBank-DEMAND}  # the VoiceBank-DEMAND folder (--stage -1 downloads it there)
help_message="Usage: $0 [--db DIR] [options of se.sh]
SEGAN on VoiceBank-DEMAND (see the top of run.sh and README.md)."
pass_unknown_options=true  # every other option goes on to se.sh
# shellcheck source=SCRIPTDIR/utils/parse_options.sh
. utils/parse_options.sh
export VOICEBANK_DEMAND=${db}  # read by local/download.sh and local/data.sh

./se.sh \
    --train_set train \
    --valid_set dev \
    --test_sets test \
    --conf conf/segan.yaml \
    --ngpu 1 \
    --nj 8 \
    "$@"
