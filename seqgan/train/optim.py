"""Optimisers and learning-rate schedules built from :class:`seqgan.config.OptimizerConfig`, and the
two updates the trainer makes without a host sync (a skipped optimiser step, the EMA of the generator).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch.optim.swa_utils import get_ema_multi_avg_fn

from seqgan.config import OPTIMIZERS, SCHEDULES, ConfigError, OptimizerConfig, SchedulerConfig

FUSED = ("adam", "adamw", "sgd")  # optimisers with fused kernels (which also skip a step on found_inf)


def build_optimizer(
    params: Iterable[torch.nn.Parameter], cfg: OptimizerConfig, fused: bool = False
) -> torch.optim.Optimizer:
    """The optimiser ``cfg.name`` over ``params``; ``fused`` asks for the fused CUDA kernels."""
    params = list(params)
    extra = {"fused": True} if fused and cfg.name in FUSED else {}
    if cfg.name == "adam":
        return torch.optim.Adam(
            params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay, **extra
        )
    if cfg.name == "adamw":
        return torch.optim.AdamW(
            params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay, **extra
        )
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=cfg.lr,
            alpha=cfg.alpha,
            eps=cfg.eps,
            weight_decay=cfg.weight_decay,
            momentum=cfg.momentum,
        )
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **extra
        )
    raise ConfigError(f"unknown optimizer '{cfg.name}'; choose from: {', '.join(OPTIMIZERS)}")


def lr_factor(cfg: SchedulerConfig, step: int, max_steps: int) -> float:
    """Multiplier of the initial learning rate at ``step`` (0-based), a pure function of the step."""
    if cfg.name not in SCHEDULES:
        raise ConfigError(f"unknown schedule '{cfg.name}'; choose from: {', '.join(SCHEDULES)}")
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    t = step - cfg.warmup_steps
    span = max(1, max_steps - cfg.warmup_steps)
    progress = min(1.0, t / span)
    if cfg.name == "constant":
        return 1.0
    if cfg.name == "step":
        return cfg.gamma ** (t // max(1, cfg.step_size))
    if cfg.name == "exponential":
        return cfg.gamma ** (t / max(1, cfg.step_size))
    final = cfg.final_lr_ratio
    if cfg.name == "cosine":
        return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0 + (final - 1.0) * progress  # linear


def set_lr(optimizer: torch.optim.Optimizer, base_lr: float, factor: float) -> None:
    """Sets every parameter group's learning rate to ``base_lr * factor``."""
    for group in optimizer.param_groups:
        group["lr"] = base_lr * factor


# -- updates decided on the device ------------------------------------------------------------------
# torch has no public way to give an optimiser's step, or a list-wide lerp, a verdict that is still on
# the device. The two functions below are the only places seqgan uses torch's non-public hooks for it;
# tests/train/test_optim.py checks that the hooks still behave as relied on here.


def skips_on_device_flag(optimizer: torch.optim.Optimizer) -> bool:
    """Whether :func:`step_unless` can skip ``optimizer``'s update without a host sync (fused kernels)."""
    # torch.amp.GradScaler reads the same attribute: it marks optimisers whose step() takes the
    # found_inf / grad_scale attributes (the fused Adam, AdamW and SGD kernels)
    return bool(getattr(optimizer, "_step_supports_amp_scaling", False))


def step_unless(optimizer: torch.optim.Optimizer, bad: torch.Tensor) -> None:
    """``optimizer.step()`` unless ``bad`` (a boolean tensor on the device) is true, without a host sync.

    Only for optimisers where :func:`skips_on_device_flag` holds: their fused kernels leave the
    parameters, moments and step counts unchanged when ``found_inf`` is 1, as they do for
    ``torch.amp.GradScaler``, which sets ``found_inf`` and ``grad_scale`` around ``step()`` the same way.
    """
    optimizer.found_inf, optimizer.grad_scale = bad.float(), None
    try:
        optimizer.step()
    finally:
        del optimizer.found_inf, optimizer.grad_scale


@torch.no_grad()
def ema_update_(
    ema: Sequence[torch.Tensor], params: Sequence[torch.Tensor], decay: float, ok: torch.Tensor | None = None
) -> None:
    """``e = decay * e + (1 - decay) * p`` for every pair, in place, in one list-wide kernel.

    Args:
        ema: the averaged tensors (floating point).
        params: the current tensors, in the same order and shapes.
        decay: in ``[0, 1]``; 0 copies ``params``.
        ok: a boolean device tensor; where it is False the EMA stays as it is (a skipped turn).
    """
    if ok is None:
        get_ema_multi_avg_fn(decay)(list(ema), list(params), None)
        return
    # a weight held on the device: only the foreach lerp (one of torch's beta "foreach" operations,
    # underscore-named) takes it for a whole list; torch.lerp per tensor would launch a kernel each
    weight = ok.to(params[0].dtype) * (1.0 - decay)
    torch._foreach_lerp_(list(ema), list(params), [weight] * len(ema))
