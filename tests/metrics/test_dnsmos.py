"""DNSMOS P.835 through speechmos: behaviour on a speech-like signal with and without noise."""

from __future__ import annotations

import numpy as np
import pytest

from seqgan.metrics.dnsmos import DNSMOS_METRICS, dnsmos

RATE = 16000


def _voiced(seconds: float = 3.0, rate: int = RATE) -> np.ndarray:
    """A harmonic signal with a gliding f0 and a syllable-like envelope (speech-like enough for DNSMOS)."""
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(120 + 20 * np.sin(2 * np.pi * 0.5 * t)) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 30))
    envelope = (np.sin(2 * np.pi * 3 * t) > -0.2) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2
    return 0.1 * voiced * envelope


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, float]]:
    clean = _voiced()
    noisy = clean + 0.05 * np.random.default_rng(0).standard_normal(clean.size)
    return {"clean": dnsmos(clean, RATE), "noisy": dnsmos(noisy, RATE)}


def test_white_noise_lowers_background_and_overall_scores(scores) -> None:
    clean, noisy = scores["clean"], scores["noisy"]
    assert set(clean) == set(DNSMOS_METRICS)
    assert all(1.0 <= v <= 5.0 for v in clean.values())
    assert clean["dnsmos_bak"] > noisy["dnsmos_bak"] + 1.0
    assert clean["dnsmos_ovrl"] > noisy["dnsmos_ovrl"]


def test_deterministic_and_identical_channels_score_like_mono(scores) -> None:
    clean = _voiced()
    again = dnsmos(np.stack([clean, clean]), RATE, metrics=("dnsmos_bak",))
    assert again == {"dnsmos_bak": pytest.approx(scores["clean"]["dnsmos_bak"], abs=1e-9)}


def test_other_rates_are_resampled_to_16k(scores) -> None:
    at_48k = dnsmos(_voiced(rate=48000), 48000, metrics=("dnsmos_bak",))
    assert at_48k["dnsmos_bak"] == pytest.approx(scores["clean"]["dnsmos_bak"], abs=0.15)


@pytest.mark.parametrize(
    ("signal", "rate", "metrics", "message"),
    [
        (np.zeros(RATE), RATE, DNSMOS_METRICS, "silent"),
        (np.ones(10), 4000, DNSMOS_METRICS, "8000 Hz"),
        (np.ones(RATE), RATE, ("dnsmos_sigg",), "unknown DNSMOS metric 'dnsmos_sigg'"),
        (np.ones((2, 2, 2)), RATE, DNSMOS_METRICS, "shape"),
    ],
)
def test_bad_input_is_refused_with_a_reason(signal, rate, metrics, message) -> None:
    with pytest.raises(ValueError, match=message):
        dnsmos(signal, rate, metrics=metrics)
