"""The resampler every metric uses before scoring (one definition, so all metrics see the same signal)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["resample"]


def resample(signal: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``, Kaiser-windowed FIR).

    Args:
        signal: ``(samples,)``.
        orig_rate: rate of ``signal`` in Hz.
        target_rate: wanted rate in Hz.

    Returns:
        ``(round(samples * target_rate / orig_rate),)`` float64.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if orig_rate == target_rate:
        return signal
    from scipy.signal import resample_poly

    ratio = Fraction(int(target_rate), int(orig_rate))
    return resample_poly(signal, ratio.numerator, ratio.denominator)
