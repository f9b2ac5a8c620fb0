"""The synthetic noisy-speech corpus: espeak-ng talkers mixed with synthetic noises, Kaldi layout.

Layout written under ``out_dir``::

    wav/{train,dev,test}/{clean,noisy,noise}/<utt>.wav   16 kHz mono 16-bit PCM, noisy = clean + noise
    data/{train,dev,test}/wav.scp spk1.scp noise1.scp utt2spk spk2utt spk2gender text
                          utt2dur utt2num_samples utt2snr utt2noise
    corpus.json                                            seed, counts, speakers, noises, versions
    .done                                                  written last: the corpus is complete

Speakers are disjoint between the splits: the espeak-ng voice *variants* themselves are divided among
train, dev, test and the babble talkers (given at least 4 installed variants per gender; espeak-ng
1.51 has all 16 female and 37 male ones listed in :mod:`seqgan.data.synth.speech`), so no test voice
is heard in training, not even as babble.
The test set uses noise types held out from training (:data:`~seqgan.data.synth.noises.TEST_NOISES`)
and the VoiceBank-DEMAND test SNRs. SNRs are measured on active speech (see
:mod:`seqgan.data.synth.mixing`); the noisy file is the sample-exact sum of the clean and noise files.

Every utterance draws from its own random stream derived from ``(seed, split, index)``, so the
output is byte-identical for the same seed and settings, whatever the number of parallel jobs.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqgan.data.synth.mixing import mix_at_snr, speech_power, to_pcm16
from seqgan.data.synth.noises import NOISES, SPEECH_NOISES, TEST_NOISES, TRAIN_NOISES, make_noise
from seqgan.data.synth.sentences import make_sentence
from seqgan.data.synth.speech import (
    PITCH_RANGE,
    SPEED_RANGE,
    Speaker,
    espeak_version,
    find_espeak,
    installed_voices,
    synthesize,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
SAMPLE_RATE = 16000
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

DURATION_RANGE = (1.2, 4.0)  # target utterance length in seconds, pauses included
MIN_SECONDS = 1.1  # at least one 16384-sample training window per utterance
PAUSE_RANGE = (0.05, 0.3)  # leading / trailing pause in seconds
LEVEL_RANGE_DB = (-32.0, -22.0)  # active speech level, dB re full scale
FLOOR_DBFS = -75.0  # Gaussian noise floor of the clean speech: about 6 LSB RMS at 16 bits
PEAK_LIMIT = 0.95  # clean, noise and noisy are scaled together when a peak would exceed this
WORDS_PER_WPM_SECOND = 1.35  # words per second per (speed / 60) that fill the target (measured)
BABBLE_TALKERS = 6  # per split
BABBLE_SENTENCES = 4  # per babble talker
MARK_DONE = ".done"
MARK_INCOMPLETE = ".incomplete"
OWN_ENTRIES = ("wav", "data", "corpus.json", MARK_DONE, MARK_INCOMPLETE)
SNR_DEFINITION = (
    "10*log10(P_speech/P_noise): P_speech = mean power of the clean signal over 20 ms frames "
    "within 40 dB of its loudest frame; P_noise = mean power of the whole noise signal"
)


class CorpusExistsError(RuntimeError):
    """The output directory holds something that generation must not overwrite."""


@dataclass(frozen=True)
class _Utterance:
    split: str
    index: int
    utt_id: str
    speaker: Speaker
    noise: str
    snr_db: float


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
    train_noises: Sequence[str] = TRAIN_NOISES,
    test_noises: Sequence[str] = TEST_NOISES,
    train_snrs: Sequence[float] = TRAIN_SNRS,
    test_snrs: Sequence[float] = TEST_SNRS,
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
        train_noises: noise types of the train and dev sets.
        test_noises: noise types of the test set (held out from training by default).
        train_snrs: SNRs in dB of the train and dev sets.
        test_snrs: SNRs in dB of the test set.
        nj: parallel jobs (threads; each runs espeak-ng as a subprocess).
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
    noises = {"train": tuple(train_noises), "dev": tuple(train_noises), "test": tuple(test_noises)}
    snrs = {
        "train": tuple(map(float, train_snrs)),
        "dev": tuple(map(float, train_snrs)),
        "test": tuple(map(float, test_snrs)),
    }
    _check_settings(counts, spk_counts, noises, snrs, nj)
    params = {
        "format_version": FORMAT_VERSION,
        "seed": int(seed),
        "sample_rate": SAMPLE_RATE,
        "utterances": counts,
        "speakers": spk_counts,
        "noises": {k: list(v) for k, v in noises.items()},
        "snrs_db": {k: list(v) for k, v in snrs.items()},
    }

    if _is_complete(out, params, overwrite):
        summary = json.loads((out / "corpus.json").read_text())
        logger.info("%s already holds this corpus; nothing to do (overwrite to regenerate)", out)
        return {**summary, "out_dir": str(out), "skipped": True, "seconds": time.perf_counter() - start}
    exe = find_espeak(espeak)  # before touching the output directory
    _clear_out_dir(out, params)
    version = espeak_version(exe)
    accents, female, male = installed_voices(exe)
    plan_rng = np.random.default_rng([int(seed), 0])
    pools = _partition_variants(female, male, plan_rng)
    taken: set[tuple] = set()
    speakers = {
        s: _make_speakers(SPLIT_PREFIX[s], spk_counts[s], pools[s], accents, plan_rng, taken) for s in SPLITS
    }
    babblers = {
        s: _make_speakers("bb" + SPLIT_PREFIX[s], BABBLE_TALKERS, pools["babble"], accents, plan_rng, taken)
        for s in SPLITS
    }
    plan = {s: _plan_split(s, counts[s], speakers[s], noises[s], snrs[s], plan_rng) for s in SPLITS}
    logger.info(
        "espeak-ng %s: %d accents, %d female and %d male voice variants; %d jobs",
        version,
        len(accents),
        len(female),
        len(male),
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
                jobs = [(int(seed), si, j, spk, exe) for j, spk in enumerate(babblers[split])]
                banks[split] = list(pool.map(lambda a: _babble_stream(*a), jobs))
        done, next_report = 0, 0.1
        for si, split in enumerate(SPLITS):
            jobs = [(int(seed), si, u, banks.get(split), exe, out) for u in plan[split]]
            for record in pool.map(lambda a: _make_utterance(*a), jobs):
                records[split].append(record)
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
        "snr_definition": SNR_DEFINITION,
        "splits": {},
    }
    for split in SPLITS:
        _write_data_dir(out / "data" / split, records[split], speakers[split])
        seconds = sum(r["num_samples"] for r in records[split]) / SAMPLE_RATE
        summary["splits"][split] = {
            "num_utterances": len(records[split]),
            "num_speakers": len(speakers[split]),
            "hours": round(seconds / 3600.0, 4),
            "noise_types": list(noises[split]),
            "snrs_db": list(snrs[split]),
            "speakers": [s.to_dict() for s in speakers[split]],
            "babble_talkers": ([s.to_dict() for s in babblers[split]] if split in banks else []),
        }
    _write_text(out / "corpus.json", json.dumps(summary, indent=2) + "\n")
    _write_text(out / MARK_DONE, json.dumps(params, sort_keys=True) + "\n")
    (out / MARK_INCOMPLETE).unlink(missing_ok=True)
    elapsed = time.perf_counter() - start
    logger.info("wrote %d utterances to %s in %.1f s", total, out, elapsed)
    return {**summary, "out_dir": str(out), "skipped": False, "seconds": elapsed}


# ------------------------------------------------------------------------------------------- planning


def _check_settings(counts, spk_counts, noises, snrs, nj) -> None:
    for split in SPLITS:
        if counts[split] < 1:
            raise ValueError(f"the {split} set needs at least one utterance, got {counts[split]}")
        if not 1 <= spk_counts[split] <= counts[split]:
            raise ValueError(
                f"the {split} set needs between 1 and {counts[split]} speakers (one per "
                f"utterance at most), got {spk_counts[split]}"
            )
        if not noises[split] or not snrs[split]:
            raise ValueError(f"the {split} set needs at least one noise type and one SNR")
        for kind in noises[split]:
            NOISES.get(kind)  # raises with the list of choices
        if spk_counts[split] > 999:
            raise ValueError(f"at most 999 speakers per split, got {spk_counts[split]} {split} speakers")
        if counts[split] > 9999 * spk_counts[split]:
            raise ValueError(f"at most 9999 utterances per speaker; add {split} speakers")
    if nj < 1:
        raise ValueError(f"nj must be at least 1, got {nj}")


def _partition_variants(female: list[str], male: list[str], rng: np.random.Generator) -> dict:
    """Divide the voice variants among train, dev, test and babble (each gets both genders)."""
    pools: dict[str, dict[str, list[str]]] = {k: {} for k in ("train", "dev", "test", "babble")}
    for gender, variants in (("f", female), ("m", male)):
        order = [variants[i] for i in rng.permutation(len(variants))]
        n = len(order)
        sizes = {k: max(1, round(frac * n)) for k, frac in (("test", 0.15), ("dev", 0.1), ("babble", 0.15))}
        pos = 0
        for key in ("test", "dev", "babble"):
            # with very few variants the pools wrap around: splits stay disjoint by speaker tuple only
            pools[key][gender] = [order[(pos + i) % n] for i in range(sizes[key])]
            pos += sizes[key]
        pools["train"][gender] = order[pos:] if pos < n else order
    return pools


def _make_speakers(
    prefix: str,
    count: int,
    pool: dict[str, list[str]],
    accents: list[str],
    rng: np.random.Generator,
    taken: set[tuple],
) -> list[Speaker]:
    speakers = []
    first = "f" if rng.random() < 0.5 else "m"
    for i in range(count):
        gender = first if i % 2 == 0 else ("m" if first == "f" else "f")
        variants = pool[gender]
        variant = variants[(i // 2) % len(variants)]
        while True:
            key = (
                str(rng.choice(accents)),
                variant,
                int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
                int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1)),
            )
            if key not in taken:
                taken.add(key)
                break
        speakers.append(Speaker(f"{prefix}{i + 1:03d}", key[0], variant, gender, key[2], key[3]))
    return speakers


def _plan_split(
    split: str,
    count: int,
    speakers: list[Speaker],
    noises: tuple[str, ...],
    snrs: tuple[float, ...],
    rng: np.random.Generator,
) -> list[_Utterance]:
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
        plan.append(_Utterance(split, i, f"{spk.spk_id}_{per_speaker[spk.spk_id]:04d}", spk, noise, snr))
    return plan


# ----------------------------------------------------------------------------------------- generation


def _speak(
    rng: np.random.Generator, speaker: Speaker, target: float, limit: float, exe: str
) -> tuple[str, np.ndarray]:
    """A sentence of about ``target`` seconds (never over ``limit`` but for a 3-word fallback) and its audio."""
    budget = max(2, int(target * speaker.speed / 60.0 * WORDS_PER_WPM_SECOND))
    for _ in range(4):
        text = make_sentence(rng, budget)
        wave = synthesize(text, speaker, exe, SAMPLE_RATE)
        seconds = wave.size / SAMPLE_RATE
        if seconds <= min(1.2 * target, limit):
            return text, wave
        budget = max(2, min(budget - 1, int(budget * target / seconds)))  # too long: scale the budget
    return text, wave


def _babble_stream(seed: int, split_index: int, j: int, speaker: Speaker, exe: str) -> np.ndarray:
    rng = np.random.default_rng([seed, 2, split_index, j])
    parts = []
    for _ in range(BABBLE_SENTENCES):
        _, wave = _speak(rng, speaker, 3.5, 4.0, exe)
        parts += [
            wave / np.sqrt(speech_power(wave, SAMPLE_RATE)),
            np.zeros(int(rng.uniform(0.05, 0.3) * SAMPLE_RATE)),
        ]
    return np.concatenate(parts)


def _make_utterance(
    seed: int, split_index: int, utt: _Utterance, bank: list[np.ndarray] | None, exe: str, out: Path
) -> dict:
    text_rng, level_rng, noise_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1, split_index, utt.index]).spawn(3)
    )
    target = level_rng.uniform(*DURATION_RANGE)
    lead, tail = (int(p * SAMPLE_RATE) for p in level_rng.uniform(*PAUSE_RANGE, size=2))
    pauses = (lead + tail) / SAMPLE_RATE
    text, speech = _speak(text_rng, utt.speaker, target - pauses, DURATION_RANGE[1] - pauses, exe)
    level_db = level_rng.uniform(*LEVEL_RANGE_DB)
    speech = speech * 10.0 ** (level_db / 20.0) / np.sqrt(speech_power(speech, SAMPLE_RATE))
    n = max(lead + speech.size + tail, int(MIN_SECONDS * SAMPLE_RATE))
    clean = 10.0 ** (FLOOR_DBFS / 20.0) * level_rng.standard_normal(n)
    clean[lead : lead + speech.size] += speech

    noise = make_noise(utt.noise, n, SAMPLE_RATE, noise_rng, talkers=bank)
    noisy, noise = mix_at_snr(clean, noise, utt.snr_db, sample_rate=SAMPLE_RATE)
    peak = max(np.abs(noisy).max(), np.abs(clean).max(), np.abs(noise).max())
    if peak > PEAK_LIMIT:  # one gain for all three keeps the SNR
        clean, noise = clean * (PEAK_LIMIT / peak), noise * (PEAK_LIMIT / peak)
    clean16, noise16 = to_pcm16(clean), to_pcm16(noise)
    noisy16 = (clean16.astype(np.int32) + noise16).clip(-32767, 32767).astype(np.int16)

    paths = {}
    for kind, data in (("clean", clean16), ("noisy", noisy16), ("noise", noise16)):
        paths[kind] = out / "wav" / utt.split / kind / f"{utt.utt_id}.wav"
        _write_wav(paths[kind], data)
    return {
        "utt_id": utt.utt_id,
        "spk_id": utt.speaker.spk_id,
        "text": text,
        "noise": utt.noise,
        "snr_db": utt.snr_db,
        "num_samples": n,
        "paths": paths,
    }


# -------------------------------------------------------------------------------------------- writing


def _write_wav(path: Path, data: np.ndarray) -> None:
    import soundfile as sf

    tmp = path.with_name(path.name + ".tmp")
    sf.write(tmp, data, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_data_dir(data_dir: Path, records: list[dict], speakers: list[Speaker]) -> None:
    """Kaldi data directory; every file sorted by its first column (C locale order)."""
    records = sorted(records, key=lambda r: r["utt_id"])

    def table(name: str, rows: list[tuple[str, str]]) -> None:
        _write_text(data_dir / name, "".join(f"{k} {v}\n" for k, v in sorted(rows)))

    table("wav.scp", [(r["utt_id"], str(r["paths"]["noisy"])) for r in records])
    table("spk1.scp", [(r["utt_id"], str(r["paths"]["clean"])) for r in records])
    table("noise1.scp", [(r["utt_id"], str(r["paths"]["noise"])) for r in records])
    table("utt2spk", [(r["utt_id"], r["spk_id"]) for r in records])
    table("text", [(r["utt_id"], r["text"]) for r in records])
    table("utt2dur", [(r["utt_id"], f"{r['num_samples'] / SAMPLE_RATE:.4f}") for r in records])
    table("utt2num_samples", [(r["utt_id"], str(r["num_samples"])) for r in records])
    table("utt2snr", [(r["utt_id"], f"{r['snr_db']:g}") for r in records])
    table("utt2noise", [(r["utt_id"], r["noise"]) for r in records])
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
