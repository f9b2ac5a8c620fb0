"""Synthetic room impulse responses: a direct path, sparse early reflections and a decaying tail.

The model (a common stand-in for measured responses): the direct sound at sample 0 with gain 1;
``early_reflections`` signed taps between 1 ms and :data:`EARLY_SECONDS`; from 2 ms on, Gaussian
noise coloured by a one-pole low-pass (walls and air absorb the highs) under the envelope
``10 ** (-3 t / rt60)``, so its energy falls by 60 dB in ``rt60`` seconds. Reflections and tail
follow the same envelope and are scaled together so that the direct-to-reverberant ratio

    DRR = 10 log10(h[0] ** 2 / sum(h[1:] ** 2))

equals ``drr_db`` exactly. The corpus's clean target is the *early* part (direct path and the
reflections of the first 50 ms, :func:`early_part`): the late reverberation is what enhancement
removes, the early reflections are part of how the talker sounds in that room.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

EARLY_SECONDS = 0.05
TAIL_START_SECONDS = 0.002
TRAIN_RT60_RANGE = (0.2, 0.8)  # seconds; train and dev
TEST_RT60_RANGE = (0.2, 1.0)  # test also has the longest rooms, never heard in training
DRR_RANGE_DB = (0.0, 12.0)


def synth_rir(
    rng: np.random.Generator,
    sample_rate: int,
    rt60: float,
    drr_db: float,
    *,
    early_reflections: int = 10,
) -> np.ndarray:
    """A random room impulse response with the given RT60 and DRR.

    Args:
        rng: the source of randomness.
        sample_rate: rate in Hz.
        rt60: reverberation time in seconds (energy decay of 60 dB), > 0.
        drr_db: direct-to-reverberant energy ratio in dB.
        early_reflections: number of discrete reflections in the first 50 ms.

    Returns:
        ``(samples,)`` float64 response of ``1.2 * rt60`` seconds (at least 60 ms), ``h[0] == 1``.
    """
    if not rt60 > 0:
        raise ValueError(f"synth_rir: rt60 must be positive, got {rt60}")
    n = max(int(1.2 * rt60 * sample_rate), int(0.06 * sample_rate))
    t = np.arange(n) / sample_rate
    envelope = 10.0 ** (-3.0 * t / rt60)
    tail = rng.standard_normal(n)
    cutoff = rng.uniform(2500.0, 7000.0)
    b, a = sps.butter(1, min(cutoff, 0.45 * sample_rate), fs=sample_rate)
    tail = sps.lfilter(b, a, tail) * envelope
    start = int(TAIL_START_SECONDS * sample_rate)
    ramp = np.clip((np.arange(n) - start) / max(1, int(0.01 * sample_rate)), 0.0, 1.0)
    tail *= ramp  # the diffuse tail builds up over 10 ms after it starts
    early = np.zeros(n)
    lo, hi = int(0.001 * sample_rate), int(EARLY_SECONDS * sample_rate)
    taps = rng.integers(lo, hi, size=early_reflections)
    early[taps] += rng.choice([-1.0, 1.0], size=early_reflections) * rng.uniform(0.3, 1.0, early_reflections)
    early *= envelope * 4.0 * np.sqrt(np.mean(tail[start : start + hi] ** 2) + 1e-12)
    reverb = early + tail
    reverb[0] = 0.0
    energy = float(np.sum(reverb**2))
    reverb *= np.sqrt(10.0 ** (-drr_db / 10.0) / energy)
    reverb[0] = 1.0
    return reverb


def early_part(rir: np.ndarray, sample_rate: int, seconds: float = EARLY_SECONDS) -> np.ndarray:
    """The first ``seconds`` of ``rir`` (direct path and early reflections), the rest zero-free cut.

    Returns:
        ``(min(len(rir), seconds * sample_rate),)`` float64.
    """
    return np.asarray(rir, dtype=np.float64)[: max(1, int(seconds * sample_rate))].copy()


def drr_db(rir: np.ndarray) -> float:
    """Direct-to-reverberant ratio in dB with the direct path at sample 0 (see the module docstring)."""
    rir = np.asarray(rir, dtype=np.float64)
    return float(10.0 * np.log10(rir[0] ** 2 / np.sum(rir[1:] ** 2)))


def rt60_schroeder(rir: np.ndarray, sample_rate: int, db_range: tuple[float, float] = (-5.0, -25.0)) -> float:
    """RT60 estimated from the Schroeder backward integral (T20 by default: the -5..-25 dB slope x 3).

    Args:
        rir: ``(samples,)`` impulse response.
        sample_rate: rate in Hz.
        db_range: the decay range fitted with a line.

    Returns:
        Seconds for a 60 dB decay.
    """
    h = np.asarray(rir, dtype=np.float64)[1:]  # the direct impulse would dominate the first dB
    edc = np.cumsum((h**2)[::-1])[::-1]
    edc_db = 10.0 * np.log10(edc / edc[0] + 1e-300)
    keep = (edc_db <= db_range[0]) & (edc_db >= db_range[1])
    t = np.arange(h.size)[keep] / sample_rate
    slope = np.polyfit(t, edc_db[keep], 1)[0]
    return float(-60.0 / slope)


def reverberate(speech: np.ndarray, rir: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Speech in the room, and its early-reverberant version (the clean target).

    Args:
        speech: ``(samples,)`` dry speech.
        rir: ``(taps,)`` impulse response with its direct path at sample 0 (no delay).
        sample_rate: rate in Hz.

    Returns:
        ``(reverberant, early)``, both ``(samples,)``: the convolutions with ``rir`` and with its
        early part, cut to the input length (aligned with the dry speech).
    """
    n = speech.size
    reverberant = sps.fftconvolve(speech, rir)[:n]
    early = sps.fftconvolve(speech, early_part(rir, sample_rate))[:n]
    return reverberant, early
