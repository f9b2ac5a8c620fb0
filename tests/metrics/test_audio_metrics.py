"""PESQ, STOI, SI-SDR and compute_metrics (seqgan/metrics/audio.py)."""

from __future__ import annotations

import numpy as np
import pytest

from seqgan.metrics.audio import (
    METRICS,
    NON_INTRUSIVE,
    analysis_rate,
    compute_metrics,
    pesq_score,
    resample,
    resolve_metrics,
    si_sdr,
    stoi_score,
)

SR = 16000


def mix(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    noise = noise[: clean.size]
    return clean + noise * np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr_db / 10))


def _orthogonal_pair(n=8000, snr_db=7.0, seed=0):
    """Zero-mean s and noise orthogonal to s (and to constants) at exactly ``snr_db``."""
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(n)
    s -= s.mean()
    noise = rng.standard_normal(n)
    noise -= noise.mean()
    noise -= np.dot(noise, s) / np.dot(s, s) * s
    noise *= np.sqrt(np.dot(s, s) / np.dot(noise, noise) / 10 ** (snr_db / 10))
    return s, noise


def test_si_sdr_known_value_for_orthogonal_noise():
    s, noise = _orthogonal_pair(snr_db=7.0)
    assert si_sdr(s, s + noise) == pytest.approx(7.0, abs=1e-9)
    s, noise = _orthogonal_pair(snr_db=-3.5, seed=1)
    assert si_sdr(s, s + noise) == pytest.approx(-3.5, abs=1e-9)


def test_si_sdr_is_scale_and_offset_invariant():
    s, noise = _orthogonal_pair(snr_db=12.0)
    est = s + noise
    base = si_sdr(s, est)
    assert si_sdr(s, 0.01 * est) == pytest.approx(base, abs=1e-9)
    assert si_sdr(s, 37.0 * est) == pytest.approx(base, abs=1e-9)
    assert si_sdr(5.0 * s, est) == pytest.approx(base, abs=1e-9)
    # zero-mean: a DC offset on either signal changes nothing
    assert si_sdr(s + 0.3, est - 2.0) == pytest.approx(base, abs=1e-9)


def test_si_sdr_matches_torchmetrics_zero_mean():
    torch = pytest.importorskip("torch")
    from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

    rng = np.random.default_rng(3)
    s = rng.standard_normal(4000) + 0.5
    est = 0.7 * s + 0.4 * rng.standard_normal(4000) - 0.2
    expected = scale_invariant_signal_distortion_ratio(
        torch.from_numpy(est), torch.from_numpy(s), zero_mean=True
    ).item()
    assert si_sdr(s, est) == pytest.approx(expected, abs=1e-6)


def test_si_sdr_rejects_silence():
    with pytest.raises(ValueError, match="reference is silent"):
        si_sdr(np.full(100, 0.5), np.ones(100))
    with pytest.raises(ValueError, match="estimate is silent"):
        si_sdr(np.arange(100.0), np.zeros(100))


def test_identical_speech_scores_at_the_top(speech):
    assert pesq_score(speech, speech, SR, "wb") == pytest.approx(4.644, abs=0.01)
    assert pesq_score(speech, speech, SR, "nb") == pytest.approx(4.549, abs=0.01)
    assert stoi_score(speech, speech, SR) == pytest.approx(1.0, abs=1e-6)
    assert stoi_score(speech, speech, SR, extended=True) == pytest.approx(1.0, abs=1e-6)


def test_metrics_degrade_monotonically_with_noise(speech, speech_noise):
    intrusive = [m for m in METRICS if m not in NON_INTRUSIVE]  # DNSMOS: the next test
    rows = {}
    for snr in (30, 20, 10, 5, 0):
        scores, errors = compute_metrics(speech, mix(speech, speech_noise, snr), SR, intrusive)
        assert errors == {}
        rows[snr] = scores
    for metric in intrusive:
        seq = [rows[snr][metric] for snr in (30, 20, 10, 5, 0)]
        if metric in ("llr", "wss"):  # distances grow
            assert all(a < b for a, b in zip(seq, seq[1:])), (metric, seq)
        elif metric in ("csig", "cbak", "covl"):  # may saturate at the [1, 5] clip
            assert all(a >= b for a, b in zip(seq, seq[1:])), (metric, seq)
            assert seq[0] > seq[-1], (metric, seq)
        else:
            assert all(a > b for a, b in zip(seq, seq[1:])), (metric, seq)
    assert rows[5]["si_sdr"] == pytest.approx(5.0, abs=0.2)
    assert 1.0 <= rows[5]["pesq_wb"] < 2.0 and 0.6 < rows[5]["stoi"] < 0.99


def test_dnsmos_needs_no_reference_and_drops_with_noise(speech, speech_noise):
    quiet, _ = compute_metrics(None, mix(speech, speech_noise, 30), SR, ["dnsmos"])
    loud, errors = compute_metrics(None, mix(speech, speech_noise, 0), SR, ["dnsmos"])
    assert errors == {} and set(quiet) == set(NON_INTRUSIVE)
    assert quiet["dnsmos_bak"] > loud["dnsmos_bak"] + 0.5 and quiet["dnsmos_ovrl"] > loud["dnsmos_ovrl"]
    with pytest.raises(ValueError, match="pesq_wb need"):
        compute_metrics(None, speech, SR, ["pesq", "dnsmos"])


def test_identical_speech_composite_at_ceiling(speech):
    scores, errors = compute_metrics(speech, speech, SR, ["composite", "ssnr", "llr", "wss"])
    assert errors == {}
    assert scores["csig"] == scores["cbak"] == scores["covl"] == 5.0
    assert scores["ssnr"] == 35.0
    assert scores["llr"] == pytest.approx(0.0, abs=1e-9) and scores["wss"] == pytest.approx(0.0, abs=1e-9)


def test_short_signal_is_reported_not_raised(speech):
    short = speech[: int(0.2 * SR)]
    scores, errors = compute_metrics(short, short, SR)
    assert set(scores) | set(errors) == set(METRICS)  # DNSMOS included: its packages are installed
    assert "0.25 s" in errors["pesq_wb"]
    assert "30 frames" in errors["stoi"]
    assert errors["csig"].startswith("composite rating needs wide-band PESQ")
    assert scores["si_sdr"] > 100 and scores["ssnr"] == 35.0  # these need no minimum length


def test_8khz_has_no_wide_band_pesq(speech):
    x8 = resample(speech, SR, 8000)
    scores, errors = compute_metrics(x8, x8, 8000, ["pesq", "pesq_nb", "csig", "llr"])
    assert "needs 16 kHz" in errors["pesq_wb"] and "csig" in errors
    assert scores["pesq_nb"] == pytest.approx(4.55, abs=0.02)
    assert scores["llr"] == pytest.approx(0.0, abs=1e-9)


def test_higher_rates_are_scored_at_16k(speech):
    x48 = resample(speech, SR, 48000)
    scores, errors = compute_metrics(x48, x48, 48000, ["pesq_wb", "stoi"])
    assert errors == {}
    assert scores["pesq_wb"] == pytest.approx(4.644, abs=0.01)
    assert analysis_rate(44100) == 16000 and analysis_rate(11025) == 8000
    with pytest.raises(ValueError, match="below 8000"):
        analysis_rate(4000)


def test_bad_signals_fail_every_metric_with_a_reason():
    x = np.ones(SR)
    x[10] = np.nan
    scores, errors = compute_metrics(x, np.ones(SR), SR, ["si_sdr", "ssnr"])
    assert scores == {} and set(errors) == {"si_sdr", "ssnr"} and "NaN" in errors["ssnr"]
    scores, errors = compute_metrics(np.ones((2, SR)), np.ones((2, SR)), SR, ["ssnr"])
    assert "mono" in errors["ssnr"]


def test_silent_estimate_is_reported(speech):
    scores, errors = compute_metrics(speech, np.zeros_like(speech), SR, ["pesq_wb", "si_sdr", "ssnr"])
    assert "silence" in errors["pesq_wb"] and "silent" in errors["si_sdr"]
    assert scores["ssnr"] == pytest.approx(0.0, abs=1e-6)  # every frame: noise = signal


def test_resolve_metrics():
    assert resolve_metrics(["pesq", "composite"]) == ["pesq_wb", "csig", "cbak", "covl"]
    assert resolve_metrics(["SI-SDR", "stoi"]) == ["stoi", "si_sdr"]
    assert resolve_metrics(None) == list(METRICS)
    with pytest.raises(ValueError, match="unknown metric 'pesqq'; choose from: pesq_wb"):
        resolve_metrics(["pesqq"])
