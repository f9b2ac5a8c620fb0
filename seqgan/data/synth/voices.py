"""Several speech synthesizers behind one call: espeak-ng, flite and festival (Debian packages).

Each synthesizer is a program run once per sentence (no shell; the text is one argument or stdin):

* ``espeak``: ``espeak-ng`` — formant synthesis, many languages and voice variants
  (:mod:`seqgan.data.synth.speech`);
* ``flite``: ``flite -voice <name>`` — the CMU voices compiled into Debian's flite 2.2: ``awb``
  (Scottish English, male), ``rms`` (US, male), ``slt`` (US, female), ``kal16`` (US, male diphones);
  speed varies through ``--setf duration_stretch``;
* ``festival``: ``text2wave -eval (voice_<name>)`` with the packaged festvox voices: ``kal_diphone``
  (festvox-kallpc16k), ``cmu_us_slt_arctic_hts`` (festvox-us-slt-hts), ``lp_diphone`` and
  ``pc_diphone`` (Italian, festvox-italp16k / festvox-itapc16k), ``upc_ca_ona_hts`` (Catalan,
  festvox-ca-ona-hts); speed varies through ``Duration_Stretch``.

Every :class:`VoiceInfo` names the *talker* behind the voice: flite's ``slt`` and ``kal16`` are the
same recorded people as festival's ``cmu_us_slt_arctic_hts`` and ``kal_diphone``, so the corpus
divides talkers, not voice names, between its splits. A missing program or voice is skipped with
one logged line (:func:`available_voices`).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqgan.data.synth import speech

logger = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = ("espeak", "flite", "festival")
PROGRAMS: dict[str, str] = {"espeak": "espeak-ng", "flite": "flite", "festival": "text2wave"}
PACKAGES: dict[str, str] = {
    "espeak": "espeak-ng",
    "flite": "flite",
    "festival": "festival festvox-kallpc16k festvox-us-slt-hts festvox-italp16k festvox-itapc16k "
    "festvox-ca-ona-hts",
}


@dataclass(frozen=True)
class VoiceInfo:
    """One voice of flite or festival.

    Attributes:
        engine: ``flite`` or ``festival``.
        name: the voice name the program takes.
        talker: the recorded person behind it (shared between synthesizers).
        gender: ``"f"`` or ``"m"``.
        language: language code of the texts it speaks.
        split: ``train`` or ``test``: where the talker belongs (dev uses espeak-ng only).
    """

    engine: str
    name: str
    talker: str
    gender: str
    language: str
    split: str


CATALOGUE: tuple[VoiceInfo, ...] = (
    VoiceInfo("flite", "awb", "awb", "m", "en", "train"),
    VoiceInfo("flite", "rms", "rms", "m", "en", "train"),
    VoiceInfo("flite", "slt", "slt", "f", "en", "test"),
    VoiceInfo("flite", "kal16", "kal", "m", "en", "test"),
    VoiceInfo("festival", "kal_diphone", "kal", "m", "en", "test"),
    VoiceInfo("festival", "cmu_us_slt_arctic_hts", "slt", "f", "en", "test"),
    VoiceInfo("festival", "lp_diphone", "lp", "f", "it", "test"),
    VoiceInfo("festival", "pc_diphone", "pc", "m", "it", "test"),
    VoiceInfo("festival", "upc_ca_ona_hts", "ona", "f", "ca", "test"),
)
TIMEOUT_S = 60


class SynthesizerError(speech.EspeakError):
    """flite or festival failed or wrote something that is not audio."""


def find_program(engine: str) -> str | None:
    """Path of the program of ``engine``, or None when it is not installed."""
    return shutil.which(PROGRAMS[engine])


def _run(args: list[str], stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(args, input=stdin, capture_output=True, check=False, timeout=TIMEOUT_S)
    except FileNotFoundError:
        raise SynthesizerError(f"{args[0]} not found; install it (see `make system-packages`)") from None
    except subprocess.TimeoutExpired:
        raise SynthesizerError(f"{args[0]} did not finish within {TIMEOUT_S} s") from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise SynthesizerError(f"{' '.join(args[:3])} failed (exit {proc.returncode}): {err[-300:]}")
    return proc.stdout


def installed_flite_voices(program: str) -> set[str]:
    """Voice names that ``flite -lv`` lists."""
    text = _run([program, "-lv"]).decode(errors="replace")
    return set(text.split(":", 1)[-1].split())


def installed_festival_voices(program: str) -> set[str]:
    """Voice names that festival lists (``festival -b '(print (voice.list))'``)."""
    festival = Path(program).with_name("festival")
    text = _run([str(festival), "-b", "(print (voice.list))"]).decode(errors="replace")
    return set(re.findall(r"[A-Za-z0-9_]+", text))


def available_voices(engines: tuple[str, ...]) -> tuple[dict[str, str], list[VoiceInfo]]:
    """The programs and the catalogue voices installed here, among ``engines``.

    Each missing program or voice is logged once, with the Debian package that has it.

    Args:
        engines: synthesizers wanted, from :data:`ENGINES` (``espeak`` is looked up by the caller).

    Returns:
        ``({engine: program path}, [VoiceInfo, ...])`` for flite and festival.
    """
    programs: dict[str, str] = {}
    voices: list[VoiceInfo] = []
    for engine in engines:
        if engine == "espeak":
            continue
        if engine not in ENGINES:
            raise ValueError(f"unknown synthesizer '{engine}'; choose from: {', '.join(ENGINES)}")
        program = find_program(engine)
        if program is None:
            logger.warning(
                "%s is not installed; its voices are skipped (apt-get install %s)",
                PROGRAMS[engine],
                PACKAGES[engine],
            )
            continue
        try:
            names = (installed_flite_voices if engine == "flite" else installed_festival_voices)(program)
        except SynthesizerError as e:
            logger.warning("%s does not list its voices (%s); its voices are skipped", engine, e)
            continue
        wanted = [v for v in CATALOGUE if v.engine == engine]
        have = [v for v in wanted if v.name in names]
        missing = [v.name for v in wanted if v.name not in names]
        if missing:
            logger.warning("%s lacks the voices %s; they are skipped", engine, ", ".join(missing))
        if have:
            programs[engine] = program
            voices += have
    return programs, voices


def _read_audio(path: Path, engine: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        wave, rate = sf.read(path, dtype="float64", always_2d=True)
    except Exception as e:  # soundfile raises several types for a bad file
        raise SynthesizerError(f"{engine} wrote no readable wav file: {e}") from None
    return wave.mean(axis=1), int(rate)


def synthesize_flite(
    text: str, voice: str, program: str, *, duration_stretch: float = 1.0
) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a flite voice.

    Returns:
        ``(samples,)`` float64 waveform and its rate (16000 Hz for the packaged voices).
    """
    with tempfile.TemporaryDirectory(prefix="seqgan-flite-") as tmp:
        out = Path(tmp) / "out.wav"
        args = [program, "-voice", voice, "--setf", f"duration_stretch={duration_stretch:.3f}"]
        _run(args + ["-t", text, "-o", str(out)])
        return _read_audio(out, "flite")


def synthesize_festival(
    text: str, voice: str, program: str, *, duration_stretch: float = 1.0
) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a festival voice through ``text2wave`` (text on stdin, Latin-1).

    Returns:
        ``(samples,)`` float64 waveform and its rate (16 or 32 kHz, by voice).
    """
    with tempfile.TemporaryDirectory(prefix="seqgan-festival-") as tmp:
        out = Path(tmp) / "out.wav"
        stretch = f"(Parameter.set 'Duration_Stretch {duration_stretch:.3f})"
        args = [program, "-eval", f"(voice_{voice})", "-eval", stretch, "-o", str(out)]
        _run(args, stdin=text.encode("latin-1", "replace"))
        return _read_audio(out, "festival")


def synthesize(text: str, speaker: speech.Speaker, programs: dict[str, str], sample_rate: int) -> np.ndarray:
    """Speak ``text`` with ``speaker`` on its synthesizer; silence trimmed, warped, resampled.

    Args:
        text: what to say.
        speaker: the talker (its ``engine`` picks the program).
        programs: ``{engine: program path}``.
        sample_rate: rate of the result in Hz.

    Returns:
        ``(samples,)`` float64 waveform at ``sample_rate``.
    """
    if speaker.engine == "espeak":
        return speech.synthesize(text, speaker, programs["espeak"], sample_rate)
    if speaker.engine == "flite":
        wave, rate = synthesize_flite(
            text, speaker.variant, programs["flite"], duration_stretch=175.0 / speaker.speed
        )
    elif speaker.engine == "festival":
        wave, rate = synthesize_festival(
            text, speaker.variant, programs["festival"], duration_stretch=175.0 / speaker.speed
        )
    else:
        raise ValueError(f"unknown synthesizer '{speaker.engine}'; choose from: {', '.join(ENGINES)}")
    wave = speech.trim_silence(wave, rate)
    if wave.size == 0:
        raise SynthesizerError(f"{speaker.engine} produced silence for voice {speaker.variant} and {text!r}")
    return speech.warp_resample(wave, rate, speaker.warp, sample_rate)
