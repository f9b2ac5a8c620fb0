"""Multi-resolution waveform discriminators: published sizes, reshaping by period, pooled scales, STFT
resolutions, conditioning, lists for the objectives and feature matching, export."""

from __future__ import annotations

import pytest
import torch

from seqgan.adversarial import feature_matching_loss, get_objective
from seqgan.export import load_model, save_model
from seqgan.models import MODELS, count_parameters
from seqgan.models.hifigan import (
    PRESETS,
    CombinedDiscriminator,
    MultiPeriodDiscriminator,
    MultiResolutionSTFTDiscriminator,
    MultiScaleWaveformDiscriminator,
    build_waveform_discriminator,
)
from seqgan.models.metricgan import MetricGANGenerator
from seqgan.registry import UnknownNameError

W = 1 / 16  # tiny widths for speed


def wave(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    return 0.3 * torch.randn(batch, 1, length, generator=torch.Generator().manual_seed(seed))


def test_published_sizes_and_layout():
    mpd, msd = MultiPeriodDiscriminator(), MultiScaleWaveformDiscriminator()
    assert count_parameters(mpd) == pytest.approx(41.1e6, rel=0.01)  # HiFi-GAN V1's MPD and MSD
    assert count_parameters(msd) == pytest.approx(29.6e6, rel=0.01)
    assert [d.period for d in mpd.discriminators] == [2, 3, 5, 7, 11]
    assert [c.out_channels for c in mpd.discriminators[0].convs] == [32, 128, 512, 1024, 1024]
    assert [c.groups for c in msd.discriminators[0].convs] == [1, 4, 16, 16, 16, 16, 1]
    mrd = MultiResolutionSTFTDiscriminator()
    geometry = [(d.stft.n_fft, d.stft.hop_length, d.stft.win_length) for d in mrd.discriminators]
    assert geometry == [(1024, 120, 600), (2048, 240, 1200), (512, 50, 240)]
    assert count_parameters(build_waveform_discriminator("hifigan_small")) < 0.1 * (
        count_parameters(mpd) + count_parameters(msd)
    )
    assert {"MultiPeriodDiscriminator", "MultiScaleWaveformDiscriminator", "CombinedDiscriminator"} <= set(
        MODELS.names()
    )


def test_period_discriminator_reshapes_by_period():
    mpd = MultiPeriodDiscriminator(periods=[3, 7], width=W)
    outs, feats = mpd(wave(2, 1000), return_features=True)
    assert len(outs) == 2 and len(feats) == 2 and len(feats[0]) == 6  # 5 convolutions + output
    assert feats[0][0].shape[-1] == 3 and feats[1][0].shape[-1] == 7
    assert feats[0][0].shape[2] == -(-334 // 3)  # 1000 padded to 1002 = 334 x 3; stride 3 along frames
    # a signal periodic in p: every column of the reshaped input is constant along frames
    x = torch.arange(7.0).repeat(100).view(1, 1, -1)
    d7 = mpd.discriminators[1]
    col = d7.convs[0](x.view(1, 1, -1, 7))
    assert torch.allclose(col[..., 2:-2, :], col[..., 2:3, :].expand_as(col[..., 2:-2, :]))


def test_scale_discriminator_pools_twice():
    msd = MultiScaleWaveformDiscriminator(width=W)
    x = wave(1, 800)
    inputs = msd._inputs(x)
    assert [i.shape[-1] for i in inputs] == [800, 401, 201]
    torch.testing.assert_close(inputs[1], torch.nn.functional.avg_pool1d(x, 4, 2, 2))
    outs = msd(x)
    assert len(outs) == 3 and all(o.shape[0] == 1 for o in outs)
    assert msd.discriminators[0].convs[0].parametrizations.weight.original.dim() == 3  # spectral norm
    assert hasattr(msd.discriminators[1].convs[0].parametrizations.weight, "original1")  # weight norm: g, v


def test_stft_discriminator_reads_magnitudes_of_short_inputs_too():
    mrd = MultiResolutionSTFTDiscriminator(width=0.25)
    for length in (300, 2400):
        outs, feats = mrd(wave(2, length), return_features=True)
        assert len(outs) == 3 and len(feats[0]) == 6
        assert feats[0][0].shape[2] == 513 and feats[1][0].shape[2] == 1025  # bins
        assert feats[0][0].shape[3] == length // 120 + 1  # frames


def test_conditional_needs_and_uses_the_condition():
    x, noisy, other = wave(2, 600), wave(2, 600, seed=1), wave(2, 600, seed=2)
    d = CombinedDiscriminator(["period", "scale", "stft"], conditional=True, width=W).eval()
    assert d.parts[0].discriminators[0].convs[0].in_channels == 2
    a, b = d(x, noisy), d(x, other)
    assert len(a) == 5 + 3 + 3 and not all(torch.allclose(u, v) for u, v in zip(a, b))
    with pytest.raises(ValueError, match="is conditional: call it as D"):
        d(x)
    plain = CombinedDiscriminator(["period", "scale"], width=W).eval()
    assert all(torch.equal(u, v) for u, v in zip(plain(x, noisy), plain(x)))  # the condition is ignored


def test_works_with_the_objectives_and_feature_matching_for_any_generator():
    g = MetricGANGenerator(n_fft=64, hop_length=32, win_length=64, hidden_size=4, fc_size=8)
    d = build_waveform_discriminator("hifigan_small", {"width": W, "conditional": True})
    clean, noisy = wave(2, 512), wave(2, 512, seed=1)
    objective = get_objective("lsgan")
    fake = g(noisy)
    real_out, real_feats = d(clean, noisy, return_features=True)
    fake_out, fake_feats = d(fake, noisy, return_features=True)
    assert torch.isfinite(objective.discriminator_loss(real_out, [f.detach() for f in fake_out]))
    loss = objective.generator_loss(fake_out) + 2.0 * feature_matching_loss(real_feats, fake_feats)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())


def test_export_round_trip_identical_outputs(tmp_path):
    d = build_waveform_discriminator(
        "univnet_small", {"width": W, "kinds": ["period", "scale", "stft"]}
    ).eval()
    path = tmp_path / "d.safetensors"
    save_model(d, path)
    loaded = load_model(path)
    assert loaded.hparams == d.hparams and loaded.kinds == ["period", "scale", "stft"]
    x = wave(2, 700)
    for u, v in zip(loaded(x), d(x)):
        torch.testing.assert_close(u, v, rtol=0, atol=0)


def test_presets_and_errors():
    assert PRESETS["hifigan"]["kinds"] == ["period", "scale"] and PRESETS["univnet"]["kinds"] == [
        "period",
        "stft",
    ]
    assert build_waveform_discriminator("mrstft", {"width": W}).kinds == ["stft"]
    with pytest.raises(
        UnknownNameError, match="unknown waveform discriminator preset 'melgan'; choose from:"
    ):
        build_waveform_discriminator("melgan")
    with pytest.raises(ValueError, match="unknown mpd discriminator option"):
        build_waveform_discriminator("mpd", {"channels": 3})
    with pytest.raises(ValueError, match="kinds must be distinct names from: period, scale, stft"):
        CombinedDiscriminator(["period", "mel"])
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 1, samples\)"):
        MultiScaleWaveformDiscriminator(width=W)(torch.zeros(2, 100))
