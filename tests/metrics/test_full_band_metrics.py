"""The full-band metrics: SI-SDR at the files' own rate and SI-SDR of the band above 8 kHz."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from seqgan.cli import main
from seqgan.metrics.audio import (
    FULL_BAND_METRICS,
    METRICS,
    compute_metrics,
    high_band_si_sdr,
    resolve_metrics,
    si_sdr,
)

RATE = 48000


def _band(x: np.ndarray, low: float, high: float, rate: int = RATE) -> np.ndarray:
    f = np.fft.rfftfreq(x.size, 1.0 / rate)
    return np.fft.irfft(np.fft.rfft(x) * ((f > low) & (f < high)), n=x.size)


def _signals(seed: int = 0, seconds: float = 1.0):
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    ref = 0.1 * rng.standard_normal(n)
    return ref, 0.1 * rng.standard_normal(n)


def test_full_band_si_sdr_sees_what_16k_scoring_drops():
    ref, other = _signals()
    # an error only above 10 kHz, 20 dB below the reference's power
    err = _band(other, 10000.0, 24000.0)
    est = ref + err * np.sqrt(0.01 * np.sum(ref**2) / np.sum(err**2))
    scores, errors = compute_metrics(ref, est, RATE, ["si_sdr", "si_sdr_fb", "si_sdr_hf"])
    assert not errors
    assert scores["si_sdr"] > 40.0  # resampled to 16 kHz, the error is gone
    assert scores["si_sdr_fb"] == pytest.approx(si_sdr(ref, est))
    assert scores["si_sdr_fb"] == pytest.approx(20.0, abs=0.1)
    # above 8 kHz the error meets only the reference's own high band: SI-SDR ~ their power ratio
    expected = 10 * np.log10(np.sum(_band(ref, 8000.0, 24000.0) ** 2) / np.sum((est - ref) ** 2))
    assert scores["si_sdr_hf"] == pytest.approx(expected, abs=0.2)
    assert scores["si_sdr_hf"] < scores["si_sdr_fb"]


def test_high_band_si_sdr_is_low_when_the_band_is_lost():
    ref, other = _signals(1)
    dropped = _band(ref, 0.0, 7500.0) + 1e-4 * other  # what a 16 kHz model gives back
    assert high_band_si_sdr(ref, dropped, RATE) < -20.0
    assert high_band_si_sdr(ref, ref + 1e-3 * other, RATE) > 35.0
    with pytest.raises(ValueError, match="no band above 8000 Hz at 16000 Hz"):
        high_band_si_sdr(ref[:16000], ref[:16000], 16000)


def test_full_band_metrics_are_asked_for_by_name_only():
    assert resolve_metrics(None) == list(METRICS)  # "every metric" is unchanged
    assert resolve_metrics(["fullband"]) == list(FULL_BAND_METRICS)
    assert resolve_metrics(["pesq", "si-sdr-hf"]) == ["pesq_wb", "si_sdr_hf"]
    with pytest.raises(ValueError, match="si_sdr_fb"):
        resolve_metrics(["si_sdr_full"])
    ref, est = _signals(2, 0.5)
    scores, errors = compute_metrics(ref[:8000], est[:8000], 16000, ["fullband"])
    assert set(scores) == {"si_sdr_fb"} and "no band above 8000 Hz" in errors["si_sdr_hf"]


def test_seqgan_score_reports_them(tmp_path, capsys):
    ref, other = _signals(3, 0.5)
    for name, x in (("ref", ref), ("est", ref + 0.1 * other)):
        (tmp_path / name).mkdir()
        sf.write(tmp_path / name / "u1.wav", x, RATE, subtype="FLOAT")
    code = main(["score", "--ref", str(tmp_path / "ref"), "--est", str(tmp_path / "est"), "-o", str(tmp_path / "s"),
                 "--metrics", "si_sdr,fullband"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "SI-SDR full band (dB)" in out and "SI-SDR > 8 kHz (dB)" in out
    summary = json.loads((tmp_path / "s" / "scores.json").read_text())["summary"]
    # white noise 20 dB down: the same SI-SDR at 16 kHz, at 48 kHz and above 8 kHz alone
    for name in ("si_sdr", "si_sdr_fb", "si_sdr_hf"):
        assert summary[name]["count"] == 1 and summary[name]["mean"] == pytest.approx(20.0, abs=0.3)
