"""The synthetic noisy-speech corpus: many synthetic talkers, rooms and noises, Kaldi layout.

Layout written under ``out_dir``::

    wav/{train,dev,test}/{clean,noisy,noise}/<utt>.wav   mono 16-bit PCM at sample_rate (16 kHz by
                                                           default), noisy = clean + noise
    data/{train,dev,test}/wav.scp spk1.scp noise1.scp utt2spk spk2utt spk2gender text
                          utt2dur utt2num_samples utt2snr utt2noise utt2lang utt2aug
    corpus.json                                            seed, counts, speakers, noises, sources, versions
    .done                                                  written last: the corpus is complete

Talkers come from espeak-ng (English accents and ten other languages), flite and festival
(:mod:`seqgan.data.synth.voices`), planned by :mod:`seqgan.data.synth.speech_talkers`. Speakers are
disjoint between the splits down to the voice: the espeak-ng voice *variants* are divided among
train, dev, test and the babble talkers (given at least 4 installed variants per gender; espeak-ng
1.51 has all 16 female and 37 male ones listed in :mod:`seqgan.data.synth.speech`), and each
flite / festival talker belongs to one split, so no test voice is heard in training, not even as
babble. Held out for test as wholes: festival, the Slavic languages, the noise types of
:data:`~seqgan.data.synth.noises.TEST_NOISES` and the recorded sources of
:data:`~seqgan.data.synth.recorded.TEST_RECORDED`, rooms with RT60 above 0.8 s; the test set also
uses the VoiceBank-DEMAND test SNRs. Rooms, band limits, clipping and input levels are drawn per
utterance (:mod:`seqgan.data.synth.speech_utterance`, which also says what the clean target is).
SNRs are measured on active speech (see :mod:`seqgan.data.synth.mixing`); the noisy file is the
sample-exact sum of the clean and noise files.

Every utterance draws from its own random stream derived from ``(seed, split, index)``, so the
output is byte-identical for the same seed, settings and installed packages, whatever the number
of parallel jobs. At ``sample_rate=48000`` the noises, rooms and recorded clips are rendered at
48 kHz and the talkers resampled from their synthesizers' own rates, so the clean speech keeps the
band each synthesizer has (espeak-ng: up to 11 kHz; ``corpus.json``'s ``clean_speech_band``).
A complete corpus of an older format is regenerated; one with other settings is
kept unless ``overwrite`` is set.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from seqgan.atomic import write_text
from seqgan.data.scp import write_scp
from seqgan.data.synth import recorded, voices
from seqgan.data.synth.noises import NOISES, SPEECH_NOISES, TEST_NOISES, TRAIN_NOISES
from seqgan.data.synth.phrases import HELD_OUT_FAMILY, LANGUAGES, family_of
from seqgan.data.synth.reverb import DRR_RANGE_DB, TEST_RT60_RANGE, TRAIN_RT60_RANGE
from seqgan.data.synth.speech import (
    Speaker,
    espeak_version,
    find_espeak,
    installed_languages,
    installed_voices,
)
from seqgan.data.synth.speech_talkers import (
    engine_counts,
    make_espeak_speakers,
    make_voice_speakers,
    partition_variants,
)
from seqgan.data.synth.speech_utterance import (
    LEVEL_RANGE_DB,
    SAMPLE_RATE,
    Augment,
    Utterance,
    babble_stream,
    make_utterance,
    speech_band,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
SPLITS = ("train", "dev", "test")
SPLIT_PREFIX = {"train": "tr", "dev": "dv", "test": "tt"}
TRAIN_SNRS: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0)
TEST_SNRS: tuple[float, ...] = (2.5, 7.5, 12.5, 17.5)
SIZES: dict[str, dict[str, int]] = {
    "tiny": dict(num_train=24, num_dev=6, num_test=6, speakers_train=4, speakers_dev=2, speakers_test=2),
    "small": dict(num_train=600, num_dev=60, num_test=60, speakers_train=24, speakers_dev=4, speakers_test=6),
    "medium": dict(
        num_train=3000, num_dev=200, num_test=400, speakers_train=28, speakers_dev=4, speakers_test=8
    ),
}
DEFAULT_SIZE = "small"
MIN_RATE, MAX_RATE = 16000, 96000  # Hz; the 8 kHz band limit needs a rate above 8000
REVERB_FRACTION = 0.3
BAND_FRACTION = 0.1
CLIP_FRACTION = 0.05
BABBLE_TALKERS = 6  # per split
MARK_DONE = ".done"
MARK_INCOMPLETE = ".incomplete"
OWN_ENTRIES = ("wav", "data", "corpus.json", MARK_DONE, MARK_INCOMPLETE)
SNR_DEFINITION = (
    "10*log10(P_speech/P_noise): P_speech = mean power of the clean signal over 20 ms frames "
    "within 40 dB of its loudest frame; P_noise = mean power of the additive noise alone"
)


class CorpusExistsError(RuntimeError):
    """The output directory holds something that generation must not overwrite."""


def generate_corpus(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    num_train: int = SIZES[DEFAULT_SIZE]["num_train"],
    num_dev: int = SIZES[DEFAULT_SIZE]["num_dev"],
    num_test: int = SIZES[DEFAULT_SIZE]["num_test"],
    speakers_train: int = SIZES[DEFAULT_SIZE]["speakers_train"],
    speakers_dev: int = SIZES[DEFAULT_SIZE]["speakers_dev"],
    speakers_test: int = SIZES[DEFAULT_SIZE]["speakers_test"],
    train_noises: Sequence[str] | None = None,
    test_noises: Sequence[str] | None = None,
    train_snrs: Sequence[float] = TRAIN_SNRS,
    test_snrs: Sequence[float] = TEST_SNRS,
    recorded_noises: bool = True,
    synthesizers: Sequence[str] = voices.ENGINES,
    languages: Sequence[str] = LANGUAGES,
    reverb_fraction: float = REVERB_FRACTION,
    band_fraction: float = BAND_FRACTION,
    clip_fraction: float = CLIP_FRACTION,
    level_range_db: Sequence[float] = LEVEL_RANGE_DB,
    sample_rate: int = SAMPLE_RATE,
    nj: int = 2,
    overwrite: bool = False,
    espeak: str = "espeak-ng",
) -> dict:
    """Generate the synthetic noisy-speech corpus under ``out_dir`` (see the module docstring).

    Args:
        out_dir: output directory; created if missing. An existing complete corpus with the same
            settings is kept (nothing is regenerated).
        seed: the seed of everything random.
        num_train, num_dev, num_test: utterances per split.
        speakers_train, speakers_dev, speakers_test: speakers per split (at most one per utterance).
        train_noises: noise types of the train and dev sets (synthetic names of
            :data:`~seqgan.data.synth.noises.NOISES` or recorded sources of
            :data:`~seqgan.data.synth.recorded.RECORDED_NAMES`); default: the 10 synthetic training
            types plus the installed training recordings.
        test_noises: noise types of the test set; default: the 5 held-out synthetic types plus the
            installed held-out recordings.
        train_snrs: SNRs in dB of the train and dev sets.
        test_snrs: SNRs in dB of the test set.
        recorded_noises: add the installed recorded sources to the default noise lists.
        synthesizers: from ``espeak`` (required), ``flite``, ``festival``; missing ones are skipped.
        languages: language codes spoken (``en`` always; see :mod:`seqgan.data.synth.phrases`).
        reverb_fraction: share of utterances in a synthetic room (clean target = early reverberation).
        band_fraction: share of telephone / 8 kHz band-limited utterances.
        clip_fraction: share of clipped noisy inputs.
        level_range_db: ``(low, high)`` active level of the noisy input in dBFS.
        sample_rate: rate of every file in Hz (at least 16000; 48000 for full-band models).
        nj: parallel jobs (threads; each runs the synthesizers as subprocesses).
        overwrite: regenerate even if a complete corpus is there.
        espeak: name or path of the espeak-ng executable.

    Returns:
        The contents of ``corpus.json`` plus ``out_dir``, ``skipped`` (True when an existing corpus
        was kept) and ``seconds`` (wall time).

    Raises:
        EspeakNotFoundError: espeak-ng is not installed.
        CorpusExistsError: ``out_dir`` holds other files, or a corpus made with other settings and
            ``overwrite`` is False.
    """
    start = time.perf_counter()
    out = Path(out_dir).expanduser().resolve()
    counts = {"train": num_train, "dev": num_dev, "test": num_test}
    spk_counts = {"train": speakers_train, "dev": speakers_dev, "test": speakers_test}
    fractions = {"reverb": reverb_fraction, "band": band_fraction, "clip": clip_fraction}
    _check_settings(counts, spk_counts, nj, fractions, level_range_db, synthesizers, languages)
    if not MIN_RATE <= int(sample_rate) <= MAX_RATE:
        raise ValueError(f"the sample rate must be {MIN_RATE}-{MAX_RATE} Hz, got {sample_rate}")
    sample_rate = int(sample_rate)
    for split, given in (("train", train_noises), ("test", test_noises)):
        if given is not None and not tuple(given):
            raise ValueError(f"the {split} set needs at least one noise type")
        for kind in given or ():
            if kind not in recorded.RECORDED_NAMES:
                NOISES.get(kind)  # raises with the list of choices
    snrs = {
        "train": tuple(map(float, train_snrs)),
        "dev": tuple(map(float, train_snrs)),
        "test": tuple(map(float, test_snrs)),
    }
    for split in SPLITS:
        if not snrs[split]:
            raise ValueError(f"the {split} set needs at least one SNR")
    # the settings asked for; what this machine has installed (voices, sound packages) is resolved
    # below and recorded in corpus.json, so installing a package later keeps an existing corpus
    params = {
        "format_version": FORMAT_VERSION,
        "seed": int(seed),
        "sample_rate": sample_rate,
        "utterances": counts,
        "speakers": spk_counts,
        "noises": {
            "train": None if train_noises is None else list(train_noises),
            "test": None if test_noises is None else list(test_noises),
        },
        "recorded_noises": bool(recorded_noises),
        "snrs_db": {k: list(v) for k, v in snrs.items()},
        "synthesizers": list(synthesizers),
        "languages": sorted(set(languages) | {"en"}),
        "fractions": fractions,
        "level_range_db": [float(v) for v in level_range_db],
    }

    if _is_complete(out, params, overwrite):
        summary = json.loads((out / "corpus.json").read_text())
        logger.info("%s already holds this corpus; nothing to do (overwrite to regenerate)", out)
        return {**summary, "out_dir": str(out), "skipped": True, "seconds": time.perf_counter() - start}
    train_kinds = _noise_list(train_noises, TRAIN_NOISES, recorded.TRAIN_RECORDED, recorded_noises, "train")
    test_kinds = _noise_list(test_noises, TEST_NOISES, recorded.TEST_RECORDED, recorded_noises, "test")
    noises = {"train": train_kinds, "dev": train_kinds, "test": test_kinds}
    programs, other_voices = voices.available_voices(tuple(synthesizers))
    exe = find_espeak(espeak)  # before touching the output directory
    programs["espeak"] = exe
    _clear_out_dir(out, params)
    version = espeak_version(exe)
    accents, female, male = installed_voices(exe)
    spoken = installed_languages(exe, tuple(lang for lang in params["languages"] if lang != "en"))
    plan_rng = np.random.default_rng([int(seed), 0])
    pools = partition_variants(female, male, plan_rng)
    taken: set[tuple] = set()
    speakers = {
        s: _make_split_speakers(s, spk_counts[s], pools, accents, spoken, other_voices, plan_rng, taken)
        for s in SPLITS
    }
    babblers = {
        s: make_espeak_speakers(
            "bb" + SPLIT_PREFIX[s], BABBLE_TALKERS, s, pools["babble"], accents, spoken, plan_rng, taken
        )
        for s in SPLITS
    }
    plan = {s: _plan_split(s, counts[s], speakers[s], noises[s], snrs[s], plan_rng) for s in SPLITS}
    augments = {
        s: Augment(
            reverb_fraction=reverb_fraction,
            rt60_range=TEST_RT60_RANGE if s == "test" else TRAIN_RT60_RANGE,
            drr_range_db=DRR_RANGE_DB,
            band_fraction=band_fraction,
            clip_fraction=clip_fraction,
            level_range_db=(float(level_range_db[0]), float(level_range_db[1])),
        )
        for s in SPLITS
    }
    logger.info(
        "espeak-ng %s: %d accents, %d other languages, %d female and %d male voice variants; "
        "other voices: %s; %d jobs",
        version,
        len(accents),
        len(spoken),
        len(female),
        len(male),
        ", ".join(f"{v.engine}:{v.name}" for v in other_voices) or "none",
        nj,
    )

    for split in SPLITS:
        for kind in ("clean", "noisy", "noise"):
            (out / "wav" / split / kind).mkdir(parents=True, exist_ok=True)
        (out / "data" / split).mkdir(parents=True, exist_ok=True)

    banks: dict[str, list[np.ndarray]] = {}
    records: dict[str, list[dict]] = {s: [] for s in SPLITS}
    total = sum(counts.values())
    pool = ThreadPoolExecutor(max_workers=nj)
    try:
        for si, split in enumerate(SPLITS):
            if any(n in SPEECH_NOISES for n in noises[split]):
                jobs = [
                    (int(seed), si, j, spk, programs, sample_rate) for j, spk in enumerate(babblers[split])
                ]
                banks[split] = list(pool.map(lambda a: babble_stream(*a), jobs))
        done, next_report = 0, 0.1
        # the slow synthesizers first, so that the two jobs finish together
        jobs = [
            (int(seed), si, u, banks.get(split), programs, out, augments[split], sample_rate)
            for si, split in enumerate(SPLITS)
            for u in plan[split]
        ]
        jobs.sort(key=lambda a: a[2].speaker.engine != "festival")
        for record in pool.map(lambda a: make_utterance(*a), jobs):
            records[record["split"]].append(record)
            done += 1
            if done >= next_report * total:
                logger.info("%d / %d utterances", done, total)
                next_report += 0.1
    finally:
        # on an error, drop the queued jobs instead of running them all first
        pool.shutdown(wait=True, cancel_futures=True)

    summary = {
        "corpus": "synth-speech",
        **params,
        "espeak_ng_version": version,
        "synthesizers": sorted(programs),
        "voices": sorted(f"{v.engine}:{v.name}" for v in other_voices),
        "noise_types": {k: list(v) for k, v in noises.items()},
        "recorded_sources": [
            {"name": r.name, "package": r.package, "licence": r.licence, "split": r.split, "kind": r.kind}
            for r in recorded.SOURCES
            if r.name in train_kinds + test_kinds
        ],
        "clean_target": "early-reverberant speech (direct path + first 50 ms) where reverberated; "
        "band-limited like the input where band-limited; never clipped",
        "held_out_for_test": {
            "voices": "espeak-ng variants, flite slt/kal16, every festival voice",
            "synthesizer": "festival" if "festival" in programs else None,
            "language_family": HELD_OUT_FAMILY,
            "noises": list(test_kinds),
            "rt60_range_s": list(TEST_RT60_RANGE),
        },
        "snr_definition": SNR_DEFINITION,
        "clean_speech_band": {
            "note": "the talkers' audio is resampled from their synthesizer's own rate (x the "
            "vocal-tract warp); above that band the clean files hold only a -75 dBFS white floor",
            **speech_band(sample_rate),
        },
        "splits": {},
    }
    for split in SPLITS:
        _write_data_dir(out / "data" / split, records[split], speakers[split], sample_rate)
        seconds = sum(r["num_samples"] for r in records[split]) / sample_rate
        summary["splits"][split] = {
            "num_utterances": len(records[split]),
            "num_speakers": len(speakers[split]),
            "hours": round(seconds / 3600.0, 4),
            "noise_types": list(noises[split]),
            "snrs_db": list(snrs[split]),
            "synthesizers": _count(s.engine for s in speakers[split]),
            "languages": _count(r["language"] for r in records[split]),
            "language_families": _count(family_of(r["language"]) for r in records[split]),
            "reverberant": sum("rt60=" in r["aug"] for r in records[split]),
            "band_limited": sum("band=" in r["aug"] for r in records[split]),
            "clipped": sum("clip=" in r["aug"] for r in records[split]),
            "speakers": [s.to_dict() for s in speakers[split]],
            "babble_talkers": ([s.to_dict() for s in babblers[split]] if split in banks else []),
        }
    _write_text(out / "corpus.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    _write_text(out / MARK_DONE, json.dumps(params, sort_keys=True) + "\n")
    (out / MARK_INCOMPLETE).unlink(missing_ok=True)
    elapsed = time.perf_counter() - start
    logger.info("wrote %d utterances to %s in %.1f s", total, out, elapsed)
    return {**summary, "out_dir": str(out), "skipped": False, "seconds": elapsed}


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items()))


# ------------------------------------------------------------------------------------------- planning


def _check_settings(counts, spk_counts, nj, fractions, level_range_db, synthesizers, languages) -> None:
    for split in SPLITS:
        if counts[split] < 1:
            raise ValueError(f"the {split} set needs at least one utterance, got {counts[split]}")
        if not 1 <= spk_counts[split] <= counts[split]:
            raise ValueError(
                f"the {split} set needs between 1 and {counts[split]} speakers (one per "
                f"utterance at most), got {spk_counts[split]}"
            )
        if spk_counts[split] > 999:
            raise ValueError(f"at most 999 speakers per split, got {spk_counts[split]} {split} speakers")
        if counts[split] > 9999 * spk_counts[split]:
            raise ValueError(f"at most 9999 utterances per speaker; add {split} speakers")
    if nj < 1:
        raise ValueError(f"nj must be at least 1, got {nj}")
    for name, value in fractions.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"the {name} fraction must be between 0 and 1, got {value}")
    low, high = (float(v) for v in level_range_db)
    if not low <= high < 0.0:
        raise ValueError(f"the level range must be low <= high < 0 dBFS, got {low:g}..{high:g}")
    for engine in synthesizers:
        if engine not in voices.ENGINES:
            raise ValueError(f"unknown synthesizer '{engine}'; choose from: {', '.join(voices.ENGINES)}")
    if "espeak" not in synthesizers:
        raise ValueError("the synthesizers must include espeak (dev and babble talkers use it)")
    for lang in languages:
        family_of(lang)  # raises with the list of choices


def _noise_list(given, synthetic, recordings, use_recorded: bool, split: str) -> tuple[str, ...]:
    """The noise types of a split: the given list or the default, recorded sources checked."""
    kinds = tuple(given) if given is not None else tuple(synthetic) + (recordings if use_recorded else ())
    if not kinds:
        raise ValueError(f"the {split} set needs at least one noise type")
    wanted = tuple(k for k in kinds if k in recorded.RECORDED_NAMES)
    for kind in kinds:
        if kind not in recorded.RECORDED_NAMES:
            NOISES.get(kind)  # raises with the list of choices
    have = recorded.available_sources(wanted) if wanted else ()
    kinds = tuple(k for k in kinds if k not in recorded.RECORDED_NAMES or k in have)
    if not kinds:
        logger.warning("no recorded %s noise is installed; using the synthetic %s noises", split, split)
        kinds = tuple(synthetic)
    return kinds


def _make_split_speakers(split, count, pools, accents, spoken, other_voices, rng, taken) -> list:
    """The speakers of a split: flite / festival voices of that split first, espeak-ng the rest."""
    n_other = engine_counts(split, count, other_voices)
    prefix = SPLIT_PREFIX[split]
    espeak_speakers = make_espeak_speakers(
        prefix, count - sum(n_other.values()), split, pools[split], accents, spoken, rng, taken
    )
    result = list(espeak_speakers)
    wanted = "train" if split == "train" else "test"
    for engine in sorted(n_other):
        pool = [v for v in other_voices if v.engine == engine and v.split == wanted]
        result += make_voice_speakers(prefix, len(result) + 1, n_other[engine], pool, rng, taken)
    return result


def _plan_split(
    split: str,
    count: int,
    speakers: list[Speaker],
    noises: tuple[str, ...],
    snrs: tuple[float, ...],
    rng: np.random.Generator,
) -> list[Utterance]:
    """Utterances spread evenly over speakers and over every (noise, SNR) pair."""
    # item k gets noise k mod N and, at its j-th use, SNR (j + noise index) mod S: any N consecutive
    # items cover every noise type, and every N*S items every (noise, SNR) pair exactly once
    n_noise, n_snr = len(noises), len(snrs)
    conditions = [(noises[k % n_noise], snrs[(k // n_noise + k % n_noise) % n_snr]) for k in range(count)]
    order = rng.permutation(count)
    per_speaker: dict[str, int] = {}
    plan = []
    for i in range(count):
        spk = speakers[i % len(speakers)]
        per_speaker[spk.spk_id] = per_speaker.get(spk.spk_id, 0) + 1
        noise, snr = conditions[int(order[i])]
        plan.append(Utterance(split, i, f"{spk.spk_id}_{per_speaker[spk.spk_id]:04d}", spk, noise, snr))
    return plan


# -------------------------------------------------------------------------------------------- writing


def _write_text(path: Path, text: str) -> None:
    write_text(path, text)


def _write_data_dir(data_dir: Path, records: list[dict], speakers: list[Speaker], sample_rate: int) -> None:
    """Kaldi data directory; every file sorted by its first column (C locale order)."""
    records = sorted(records, key=lambda r: r["utt_id"])

    def table(name: str, rows: list[tuple[str, str]]) -> None:
        write_scp(data_dir / name, dict(rows))

    table("wav.scp", [(r["utt_id"], str(r["paths"]["noisy"])) for r in records])
    table("spk1.scp", [(r["utt_id"], str(r["paths"]["clean"])) for r in records])
    table("noise1.scp", [(r["utt_id"], str(r["paths"]["noise"])) for r in records])
    table("utt2spk", [(r["utt_id"], r["spk_id"]) for r in records])
    table("text", [(r["utt_id"], r["text"]) for r in records])
    table("utt2dur", [(r["utt_id"], f"{r['num_samples'] / sample_rate:.4f}") for r in records])
    table("utt2num_samples", [(r["utt_id"], str(r["num_samples"])) for r in records])
    table("utt2snr", [(r["utt_id"], f"{r['snr_db']:g}") for r in records])
    table("utt2noise", [(r["utt_id"], r["noise"]) for r in records])
    table("utt2lang", [(r["utt_id"], r["language"]) for r in records])
    table("utt2aug", [(r["utt_id"], r["aug"]) for r in records])
    spk2utt: dict[str, list[str]] = {}
    for r in records:
        spk2utt.setdefault(r["spk_id"], []).append(r["utt_id"])
    table("spk2utt", [(spk, " ".join(utts)) for spk, utts in spk2utt.items()])
    table("spk2gender", [(s.spk_id, s.gender) for s in speakers if s.spk_id in spk2utt])


def _is_complete(out: Path, params: dict, overwrite: bool) -> bool:
    """True when ``out`` holds a complete corpus with ``params`` (and no overwrite); reads only.

    Raises:
        CorpusExistsError: ``out`` holds something that is not ours, or our corpus with other settings.
    """
    if out.exists() and not out.is_dir():
        raise CorpusExistsError(f"{out} is a file; choose a directory for the corpus")
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    ours = (out / MARK_DONE).is_file() or (out / MARK_INCOMPLETE).is_file()
    if entries and not ours:
        raise CorpusExistsError(
            f"{out} is not empty and holds no synth-speech corpus ({', '.join(entries[:5])}"
            f"{', ...' if len(entries) > 5 else ''}); choose a new or empty directory"
        )
    others = [e for e in entries if e not in OWN_ENTRIES and not e.endswith(".tmp")]
    if others:
        raise CorpusExistsError(
            f"{out} holds files that are not part of the corpus ({', '.join(others[:5])}); "
            "move them away or choose another directory"
        )
    if not (out / MARK_DONE).is_file() or overwrite:
        return False
    try:
        previous = json.loads((out / MARK_DONE).read_text())
    except (OSError, ValueError):
        previous = None
    if previous == params and (out / "corpus.json").is_file():
        return True
    if isinstance(previous, dict) and previous.get("format_version", 1) < FORMAT_VERSION:
        logger.info(
            "%s holds a synth-speech corpus of an older format (%s); regenerating it",
            out,
            previous.get("format_version", 1),
        )
        return False
    raise CorpusExistsError(
        f"{out} holds a synth-speech corpus made with other settings; pass "
        "--overwrite (overwrite=True) to regenerate it, or choose another directory"
    )


def _clear_out_dir(out: Path, params: dict) -> None:
    """Remove what an earlier (complete or interrupted) generation wrote, and mark ``out`` in progress."""
    if (out / MARK_DONE).is_file() or (out / MARK_INCOMPLETE).is_file():
        logger.info("removing the previous corpus in %s", out)
    (out / MARK_DONE).unlink(missing_ok=True)
    for name in ("wav", "data"):
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    if out.is_dir():
        for path in out.iterdir():
            if path.name == "corpus.json" or path.name.endswith(".tmp"):
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    _write_text(out / MARK_INCOMPLETE, json.dumps(params, sort_keys=True) + "\n")


def preset(size: str) -> dict[str, int]:
    """Utterance and speaker counts of a size preset (``tiny``, ``small`` or ``medium``)."""
    try:
        return dict(SIZES[size])
    except KeyError:
        raise ValueError(f"unknown corpus size '{size}'; choose from: {', '.join(SIZES)}") from None
