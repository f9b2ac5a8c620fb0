"""CMGAN: published sizes, conformer pieces, exact resynthesis, scale invariance, metric D, export."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqgan.enhance import Enhancer
from seqgan.export import load_model, save_model
from seqgan.models import MODELS, count_parameters
from seqgan.models.cmgan import (
    PRESETS,
    CMGANDiscriminator,
    CMGANGenerator,
    RelativeAttention,
    SubPixelUp,
    TwoStageConformer,
    build_cmgan,
)
from seqgan.registry import UnknownNameError

TINY_G = {"n_fft": 64, "hop_length": 16, "win_length": 64, "channels": 8, "num_blocks": 1, "heads": 2}
TINY_G["kernel_size"] = 5
TINY_D = {"n_fft": 64, "hop_length": 16, "win_length": 64, "channels": 4}


def wave(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    return 0.3 * torch.randn(batch, 1, length, generator=torch.Generator().manual_seed(seed))


def test_published_sizes():
    g, d = build_cmgan("cmgan")
    assert count_parameters(g) == pytest.approx(1.83e6, rel=0.05)
    assert count_parameters(g) == 1_834_833
    assert (g.stft.n_fft, g.stft.hop_length, g.stft.win_length, g.stft.window_name) == (
        400,
        100,
        400,
        "hamming",
    )
    assert g.stft.bins == 201 and g.exponent == 0.3 and len(g.blocks) == 4
    attn = g.blocks[0].time.attn
    assert (attn.heads, attn.dim_head) == (4, 16) and g.blocks[0].freq.conv.depthwise.kernel_size == (31,)
    assert g.mask_decoder.activation.beta == 2.0 and g.mask_decoder.activation.alpha.numel() == 201
    assert [c.out_channels for c in d.convs] == [16, 32, 64, 128] and isinstance(d.head[1], torch.nn.Dropout)
    assert d.head[1].p == 0.3 and d.head[-1].beta == 1.0
    small, _ = build_cmgan("cmgan_small")
    assert count_parameters(small) < 0.2 * count_parameters(g)
    assert set(PRESETS) == {"cmgan", "cmgan_small"} and PRESETS["cmgan"]["window"] == 32000
    assert {"CMGANGenerator", "CMGANDiscriminator"} <= set(MODELS.names())


def test_relative_attention_matches_its_definition():
    torch.manual_seed(1)
    attn = RelativeAttention(dim=6, heads=2, dim_head=3, max_distance=2).eval()
    x = torch.randn(2, 5, 6)
    h = attn.norm(x)
    q = attn.to_q(h).view(2, 5, 2, 3)
    k, v = (t.view(2, 5, 2, 3) for t in attn.to_kv(h).chunk(2, dim=-1))
    out = torch.zeros(2, 5, 2, 3)
    for i in range(5):
        logits = torch.stack(
            [
                (q[:, i] * (k[:, j] + attn.rel_pos.weight[max(-2, min(2, i - j)) + 2])).sum(-1)
                for j in range(5)
            ],
            -1,
        ) / math.sqrt(3)
        out[:, i] = torch.einsum("bhj,bjhd->bhd", logits.softmax(-1), v)
    torch.testing.assert_close(attn(x), attn.to_out(out.reshape(2, 5, 6)), rtol=1e-5, atol=1e-6)
    # without position embeddings it is ordinary scaled dot-product attention
    with torch.no_grad():
        attn.rel_pos.weight.zero_()
    ref = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    torch.testing.assert_close(
        attn(x), attn.to_out(ref.transpose(1, 2).reshape(2, 5, 6)), rtol=1e-5, atol=1e-6
    )


def test_two_stage_conformer_mixes_time_then_frequency():
    block = TwoStageConformer(8, heads=2, dim_head=4, kernel_size=3).eval()
    x = torch.randn(1, 8, 6, 5)
    y = block(x)
    assert y.shape == x.shape
    x2 = x.clone()
    x2[0, :, 0, 0] += torch.randn(8)  # one (frame, bin): its effect reaches every frame and every bin
    changed = (block(x2) - y).abs().sum(1) > 1e-4
    assert changed.all()


def test_sub_pixel_upsampling_doubles_the_bins():
    up = SubPixelUp(3, 2)
    assert up(torch.randn(1, 3, 4, 101)).shape == (1, 2, 4, 202)


@pytest.mark.parametrize("length", [64, 333, 1000])
def test_forward_any_length(length):
    g = CMGANGenerator(**TINY_G).eval()
    x = wave(2, length)
    y = g(x)
    assert y.shape == x.shape and torch.isfinite(y).all() and g.length_multiple == 1
    s = g.spectra(x, clean=wave(2, length, seed=1))
    frames = length // 16 + 1
    assert s["enhanced_spec"].shape == s["clean_spec"].shape == (2, 33, frames)
    assert s["enhanced_mag"].shape == s["clean_mag"].shape == s["mask"].shape == (2, frames, 33)
    assert s["mask"].min() > 0 and s["mask"].max() < 2.0
    torch.testing.assert_close(g.synthesize(s["enhanced_spec"], length, s["scale"]), y)


def test_unit_mask_and_zero_residual_give_back_the_input():
    g = CMGANGenerator(**TINY_G).eval()
    with torch.no_grad():
        g.mask_decoder.conv[-1].weight.zero_()
        g.mask_decoder.conv[-1].bias.zero_()  # 2 * sigmoid(0) = 1
        g.complex_decoder.conv.weight.zero_()
        g.complex_decoder.conv.bias.zero_()
    x = wave(2, 1000)
    torch.testing.assert_close(g(x), x, rtol=0, atol=1e-5)
    torch.testing.assert_close(g.spectra(x)["mask"], torch.ones(2, 1000 // 16 + 1, 33))


def test_drops_into_the_enhancer():
    g = CMGANGenerator(**TINY_G)
    with torch.no_grad():
        g.mask_decoder.conv[-1].weight.zero_()
        g.mask_decoder.conv[-1].bias.zero_()
        g.complex_decoder.conv.weight.zero_()
        g.complex_decoder.conv.bias.zero_()
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 3000).astype(np.float32)
    out = Enhancer(g, 16000, preemphasis=0.0, window=800, device="cpu").enhance(x, 16000)
    np.testing.assert_allclose(out, x, atol=1e-4)


def test_input_normalisation_makes_it_scale_equivariant():
    g = CMGANGenerator(**TINY_G).eval()
    x = wave(1, 800)
    torch.testing.assert_close(g(8.0 * x), 8.0 * g(x), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(g.input_scale(x * 2), g.input_scale(x) / 2)
    raw = CMGANGenerator(**TINY_G, normalize_input=False).eval()
    assert torch.equal(raw.input_scale(x), torch.ones(1, 1, 1))
    assert torch.isfinite(g(torch.zeros(1, 1, 400))).all()  # silence stays finite


def test_generator_trains():
    g = CMGANGenerator(**TINY_G)
    g(wave(2, 500)).pow(2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in g.parameters())


def test_discriminator_scores_pairs_in_the_unit_interval():
    d = CMGANDiscriminator(**TINY_D)
    est, ref = wave(3, 700).requires_grad_(True), wave(3, 700, seed=1)
    scores, feats = d(est, ref, return_features=True)
    assert scores.shape == (3, 1) and ((scores > 0) & (scores < 1)).all()
    assert [f.shape[1] for f in feats] == [4, 8, 16, 32]
    scores.sum().backward()
    assert torch.isfinite(est.grad).all()
    d.eval()
    assert not torch.allclose(d(est, ref), d(ref, est))
    mags = [d.stft(x).abs().pow(0.3).transpose(1, 2) for x in (est, ref)]
    torch.testing.assert_close(d.score(*mags), d(est, ref), rtol=1e-4, atol=1e-5)


def test_export_round_trip_identical_outputs(tmp_path):
    g, d = CMGANGenerator(**TINY_G), CMGANDiscriminator(**TINY_D)
    g(wave(2, 256))  # batch-norm statistics move in training mode
    d(wave(2, 400), wave(2, 400, seed=1))
    g.eval(), d.eval()
    x, ref = wave(2, 336), wave(2, 336, seed=3)
    for model, args in [(g, (x,)), (d, (x, ref))]:
        path = tmp_path / f"{type(model).__name__}.safetensors"
        save_model(model, path, sample_rate=16000, preemphasis=0.0, window=1600)
        loaded = load_model(path)
        assert type(loaded) is type(model) and loaded.hparams == model.hparams
        torch.testing.assert_close(loaded(*args), model(*args), rtol=0, atol=0)


def test_build_errors_name_the_choices():
    with pytest.raises(
        UnknownNameError, match="unknown CMGAN preset 'cmgan_big'; choose from: cmgan, cmgan_small"
    ):
        build_cmgan("cmgan_big")
    with pytest.raises(ValueError, match="unknown cmgan discriminator option"):
        build_cmgan("cmgan", None, {"width": 2})
    with pytest.raises(ValueError, match="n_fft must be a multiple of 4"):
        CMGANGenerator(n_fft=402, hop_length=100, win_length=400)
    with pytest.raises(ValueError, match="multiple of heads"):
        CMGANGenerator(**{**TINY_G, "heads": 3})
