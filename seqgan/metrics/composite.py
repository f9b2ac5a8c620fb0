"""Hu & Loizou frame measures and the composite quality ratings CSIG / CBAK / COVL.

The composite measures (Hu & Loizou, "Evaluation of objective quality measures for speech enhancement",
IEEE TASLP 2008) are linear combinations of four objective measures, each clipped to [1, 5]:

    CSIG = 3.093 - 1.029 LLR + 0.603 PESQ - 0.009 WSS
    CBAK = 1.634 + 0.478 PESQ - 0.007 WSS + 0.063 segSNR
    COVL = 1.594 + 0.805 PESQ - 0.512 LLR - 0.007 WSS

The frame measures follow the published definitions (Loizou, "Speech Enhancement: Theory and Practice",
ch. 10, and the MATLAB reference released with it), so that the numbers compare with the literature:

* framing: 30 ms frames, hop of a quarter frame, window ``0.5 (1 - cos(2 pi n / (N + 1)))`` for
  ``n = 1..N`` (a Hann window without its zero end points); ``floor((L - N) / hop)`` frames, i.e. the
  last full frame is not analysed (as in the reference);
* both signals are truncated to the shorter one and a machine epsilon is added to every sample
  (keeps digital silence finite in the LPC analysis, as the reference does);
* LLR and WSS are averaged over the lowest 95 % of the per-frame distortions; segmental SNR over all
  frames, each frame clipped to [-10, 35] dB, without voice-activity detection.

VoiceBank-DEMAND papers feed wide-band PESQ (P.862.2 MOS-LQO) into the formulas; so does seqgan.

All signals are 1-D arrays ``(samples,)``; values are plain floats.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CRITICAL_BANDS_HZ",
    "composite_from_measures",
    "composite_measures",
    "llr",
    "loizou_frames",
    "segmental_snr",
    "wss",
]

FRAME_MS = 30.0
ALPHA = 0.95  # fraction of the lowest frame distortions averaged by LLR and WSS
SSNR_MIN_DB = -10.0
SSNR_MAX_DB = 35.0
WSS_KMAX = 20.0  # Klatt (1982), p. 1280
WSS_KLOCMAX = 1.0

# 25 critical bands of the WSS measure (centre frequency, bandwidth) in Hz, as published.
CRITICAL_BANDS_HZ: tuple[tuple[float, float], ...] = (
    (50.0000, 70.0000), (120.000, 70.0000), (190.000, 70.0000), (260.000, 70.0000),
    (330.000, 70.0000), (400.000, 70.0000), (470.000, 70.0000), (540.000, 77.3724),
    (617.372, 86.0056), (703.378, 95.3398), (798.717, 105.411), (904.128, 116.256),
    (1020.38, 127.914), (1148.30, 140.423), (1288.72, 153.823), (1442.54, 168.154),
    (1610.70, 183.457), (1794.16, 199.776), (1993.93, 217.153), (2211.08, 235.631),
    (2446.71, 255.255), (2701.97, 276.072), (2978.04, 298.126), (3276.17, 321.465),
    (3597.63, 346.136),
)  # fmt: skip

_EPS = float(np.finfo(np.float64).eps)


def _prepare(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Truncate to the shorter signal and add machine epsilon (digital silence stays analysable)."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    est = np.asarray(estimate, dtype=np.float64).reshape(-1)
    n = min(ref.size, est.size)
    return ref[:n] + _EPS, est[:n] + _EPS


def loizou_frames(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut a signal into windowed analysis frames the way the published measures do.

    Args:
        signal: ``(samples,)``.
        sample_rate: in Hz.

    Returns:
        ``(frames, frame_length)`` windowed frames; ``frame_length = round(0.03 * sample_rate)``, hop
        ``frame_length // 4``, ``floor((samples - frame_length) / hop)`` frames (possibly zero).
    """
    win = int(round(FRAME_MS * sample_rate / 1000.0))
    hop = win // 4
    n_frames = max(0, (signal.size - win) // hop)
    if n_frames == 0:
        return np.zeros((0, win))
    idx = np.arange(n_frames)[:, None] * hop + np.arange(win)[None, :]
    window = 0.5 * (1.0 - np.cos(2.0 * np.pi * np.arange(1, win + 1) / (win + 1)))
    return signal[idx] * window


def _mean_of_lowest(values: np.ndarray, name: str) -> float:
    """Mean of the lowest ``ALPHA`` fraction (rounded, at least one) of the finite values."""
    values = np.sort(values[np.isfinite(values)])
    if values.size == 0:
        raise ValueError(f"{name}: no analysable frames (signal shorter than two 30 ms frames?)")
    keep = max(1, int(np.floor(values.size * ALPHA + 0.5)))  # MATLAB round() of a positive number
    return float(np.mean(values[:keep]))


def segmental_snr(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Segmental SNR in dB (Loizou): mean over frames of the per-frame SNR clipped to [-10, 35] dB.

    30 ms windowed frames with 75 % overlap, no voice-activity detection; the signals are truncated to
    the shorter length. Identical signals give 35 dB.

    Args:
        reference: clean signal ``(samples,)``.
        estimate: processed signal ``(samples,)``.
        sample_rate: in Hz.

    Raises:
        ValueError: when the signals are too short for one frame.
    """
    ref, est = _prepare(reference, estimate)
    ref_f = loizou_frames(ref, sample_rate)
    est_f = loizou_frames(est, sample_rate)
    if ref_f.shape[0] == 0:
        raise ValueError(f"segmental SNR: signal of {ref.size} samples is too short for 30 ms frames")
    signal_energy = np.sum(ref_f**2, axis=1)
    noise_energy = np.sum((ref_f - est_f) ** 2, axis=1)
    snr = 10.0 * np.log10(signal_energy / (noise_energy + _EPS) + _EPS)
    return float(np.mean(np.clip(snr, SSNR_MIN_DB, SSNR_MAX_DB)))


def lpc_autocorrelation(frames: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation-method LPC of each frame (Levinson–Durbin recursion), vectorised over frames.

    (``librosa.lpc`` uses Burg's method, which gives different coefficients from the autocorrelation
    method that the LLR measure is defined with.)

    Args:
        frames: ``(frames, frame_length)``.
        order: prediction order ``P``.

    Returns:
        ``(R, A)``: autocorrelation lags ``(frames, P + 1)`` and prediction-error filters
        ``(frames, P + 1)`` with ``A[:, 0] = 1`` (``e[n] = sum_k A[k] x[n - k]``). The recursion stops
        early (remaining coefficients zero) in a frame whose prediction error is no longer positive.
    """
    n_frames, length = frames.shape
    r = np.stack([np.sum(frames[:, : length - k] * frames[:, k:], axis=1) for k in range(order + 1)], 1)
    a = np.zeros((n_frames, order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    active = err > 0
    for i in range(1, order + 1):
        # reflection coefficient k_i = -(sum_j a_j r_{i-j}) / E_{i-1}
        acc = np.sum(a[:, :i] * r[:, i:0:-1], axis=1)
        k = np.where(active, -acc / np.where(active, err, 1.0), 0.0)
        a[:, 1 : i + 1] = a[:, 1 : i + 1] + k[:, None] * a[:, i - 1 :: -1][:, :i]
        err = err * (1.0 - k * k)
        # guard against round-off on (nearly) perfectly predictable frames
        active = active & (err > 1e-12 * r[:, 0])
    return r, a


def llr(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Log-likelihood ratio: mean of the lowest 95 % of the per-frame ``log(a_e R_c a_e' / a_c R_c a_c')``.

    ``a_c`` / ``a_e`` are the LPC vectors of the clean / processed frame (order 16, or 10 below 10 kHz),
    ``R_c`` the autocorrelation (Toeplitz) matrix of the clean frame. Zero for identical signals,
    never negative.

    Args:
        reference: clean signal ``(samples,)``.
        estimate: processed signal ``(samples,)``.
        sample_rate: in Hz.
    """
    ref, est = _prepare(reference, estimate)
    order = 10 if sample_rate < 10000 else 16
    r_c, a_c = lpc_autocorrelation(loizou_frames(ref, sample_rate), order)
    _, a_e = lpc_autocorrelation(loizou_frames(est, sample_rate), order)
    lags = np.abs(np.arange(order + 1)[:, None] - np.arange(order + 1)[None, :])
    toeplitz = r_c[:, lags]  # (frames, P + 1, P + 1)
    num = np.einsum("fi,fij,fj->f", a_e, toeplitz, a_e)
    den = np.einsum("fi,fij,fj->f", a_c, toeplitz, a_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.log(num / den)
    return _mean_of_lowest(dist, "LLR")


def _critical_band_filters(sample_rate: int, n_fft: int) -> np.ndarray:
    """Gaussian-shaped critical-band weights ``(25, n_fft // 2)``, zeroed below their -30 dB point."""
    half = n_fft // 2
    nyquist = sample_rate / 2.0
    bw_min = CRITICAL_BANDS_HZ[0][1]
    min_factor = np.exp(-30.0 / (2.0 * 2.303))
    bins = np.arange(half)
    filters = np.zeros((len(CRITICAL_BANDS_HZ), half))
    for i, (centre, bandwidth) in enumerate(CRITICAL_BANDS_HZ):
        f0 = np.floor(centre / nyquist * half)
        bw = bandwidth / nyquist * half
        weights = np.exp(-11.0 * ((bins - f0) / bw) ** 2 + np.log(bw_min) - np.log(bandwidth))
        filters[i] = weights * (weights > min_factor)
    return filters


def _nearest_peaks(energy: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Energy of the spectral peak each band climbs to (Klatt's local-maximum reference).

    A band with a rising slope searches upwards, otherwise downwards. As in the published reference
    implementation, an upward search returns the band *below* the first falling slope (for a peak at the
    top band, the band below it); the downward search returns the peak itself. The published composite
    numbers were computed this way, so it is kept.

    Args:
        energy: ``(frames, bands)`` critical-band energies in dB.
        slope: ``(frames, bands - 1)`` ``energy[:, i + 1] - energy[:, i]``.

    Returns:
        ``(frames, bands - 1)``.
    """
    n_frames, n_slopes = slope.shape
    rows = np.arange(n_frames)
    # first index >= i with a non-rising slope (n_slopes if none), scanning from the top band down
    up_stop = np.empty((n_frames, n_slopes), dtype=np.int64)
    nxt = np.full(n_frames, n_slopes)
    for n in range(n_slopes - 1, -1, -1):
        nxt = np.where(slope[:, n] <= 0, n, nxt)
        up_stop[:, n] = nxt
    # last index <= i with a rising slope (-1 if none)
    down_stop = np.empty((n_frames, n_slopes), dtype=np.int64)
    prev = np.full(n_frames, -1)
    for n in range(n_slopes):
        prev = np.where(slope[:, n] > 0, n, prev)
        down_stop[:, n] = prev
    peaks = np.empty((n_frames, n_slopes))
    for i in range(n_slopes):
        index = np.where(slope[:, i] > 0, up_stop[:, i] - 1, down_stop[:, i] + 1)
        peaks[:, i] = energy[rows, index]
    return peaks


def wss(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Weighted spectral slope distance (Klatt 1982): mean of the lowest 95 % of frame distances.

    Per frame: power spectra (FFT of ``2^ceil(log2(2 N))`` points) through 25 critical-band filters, in
    dB (floored at -100 dB); slopes between neighbouring bands; the squared slope differences weighted
    by ``W = Kmax / (Kmax + Emax - E_i) * Klocmax / (Klocmax + E_peak,i - E_i)`` (Kmax = 20,
    Klocmax = 1), averaged between clean and processed weights, and normalised by the sum of weights.
    Zero for identical signals.

    Args:
        reference: clean signal ``(samples,)``.
        estimate: processed signal ``(samples,)``.
        sample_rate: in Hz.
    """
    ref, est = _prepare(reference, estimate)
    ref_f = loizou_frames(ref, sample_rate)
    est_f = loizou_frames(est, sample_rate)
    n_fft = int(2 ** np.ceil(np.log2(2 * ref_f.shape[1])))
    filters = _critical_band_filters(sample_rate, n_fft)
    half = n_fft // 2

    def band_energy_db(frames: np.ndarray) -> np.ndarray:
        power = np.abs(np.fft.rfft(frames, n_fft, axis=1)[:, :half]) ** 2
        return 10.0 * np.log10(np.maximum(power @ filters.T, 1e-10))

    e_ref, e_est = band_energy_db(ref_f), band_energy_db(est_f)
    s_ref, s_est = np.diff(e_ref, axis=1), np.diff(e_est, axis=1)

    def weights(energy: np.ndarray, slope: np.ndarray) -> np.ndarray:
        below_max = energy.max(axis=1, keepdims=True) - energy[:, :-1]
        below_peak = _nearest_peaks(energy, slope) - energy[:, :-1]
        return WSS_KMAX / (WSS_KMAX + below_max) * WSS_KLOCMAX / (WSS_KLOCMAX + below_peak)

    w = 0.5 * (weights(e_ref, s_ref) + weights(e_est, s_est))
    dist = np.sum(w * (s_ref - s_est) ** 2, axis=1) / np.sum(w, axis=1)
    return _mean_of_lowest(dist, "WSS")


def composite_from_measures(llr: float, wss: float, pesq: float, segsnr: float) -> dict[str, float]:
    """The Hu & Loizou (2008) regression formulas, each result clipped to [1, 5].

    Args:
        llr: log-likelihood ratio (mean of the lowest 95 % of frames).
        wss: weighted spectral slope (mean of the lowest 95 % of frames).
        pesq: PESQ score (wide-band MOS-LQO in the VoiceBank convention).
        segsnr: segmental SNR in dB.

    Returns:
        ``{"csig": ..., "cbak": ..., "covl": ...}``.
    """
    csig = 3.093 - 1.029 * llr + 0.603 * pesq - 0.009 * wss
    cbak = 1.634 + 0.478 * pesq - 0.007 * wss + 0.063 * segsnr
    covl = 1.594 + 0.805 * pesq - 0.512 * llr - 0.007 * wss
    return {
        name: float(min(5.0, max(1.0, v))) for name, v in (("csig", csig), ("cbak", cbak), ("covl", covl))
    }


def composite_measures(
    reference: np.ndarray, estimate: np.ndarray, sample_rate: int, pesq_wb: float
) -> dict[str, float]:
    """LLR, WSS, segmental SNR and the composite ratings for one pair.

    Args:
        reference: clean signal ``(samples,)``.
        estimate: processed signal ``(samples,)``.
        sample_rate: in Hz (16000 for the published setup).
        pesq_wb: wide-band PESQ of the same pair (computed by the caller, so it is computed once).

    Returns:
        ``{"llr", "wss", "ssnr", "csig", "cbak", "covl"}`` as floats.
    """
    values = {
        "llr": llr(reference, estimate, sample_rate),
        "wss": wss(reference, estimate, sample_rate),
        "ssnr": segmental_snr(reference, estimate, sample_rate),
    }
    values.update(composite_from_measures(values["llr"], values["wss"], pesq_wb, values["ssnr"]))
    return values
