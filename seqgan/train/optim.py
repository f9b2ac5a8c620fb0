"""Optimisers and learning-rate schedules built from :class:`seqgan.config.OptimizerConfig`."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from seqgan.config import ConfigError, OptimizerConfig, SchedulerConfig

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
SCHEDULES = ("constant", "step", "exponential", "cosine", "linear")
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
    for group in optimizer.param_groups:
        group["lr"] = base_lr * factor
