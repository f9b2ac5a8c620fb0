"""Recorded sounds from free Debian packages as noise sources: music and everyday effects.

Nothing is downloaded: the sources are files that packages install (free licences, see each
package's ``/usr/share/doc/<package>/copyright``). They are read with soundfile (wav / ogg),
mixed to mono, resampled to the corpus rate and scaled to unit RMS per clip.

======================  ========================  ======================  ===========  =====
source                  package (installed size)  files                   licence      split
======================  ========================  ======================  ===========  =====
music-macroform         asterisk-moh-opsound-wav  3 tracks, 8 kHz         CC-BY-SA-3   train
music-manolo-camp       (17 MB, opsound.org       1 track, 8 kHz          CC-BY-SA-3   train
music-reno-project      music on hold)            1 track, 8 kHz          CC-BY-SA-3   test
effects-freedesktop     sound-theme-freedesktop   27 alerts, bells, ...   GPL-2+ / CC  train
                        (0.5 MB)
effects-deepin          deepin-sound-theme (5 MB) 21 desktop sounds       GPL-3+       test
======================  ========================  ======================  ===========  =====

Sources are held out by source, never by clip: a test source's recordings are all in the test set
(a different band's music, another desktop's sounds). The spoken channel names of the freedesktop
theme (``audio-channel-*``) are speech, not noise, and are left out. A missing package removes its
sources with one logged line (:func:`available_sources`); the corpus then uses the synthetic noises.

Music is cropped from a random point of a random track (looped when too short). Effects are laid
one after another with random gaps and gains over a faint pink-noise bed (so no stretch is exact
silence), the way alerts, clatter and door sounds come and go in a room.
"""

from __future__ import annotations

import glob
import logging
import threading
from dataclasses import dataclass

import numpy as np

from seqgan.data.synth.noises import colored_noise
from seqgan.data.synth.speech import resample

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedSource:
    """One source of recorded noise.

    Attributes:
        name: the noise type name used in the corpus (``utt2noise``).
        package: the Debian package that installs the files.
        pattern: glob of the files.
        kind: ``music`` (cropped) or ``effects`` (scattered events).
        licence: the package's licence of these files.
        split: ``train`` (train and dev) or ``test``.
        exclude: file-name prefixes that are not noise (speech).
    """

    name: str
    package: str
    pattern: str
    kind: str
    licence: str
    split: str
    exclude: tuple[str, ...] = ()


MOH = "/usr/share/asterisk/moh"
SOURCES: tuple[RecordedSource, ...] = (
    RecordedSource(
        "music-macroform",
        "asterisk-moh-opsound-wav",
        f"{MOH}/macroform-*.wav",
        "music",
        "CC-BY-SA-3.0",
        "train",
    ),
    RecordedSource(
        "music-manolo-camp",
        "asterisk-moh-opsound-wav",
        f"{MOH}/manolo_camp-*.wav",
        "music",
        "CC-BY-SA-3.0",
        "train",
    ),
    RecordedSource(
        "music-reno-project",
        "asterisk-moh-opsound-wav",
        f"{MOH}/reno_project-*.wav",
        "music",
        "CC-BY-SA-3.0",
        "test",
    ),
    RecordedSource(
        "effects-freedesktop",
        "sound-theme-freedesktop",
        "/usr/share/sounds/freedesktop/stereo/*.oga",
        "effects",
        "GPL-2+ / CC-BY-SA-3.0",
        "train",
        exclude=("audio-channel-",),
    ),
    RecordedSource(
        "effects-deepin",
        "deepin-sound-theme",
        "/usr/share/sounds/deepin/stereo/*.wav",
        "effects",
        "GPL-3+",
        "test",
    ),
)
RECORDED_NAMES: tuple[str, ...] = tuple(s.name for s in SOURCES)
TRAIN_RECORDED: tuple[str, ...] = tuple(s.name for s in SOURCES if s.split == "train")
TEST_RECORDED: tuple[str, ...] = tuple(s.name for s in SOURCES if s.split == "test")
BED_DB = -25.0  # the pink bed under scattered effects, relative to the events' RMS
GAP_RANGE = (0.0, 0.6)  # seconds of pause between two effects

_cache: dict[tuple[str, int], list[np.ndarray]] = {}
_lock = threading.Lock()


def source(name: str) -> RecordedSource:
    """The :class:`RecordedSource` called ``name``."""
    for s in SOURCES:
        if s.name == name:
            return s
    raise ValueError(f"unknown recorded noise source '{name}'; choose from: {', '.join(RECORDED_NAMES)}")


def source_files(src: RecordedSource) -> list[str]:
    """The files of ``src`` installed here, sorted (empty when the package is missing)."""
    files = sorted(glob.glob(src.pattern))
    return [f for f in files if not any(f.rsplit("/", 1)[-1].startswith(p) for p in src.exclude)]


def available_sources(names: tuple[str, ...]) -> tuple[str, ...]:
    """The recorded sources of ``names`` whose files are installed; one log line per missing package."""
    found, missing = [], {}
    for name in names:
        src = source(name)
        if source_files(src):
            found.append(name)
        else:
            missing.setdefault(src.package, []).append(name)
    for package, srcs in missing.items():
        logger.warning(
            "recorded noise %s needs the Debian package %s (apt-get install %s); using the synthetic noises",
            ", ".join(srcs),
            package,
            package,
        )
    return tuple(found)


def load_clips(name: str, sample_rate: int) -> list[tuple[np.ndarray, int]]:
    """Every clip of source ``name`` as mono float64 at unit RMS, with its rate (cached per process).

    Effects are resampled to ``sample_rate`` here; music keeps its own rate (only the stretch an
    utterance uses is resampled, in :func:`make_recorded_noise`).

    Returns:
        ``[(samples, rate), ...]``.

    Raises:
        FileNotFoundError: the package of the source is not installed (the message names it).
    """
    import soundfile as sf

    key = (name, sample_rate)
    with _lock:
        if key in _cache:
            return _cache[key]
        src = source(name)
        files = source_files(src)
        if not files:
            raise FileNotFoundError(
                f"recorded noise '{name}' has no files at {src.pattern}; apt-get install {src.package}"
            )
        clips = []
        for path in files:
            wave, rate = sf.read(path, dtype="float64", always_2d=True)
            wave, rate = wave.mean(axis=1), int(rate)
            if src.kind != "music":
                wave, rate = resample(wave, rate, sample_rate), sample_rate
            rms = float(np.sqrt(np.mean(wave**2)))
            if wave.size >= rate // 50 and rms > 1e-6:
                clips.append((wave / rms, rate))
        _cache[key] = clips
        return clips


def make_recorded_noise(
    name: str, num_samples: int, sample_rate: int, rng: np.random.Generator
) -> np.ndarray:
    """``num_samples`` of noise from recorded source ``name``, at unit RMS.

    Args:
        name: one of :data:`RECORDED_NAMES`.
        num_samples: length of the result.
        sample_rate: rate in Hz.
        rng: the source of all randomness (which clip, where, gaps and gains).

    Returns:
        ``(num_samples,)`` float64 with ``mean(x ** 2) == 1``.
    """
    clips = load_clips(name, sample_rate)
    if source(name).kind == "music":
        clip, rate = clips[int(rng.integers(len(clips)))]
        need = int(np.ceil(num_samples * rate / sample_rate)) + 32
        idx = (int(rng.integers(clip.size)) + np.arange(need)) % clip.size  # loops a short track
        out = resample(clip[idx], rate, sample_rate)[:num_samples]
        if out.size < num_samples:
            out = np.pad(out, (0, num_samples - out.size), mode="wrap")
    else:
        out = 10.0 ** (BED_DB / 20.0) * colored_noise(num_samples, sample_rate, rng, 1.0)
        pos = int(rng.uniform(0.0, GAP_RANGE[1]) * sample_rate) - int(rng.integers(0, sample_rate // 2))
        while pos < num_samples:
            clip = clips[int(rng.integers(len(clips)))][0] * 10.0 ** (rng.uniform(-6.0, 6.0) / 20.0)
            lo, hi = max(pos, 0), min(pos + clip.size, num_samples)
            if hi > lo:
                out[lo:hi] += clip[lo - pos : hi - pos]
            pos += clip.size + int(rng.uniform(*GAP_RANGE) * sample_rate)
    rms = float(np.sqrt(np.mean(out**2)))
    if rms <= 0.0:
        out = rng.standard_normal(num_samples)
        rms = float(np.sqrt(np.mean(out**2)))
    return out / rms
