"""Enhancer at 48 kHz: a model's own rate is used as is, other rates are resampled to it and back."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from test_enhance import EnhTestIdentity

import seqgan.enhance as enhance_module
from seqgan.enhance import Enhancer
from seqgan.metrics.audio import high_band_si_sdr, si_sdr


@pytest.fixture
def resamplers(monkeypatch):
    """Records the ``(from, to)`` rates of every resampler the enhancer builds that is not an identity."""
    made: list[tuple[int, int]] = []
    real = enhance_module.StreamingResampler

    def recording(orig: int, new: int):
        if orig != new:
            made.append((orig, new))
        return real(orig, new)

    monkeypatch.setattr(enhance_module, "StreamingResampler", recording)
    return made


def _white(frames: int, seed: int = 0, rate: int = 48000, top_hz: float | None = None) -> np.ndarray:
    """White noise, optionally with nothing above ``top_hz``."""
    x = 0.1 * np.random.default_rng(seed).standard_normal(frames)
    if top_hz is not None:
        x = np.fft.irfft(np.fft.rfft(x) * (np.fft.rfftfreq(frames, 1.0 / rate) < top_hz), n=frames)
    return x.astype(np.float32)


def _high_share(x: np.ndarray, rate: int, low_hz: float = 8000.0) -> float:
    """Energy share of ``x`` above ``low_hz``."""
    power = np.abs(np.fft.rfft(x)) ** 2
    return float(power[np.fft.rfftfreq(x.size, 1.0 / rate) > low_hz].sum() / power.sum())


def _enhancer(rate: int) -> Enhancer:
    return Enhancer(EnhTestIdentity(), rate, preemphasis=0.0, window=1024, batch_size=4, device="cpu")


def test_48k_file_through_a_48k_model_is_not_resampled(tmp_path, resamplers):
    x = _white(48000 // 2 + 37)
    sf.write(tmp_path / "in.wav", x, 48000, subtype="FLOAT")
    enh = _enhancer(48000)
    enh.enhance_file(tmp_path / "in.wav", tmp_path / "out.wav")
    y, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert resamplers == [] and rate == 48000 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1e-6)  # the identity model, overlap-added: nothing lost
    assert high_band_si_sdr(x, y, 48000) > 80.0  # the band above 8 kHz is kept
    out = enh.enhance(torch.from_numpy(x), 48000)
    assert resamplers == [] and torch.allclose(out, torch.from_numpy(x), atol=1e-6)


def test_44k1_file_is_resampled_to_48k_and_back(tmp_path, resamplers):
    x = _white(44100 // 2, rate=44100, top_hz=18000.0)  # below the resamplers' transition bands
    sf.write(tmp_path / "in.wav", x, 44100, subtype="FLOAT")
    _enhancer(48000).enhance_file(tmp_path / "in.wav", tmp_path / "out.wav")
    y, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert resamplers == [(44100, 48000), (48000, 44100)]
    assert rate == 44100 and y.shape == x.shape
    # a round trip through 48 kHz keeps the band a 16 kHz model would drop
    assert high_band_si_sdr(x[1000:-1000], y[1000:-1000], 44100) > 20.0  # a lost band: <= 0 dB
    assert _high_share(y, 44100) == pytest.approx(_high_share(x, 44100), rel=0.05)


def test_16k_model_on_a_48k_file_works_at_16k_and_writes_48k(tmp_path, resamplers):
    x = _white(48000 // 2)
    sf.write(tmp_path / "in.wav", x, 48000, subtype="FLOAT")
    _enhancer(16000).enhance_file(tmp_path / "in.wav", tmp_path / "out.wav")
    y, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert resamplers == [(48000, 16000), (16000, 48000)]
    assert rate == 48000 and y.shape == x.shape
    # what a 16 kHz model loses: everything above the resamplers' 8-10 kHz transition band
    assert _high_share(x, 48000, 10000.0) > 0.55 and _high_share(y, 48000, 10000.0) < 1e-4
    f = np.fft.rfftfreq(x.size, 1 / 48000)
    low = [np.fft.irfft(np.fft.rfft(v) * (f < 6000), n=v.size)[500:-500] for v in (x, y)]
    assert si_sdr(*low) > 40.0  # the band below the resamplers' transition band is kept


def test_an_exported_48k_model_enhances_at_its_own_rate(tmp_path, resamplers):
    from seqgan.cli import main
    from seqgan.export import save_model
    from seqgan.models.metricgan import build_metricgan

    g, _ = build_metricgan("metricgan_small_48k", {"hidden_size": 8, "fc_size": 12})
    save_model(g, tmp_path / "fb.safetensors", sample_rate=48000, preemphasis=0.0, window=9216, step=1)
    assert Enhancer.from_pretrained(tmp_path / "fb.safetensors", device="cpu").sample_rate == 48000
    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "a.wav", _white(48000 // 4), 48000, subtype="PCM_16")
    sf.write(tmp_path / "in" / "b.wav", _white(44100 // 4, 1), 44100, subtype="PCM_16")
    assert (
        main(
            [
                "enhance",
                "-m",
                str(tmp_path / "fb.safetensors"),
                str(tmp_path / "in"),
                "-o",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    assert (
        sf.info(tmp_path / "out" / "a.wav").samplerate == 48000
        and sf.info(tmp_path / "out" / "b.wav").samplerate == 44100
    )
    assert sf.info(tmp_path / "out" / "b.wav").frames == 44100 // 4
