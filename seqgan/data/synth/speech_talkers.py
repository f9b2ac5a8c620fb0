"""Who speaks in which split: talkers of several synthesizers and languages, disjoint between splits.

The unit of disjointness is the *voice*: an espeak-ng voice variant (``f3``, ``Annie``, ...), or a
flite / festival talker (:data:`seqgan.data.synth.voices.CATALOGUE`; the same recorded person in
flite and festival counts once). Every voice belongs to one of train, dev, test or the babble
talkers. On top of the voice, a speaker draws a language, a pitch, a speed and a vocal-tract warp,
so one voice gives several speakers of the same split.

* train: espeak-ng (train variants) and flite ``awb`` / ``rms`` (about a quarter of the speakers);
* dev: espeak-ng (dev variants);
* test: espeak-ng (test variants), festival — a synthesizer never heard in training — for about a
  third of the speakers, and flite ``slt`` / ``kal16`` (the festival talkers) for about a sixth;
* languages: train and dev speakers speak English and the other Germanic or Romance languages in
  turn (by gender pair); test speakers the held-out Slavic family, English and the others in turn.
"""

from __future__ import annotations

import numpy as np

from seqgan.data.synth.phrases import TEST_ONLY_LANGUAGES, TRAIN_LANGUAGES
from seqgan.data.synth.speech import PITCH_RANGE, SPEED_RANGE, Speaker
from seqgan.data.synth.voices import VoiceInfo

WARP_RANGE = (0.9, 1.12)  # vocal-tract warp: pitch and formants x warp, duration / warp
OTHER_SPEED_RANGE = (150, 200)  # flite / festival: 175 / duration stretch, in "words per minute"
TEST_LANGUAGE_CYCLE = ("held", "en", "seen")  # test speakers' language groups, in turn
FLITE_TRAIN_SHARE = 0.25
FESTIVAL_TEST_SHARE = 1.0 / 3.0
FLITE_TEST_SHARE = 1.0 / 6.0


def partition_variants(female: list[str], male: list[str], rng: np.random.Generator) -> dict:
    """Divide the espeak-ng voice variants among train, dev, test and babble (each gets both genders)."""
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


def _language(split: str, i: int, english: list[str], languages: dict[str, str], rng: np.random.Generator):
    """(espeak-ng voice, language code) for the ``i``-th espeak-ng speaker of ``split``.

    The language group cycles with ``i`` so that even a few speakers cover every group: train and
    dev alternate English and the other training languages by gender pair; test cycles through
    the held-out family, English and the training languages.
    """
    seen = [lang for lang in TRAIN_LANGUAGES if lang in languages and lang != "en"]
    held = [lang for lang in TEST_ONLY_LANGUAGES if lang in languages]
    if split == "test":
        group = TEST_LANGUAGE_CYCLE[i % len(TEST_LANGUAGE_CYCLE)]
    else:
        group = "en" if (i // 2) % 2 == 0 else "seen"
    group = {"held": "held" if held else "seen", "seen": "seen" if seen else "en"}.get(group, group)
    if group == "seen" and not seen:
        group = "en"
    if group == "en":
        return str(rng.choice(english)), "en"
    lang = str(rng.choice(held if group == "held" else seen))
    return languages[lang], lang


def make_espeak_speakers(
    prefix: str,
    count: int,
    split: str,
    pool: dict[str, list[str]],
    english: list[str],
    languages: dict[str, str],
    rng: np.random.Generator,
    taken: set[tuple],
    *,
    warp: bool = True,
) -> list[Speaker]:
    """``count`` espeak-ng speakers from the variants in ``pool``, alternating genders.

    Args:
        prefix: speaker-id prefix (``tr``, ``tt``, ``bbtr``, ...), numbered from 1.
        count: how many.
        split: ``train``, ``dev``, ``test`` (languages by split; babble talkers pass their split).
        pool: ``{"f": variants, "m": variants}``.
        english: the English accents installed.
        languages: ``{language: espeak-ng voice}`` of the other languages wanted (may be empty).
        rng: the planning random stream.
        taken: speaker tuples already used (updated).
        warp: draw a vocal-tract warp (else 1.0).
    """
    speakers = []
    first = "f" if rng.random() < 0.5 else "m"
    for i in range(count):
        gender = first if i % 2 == 0 else ("m" if first == "f" else "f")
        variants = pool[gender]
        variant = variants[(i // 2) % len(variants)]
        while True:
            accent, lang = _language(split, i, english, languages, rng)
            key = (
                "espeak",
                accent,
                variant,
                int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
                int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1)),
                round(float(rng.uniform(*WARP_RANGE)), 3) if warp else 1.0,
            )
            if key not in taken:
                taken.add(key)
                break
        speakers.append(
            Speaker(f"{prefix}{i + 1:03d}", accent, variant, gender, key[3], key[4], "espeak", lang, key[5])
        )
    return speakers


def make_voice_speakers(
    prefix: str,
    start: int,
    count: int,
    voices: list[VoiceInfo],
    rng: np.random.Generator,
    taken: set[tuple],
) -> list[Speaker]:
    """``count`` flite / festival speakers cycling through ``voices``, numbered from ``start``."""
    speakers = []
    voices = [
        voices[int(j)] for j in rng.permutation(len(voices))
    ]  # a few speakers: not always the first voices
    for i in range(count):
        v = voices[i % len(voices)]
        while True:
            key = (
                v.engine,
                v.name,
                int(rng.integers(OTHER_SPEED_RANGE[0], OTHER_SPEED_RANGE[1] + 1)),
                round(float(rng.uniform(*WARP_RANGE)), 3),
            )
            if key not in taken:
                taken.add(key)
                break
        speakers.append(
            Speaker(
                f"{prefix}{start + i:03d}",
                v.talker,
                v.name,
                v.gender,
                50,
                key[2],
                v.engine,
                v.language,
                key[3],
            )
        )
    return speakers


def engine_counts(split: str, count: int, voices: list[VoiceInfo]) -> dict[str, int]:
    """How many of ``count`` speakers of ``split`` each synthesizer gets (espeak-ng keeps at least one)."""
    have = {(v.engine, v.split) for v in voices}
    shares = {"train": [("flite", FLITE_TRAIN_SHARE)], "dev": []}.get(
        split, [("festival", FESTIVAL_TEST_SHARE), ("flite", FLITE_TEST_SHARE)]
    )
    counts = {}
    for engine, share in shares:
        wanted = "train" if split == "train" else "test"
        if (engine, wanted) in have:
            counts[engine] = min(int(round(share * count)), count - 1 - sum(counts.values()))
    return {k: v for k, v in counts.items() if v > 0}
