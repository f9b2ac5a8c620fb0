"""Synthetic talkers from espeak-ng: many accents, languages, voice variants, pitches and speeds.

A *speaker* is an (accent voice, voice variant, pitch, speed) tuple, e.g. ``en-gb-scotland+f3`` at
pitch 62 and 150 words per minute. espeak-ng is run once per sentence (``espeak-ng --stdout -v
<voice>+<variant> -p <pitch> -s <speed> <text>``); its 22 050 Hz output is resampled with soxr
(``soxr_hq``) to the corpus rate. Other languages and synthesizers: :mod:`seqgan.data.synth.voices`.

The voice lists below are the English accents and the human-sounding variants (no robots, whispers
or heavy echo) of espeak-ng 1.51; :func:`installed_voices` keeps those the local installation has.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass

import numpy as np

logger = logging.getLogger(__name__)

ESPEAK_INSTALL_HINT = (
    "espeak-ng not found: install it with `apt-get install espeak-ng` (Debian/Ubuntu) "
    "or `brew install espeak-ng` (macOS)"
)

ACCENTS: tuple[str, ...] = tuple(
    "en-us en-gb en-gb-scotland en-gb-x-rp en-gb-x-gbclan en-gb-x-gbcwmd en-029 en-us-nyc".split()
)
FEMALE_VARIANTS: tuple[str, ...] = tuple(
    "f1 f2 f3 f4 f5 Alicia Andrea Annie aunty belinda linda steph steph2 steph3 anika grandma".split()
)
MALE_VARIANTS: tuple[str, ...] = tuple(
    """
    m1 m2 m3 m4 m5 m6 m7 m8 Alex Andy Denis Diogo Gene Henrique Hugo Jacky Lee Mario Mike antonio ed
    gustave iven3 marcelo michel miguel paul pedro quincy rob robert travis victor grandpa adam david edward
    """.split()
)
PITCH_RANGE = (30, 70)  # espeak-ng -p, 0..99 within the variant's own pitch range (50 = default)
SPEED_RANGE = (130, 190)  # espeak-ng -s, words per minute (175 = default)


class EspeakError(RuntimeError):
    """espeak-ng failed or returned something that is not a wav file."""


class EspeakNotFoundError(EspeakError):
    """The espeak-ng executable is not installed (the message says how to install it)."""


@dataclass(frozen=True)
class Speaker:
    """One synthetic talker.

    Attributes:
        spk_id: the speaker id used in the data directories.
        accent: espeak-ng English voice (``en-us``, ``en-gb-scotland``, ...).
        variant: espeak-ng voice variant (``f3``, ``m7``, ``Annie``, ...).
        gender: ``"f"`` or ``"m"`` (from the variant).
        pitch: espeak-ng pitch, 0..99 (50 for the other synthesizers).
        speed: espeak-ng speed in words per minute (for flite: 175 / duration stretch).
        engine: the synthesizer (``espeak``, ``flite`` or ``festival``, see
            :mod:`seqgan.data.synth.voices`); ``accent`` is then the language voice of espeak-ng or
            the talker's name, ``variant`` the voice name.
        language: language code of the text (``en``, ``de``, ... see :mod:`seqgan.data.synth.phrases`).
        warp: resampling factor applied after synthesis: pitch and formants times ``warp``,
            duration divided by it (a vocal-tract-length change; 1.0 = none).
    """

    spk_id: str
    accent: str
    variant: str
    gender: str
    pitch: int
    speed: int
    engine: str = "espeak"
    language: str = "en"
    warp: float = 1.0

    @property
    def voice(self) -> str:
        """The ``-v`` argument of espeak-ng; the voice name for the other synthesizers."""
        return f"{self.accent}+{self.variant}" if self.engine == "espeak" else self.variant

    def to_dict(self) -> dict:
        return asdict(self)


def find_espeak(executable: str = "espeak-ng") -> str:
    """Path of the espeak-ng executable.

    Raises:
        EspeakNotFoundError: with installation instructions, when it is not on ``PATH``.
    """
    path = shutil.which(executable)
    if path is None:
        raise EspeakNotFoundError(ESPEAK_INSTALL_HINT)
    return path


def _run(args: list[str]) -> bytes:
    try:
        proc = subprocess.run(args, capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        raise EspeakNotFoundError(ESPEAK_INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise EspeakError(f"espeak-ng did not finish within 60 s: {' '.join(args[:-1])}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise EspeakError(f"espeak-ng failed (exit {proc.returncode}) for {' '.join(args[:-1])}: {err}")
    return proc.stdout


def espeak_version(executable: str) -> str:
    """The espeak-ng version string, e.g. ``"1.51"``."""
    text = _run([executable, "--version"]).decode(errors="replace")
    match = re.search(r"text-to-speech:\s*(\S+)", text)
    return match.group(1) if match else text.strip().splitlines()[0]


def installed_languages(executable: str, wanted: tuple[str, ...]) -> dict[str, str]:
    """The espeak-ng voices of the languages in ``wanted`` that the installation has.

    Args:
        executable: path of espeak-ng.
        wanted: language codes (``de``, ``fr``, ...).

    Returns:
        ``{language: voice}``, e.g. ``{"fr": "fr-fr", "de": "de"}`` (languages missing are left out).
    """
    names = set()
    for line in _run([executable, "--voices"]).decode(errors="replace").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5 and not fields[4].startswith("mb/"):
            names.add(fields[1])
    found = {}
    for lang in wanted:
        for name in (lang, f"{lang}-{lang}"):
            if name in names:
                found[lang] = name
                break
    return found


def installed_voices(executable: str) -> tuple[list[str], list[str], list[str]]:
    """The accents and voice variants of this module that the espeak-ng installation has.

    Args:
        executable: path of espeak-ng.

    Returns:
        ``(accents, female_variants, male_variants)`` in the order of :data:`ACCENTS`,
        :data:`FEMALE_VARIANTS` and :data:`MALE_VARIANTS`.
    """
    langs = set()
    for line in _run([executable, "--voices=en"]).decode(errors="replace").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5 and not fields[4].startswith("mb/"):  # mbrola voices need another program
            langs.add(fields[1])
    files = set()
    for line in _run([executable, "--voices=variant"]).decode(errors="replace").splitlines()[1:]:
        match = re.search(r"!v/(\S+)", line)
        if match:
            files.add(match.group(1).lower())
    accents = [a for a in ACCENTS if a in langs]
    female = [v for v in FEMALE_VARIANTS if v.lower() in files]
    male = [v for v in MALE_VARIANTS if v.lower() in files]
    if not accents or not female or not male:
        raise EspeakError(
            f"the espeak-ng installation at {executable} lacks English voices or the voice "
            f"variants (found accents {accents}, {len(female)} female and {len(male)} male "
            "variants); install the full espeak-ng data (Debian: espeak-ng-data)"
        )
    return accents, female, male


def read_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Decode the 16-bit PCM mono wav that ``espeak-ng --stdout`` writes.

    espeak-ng streams to stdout, so the RIFF and data sizes in its header are placeholders; the
    samples are everything after the ``data`` chunk header.

    Returns:
        ``(samples,)`` float64 in [-1, 1) and the sampling rate.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise EspeakError("espeak-ng did not write a wav file to stdout")
    pos, rate, bits, channels = 12, None, None, None
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if tag == b"fmt ":
            fmt = data[pos + 8 : pos + 8 + 16]
            channels = int.from_bytes(fmt[2:4], "little")
            rate = int.from_bytes(fmt[4:8], "little")
            bits = int.from_bytes(fmt[14:16], "little")
        elif tag == b"data":
            if rate is None or bits != 16 or channels != 1:
                raise EspeakError(f"unexpected espeak-ng wav format: {channels} channels, {bits} bits")
            body = data[pos + 8 :]
            body = body[: len(body) // 2 * 2]
            return np.frombuffer(body, dtype="<i2").astype(np.float64) / 32768.0, rate
        pos += 8 + size + (size & 1)
    raise EspeakError("espeak-ng wav output has no data chunk")


def trim_silence(x: np.ndarray, sample_rate: int, threshold_db: float = -45.0) -> np.ndarray:
    """Cut leading and trailing frames more than ``-threshold_db`` dB below the loudest 10 ms frame."""
    frame = max(1, sample_rate // 100)
    n = x.size // frame
    if n == 0:
        return x
    energy = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    if energy.max() <= 0:
        return x[:0]
    active = np.flatnonzero(energy >= energy.max() * 10.0 ** (threshold_db / 10.0))
    return x[active[0] * frame : (active[-1] + 1) * frame]


def resample(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample with soxr (high quality), the one resampler of the synthetic corpora.

    The same call as ``librosa.resample(res_type="soxr_hq")`` (bit for bit), without importing
    librosa, whose first call costs seconds.
    """
    if orig_sr == target_sr:
        return x
    import soxr

    return soxr.resample(x, orig_sr, target_sr, quality="soxr_hq")


def warp_resample(x: np.ndarray, rate: int, warp: float, target_sr: int) -> np.ndarray:
    """Resample ``x`` (at ``rate``) to ``target_sr`` as if it had been recorded at ``rate * warp``.

    Pitch and formants are multiplied by ``warp`` and the duration divided by it, like a talker
    with a shorter (``warp > 1``) or longer vocal tract speaking a little faster or slower.
    """
    return resample(x, int(round(rate * warp)), target_sr)


def synthesize(text: str, speaker: Speaker, executable: str, sample_rate: int = 16000) -> np.ndarray:
    """Speak ``text`` with ``speaker``; leading and trailing silence removed.

    Args:
        text: the sentence (passed as one argument; no shell involved).
        speaker: voice, variant, pitch and speed.
        executable: path of espeak-ng (see :func:`find_espeak`).
        sample_rate: rate of the result in Hz.

    Returns:
        ``(samples,)`` float64 waveform at ``sample_rate``.
    """
    args = [
        executable,
        "--stdout",
        "-v",
        speaker.voice,
        "-p",
        str(speaker.pitch),
        "-s",
        str(speaker.speed),
        "--",
        text,
    ]
    wave, rate = read_wav_bytes(_run(args))
    wave = trim_silence(wave, rate)
    if wave.size == 0:
        raise EspeakError(f"espeak-ng produced silence for voice {speaker.voice} and text {text!r}")
    return warp_resample(wave, rate, speaker.warp, sample_rate)
