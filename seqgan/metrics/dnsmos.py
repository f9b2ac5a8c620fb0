"""DNSMOS P.835: non-intrusive speech quality (Reddy et al., ICASSP 2022), no clean reference needed.

Microsoft's DNSMOS models predict, from the audio alone, the mean opinion scores a P.835 listening test
would give: ``dnsmos_sig`` (speech signal quality), ``dnsmos_bak`` (background noise intrusiveness) and
``dnsmos_ovrl`` (overall quality), each on 1..5, plus ``dnsmos_p808`` (the P.808 overall MOS). The models
ship inside the ``speechmos`` wheel and run on onnxruntime (the optional extra ``seqgan[dnsmos]``); nothing
is downloaded.

The models see 9.01 s windows of 16 kHz audio every second; shorter signals are repeated to fill one
window (the models' own convention), so a short clip costs one window. Other rates are resampled to 16 kHz; several channels are mixed
to mono (what a listener of a mono mix hears). Synthetic (TTS) speech scores low on SIG even when clean,
so compare DNSMOS between a noisy input and its enhanced output rather than with published absolute
values.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from seqgan.metrics.resampling import resample

__all__ = ["DNSMOS_METRICS", "DNSMOSUnavailable", "dnsmos", "dnsmos_available", "require_dnsmos"]

logger = logging.getLogger(__name__)

DNSMOS_RATE = 16000
_WINDOW = int(9.01 * DNSMOS_RATE)  # the models' input: 9.01 s
DNSMOS_METRICS: tuple[str, ...] = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808")
# the speechmos result keys of each metric
_KEYS = {
    "dnsmos_sig": "sig_mos",
    "dnsmos_bak": "bak_mos",
    "dnsmos_ovrl": "ovrl_mos",
    "dnsmos_p808": "p808_mos",
}
# its models keep one global session: calls from several threads are serialised
_LOCK = threading.Lock()


class DNSMOSUnavailable(RuntimeError):
    """The ``speechmos`` / ``onnxruntime`` packages are missing; the message says how to install them."""


def dnsmos_available() -> bool:
    """Whether DNSMOS can be computed here (``speechmos`` and ``onnxruntime`` import)."""
    try:
        require_dnsmos()
    except DNSMOSUnavailable:
        return False
    return True


def require_dnsmos():  # noqa: ANN201 - the speechmos.dnsmos module
    """The ``speechmos.dnsmos`` module; raises :class:`DNSMOSUnavailable` naming the extra to install."""
    try:
        import onnxruntime  # noqa: F401
        from speechmos import dnsmos as module
    except ImportError as e:
        raise DNSMOSUnavailable(
            f"DNSMOS needs the speechmos and onnxruntime packages ({e}); "
            "install them with: pip install 'seqgan[dnsmos]'"
        ) from None
    return module


def dnsmos(signal: np.ndarray, sample_rate: int, metrics: Sequence[str] = DNSMOS_METRICS) -> dict[str, float]:
    """DNSMOS P.835 scores of one signal.

    Args:
        signal: ``(samples,)`` mono or ``(channels, samples)`` audio in [-1, 1] (clipped there first).
        sample_rate: its rate in Hz (resampled to 16 kHz; at least 8 kHz).
        metrics: which of :data:`DNSMOS_METRICS` to return.

    Returns:
        ``{name: score}`` for the requested names.

    Raises:
        DNSMOSUnavailable: speechmos / onnxruntime are not installed.
        ValueError: an unknown metric name, a rate below 8 kHz, or an empty or silent signal.
    """
    unknown = [m for m in metrics if m not in _KEYS]
    if unknown:
        raise ValueError(f"unknown DNSMOS metric '{unknown[0]}'; choose from: {', '.join(DNSMOS_METRICS)}")
    if sample_rate < 8000:
        raise ValueError(f"DNSMOS needs at least 8000 Hz audio, got {sample_rate} Hz")
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"DNSMOS needs a non-empty mono or (channels, samples) signal, got shape {x.shape}")
    if not np.any(x):
        raise ValueError("the signal is silent (all zeros): DNSMOS has nothing to rate")
    if sample_rate != DNSMOS_RATE:
        x = resample(x, sample_rate, DNSMOS_RATE)
    x = np.clip(x, -1.0, 1.0).astype(np.float32)
    if x.size < _WINDOW:
        # repeated to exactly one window; the reference script doubles the clip until it is long
        # enough, which for a 0.5 s clip means 7 windows of the same repeated audio and 7x the time
        x = np.resize(x, _WINDOW)
    module = require_dnsmos()
    with _LOCK:
        result = module.run(x, DNSMOS_RATE)
    return {m: float(result[_KEYS[m]]) for m in metrics}
