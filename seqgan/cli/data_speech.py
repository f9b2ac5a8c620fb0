"""`seqgan data synth-speech`: the synthetic noisy-speech corpus (espeak-ng talkers + synthetic noises)."""

from __future__ import annotations

import argparse
import sys

HELP = "generate the synthetic noisy-speech corpus (espeak-ng talkers + synthetic noises)"
DESCRIPTION = """\
Synthetic noisy speech for speech enhancement, in the spirit of VoiceBank-DEMAND, generated locally
with no download. Sentences from a built-in grammar are spoken by espeak-ng with many English accents
and voice variants at different pitches and speeds (a speaker = accent, variant, pitch, speed); the
voice variants are divided among train, dev, test and the babble talkers, so the splits are
speaker-disjoint. Speech is resampled to 16 kHz (soxr) with a -75 dBFS noise floor, then mixed with
synthetic noises:

  train/dev: white pink brown babble hum50 engine fan clicks music tones at 0/5/10/15 dB SNR
  test:      hum60 cafe siren rain traffic (held out)   at 2.5/7.5/12.5/17.5 dB SNR

SNR = speech power over active 20 ms frames (within 40 dB of the loudest) / noise power over the
whole signal. noisy.wav is the sample-exact sum of clean.wav and noise.wav (16-bit PCM).
Deterministic: the same --seed and sizes give byte-identical files for any --nj.

Output:
  OUT/wav/{train,dev,test}/{clean,noisy,noise}/<utt>.wav
  OUT/data/{train,dev,test}/{wav.scp,spk1.scp,noise1.scp,utt2spk,spk2utt,spk2gender,text,
                             utt2dur,utt2num_samples,utt2snr,utt2noise}
  OUT/corpus.json   seed, counts, speakers and noise types per split, espeak-ng version
  OUT/.done         written last; a complete corpus with the same settings is not regenerated

Sizes (utterances train/dev/test, speakers train/dev/test):
  tiny    24/6/6       4/2/2
  small   600/60/60    24/4/6    (default; about 1 min on 2 cores)
  medium  3000/200/400 28/4/8

Requires espeak-ng (apt-get install espeak-ng / brew install espeak-ng).

Example:
  seqgan data synth-speech --out corpora/synth-speech --size small --nj 2
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--size",
        choices=("tiny", "small", "medium"),
        default="small",
        help="preset counts of utterances and speakers (default: small)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    for split in ("train", "dev", "test"):
        parser.add_argument(
            f"--num-{split}",
            type=int,
            default=None,
            metavar="N",
            help=f"{split} utterances (default: from --size)",
        )
    for split in ("train", "dev", "test"):
        parser.add_argument(
            f"--speakers-{split}",
            type=int,
            default=None,
            metavar="N",
            help=f"{split} speakers (default: from --size)",
        )
    parser.add_argument(
        "--train-noises",
        default=None,
        metavar="A,B,...",
        help="noise types of train and dev (default: white,pink,brown,babble,hum50,engine,fan,"
        "clicks,music,tones)",
    )
    parser.add_argument(
        "--test-noises",
        default=None,
        metavar="A,B,...",
        help="noise types of test (default: hum60,cafe,siren,rain,traffic)",
    )
    parser.add_argument("--nj", type=int, default=2, help="parallel jobs (default: 2)")
    parser.add_argument(
        "--overwrite", action="store_true", help="regenerate even if OUT holds a complete corpus"
    )


def run(args: argparse.Namespace) -> int:
    from seqgan.data.synth.speech import EspeakError
    from seqgan.data.synth.speech_corpus import CorpusExistsError, generate_corpus, preset

    counts = preset(args.size)
    for key in counts:
        value = getattr(args, key)
        if value is not None:
            counts[key] = value
    kwargs = {}
    for key in ("train_noises", "test_noises"):
        value = getattr(args, key)
        if value is not None:
            kwargs[key] = tuple(v.strip() for v in value.split(",") if v.strip())
    try:
        summary = generate_corpus(
            args.out, seed=args.seed, nj=args.nj, overwrite=args.overwrite, **counts, **kwargs
        )
    except (EspeakError, CorpusExistsError, ValueError) as e:
        print(f"seqgan data synth-speech: {e}", file=sys.stderr)
        return 1
    out = summary["out_dir"]
    if summary["skipped"]:
        print(
            f"{out} already holds this corpus (seed {summary['seed']}); nothing to do. "
            "Pass --overwrite to regenerate it."
        )
        return 0
    print(
        f"synth-speech corpus in {out} ({summary['seconds']:.1f} s, espeak-ng {summary['espeak_ng_version']})"
    )
    for split, info in summary["splits"].items():
        print(
            f"  {split:5s} {info['num_utterances']:5d} utterances  {info['num_speakers']:3d} speakers  "
            f"{info['hours'] * 60:6.1f} min  noises: {','.join(info['noise_types'])}  "
            f"SNR: {'/'.join(f'{s:g}' for s in info['snrs_db'])} dB  -> {out}/data/{split}"
        )
    return 0
