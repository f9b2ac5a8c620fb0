"""Speech-like test signals for the metric tests (16 kHz, about 2 s)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

SR = 16000


def synthetic_speech(seconds: float = 2.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Vowel-like syllables: harmonic complexes with formant envelopes, 4 Hz amplitude modulation, pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    out = np.zeros_like(t)
    formant_sets = [(730, 1090, 2440), (270, 2290, 3010), (570, 840, 2410), (530, 1840, 2480)]
    syllable = 0.25
    for k in range(int(seconds / syllable)):
        start, stop = int(k * syllable * sr), int((k + 0.8) * syllable * sr)  # 20 % pause after each
        seg_t = t[start:stop] - t[start]
        f0 = 110 + 40 * rng.random() + 15 * np.sin(2 * np.pi * 3 * seg_t)
        phase = 2 * np.pi * np.cumsum(f0) / sr
        formants = formant_sets[k % len(formant_sets)]
        seg = np.zeros_like(seg_t)
        for h in range(1, 40):
            fh = h * f0.mean()
            if fh > 7000:
                break
            gain = sum(1.0 / (1.0 + ((fh - f) / 90.0) ** 2) for f in formants) / h**0.5
            seg += gain * np.sin(h * phase)
        seg *= np.sin(np.pi * seg_t / seg_t[-1]) ** 2  # syllable envelope
        out[start:stop] = seg
    out += 1e-4 * rng.standard_normal(out.size)  # recording noise floor (about -60 dB)
    return 0.3 * out / np.max(np.abs(out))


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> np.ndarray:
    """About 2 s of 16 kHz speech: espeak-ng when installed, else the synthetic signal."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return synthetic_speech()
    wav = tmp_path_factory.mktemp("espeak") / "speech.wav"
    subprocess.run(
        [espeak, "-v", "en", "-s", "170", "-w", str(wav), "Bright sunshine warms the valley"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    from seqgan.metrics.audio import resample

    x, rate = sf.read(wav, dtype="float64")
    x = resample(x, rate, SR)
    rng = np.random.default_rng(1)
    x = x + 1e-3 * np.std(x) * rng.standard_normal(x.size)  # noise floor: no digital silence
    return x


@pytest.fixture(scope="session")
def speech_noise() -> np.ndarray:
    """Low-pass (brown-ish) noise, 3 s at 16 kHz, seeded."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(7)
    return lfilter([1.0], [1.0, -0.9], rng.standard_normal(3 * SR))
