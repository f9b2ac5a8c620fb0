"""The frame generator's ``from_last`` option: the residual chain runs on changes from the last frame."""

from __future__ import annotations

import torch

from seqgan.models.frame_gan import MultiScaleGenerator, pool_frames


def _generator(**kw) -> MultiScaleGenerator:
    torch.manual_seed(0)
    return MultiScaleGenerator(
        num_channels=1,
        context=4,
        scale_factors=[4, 2, 1],
        channels=[[8], [8], [8]],
        kernels=[[3, 3], [3, 3], [3, 3]],
        **kw,
    )


def _zero_outputs(g: MultiScaleGenerator) -> None:
    with torch.no_grad():
        for scale in g.scales:
            last = [m for m in scale.modules() if isinstance(m, torch.nn.Conv2d)][-1]
            last.weight.zero_()
            last.bias.zero_()


def test_with_zero_residuals_every_scale_is_the_last_frame():
    g = _generator(from_last=True)
    _zero_outputs(g)
    context = torch.rand(2, 4, 1, 16, 16) * 2 - 1
    preds = g(context)
    for factor, p in zip([4, 2, 1], preds):
        torch.testing.assert_close(p, pool_frames(context[:, -1], factor))
    torch.testing.assert_close(g.predict(context), context[:, -1])


def test_changes_add_up_across_scales():
    g = _generator(from_last=True)
    context = torch.rand(2, 4, 1, 16, 16) * 2 - 1
    preds = g(context)
    # the finest change minus its own residual is the coarser change, upsampled: check it is not the
    # paper's chain (which would start from the coarsest prediction and ignore the last frame)
    plain = _generator()
    plain.load_state_dict(g.state_dict())
    assert not torch.allclose(preds[-1], plain(context)[-1])
    assert [p.shape[-1] for p in preds] == [4, 8, 16]


def test_off_by_default_keeps_the_paper_chain():
    g = _generator()
    _zero_outputs(g)
    preds = g(torch.rand(1, 4, 1, 16, 16))
    assert all(torch.equal(p, torch.zeros_like(p)) for p in preds)  # tanh(0) residuals from zero
