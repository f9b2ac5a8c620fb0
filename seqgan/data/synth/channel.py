"""Recording-channel effects on the noisy input: band-limiting (telephone, 8 kHz) and clipping.

* ``telephone``: a 4th-order Butterworth band-pass 300-3400 Hz, then 8 kHz sampling and back to the
  corpus rate (what a narrow-band call sounds like once upsampled);
* ``narrowband``: 8 kHz sampling and back (everything above 4 kHz gone), as for speech recorded
  at 8 kHz and upsampled.

The corpus applies a band limit to the clean target too (the enhancer should remove the noise,
not invent the missing band); clipping only to the noisy input (the clean target is unclipped, so
the enhancer learns to undo it).
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from seqgan.data.synth.speech import resample

BANDS: tuple[str, ...] = ("telephone", "narrowband")
TELEPHONE_BAND_HZ = (300.0, 3400.0)
NARROW_RATE = 8000
CLIP_RANGE = (0.25, 0.7)  # clipping threshold as a fraction of the input's peak


def band_limit(x: np.ndarray, sample_rate: int, kind: str) -> np.ndarray:
    """``x`` through a telephone or 8 kHz channel, back at ``sample_rate`` (same length).

    Args:
        x: ``(samples,)`` waveform.
        sample_rate: its rate in Hz (above 8000).
        kind: ``telephone`` or ``narrowband``.

    Returns:
        ``(samples,)`` float64.
    """
    x = np.asarray(x, dtype=np.float64)
    if kind == "telephone":
        sos = sps.butter(4, TELEPHONE_BAND_HZ, btype="bandpass", fs=sample_rate, output="sos")
        x = sps.sosfilt(sos, x)
    elif kind != "narrowband":
        raise ValueError(f"unknown band limit '{kind}'; choose from: {', '.join(BANDS)}")
    y = resample(resample(x, sample_rate, NARROW_RATE), NARROW_RATE, sample_rate)
    out = np.zeros_like(x)
    out[: min(x.size, y.size)] = y[: x.size]
    return out


def clip(x: np.ndarray, fraction: float) -> np.ndarray:
    """Hard clipping at ``fraction`` of the peak of ``x``.

    Returns:
        ``(samples,)`` float64 with ``max|y| == fraction * max|x|``.
    """
    x = np.asarray(x, dtype=np.float64)
    level = fraction * float(np.abs(x).max())
    return np.clip(x, -level, level)
