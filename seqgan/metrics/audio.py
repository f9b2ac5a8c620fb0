"""Speech quality and intelligibility metrics for a (reference, estimate) pair.

Metric names (the keys of every result dict, and what ``seqgan score --metrics`` accepts):

========  ============================================================================================
pesq_wb   wide-band PESQ, ITU-T P.862.2, MOS-LQO (1.04 .. 4.64); needs 16 kHz (``pesq`` package)
pesq_nb   narrow-band PESQ, ITU-T P.862, MOS-LQO (1.02 .. 4.55); 8 or 16 kHz (``pesq`` package)
stoi      short-time objective intelligibility (Taal et al. 2011), ``pystoi``
estoi     extended STOI (Jensen & Taal 2016), ``pystoi``
si_sdr    scale-invariant SDR in dB (Le Roux et al. 2019), both signals made zero-mean first
ssnr      segmental SNR in dB (Loizou): 30 ms Hann frames, 75 % overlap, frames clipped to [-10, 35]
llr       log-likelihood ratio (LPC order 16, or 10 below 10 kHz), lowest 95 % of frames
wss       weighted spectral slope (25 critical bands, Kmax 20, Klocmax 1), lowest 95 % of frames
csig      composite signal distortion rating (Hu & Loizou 2008), wide-band PESQ fed in, [1, 5]
cbak      composite background intrusiveness rating, [1, 5]
covl      composite overall quality rating, [1, 5]
dnsmos_*  DNSMOS P.835 ``sig`` / ``bak`` / ``ovrl`` (1 .. 5) of the estimate alone, no reference needed
          (:mod:`seqgan.metrics.dnsmos`; the optional extra ``seqgan[dnsmos]``)
========  ============================================================================================

Full-band metrics, computed at the files' own rate (never resampled), chosen by name or with the alias
``fullband`` (not part of "every metric"):

==========  ==========================================================================================
si_sdr_fb   SI-SDR in dB at the signals' own rate (``si_sdr`` is computed at 16 kHz)
si_sdr_hf   SI-SDR in dB of the band above 8 kHz alone (both signals high-passed by zeroing the DFT
            bins up to 8 kHz); needs a rate above 16 kHz. Near or below 0 dB when that band is lost
==========  ==========================================================================================

Aliases: ``pesq`` = ``pesq_wb`` (what VoiceBank-DEMAND papers report), ``composite`` = csig, cbak, covl,
``dnsmos`` = dnsmos_sig, dnsmos_bak, dnsmos_ovrl. :data:`NON_INTRUSIVE` metrics ignore the reference;
``None`` (every metric) leaves DNSMOS out where its packages are not installed.

Sample rates: every metric but the full-band ones is computed at an *analysis rate*: 16 kHz for inputs at 16 kHz or above
(higher rates are resampled down to 16 kHz, the rate of the published VoiceBank numbers), 8 kHz for
inputs from 8 kHz up to 16 kHz (resampled down to 8 kHz). Signals are never resampled up, so at 8 kHz
wide-band PESQ — and the composite ratings, which use it — cannot be computed and are reported as
such. Signals of different lengths are truncated to the shorter one.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from seqgan.metrics.composite import composite_from_measures, llr, segmental_snr, wss
from seqgan.metrics.resampling import resample

__all__ = [
    "FULL_BAND_METRICS",
    "HIGHER_IS_BETTER",
    "METRICS",
    "NON_INTRUSIVE",
    "METRIC_LABELS",
    "METRIC_NOTES",
    "analysis_rate",
    "compute_metrics",
    "high_band_si_sdr",
    "pesq_score",
    "resample",
    "resolve_metrics",
    "segmental_snr",
    "si_sdr",
    "stoi_score",
]

logger = logging.getLogger(__name__)

METRICS: tuple[str, ...] = (
    "pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr", "ssnr", "llr", "wss", "csig", "cbak", "covl",
    "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl",
)  # fmt: skip
# computed at the signals' own rate; asked for by name or as "fullband", never by default
FULL_BAND_METRICS: tuple[str, ...] = ("si_sdr_fb", "si_sdr_hf")
HIGH_BAND_HZ = 8000.0  # the lower edge of si_sdr_hf's band: what a 16 kHz model cannot produce
# metrics of the estimate alone (the reference is not used)
NON_INTRUSIVE: tuple[str, ...] = ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")
ALIASES: dict[str, tuple[str, ...]] = {
    "pesq": ("pesq_wb",), "composite": ("csig", "cbak", "covl"), "dnsmos": NON_INTRUSIVE,
    "fullband": FULL_BAND_METRICS,
}  # fmt: skip
# Names for tables and reports.
METRIC_LABELS: dict[str, str] = {
    "pesq_wb": "PESQ-WB", "pesq_nb": "PESQ-NB", "stoi": "STOI", "estoi": "ESTOI", "si_sdr": "SI-SDR (dB)",
    "ssnr": "SSNR (dB)", "llr": "LLR", "wss": "WSS", "csig": "CSIG", "cbak": "CBAK", "covl": "COVL",
    "dnsmos_sig": "DNSMOS SIG", "dnsmos_bak": "DNSMOS BAK", "dnsmos_ovrl": "DNSMOS OVRL",
    "si_sdr_fb": "SI-SDR full band (dB)", "si_sdr_hf": "SI-SDR > 8 kHz (dB)",
}  # fmt: skip
# Whether a higher value is better (for tables); LLR and WSS are distances.
HIGHER_IS_BETTER = {m: m not in ("llr", "wss") for m in METRICS + FULL_BAND_METRICS}

METRIC_NOTES: dict[str, str] = {
    "pesq_wb": "ITU-T P.862.2 wide-band MOS-LQO at 16 kHz",
    "pesq_nb": "ITU-T P.862 narrow-band MOS-LQO",
    "si_sdr": "both signals are made zero-mean before SI-SDR is computed",
    "ssnr": "segmental SNR: 30 ms Hann frames, 75 % overlap, frames clipped to [-10, 35] dB, no VAD",
    "llr": "mean of the lowest 95 % of frame LLRs",
    "wss": "mean of the lowest 95 % of frame WSS distances",
    "csig": "Hu & Loizou (2008) composite with wide-band PESQ, clipped to [1, 5]",
    "cbak": "Hu & Loizou (2008) composite with wide-band PESQ, clipped to [1, 5]",
    "covl": "Hu & Loizou (2008) composite with wide-band PESQ, clipped to [1, 5]",
    "dnsmos_sig": "DNSMOS P.835 (speechmos ONNX models) of the estimate alone, at 16 kHz",
    "dnsmos_bak": "DNSMOS P.835 (speechmos ONNX models) of the estimate alone, at 16 kHz",
    "dnsmos_ovrl": "DNSMOS P.835 (speechmos ONNX models) of the estimate alone, at 16 kHz",
    "si_sdr_fb": "SI-SDR at the files' own rate (not resampled to 16 kHz)",
    "si_sdr_hf": "SI-SDR of the band above 8 kHz alone, at the files' own rate",
}

MIN_SAMPLE_RATE = 8000


def resolve_metrics(names: Iterable[str] | None) -> list[str]:
    """Expand aliases and check names; ``None`` means every metric of ``METRICS`` (the full-band ones
    only by name). Order follows ``METRICS`` then ``FULL_BAND_METRICS``.

    Raises:
        ValueError: naming the unknown metric and the choices.
    """
    if names is None:
        from seqgan.metrics.dnsmos import dnsmos_available

        return [m for m in METRICS if m not in NON_INTRUSIVE or dnsmos_available()]
    wanted: set[str] = set()
    for raw in names:
        name = raw.strip().lower().replace("-", "_")
        if not name:
            continue
        if name in ALIASES:
            wanted.update(ALIASES[name])
        elif name in METRICS or name in FULL_BAND_METRICS:
            wanted.add(name)
        else:
            choices = ", ".join(list(METRICS + FULL_BAND_METRICS) + sorted(ALIASES))
            raise ValueError(f"unknown metric {raw!r}; choose from: {choices}")
    if not wanted:
        raise ValueError("no metric selected")
    return [m for m in METRICS + FULL_BAND_METRICS if m in wanted]


def analysis_rate(sample_rate: int) -> int:
    """The rate metrics are computed at: 16000 for inputs >= 16 kHz, 8000 for 8 kHz <= rate < 16 kHz.

    Raises:
        ValueError: below 8 kHz.
    """
    if sample_rate >= 16000:
        return 16000
    if sample_rate >= MIN_SAMPLE_RATE:
        return 8000
    raise ValueError(
        f"sample rate {sample_rate} Hz is below {MIN_SAMPLE_RATE} Hz; speech metrics need 8 kHz or more"
    )


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB, with both signals made zero-mean first.

    ``alpha = <s_hat, s> / ||s||^2``; ``SI-SDR = 10 log10(||alpha s||^2 / ||s_hat - alpha s||^2)``.
    A machine epsilon in numerator and denominator keeps identical signals finite (about 150 dB and
    up, depending on level). Truncates to the shorter signal.

    Args:
        reference: ``(samples,)``.
        estimate: ``(samples,)``.

    Raises:
        ValueError: when either signal is constant (digital silence after removing the mean).
    """
    ref, est = _truncate(reference, estimate)
    ref = ref - ref.mean()
    est = est - est.mean()
    ref_energy = float(np.dot(ref, ref))
    if ref_energy == 0.0:
        raise ValueError("SI-SDR: reference is silent (constant after removing the mean)")
    if float(np.dot(est, est)) == 0.0:
        raise ValueError("SI-SDR: estimate is silent (constant after removing the mean)")
    target = (np.dot(est, ref) / ref_energy) * ref
    residual = est - target
    eps = np.finfo(np.float64).eps
    return float(10.0 * np.log10((np.dot(target, target) + eps) / (np.dot(residual, residual) + eps)))


def high_band_si_sdr(
    reference: np.ndarray, estimate: np.ndarray, sample_rate: int, low_hz: float = HIGH_BAND_HZ
) -> float:
    """SI-SDR in dB of the band above ``low_hz`` alone: both signals' DFT bins up to ``low_hz`` zeroed.

    Args:
        reference: ``(samples,)`` at ``sample_rate``.
        estimate: ``(samples,)`` at ``sample_rate``; truncated to the shorter signal.
        sample_rate: rate in Hz, above ``2 * low_hz``.

    Raises:
        ValueError: at a rate with no band above ``low_hz``, or when a signal has nothing there.
    """
    if sample_rate <= 2 * low_hz:
        raise ValueError(f"no band above {low_hz:g} Hz at {sample_rate} Hz; it needs full-band files")
    ref, est = _truncate(reference, estimate)
    keep = np.fft.rfftfreq(ref.size, 1.0 / sample_rate) > low_hz
    high = [np.fft.irfft(np.fft.rfft(x) * keep, n=ref.size) for x in (ref, est)]
    return si_sdr(*high)


def pesq_score(reference: np.ndarray, estimate: np.ndarray, sample_rate: int, mode: str = "wb") -> float:
    """PESQ MOS-LQO through the ``pesq`` package.

    Args:
        reference: ``(samples,)`` at ``sample_rate``.
        estimate: ``(samples,)`` at ``sample_rate``.
        sample_rate: 16000 (``wb`` or ``nb``) or 8000 (``nb`` only).
        mode: ``"wb"`` (P.862.2) or ``"nb"`` (P.862).

    Raises:
        ValueError: for an unsupported rate/mode, a silent reference, or when PESQ itself refuses
            the signals (shorter than 0.25 s, no utterance detected), with the reason.
    """
    if mode not in ("wb", "nb"):
        raise ValueError(f"PESQ mode must be 'wb' or 'nb', not {mode!r}")
    if mode == "wb" and sample_rate != 16000:
        raise ValueError(f"wide-band PESQ needs 16 kHz; the signals are {sample_rate} Hz")
    if sample_rate not in (8000, 16000):
        raise ValueError(f"narrow-band PESQ needs 8 or 16 kHz; the signals are {sample_rate} Hz")
    ref, est = _truncate(reference, estimate)
    if not np.any(ref):
        raise ValueError("PESQ: reference is digital silence")
    if not np.any(est):
        raise ValueError("PESQ: estimate is digital silence")
    from pesq import pesq

    try:
        return float(pesq(sample_rate, ref, est, mode))
    except Exception as err:  # the package raises its own error types (BufferTooShort, NoUtterances)
        reason = str(err) or type(err).__name__
        if ref.size < sample_rate // 4:
            reason = f"{reason} (signal is {ref.size / sample_rate:.3f} s; PESQ needs at least 0.25 s)"
        raise ValueError(f"PESQ ({mode}) could not score the pair: {reason}") from err


def stoi_score(
    reference: np.ndarray, estimate: np.ndarray, sample_rate: int, extended: bool = False
) -> float:
    """STOI (or ESTOI with ``extended=True``) through ``pystoi`` (which resamples to 10 kHz itself).

    Raises:
        ValueError: when fewer than 30 non-silent frames remain (pystoi would return 1e-5 with a
            warning; seqgan reports the utterance as unscorable instead).
    """
    from pystoi import stoi

    ref, est = _truncate(reference, estimate)
    name = "ESTOI" if extended else "STOI"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(stoi(ref, est, sample_rate, extended=extended))
    for w in caught:
        if "Not enough STFT frames" not in str(w.message):
            warnings.warn(w.message, w.category, stacklevel=2)
            continue
        raise ValueError(
            f"{name}: fewer than 30 frames of speech after removing silent frames (about 0.4 s of "
            "speech needed)"
        )
    if not math.isfinite(value):
        raise ValueError(f"{name}: result is not finite (silent reference?)")
    return value


def _truncate(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    est = np.asarray(estimate, dtype=np.float64).reshape(-1)
    n = min(ref.size, est.size)
    return ref[:n], est[:n]


def compute_metrics(
    reference: np.ndarray | None,
    estimate: np.ndarray,
    sample_rate: int,
    metrics: Sequence[str] | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """Compute speech metrics for one pair; a metric that cannot be computed is reported, not raised.

    Both signals are resampled to :func:`analysis_rate` (``sample_rate`` itself for 8 and 16 kHz) and
    truncated to the shorter one.

    Args:
        reference: clean signal ``(samples,)``; ``None`` when every requested metric is
            :data:`NON_INTRUSIVE` (a recording without a clean reference).
        estimate: processed signal ``(samples,)`` at the same rate.
        sample_rate: rate of both signals in Hz.
        metrics: names or aliases (see module docstring); ``None`` = all.

    Returns:
        ``(scores, errors)``: ``scores[name]`` a float for every metric computed; ``errors[name]`` the
        reason for every requested metric that could not be computed. Together they cover every
        requested metric.

    Raises:
        ValueError: for an unknown metric name, or a metric that needs the reference when there is
            none (programming errors, not properties of the signals).
    """
    wanted = resolve_metrics(metrics)
    if reference is None:
        needs_ref = [m for m in wanted if m not in NON_INTRUSIVE]
        if needs_ref:
            raise ValueError(f"{', '.join(needs_ref)} need(s) a clean reference")
        reference = estimate  # never read by the non-intrusive metrics; keeps one code path below
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}

    def fail_all(reason: str) -> tuple[dict[str, float], dict[str, str]]:
        return {}, dict.fromkeys(wanted, reason)

    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.ndim != 1 or est.ndim != 1:
        return fail_all(f"signals must be mono 1-D arrays; got shapes {ref.shape} and {est.shape}")
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(est))):
        return fail_all("signal contains NaN or infinite samples")
    try:
        rate = analysis_rate(int(sample_rate))
    except ValueError as err:
        return fail_all(str(err))
    full_band = _truncate(ref, est)  # the full-band metrics see the signals at their own rate
    if rate != sample_rate:
        ref, est = resample(ref, sample_rate, rate), resample(est, sample_rate, rate)
    ref, est = _truncate(ref, est)
    if ref.size == 0:
        return fail_all("empty signal")

    cache: dict[str, float] = {}
    failures: dict[str, str] = {}

    def get(name: str) -> float:
        """Compute a metric once (composite reuses PESQ, LLR, WSS and SSNR)."""
        if name in failures:
            raise ValueError(failures[name])
        if name not in cache:
            try:
                cache.update(_compute_one(name, ref, est, rate, get))
            except ValueError as err:
                failures[name] = str(err)
                raise
        return cache[name]

    for name in wanted:
        try:
            if name == "si_sdr_fb":
                value = si_sdr(*full_band)
            elif name == "si_sdr_hf":
                value = high_band_si_sdr(*full_band, int(sample_rate))
            else:
                value = get(name)
            if not math.isfinite(value):
                raise ValueError(f"{name} is not finite ({value})")
            scores[name] = value
        except ValueError as err:
            errors[name] = str(err)
        except Exception as err:  # a bug or a library failure must not stop the other metrics
            logger.exception("metric %s failed", name)
            errors[name] = f"{type(err).__name__}: {err}"
    return scores, errors


def _compute_one(name: str, ref: np.ndarray, est: np.ndarray, rate: int, get) -> dict[str, float]:
    """Compute one metric (the composite ratings come as a group); returns ``{name: value, ...}``."""
    if name == "pesq_wb":
        return {name: pesq_score(ref, est, rate, "wb")}
    if name == "pesq_nb":
        return {name: pesq_score(ref, est, rate, "nb")}
    if name in ("stoi", "estoi"):
        return {name: stoi_score(ref, est, rate, extended=name == "estoi")}
    if name == "si_sdr":
        return {name: si_sdr(ref, est)}
    if name == "ssnr":
        return {name: segmental_snr(ref, est, rate)}
    if name == "llr":
        return {name: llr(ref, est, rate)}
    if name == "wss":
        return {name: wss(ref, est, rate)}
    if name in NON_INTRUSIVE:  # all three from one pass of the models
        from seqgan.metrics.dnsmos import DNSMOSUnavailable, dnsmos

        try:
            return dnsmos(est, rate, NON_INTRUSIVE)
        except DNSMOSUnavailable as err:
            raise ValueError(str(err)) from None
    if name in ("csig", "cbak", "covl"):
        try:
            pesq_wb = get("pesq_wb")
        except ValueError as err:
            raise ValueError(f"composite rating needs wide-band PESQ: {err}") from err
        return composite_from_measures(get("llr"), get("wss"), pesq_wb, get("ssnr"))
    raise ValueError(f"unknown metric {name!r}")
