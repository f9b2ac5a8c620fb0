"""`seqgan data synth-speech`: the synthetic noisy-speech corpus (several synthesizers, rooms, noises)."""

from __future__ import annotations

import argparse
import sys

from seqgan.data.synth.phrases import LANGUAGES

HELP = "generate the synthetic noisy-speech corpus (several synthesizers, languages, rooms and noises)"
DESCRIPTION = """\
Synthetic noisy speech for speech enhancement, in the spirit of VoiceBank-DEMAND, generated locally
with no download, reproducible from --seed.

Talkers: espeak-ng (English accents and voice variants, plus German, Dutch, Swedish, French,
Spanish, Italian, Portuguese, Catalan, Polish and Czech), flite (awb, rms, slt, kal16) and festival
(kal, slt, Italian lp/pc, Catalan ona) where installed; each speaker also gets a pitch, a speed and a
vocal-tract warp (resampling). Voices are divided among train, dev, test and the babble talkers:
no test voice is heard in training. Held out for test: festival (a whole synthesizer), flite's
slt/kal16 (the festival talkers), the Slavic languages (Polish, Czech) and their own espeak-ng
variants. A missing synthesizer or voice is skipped with one logged line.

Noises (utterances spread evenly over noise type x SNR):
  train/dev: white pink brown babble hum50 engine fan clicks music tones (synthetic)
             + music-macroform music-manolo-camp effects-freedesktop (recorded, from packages)
             at 0/5/10/15 dB SNR
  test:      hum60 cafe siren rain traffic (synthetic, held out)
             + music-reno-project effects-deepin (recorded, held out by source)
             at 2.5/7.5/12.5/17.5 dB SNR
Recorded sources come from Debian packages (asterisk-moh-opsound-wav, sound-theme-freedesktop,
deepin-sound-theme; `make system-packages`); without them the synthetic noises are used and one
line says so.

Rooms and channels (fractions of utterances, drawn per utterance):
  --reverb-fraction  synthetic room, RT60 0.2-0.8 s (test 0.2-1.0 s), DRR 0-12 dB; the clean
                     target is the early-reverberant speech (direct path + first 50 ms)
  --band-fraction    telephone 300-3400 Hz or 8 kHz sampling, upsampled; the target is
                     band-limited the same way (noise removed, no band invented)
  --clip-fraction    the noisy input clipped at 25-70 % of its peak; the target is unclipped
  --level-range      active level of the noisy input, uniform in LOW,HIGH dBFS

SNR = clean-target power over active 20 ms frames (within 40 dB of the loudest) / power of the
additive noise. noise.wav = noisy.wav - clean.wav sample for sample (additive noise plus the late
reverberation, band-limit and clipping residuals). utt2aug lists each utterance's level, room,
band and clipping; corpus.json the synthesizers, voices, languages and recorded sources used.
Deterministic: the same --seed, settings and installed packages give byte-identical files for any --nj.

Output:
  OUT/wav/{train,dev,test}/{clean,noisy,noise}/<utt>.wav   mono 16-bit PCM at --sample-rate (16 kHz)
  OUT/data/{train,dev,test}/{wav.scp,spk1.scp,noise1.scp,utt2spk,spk2utt,spk2gender,text,
                             utt2dur,utt2num_samples,utt2snr,utt2noise,utt2lang,utt2aug}
  OUT/corpus.json   seed, counts, speakers, noises, sources, augmentation counts per split
  OUT/.done         written last; a complete corpus with the same settings is not regenerated

Sizes (utterances train/dev/test, speakers train/dev/test):
  tiny    24/6/6       4/2/2
  small   600/60/60    24/4/6    (default)
  medium  3000/200/400 28/4/8

Full band (--sample-rate 48000): noises, rooms and recorded clips are rendered at 48 kHz; the
talkers are resampled from their synthesizers' own rates, so the clean speech has what they make:
espeak-ng up to 11 kHz (x the vocal-tract warp, 0.9-1.12), flite 8 kHz, festival 8 kHz (slt 16 kHz).
corpus.json's clean_speech_band says so per synthesizer.

Requires espeak-ng (apt-get install espeak-ng / brew install espeak-ng); flite, festival and the
sound packages are optional (`make system-packages` installs them on Debian/Ubuntu).

Examples:
  seqgan data synth-speech --out corpora/synth-speech --size small --nj 2
  seqgan data synth-speech --out corpora/synth-speech-48k --size small --sample-rate 48000
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
        "clicks,music,tones + the installed recorded train sources)",
    )
    parser.add_argument(
        "--test-noises",
        default=None,
        metavar="A,B,...",
        help="noise types of test (default: hum60,cafe,siren,rain,traffic + the installed "
        "recorded test sources)",
    )
    parser.add_argument(
        "--no-recorded-noises",
        dest="recorded_noises",
        action="store_false",
        help="leave the recorded sources out of the default noise lists",
    )
    parser.add_argument(
        "--synthesizers",
        default="espeak,flite,festival",
        metavar="A,B,...",
        help="synthesizers to use where installed (espeak required; default: espeak,flite,festival)",
    )
    parser.add_argument(
        "--languages",
        default=",".join(LANGUAGES),
        metavar="A,B,...",
        help=f"languages spoken (en always; default: {','.join(LANGUAGES)})",
    )
    parser.add_argument(
        "--reverb-fraction",
        type=float,
        default=0.3,
        metavar="F",
        help="share of utterances in a synthetic room (default: 0.3)",
    )
    parser.add_argument(
        "--band-fraction",
        type=float,
        default=0.1,
        metavar="F",
        help="share of telephone / 8 kHz band-limited utterances (default: 0.1)",
    )
    parser.add_argument(
        "--clip-fraction",
        type=float,
        default=0.05,
        metavar="F",
        help="share of clipped inputs (default: 0.05)",
    )
    parser.add_argument(
        "--level-range",
        default="-35,-15",
        metavar="LOW,HIGH",
        help="active level of the noisy input in dBFS (default: -35,-15)",
    )
    parser.add_argument(
        "--sample-rate",
        type=int,
        default=16000,
        metavar="HZ",
        help="rate of every file, 16000-96000 (default: 16000; 48000 for full-band models)",
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
        for key in ("synthesizers", "languages"):
            kwargs[key] = tuple(v.strip() for v in getattr(args, key).split(",") if v.strip())
        try:
            kwargs["level_range_db"] = tuple(float(v) for v in args.level_range.split(","))
        except ValueError:
            raise ValueError(f"--level-range takes LOW,HIGH in dBFS, got '{args.level_range}'") from None
        if len(kwargs["level_range_db"]) != 2:
            raise ValueError(f"--level-range takes LOW,HIGH in dBFS, got '{args.level_range}'")
        summary = generate_corpus(
            args.out,
            seed=args.seed,
            sample_rate=args.sample_rate,
            nj=args.nj,
            overwrite=args.overwrite,
            recorded_noises=args.recorded_noises,
            reverb_fraction=args.reverb_fraction,
            band_fraction=args.band_fraction,
            clip_fraction=args.clip_fraction,
            **counts,
            **kwargs,
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
        f"synth-speech corpus in {out} ({summary['sample_rate']} Hz, {summary['seconds']:.1f} s, espeak-ng {summary['espeak_ng_version']}; "
        f"synthesizers: {','.join(summary['synthesizers'])}; recorded noises: "
        f"{','.join(r['name'] for r in summary['recorded_sources']) or 'none'})"
    )
    for split, info in summary["splits"].items():
        print(
            f"  {split:5s} {info['num_utterances']:5d} utterances  {info['num_speakers']:3d} speakers  "
            f"{info['hours'] * 60:6.1f} min  noises: {','.join(info['noise_types'])}  "
            f"SNR: {'/'.join(f'{s:g}' for s in info['snrs_db'])} dB  -> {out}/data/{split}"
        )
        print(
            f"        synthesizers {info['synthesizers']}  families {info['language_families']}  "
            f"reverberant {info['reverberant']}  band-limited {info['band_limited']}  clipped {info['clipped']}"
        )
    return 0
