"""Strength control (seqgan.strength): --mix and --atten-lim-db, in the math and through the Enhancer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from seqgan.cli import main
from seqgan.data.audio import resample
from seqgan.enhance import Enhancer
from seqgan.models.metricgan import MetricGANGenerator
from seqgan.strength import AttenuationLimiter, DryWetMix, limit_cells, stft_geometry


def _cells(seed: int, shape=(4, 257, 30)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.complex(torch.randn(shape, generator=g), torch.randn(shape, generator=g))
    # enhanced cells: anything from removal to boost, with their own phase
    gain = torch.exp(3 * torch.randn(shape, generator=g))
    y = x * gain * torch.exp(1j * torch.rand(shape, generator=g) * 2 * math.pi)
    return x, y.to(x.dtype)


def test_limit_cells_ends_zero_db_is_the_input_and_no_limit_the_enhanced():
    x, y = _cells(0)
    assert torch.equal(limit_cells(x, y, 0.0), x)
    assert limit_cells(x, y, None) is y and limit_cells(x, y, math.inf) is y


@pytest.mark.parametrize("db", [1.0, 6.0, 12.0, 24.0, 60.0])
def test_limit_cells_bound_holds_in_every_cell(db):
    x, y = _cells(1)
    out = limit_cells(x, y, db)
    ratio = out.abs() / x.abs()
    g = 10 ** (-db / 20)
    assert ratio.min() >= g * (1 - 1e-5) and ratio.max() <= (1 + 1e-5) / g
    # the limited cell lies between the input and the model's cell: x + λ (y − x) with λ in [0, 1]
    lam = ((out - x) / (y - x)).real
    torch.testing.assert_close(out, x + lam * (y - x), atol=1e-4, rtol=1e-4)
    assert lam.min() >= -1e-6 and lam.max() <= 1 + 1e-6
    # cells whose change stays within the bound all the way are kept as the model made them
    gentle = x * 10 ** (-0.9 * db / 20)  # attenuated by 0.9 L dB, same phase
    assert torch.equal(limit_cells(x, gentle, db), gentle)


def test_limit_cells_a_removed_cell_keeps_exactly_l_db_of_the_input():
    x, _ = _cells(2)
    out = limit_cells(x, torch.zeros_like(x), 12.0)
    torch.testing.assert_close(out, x * 10 ** (-12 / 20), atol=1e-6, rtol=1e-5)
    boosted = limit_cells(x, 100 * x, 12.0)  # +40 dB is held at +12 dB
    torch.testing.assert_close(boosted, x * 10 ** (12 / 20), atol=1e-5, rtol=1e-5)


def test_limit_cells_is_monotone_in_the_limit():
    x, y = _cells(3)
    dist = [(limit_cells(x, y, db) - y).abs().mean().item() for db in (3, 6, 12, 24, 48)]
    assert dist == sorted(dist, reverse=True) and dist[-1] < dist[0]


def test_attenuation_limiter_on_windows():
    g = torch.Generator().manual_seed(4)
    noisy = torch.randn(3, 4000, generator=g)
    enhanced = 0.01 * noisy + 0.001 * torch.randn(3, 4000, generator=g)  # removes 40 dB
    limiter = AttenuationLimiter(12.0)
    out = limiter(noisy, enhanced)
    # analysed again, the output is the limited spectrum up to the synthesis of a consistent one
    spec = limiter._stft(out)
    expected = limit_cells(limiter._stft(noisy), limiter._stft(enhanced), 12.0)
    assert (spec - expected).norm() / expected.norm() < 0.01
    level = 20 * math.log10(out.norm() / noisy.norm())
    assert -12.5 < level < -11.5
    assert torch.equal(AttenuationLimiter(0.0)(noisy, enhanced), noisy)


def test_the_limit_uses_a_spectral_models_own_cells():
    cells = stft_geometry(MetricGANGenerator(hidden_size=4, fc_size=4))
    assert cells == {"n_fft": 512, "hop_length": 256, "win_length": 512, "window": "hamming"}
    assert stft_geometry(nn.Conv1d(1, 1, 3)) is None
    limiter = AttenuationLimiter.for_model(6.0, cells)
    assert (limiter.n_fft, limiter.hop, limiter.win_length) == (512, 256, 512)
    assert AttenuationLimiter.for_model(6.0, None).hop == 128


def test_dry_wet_mix_aligns_signals_with_different_delays():
    g = torch.Generator().manual_seed(5)
    dry = torch.randn(2, 1000, generator=g)
    wet = torch.randn(2, 1000, generator=g)
    mixer = DryWetMix(0.25, 16000, 16000)
    parts = []
    dry_cuts, wet_cuts = (0, 100, 400, 400, 1000), (0, 50, 450, 450, 900)  # wet lags, then leads
    for k in range(4):
        d, w = dry[:, dry_cuts[k] : dry_cuts[k + 1]], wet[:, wet_cuts[k] : wet_cuts[k + 1]]
        parts.append(mixer.push(d, w))
    parts.append(mixer.flush(wet[:, 900:]))
    out = torch.cat(parts, dim=-1)
    torch.testing.assert_close(out, 0.25 * wet + 0.75 * dry, atol=1e-6, rtol=0)
    # wet past the input's end (the pipeline's padding) is blended with silence
    mixer = DryWetMix(0.5, 16000, 16000)
    tail = torch.cat([mixer.push(dry[:, :10], wet[:, :5]), mixer.flush(wet[:, 5:12])], dim=-1)
    torch.testing.assert_close(tail[:, 10:], 0.5 * wet[:, 10:12])


class _Halve(nn.Module):
    """A deterministic 'enhancer' that removes 6 dB everywhere."""

    length_multiple = 1

    def forward(self, x):
        return 0.5 * x


def _enhancer(**kwargs) -> Enhancer:
    return Enhancer(_Halve(), 16000, preemphasis=0.95, window=512, device="cpu", **kwargs)


@pytest.fixture
def wave() -> torch.Tensor:
    return 0.3 * torch.randn(2, 3000, generator=torch.Generator().manual_seed(6))


def test_mix_zero_is_the_input_exactly_and_one_the_enhanced(wave):
    assert torch.equal(_enhancer(mix=0.0).enhance(wave, 16000), wave)
    full = _enhancer().enhance(wave, 16000)
    assert torch.equal(_enhancer(mix=1.0).enhance(wave, 16000), full)
    torch.testing.assert_close(_enhancer(mix=0.3).enhance(wave, 16000), 0.3 * full + 0.7 * wave)
    # at another input rate the input is blended as it is, aligned
    x8 = wave[:, :2000]
    torch.testing.assert_close(
        _enhancer(mix=0.5).enhance(x8, 8000), 0.5 * _enhancer().enhance(x8, 8000) + 0.5 * x8
    )


def test_atten_lim_zero_db_returns_the_input_and_inf_the_enhanced(wave):
    torch.testing.assert_close(_enhancer(atten_lim_db=0.0).enhance(wave, 16000), wave, atol=1e-5, rtol=0)
    full = _enhancer().enhance(wave, 16000)
    assert torch.equal(_enhancer(atten_lim_db=math.inf).enhance(wave, 16000), full)
    # _Halve removes 6 dB: a 12 dB limit leaves it as it is, a 3 dB one holds it at -3 dB
    torch.testing.assert_close(_enhancer(atten_lim_db=12.0).enhance(wave, 16000), full, atol=1e-5, rtol=0)
    level = 20 * math.log10(_enhancer(atten_lim_db=3.0).enhance(wave, 16000).norm() / wave.norm())
    assert -3.3 < level < -2.7


def test_strength_options_do_not_depend_on_the_block_size(tmp_path, wave):
    src = tmp_path / "in.wav"
    sf.write(src, wave.T.numpy(), 16000, subtype="FLOAT")
    whole = _enhancer(mix=0.4, atten_lim_db=3.0).enhance(wave, 16000)
    e = _enhancer(mix=0.4, atten_lim_db=3.0, block_seconds=0.01)
    e.enhance_file(src, tmp_path / "out.wav")
    out, _ = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    np.testing.assert_allclose(out.T, whole.numpy(), atol=1e-5)
    # written at another rate, the input is resampled to it before it is blended
    _enhancer(mix=0.0).enhance_file(src, tmp_path / "up.wav", output_rate=32000)
    up, rate = sf.read(tmp_path / "up.wav", dtype="float32", always_2d=True)
    assert rate == 32000
    np.testing.assert_allclose(up.T, resample(wave, 16000, 32000).numpy(), atol=1e-5)


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match=r"mix must be in \[0, 1\]"):
        _enhancer(mix=1.5)
    with pytest.raises(ValueError, match="atten_lim_db must be >= 0 dB"):
        _enhancer(atten_lim_db=-3.0)


def test_cli_strength_options(tmp_path, capsys):
    from seqgan.export import save_model
    from seqgan.tasks.enhancement.networks import family_of

    torch.manual_seed(0)
    generator, _ = family_of("segan_small").build(
        "segan_small", {"channels": [4, 8], "kernel_size": 5, "latent_channels": 2}, {}
    )
    save_model(generator, tmp_path / "m.safetensors", sample_rate=16000, preemphasis=0.95, window=512)
    x = (0.2 * np.random.default_rng(0).standard_normal(3000)).astype(np.float32)
    sf.write(tmp_path / "a.wav", x, 16000, subtype="FLOAT")
    base = ["enhance", str(tmp_path / "a.wav"), "-m", str(tmp_path / "m.safetensors"), "--device", "cpu"]
    assert main([*base, "-o", str(tmp_path / "dry"), "--mix", "0"]) == 0
    np.testing.assert_array_equal(sf.read(tmp_path / "dry" / "a.wav", dtype="float32")[0], x)
    assert main([*base, "-o", str(tmp_path / "lim"), "--atten-lim-db", "0"]) == 0
    np.testing.assert_allclose(sf.read(tmp_path / "lim" / "a.wav", dtype="float32")[0], x, atol=1e-5)
    capsys.readouterr()
    for bad in (["--mix", "1.5"], ["--mix", "x"], ["--atten-lim-db", "-1"]):
        with pytest.raises(SystemExit) as e:
            main([*base, "-o", str(tmp_path / "bad"), *bad])
        assert e.value.code == 2
        assert bad[0] in capsys.readouterr().err


def test_causal_models_take_mix_but_not_the_windowed_limit(wave):
    from seqgan.models.causal import CausalMetricGANGenerator

    torch.manual_seed(0)
    causal = CausalMetricGANGenerator(hidden_size=8, fc_size=8)
    enhancer = Enhancer(causal, 16000, preemphasis=0.0, window=512, device="cpu", mix=0.0)
    assert torch.equal(enhancer.enhance(wave, 16000), wave)
    with pytest.raises(ValueError, match="atten_lim_db needs a windowed model; CausalMetricGANGenerator"):
        Enhancer(causal, 16000, preemphasis=0.0, window=512, device="cpu", atten_lim_db=6.0)
