"""Multi-scale frame GAN: shapes, residual composition, pooling, action conditioning, paper sizes."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from seqgan.models import MODELS, count_parameters
from seqgan.models.frame_gan import (
    PRESETS,
    ActionTransform,
    MultiScaleDiscriminator,
    MultiScaleGenerator,
    build_frame_gan,
)


def _context(b=2, k=4, c=1, h=32, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, k, c, h, w, generator=g) * 2 - 1


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_frame_gan("tiny", num_channels=1, context=4, patch_size=32)


def test_generator_scales_shapes_and_range(tiny):
    g, _ = tiny
    preds = g(_context())
    assert [tuple(p.shape) for p in preds] == [(2, 1, 4, 4), (2, 1, 8, 8), (2, 1, 16, 16), (2, 1, 32, 32)]
    assert preds[0].abs().max() <= 1  # a tanh output; finer scales add residuals in [-1, 1]
    assert all(
        (p - q).abs().max() <= 1 + 1e-6
        for p, q in zip(
            preds[1:],
            [F.interpolate(r, scale_factor=2, mode="bilinear", align_corners=False) for r in preds[:-1]],
        )
    )


@pytest.mark.parametrize("size", [(32, 32), (30, 30), (64, 48), (50, 71)])
def test_full_frame_inference_at_any_size(tiny, size):
    g, _ = tiny
    out = g.predict(_context(h=size[0], w=size[1]))
    assert out.shape == (2, 1, *size)
    assert torch.isfinite(out).all() and out.abs().max() <= 1


def test_predict_equals_finest_scale_when_no_padding_is_needed(tiny):
    g, _ = tiny
    x = _context(h=48, w=40)
    torch.testing.assert_close(g.predict(x), g(x)[-1].clamp(-1, 1))


def test_translation_equivariance_away_from_borders(tiny):
    """Fully convolutional: shifting the frames by a multiple of the coarsest pooling factor shifts the
    prediction, wherever the receptive field stays inside the frame."""
    g, _ = tiny
    x = _context(b=1, h=192, w=192, seed=3)
    full = g(x)[-1]
    shifted = g(torch.roll(x, shifts=(8, 16), dims=(-2, -1)))[-1]
    torch.testing.assert_close(shifted[..., 96:112, 104:120], full[..., 88:104, 88:104])


def test_residual_composition(tiny):
    """Y_1 = tanh(r_1), Y_k = up(Y_{k-1}) + tanh(r_k) (Mathieu et al. eq. 2), r_k the scale's output."""
    g, _ = tiny
    residuals, inputs = [], []

    def hook(module, args, out):
        inputs.append(args[0])
        residuals.append(out)

    hooks = [s.register_forward_hook(hook) for s in g.scales]
    try:
        preds = g(_context(seed=1))
    finally:
        for h in hooks:
            h.remove()
    torch.testing.assert_close(preds[0], torch.tanh(residuals[0]))
    for k in range(1, len(preds)):
        up = F.interpolate(preds[k - 1], scale_factor=2, mode="bilinear", align_corners=False)
        torch.testing.assert_close(preds[k], up + torch.tanh(residuals[k]))
        torch.testing.assert_close(inputs[k][:, -1:], up)  # the coarser prediction is an input too


def test_zero_residual_passes_the_coarse_prediction_up():
    torch.manual_seed(0)
    g, _ = build_frame_gan("tiny", num_channels=1, context=4)
    last = g.scales[1].convs[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    preds = g(_context(seed=2))
    expected = F.interpolate(preds[0], scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(preds[1], expected)


def test_predict_clamps_to_the_data_range():
    torch.manual_seed(0)
    g, _ = build_frame_gan("tiny", num_channels=1, context=4)
    for scale in g.scales:  # every residual +tanh(5): the sums leave [-1, 1]
        torch.nn.init.zeros_(scale.convs[-1].weight)
        torch.nn.init.constant_(scale.convs[-1].bias, 5.0)
    x = _context()
    assert g(x)[-1].max() > 3
    assert g.predict(x).max() == 1.0


def test_coarsest_scale_sees_only_pooled_context(tiny):
    g, _ = tiny
    x = _context(seed=4) * 0.9
    # a zero-mean perturbation inside every 8x8 block leaves the pooled context unchanged
    checker = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(16, 16) * 0.01
    y = x + checker
    assert torch.allclose(F.avg_pool2d(x.flatten(0, 1), 8), F.avg_pool2d(y.flatten(0, 1), 8), atol=1e-6)
    torch.testing.assert_close(g(x)[0], g(y)[0])
    assert not torch.allclose(g(x)[-1], g(y)[-1])


def test_action_transform_is_the_factor_product():
    torch.manual_seed(0)
    t = ActionTransform(channels=3, num_actions=4, factors=5)
    h = torch.randn(2, 3, 2, 2)
    a = torch.tensor([1, 3])
    onehot = F.one_hot(a, 4).float()
    w_enc = t.enc.weight[:, :, 0, 0]  # (F, C)
    w_dec = t.dec.weight[:, :, 0, 0]  # (C, F)
    w_a = t.action.weight.T  # (F, A)
    hp = h.permute(0, 2, 3, 1)  # (B, H, W, C)
    factor = (hp @ w_enc.T) * (onehot @ w_a.T)[:, None, None, :]
    expected = (factor @ w_dec.T + t.dec.bias).permute(0, 3, 1, 2)
    torch.testing.assert_close(t(h, a), expected)
    with pytest.raises(ValueError, match="actions must lie"):
        t(h, torch.tensor([0, 4]))


def test_action_conditioning_changes_the_prediction():
    torch.manual_seed(0)
    g, d = build_frame_gan("tiny", num_channels=1, context=4, num_actions=3)
    x = _context()
    a0 = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]])
    a1 = a0.clone()
    a1[:, -1] = 1
    p0, p1 = g.predict(x, a0), g.predict(x, a1)
    assert (p0 - p1).abs().max() > 1e-4
    # only the action leading to the predicted frame matters
    a2 = a0.clone()
    a2[:, :-1] = 1
    torch.testing.assert_close(g.predict(x, a2), p0)
    torch.testing.assert_close(g.predict(x, a0[:, -1]), p0)
    with pytest.raises(ValueError, match="action-conditioned"):
        g(x)
    # the discriminator's logits depend on the action too
    frames = g(x, a0)
    l0, l1 = d(frames, x, a0[:, -1]), d(frames, x, a1[:, -1])
    assert any((u - v).abs().max() > 1e-6 for u, v in zip(l0, l1))


def test_discriminator_is_conditional_on_context(tiny):
    g, d = tiny
    x = _context()
    frames = g(x)
    logits = d(frames, x)
    assert [tuple(t.shape) for t in logits] == [(2, 1)] * 4
    other = d(frames, _context(seed=9))
    assert all((u - v).abs().max() > 1e-6 for u, v in zip(logits, other))
    with pytest.raises(ValueError, match="built for 32x32"):
        d(g(_context(h=64, w=64)), _context(h=64, w=64))


def test_discriminator_rejects_a_patch_too_small_for_its_kernels():
    with pytest.raises(ValueError, match="too small"):
        MultiScaleDiscriminator(num_channels=1, context=4, patch_size=16)


def test_hparams_are_json_and_rebuild_the_same_model():
    g, d = build_frame_gan(
        "tiny",
        num_channels=3,
        context=2,
        num_actions=5,
        patch_size=32,
        generator_overrides={"action_factors": 7},
    )
    for net in (g, d):
        hp = json.loads(json.dumps(net.hparams))
        clone = MODELS.get(type(net).__name__)(**hp)
        assert {k: v.shape for k, v in clone.state_dict().items()} == {
            k: v.shape for k, v in net.state_dict().items()
        }
    assert g.scales[-1].action.enc.out_channels == 7


def test_build_rejects_unknown_preset_and_mismatched_scales():
    with pytest.raises(ValueError, match="choose from: mathieu2016, tiny"):
        build_frame_gan("mathieu", num_channels=1)
    with pytest.raises(ValueError, match="scales"):
        build_frame_gan(
            "tiny",
            num_channels=1,
            generator_overrides={
                "scale_factors": [2, 1],
                "channels": [[8], [8]],
                "kernels": [[3, 3], [3, 3]],
            },
        )


def _conv(cin, cout, k):
    return cin * cout * k * k + cout


def test_mathieu2016_sizes_follow_the_paper_table():
    g, d = build_frame_gan("mathieu2016", num_channels=3, context=4, patch_size=32)
    expected_g = 0
    for i, (chs, ks) in enumerate(
        zip(PRESETS["mathieu2016"]["generator"]["channels"], PRESETS["mathieu2016"]["generator"]["kernels"])
    ):
        widths = [3 * 4 + (3 if i else 0), *chs, 3]  # 3*4 -> ... -> 3, then 3*5 -> ... -> 3
        expected_g += sum(_conv(a, b, k) for a, b, k in zip(widths[:-1], widths[1:], ks))
    assert count_parameters(g) == expected_g
    # discriminator on 32x32 patches: VALID convs, one 2x2 max-pool, FC layers
    expected_d = 0
    dp = PRESETS["mathieu2016"]["discriminator"]
    for f, chs, ks, fcs in zip(dp["scale_factors"], dp["conv_channels"], dp["kernels"], dp["fc"]):
        widths = [3 * 5, *chs]
        expected_d += sum(_conv(a, b, k) for a, b, k in zip(widths[:-1], widths[1:], ks))
        side = (32 // f - sum(k - 1 for k in ks)) // 2
        dims = [chs[-1] * side * side, *fcs, 1]
        expected_d += sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
    assert count_parameters(d) == expected_d
    print(f"mathieu2016 (RGB, K=4, 32x32 patches): G {count_parameters(g):,} D {count_parameters(d):,}")


def test_generator_default_arguments_are_the_paper_network():
    g = MultiScaleGenerator(num_channels=3, context=4)
    assert g.scale_factors == [8, 4, 2, 1]
    assert [c.kernel_size[0] for c in g.scales[3].convs] == [7, 5, 5, 5, 5, 7]
    assert [c.out_channels for c in g.scales[2].convs] == [128, 256, 512, 256, 128, 3]


def test_action_planes_feed_the_one_hot_action_to_every_scale():
    torch.manual_seed(0)
    g, _ = build_frame_gan(
        "tiny", num_channels=1, context=4, num_actions=3, generator_overrides={"action_planes": True}
    )
    plain, _ = build_frame_gan("tiny", num_channels=1, context=4, num_actions=3)
    # every scale's first convolution sees 3 more input channels: one constant plane per action
    for with_planes, without in zip(g.scales, plain.scales):
        assert with_planes.convs[0].in_channels == without.convs[0].in_channels + 3
    assert g.hparams["action_planes"] is True and not plain.action_planes
    x = _context()
    a = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 1]])
    b = a.clone()
    b[:, -1] = 2
    assert (g.predict(x, a) - g.predict(x, b)).abs().max() > 1e-4
    # the planes of action j are the j-th input channels after the frames, ones where j is the action
    seen = []
    g.scales[0].convs[0].register_forward_hook(lambda m, i, o: seen.append(i[0]))
    g(x, a)
    planes = seen[0][:, 4:]
    assert torch.equal(planes[:, :, 0, 0], F.one_hot(a[:, -1], 3).float())
    assert torch.equal(planes, planes[:, :, :1, :1].expand_as(planes))
    with pytest.raises(ValueError, match="actions must lie"):
        g(x, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="action_planes needs"):
        build_frame_gan("tiny", num_channels=1, num_actions=0, generator_overrides={"action_planes": True})
