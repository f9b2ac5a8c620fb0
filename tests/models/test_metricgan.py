"""MetricGAN+: published sizes, the learnable-sigmoid mask, noisy phase, exact resynthesis, export, Enhancer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqgan.enhance import Enhancer
from seqgan.export import load_model, save_model
from seqgan.models import MODELS, count_parameters
from seqgan.models.metricgan import (
    PRESETS,
    LearnableSigmoid,
    MetricDiscriminator,
    MetricGANGenerator,
    build_metricgan,
)
from seqgan.registry import UnknownNameError

TINY_G = {"n_fft": 64, "hop_length": 32, "win_length": 64, "hidden_size": 8, "fc_size": 12}
TINY_D = {"n_fft": 64, "hop_length": 32, "win_length": 64, "channels": 4}


def wave(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    return 0.3 * torch.randn(batch, 1, length, generator=torch.Generator().manual_seed(seed))


def identity_mask_(g: MetricGANGenerator) -> None:
    """Makes the mask exactly 1: out layer 0, bias logit(1 / beta), alpha 1."""
    with torch.no_grad():
        g.out.weight.zero_()
        g.out.bias.fill_(math.log(1.0 / (g.activation.beta - 1.0)))


def test_published_sizes():
    g, d = build_metricgan("metricgan_plus")
    assert count_parameters(g) == pytest.approx(1.9e6, rel=0.02)
    assert count_parameters(g) == 1_895_514  # LSTM 734 400 + 963 200, FC 120 300 + 77 357, alpha 257
    assert (
        g.stft.bins == 257 and g.lstm.hidden_size == 200 and g.lstm.num_layers == 2 and g.lstm.bidirectional
    )
    assert g.fc[0].out_features == 300 and g.activation.beta == 1.2 and g.min_mask == 0.05
    assert (g.stft.n_fft, g.stft.hop_length, g.stft.win_length, g.stft.window_name) == (
        512,
        256,
        512,
        "hamming",
    )
    assert count_parameters(d) == 19_010  # BN 4, convs 765 + 3 x 5640, FC 800 + 510 + 11
    assert [c.out_channels for c in d.convs] == [15] * 4 and [f.out_features for f in d.fcs] == [50, 10, 1]
    small, _ = build_metricgan("metricgan_small")
    assert count_parameters(small) < 0.35 * count_parameters(g)
    assert set(PRESETS) == {"metricgan_plus", "metricgan_small", "metricgan_plus_48k", "metricgan_small_48k"}
    assert {"MetricGANGenerator", "MetricDiscriminator"} <= set(MODELS.names())


def test_learnable_sigmoid_values():
    act = LearnableSigmoid(3, beta=1.2)
    with torch.no_grad():
        act.alpha.copy_(torch.tensor([1.0, 2.0, 0.0]))
    x = torch.tensor([[0.0, math.log(3.0) / 2, 5.0]])
    torch.testing.assert_close(act(x), torch.tensor([[0.6, 0.9, 0.6]]))
    assert act(torch.tensor([[1e4, 1e4, 1e4]])).max() <= 1.2


@pytest.mark.parametrize("length", [100, 777, 2048])
def test_forward_any_length_and_mask_bounds(length):
    g = MetricGANGenerator(**TINY_G).eval()
    x = wave(2, length)
    y = g(x)
    assert y.shape == x.shape and torch.isfinite(y).all() and g.length_multiple == 1
    s = g.spectra(x, clean=wave(2, length, seed=1))
    frames = length // 32 + 1
    assert s["mask"].shape == (2, frames, 33) and s["noisy_spec"].shape == (2, 33, frames)
    assert s["mask"].min() >= 0.05 and s["mask"].max() < 1.2
    assert s["clean_feats"].shape == s["enhanced_feats"].shape
    torch.testing.assert_close(s["enhanced_feats"], s["noisy_feats"] * s["mask"])
    # the noisy phase is kept
    unit = [spec / spec.abs() for spec in (s["enhanced_spec"], s["noisy_spec"])]
    torch.testing.assert_close(*unit, rtol=0, atol=1e-4)
    torch.testing.assert_close(g.stft.inverse(s["enhanced_spec"], length), y)


def test_mask_floor_is_applied():
    g = MetricGANGenerator(**TINY_G)
    with torch.no_grad():
        g.out.weight.zero_()
        g.out.bias.fill_(-50.0)
    assert torch.all(g.spectra(wave(1, 500))["mask"] == 0.05)


@pytest.mark.parametrize("compression", ["log1p", "power", "none"])
def test_a_unit_mask_gives_back_the_input(compression):
    g = MetricGANGenerator(**TINY_G, compression=compression)
    identity_mask_(g)
    x = wave(2, 1000)
    torch.testing.assert_close(g(x), x, rtol=0, atol=1e-5)


def test_generator_trains():
    g = MetricGANGenerator(**TINY_G)
    x = wave(2, 600)
    g(x).pow(2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())


def test_discriminator_signature_features_and_gradients():
    d = MetricDiscriminator(**TINY_D)
    est, ref = wave(3, 900).requires_grad_(True), wave(3, 900, seed=1)
    scores, feats = d(est, ref, return_features=True)
    assert scores.shape == (3, 1) and len(feats) == 4 and feats[0].shape == (3, 4, 900 // 32 + 1, 33)
    scores.sum().backward()
    assert est.grad is not None and torch.isfinite(est.grad).all()
    # the input pair is ordered: estimate, reference
    d.eval()
    assert not torch.allclose(d(est, ref), d(ref, est))
    torch.testing.assert_close(d(est, ref), d.score(d.features(est), d.features(ref)))
    with pytest.raises(ValueError, match=r"reference must have shape \(batch, 1, samples\)"):
        d(est, ref.squeeze(1))


def test_export_round_trip_identical_outputs(tmp_path):
    g, d = MetricGANGenerator(**TINY_G).eval(), MetricDiscriminator(**TINY_D)
    d(wave(4, 600), wave(4, 600, seed=2))  # a training step's worth of BN and spectral-norm state
    d.eval()
    x, ref = wave(2, 700), wave(2, 700, seed=3)
    for model, args in [(g, (x,)), (d, (x, ref))]:
        path = tmp_path / f"{type(model).__name__}.safetensors"
        save_model(model, path, sample_rate=16000, preemphasis=0.0, window=2048)
        loaded = load_model(path)
        assert type(loaded) is type(model) and loaded.hparams == model.hparams
        torch.testing.assert_close(loaded(*args), model(*args), rtol=0, atol=0)


def test_drops_into_the_enhancer():
    g = MetricGANGenerator(**TINY_G)
    identity_mask_(g)
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 5000).astype(np.float32)
    out = Enhancer(g, 16000, preemphasis=0.0, window=1024, device="cpu").enhance(x, 16000)
    assert out.shape == x.shape
    np.testing.assert_allclose(out, x, atol=1e-4)


def test_build_errors_name_the_choices():
    with pytest.raises(
        UnknownNameError, match="unknown MetricGAN preset 'metricgan'; choose from: metricgan_plus"
    ):
        build_metricgan("metricgan")
    with pytest.raises(ValueError, match="unknown metricgan_small generator option"):
        build_metricgan("metricgan_small", {"hidden": 3})
    g, d = build_metricgan("metricgan_small", {"hidden_size": 16}, {"channels": 5})
    assert g.lstm.hidden_size == 16 and d.convs[0].out_channels == 5
    assert PRESETS["metricgan_small"]["generator"]["hidden_size"] == 96  # overrides do not leak


def test_runs_under_cpu_bf16_autocast():
    g = MetricGANGenerator(**TINY_G).eval()
    x = wave(2, 800)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        y = g(x)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, g(x), rtol=0, atol=1e-2)


def test_strided_discriminator_scores_any_length_at_a_fraction_of_the_positions():
    torch.manual_seed(0)
    d = MetricDiscriminator(**TINY_D, stride=2)
    x, y = wave(3, 2000), wave(3, 2000, seed=1)
    out, features = d(x, y, return_features=True)
    assert out.shape == (3, 1) and torch.isfinite(out).all()
    frames, bins = 2000 // 32 + 1, 33
    assert features[0].shape[2:] == ((frames + 1) // 2, (bins + 1) // 2)
    with pytest.raises(ValueError, match="stride"):
        MetricDiscriminator(**TINY_D, stride=0)


def test_complex_mask_starts_at_the_identity_and_stays_bounded():
    torch.manual_seed(0)
    g = MetricGANGenerator(**TINY_G, mask_type="complex")
    with torch.no_grad():
        g.out.weight.zero_()  # the initial bias alone: a real mask of exactly 1
    x = wave(2, 3000)
    s = g.spectra(x)
    torch.testing.assert_close(s["mask"], torch.ones_like(s["mask"]))
    torch.testing.assert_close(s["enhanced_spec"], s["noisy_spec"])
    torch.testing.assert_close(g(x), x, atol=1e-5, rtol=0)
    with torch.no_grad():
        g.out.weight.normal_(0, 10.0)
    mask = g.spectra(x)["mask"]
    assert mask.min() >= 0.05 - 1e-6 and mask.max() <= 1.2 + 1e-6
    with pytest.raises(ValueError, match="mask_type"):
        MetricGANGenerator(**TINY_G, mask_type="phase")
