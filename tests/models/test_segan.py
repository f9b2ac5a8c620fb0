"""SEGAN generator / discriminator: sizes, lengths, latent handling, virtual batch norm, presets."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from seqgan.models import MODELS, count_parameters
from seqgan.models.layers import VirtualBatchNorm, init_truncated_normal_, same_length_padding
from seqgan.models.segan import (
    PRESETS,
    SEGANDiscriminator,
    SEGANGenerator,
    build_segan,
    segan_generator_flops,
)
from seqgan.registry import UnknownNameError


def tiny_generator(**kw) -> SEGANGenerator:
    args = {"channels": [4, 8, 8], "kernel_size": 5, "stride": 2, "latent_channels": 3}
    args.update(kw)
    return SEGANGenerator(**args)


def tiny_discriminator(**kw) -> SEGANDiscriminator:
    args = {"channels": [4, 8, 8], "kernel_size": 5, "stride": 2, "input_length": 64}
    args.update(kw)
    return SEGANDiscriminator(**args)


def waves(batch: int, length: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    clean = 0.5 * torch.randn(batch, 1, length, generator=g)
    noisy = clean + 0.3 * torch.randn(batch, 1, length, generator=g)
    return clean, noisy


# -- the paper's sizes ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def paper_models() -> tuple[SEGANGenerator, SEGANDiscriminator]:
    torch.manual_seed(0)
    return build_segan("segan")


def test_paper_parameter_counts(paper_models):
    g, d = paper_models
    assert count_parameters(g) == pytest.approx(73.1e6, rel=0.01)
    assert count_parameters(d) == pytest.approx(24.4e6, rel=0.01)
    assert g.length_multiple == 2048 and g.latent_shape(16384) == (1024, 8)


def test_paper_flops_per_window(paper_models):
    g, _ = paper_models
    assert segan_generator_flops(g, 16384) == pytest.approx(4.3e9, rel=0.01)


def test_paper_forward_once(paper_models):
    g, d = paper_models
    clean, noisy = waves(1, 16384)
    with torch.no_grad():
        g.eval()
        out = g(noisy)
        d.set_reference(clean, noisy)
        logits, feats = d(out, noisy, return_features=True)
    assert out.shape == noisy.shape and out.abs().max() <= 1
    assert logits.shape == (1, 1) and torch.isfinite(logits).all()
    assert feats[-1].shape == (1, 1024, 8)  # 16384 x 1 -> 8 x 1024


def test_flops_match_hand_count():
    g = tiny_generator(latent_channels=0)  # encoder 1->4->8->8, decoder 8->8, 16->4, 8->1, k=5
    t = 64
    enc = 32 * 4 * 1 * 5 + 16 * 8 * 4 * 5 + 8 * 8 * 8 * 5
    dec = 8 * 8 * 8 * 5 + 16 * 16 * 4 * 5 + 32 * 8 * 1 * 5
    assert segan_generator_flops(g, t) == 2 * (enc + dec)


# -- lengths and padding -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel,stride", [(31, 2), (31, 4), (15, 2), (4, 2), (5, 3), (3, 1)])
def test_same_length_padding_is_exact(kernel, stride):
    pad, out_pad = same_length_padding(kernel, stride)
    conv = nn.Conv1d(1, 1, kernel, stride, pad)
    deconv = nn.ConvTranspose1d(1, 1, kernel, stride, pad, out_pad)
    for frames in (1, 7, 32):
        x = torch.zeros(1, 1, frames * stride)
        assert conv(x).shape[-1] == frames
        assert deconv(torch.zeros(1, 1, frames)).shape[-1] == frames * stride


def test_same_length_padding_rejects_impossible_pair():
    with pytest.raises(ValueError, match="odd kernel"):
        same_length_padding(4, 1)


@pytest.mark.parametrize("stride,kernel", [(2, 5), (4, 9), (2, 4)])
@pytest.mark.parametrize("frames", [1, 3, 16])
def test_output_length_equals_input_length(stride, kernel, frames):
    torch.manual_seed(0)
    g = tiny_generator(stride=stride, kernel_size=kernel)
    length = frames * g.length_multiple
    _, noisy = waves(2, length)
    out = g(noisy)
    assert out.shape == noisy.shape
    assert g.latent_shape(length) == (3, frames)


def test_bad_length_is_refused():
    g = tiny_generator()
    with pytest.raises(ValueError, match="multiple of 8"):
        g(torch.zeros(1, 1, 60))
    with pytest.raises(ValueError, match=r"\(batch, 1, samples\)"):
        g(torch.zeros(1, 60))
    with pytest.raises(ValueError, match="multiple of 8"):
        g.latent_shape(20)


# -- latent ------------------------------------------------------------------------------------------------
def test_eval_is_deterministic_and_training_stochastic():
    torch.manual_seed(0)
    g = tiny_generator()
    _, noisy = waves(2, 64)
    g.eval()
    a, b = g(noisy), g(noisy)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(a, g(noisy, torch.zeros(2, 3, 8)))  # eval z is the prior's mean
    g.sample_latent_at_eval = True
    assert not torch.allclose(g(noisy), a)
    g.sample_latent_at_eval = False
    g.train()
    assert not torch.allclose(g(noisy), g(noisy))
    z = torch.randn(2, 3, 8)
    torch.testing.assert_close(g(noisy, z), g(noisy, z))  # a given z is deterministic in training too
    with pytest.raises(ValueError, match="z must have shape"):
        g(noisy, torch.zeros(2, 3, 4))


def test_generator_without_latent():
    g = tiny_generator(latent_channels=None)
    _, noisy = waves(1, 64)
    g.train()
    torch.testing.assert_close(g(noisy), g(noisy))
    assert g.decoder[0].in_channels == 8
    with pytest.raises(ValueError, match="without a latent"):
        g(noisy, torch.zeros(1, 3, 8))


def test_skip_connections_and_decoder_channels():
    g = tiny_generator()
    # decoder inputs: bottleneck 8 + z 3, then decoder outputs (8, 4) concatenated with skips (8, 4)
    assert [m.in_channels for m in g.decoder] == [11, 16, 8]
    assert [m.out_channels for m in g.decoder] == [8, 4, 1]
    no_skip = tiny_generator(skip=False)
    assert [m.in_channels for m in no_skip.decoder] == [11, 8, 4]


# -- initialisation, registry, presets -----------------------------------------------------------------------
def test_truncated_normal_init():
    torch.manual_seed(0)
    conv = nn.Conv1d(64, 64, 31)
    init_truncated_normal_(conv, std=0.02)
    w = conv.weight
    assert w.abs().max() <= 0.04 and w.std().item() == pytest.approx(0.0176, rel=0.05)  # truncation shrinks
    assert torch.count_nonzero(conv.bias) == 0


def test_hparams_rebuild_through_registry():
    g, d = build_segan("segan_small")
    for model in (g, d):
        hparams = json.loads(json.dumps(model.hparams))
        clone = MODELS.get(type(model).__name__)(**hparams)
        shapes = {k: v.shape for k, v in model.state_dict().items()}
        assert {k: v.shape for k, v in clone.state_dict().items()} == shapes


def test_build_segan_errors_and_overrides():
    with pytest.raises(UnknownNameError, match="segan, segan_plus, segan_small"):
        build_segan("segann")
    with pytest.raises(ValueError, match="unknown generator option"):
        build_segan("segan_small", {"chanels": [4]})
    g, d = build_segan("segan_small", {"latent_channels": 0}, {"norm": "batch"})
    assert g.latent_channels == 0 and d.norm == "batch"
    for name, spec in PRESETS.items():
        assert set(spec) == {"generator", "discriminator", "window", "notes"}, name
        assert spec["window"] % (spec["generator"]["stride"] ** len(spec["generator"]["channels"])) == 0
        assert spec["discriminator"]["input_length"] == spec["window"]
    plus = PRESETS["segan_plus"]
    assert plus["generator"]["stride"] == 4 and plus["generator"]["skip_gain"] == "learned"
    assert plus["discriminator"]["norm"] == "batch" and plus["discriminator"]["head"] == "fc"


def test_learned_skip_gains():
    torch.manual_seed(0)
    g, _ = build_segan("segan_plus", {"channels": [4, 8, 8], "latent_channels": 2}, {"channels": [4, 8, 8]})
    assert g.skip_gains is not None and [p.shape[1] for p in g.skip_gains] == [8, 4]
    g.eval()
    _, noisy = waves(2, 64 * 4)
    out = g(noisy)
    out.square().sum().backward()
    assert all(p.requires_grad and p.grad is not None and p.grad.abs().sum() > 0 for p in g.skip_gains)
    with torch.no_grad():
        g.skip_gains[1].mul_(0.0)
    assert not torch.allclose(g(noisy), out)
    assert tiny_generator().skip_gains is None


def test_gradients_reach_every_parameter_of_small_config():
    torch.manual_seed(0)
    g, d = build_segan("segan_small")
    clean, noisy = waves(2, PRESETS["segan_small"]["window"])
    fake = g(noisy)
    loss = (d(fake, noisy) - 1).square().mean() + d(clean, noisy).square().mean()
    loss = loss + (fake - clean).abs().mean()
    loss.backward()
    for name, p in [*g.named_parameters(), *d.named_parameters()]:
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


# -- discriminator -------------------------------------------------------------------------------------------
def test_discriminator_depends_on_condition_and_returns_features():
    torch.manual_seed(0)
    d = tiny_discriminator(norm="none")
    clean, noisy = waves(3, 64)
    logits = d(clean, noisy)
    assert logits.shape == (3, 1)
    assert not torch.allclose(logits, d(clean, torch.zeros_like(noisy)))
    assert not torch.allclose(logits, d(noisy, noisy))
    again, feats = d(clean, noisy, return_features=True)
    torch.testing.assert_close(again, logits)
    assert [tuple(f.shape) for f in feats] == [(3, 4, 32), (3, 8, 16), (3, 8, 8)]


@pytest.mark.parametrize("head", ["conv1x1_linear", "fc"])
def test_fixed_length_heads_refuse_other_lengths(head):
    d = tiny_discriminator(norm="none", head=head)
    clean, noisy = waves(1, 128)
    with pytest.raises(ValueError, match="input_length=128"):
        d(clean, noisy)
    with pytest.raises(ValueError, match="needs input_length"):
        tiny_discriminator(head=head, input_length=None)


def test_length_agnostic_head():
    d = tiny_discriminator(norm="none", head="conv1x1_mean", input_length=None)
    for length in (64, 256):
        clean, noisy = waves(2, length)
        assert d(clean, noisy).shape == (2, 1)


@pytest.mark.parametrize("norm", ["batch", "spectral", "none"])
def test_other_norms(norm):
    torch.manual_seed(0)
    d = tiny_discriminator(norm=norm, head="fc")
    clean, noisy = waves(4, 64)
    logits = d(clean, noisy)
    assert logits.shape == (4, 1) and torch.isfinite(logits).all()
    assert not hasattr(d, "reference")
    if norm == "spectral":
        assert all(nn.utils.parametrize.is_parametrized(c, "weight") for c in d.convs)
    with pytest.raises(RuntimeError, match="norm='vbn'"):
        d.set_reference(clean, noisy)


# -- virtual batch norm ------------------------------------------------------------------------------------
def test_vbn_layer_matches_statistics_of_reference_plus_example():
    torch.manual_seed(0)
    vbn = VirtualBatchNorm(3, affine=False)
    ref, x = torch.randn(5, 3, 10) * 2 + 1, torch.randn(2, 3, 10)
    out = vbn(torch.cat([ref, x]), num_reference=5)
    for i in range(2):
        pool = torch.cat([ref, x[i : i + 1]])
        mean = pool.mean(dim=(0, 2), keepdim=True)
        var = pool.var(dim=(0, 2), unbiased=False, keepdim=True)
        torch.testing.assert_close(out[5 + i], ((x[i : i + 1] - mean) / torch.sqrt(var + 1e-5))[0])
    bn = nn.functional.batch_norm(ref, None, None, training=True, eps=1e-5)
    torch.testing.assert_close(out[:5], bn)  # the reference batch uses its own statistics


def test_vbn_output_does_not_depend_on_batch_mates():
    torch.manual_seed(0)
    d = tiny_discriminator()
    ref_clean, ref_noisy = waves(4, 64, seed=1)
    d.set_reference(ref_clean, ref_noisy)
    clean, noisy = waves(3, 64, seed=2)
    batched, feats = d(clean, noisy, return_features=True)
    for i in range(3):
        single = d(clean[i : i + 1], noisy[i : i + 1])
        torch.testing.assert_close(single, batched[i : i + 1])
    assert feats[0].shape[0] == 3  # reference rows are not returned
    d.eval()
    torch.testing.assert_close(d(clean, noisy), batched)  # no train/eval difference
    other_clean, other_noisy = waves(4, 64, seed=3)
    d.set_reference(other_clean, other_noisy)
    assert not torch.allclose(d(clean, noisy), batched)  # the reference matters


def test_vbn_reference_adopted_saved_and_restored():
    torch.manual_seed(0)
    d = tiny_discriminator()
    clean, noisy = waves(3, 64)
    d.eval()
    with pytest.raises(RuntimeError, match="set_reference"):
        d(clean, noisy)
    d.train()
    assert not d.has_reference
    first = d(clean, noisy)  # adopts (clean, noisy) as the reference
    assert d.has_reference and d.reference.shape == (3, 2, 64)
    torch.testing.assert_close(d.reference, torch.cat([clean, noisy], dim=1))
    other_clean, other_noisy = waves(3, 64, seed=5)
    d(other_clean, other_noisy)
    torch.testing.assert_close(d.reference, torch.cat([clean, noisy], dim=1))  # adopted once only

    fresh = tiny_discriminator()
    fresh.load_state_dict(d.state_dict())
    fresh.eval()
    torch.testing.assert_close(fresh(clean, noisy), first)


def test_vbn_input_length_must_match_reference():
    d = tiny_discriminator(head="conv1x1_mean", input_length=None)
    d.set_reference(*waves(2, 64))
    with pytest.raises(ValueError, match="VBN reference batch has 64"):
        d(*waves(2, 128))


def test_vbn_gradients_flow_through_reference_statistics():
    torch.manual_seed(0)
    d = tiny_discriminator()
    d.set_reference(*waves(4, 64, seed=1))
    clean, noisy = waves(2, 64)
    d(clean, noisy).sum().backward()
    for name, p in d.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert d.reference.grad is None and not d.reference.requires_grad
