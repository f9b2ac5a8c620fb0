"""Optimisers, schedules, and the two device-side updates that rely on torch hooks without a public API."""

import pytest
import torch

from seqgan.config import OptimizerConfig
from seqgan.train.optim import build_optimizer, ema_update_, skips_on_device_flag, step_unless


def _problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    w = torch.nn.Parameter(torch.randn(5, 3, generator=g))
    w.grad = torch.randn(5, 3, generator=g)
    return w


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_fused_kernels_skip_on_a_device_flag(name):
    """torch's fused kernels read found_inf: a true flag leaves weights, moments and step counts alone."""
    cfg = OptimizerConfig(name=name, lr=0.1, momentum=0.9)
    w, ref = _problem(), _problem()
    opt = build_optimizer([w], cfg, fused=True)
    ref_opt = build_optimizer([ref], cfg, fused=True)
    assert skips_on_device_flag(opt)
    step_unless(opt, torch.tensor(False))
    ref_opt.step()
    assert torch.equal(w, ref)  # a false flag: the same update as a plain step
    before = {k: v.clone() for k, v in opt.state[w].items() if torch.is_tensor(v)}
    w_before = w.detach().clone()
    step_unless(opt, torch.tensor(True))
    assert torch.equal(w, w_before)
    for key, value in before.items():
        assert torch.equal(opt.state[w][key], value), key
    assert not hasattr(opt, "found_inf") and not hasattr(opt, "grad_scale")  # hook removed again


def test_unfused_optimisers_need_the_host_check():
    for name, fused in (("adam", False), ("rmsprop", True), ("sgd", False)):
        assert not skips_on_device_flag(
            build_optimizer([_problem()], OptimizerConfig(name=name), fused=fused)
        )


def test_ema_update_is_a_lerp_held_still_by_a_false_flag():
    g = torch.Generator().manual_seed(1)
    params = [torch.randn(4, generator=g), torch.randn(2, 3, generator=g)]
    start = [torch.randn(4, generator=g), torch.randn(2, 3, generator=g)]
    for ok in (None, torch.tensor(True)):
        ema = [t.clone() for t in start]
        ema_update_(ema, params, 0.75, ok)
        for e, s, p in zip(ema, start, params):
            torch.testing.assert_close(e, 0.75 * s + 0.25 * p)
    ema = [t.clone() for t in start]
    ema_update_(ema, params, 0.75, torch.tensor(False))
    assert all(torch.equal(e, s) for e, s in zip(ema, start))
    ema_update_(ema, params, 0.0)
    assert all(torch.equal(e, p) for e, p in zip(ema, params))
