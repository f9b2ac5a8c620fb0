"""Validation of the next-frame task: rollouts on full frames scored with ``seqgan.metrics.frames``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn

from seqgan.metrics.frames import SSIM_WINDOW, copy_last_frame, psnr, sharpness_difference, ssim
from seqgan.predict import rollout

# (context (B, K, C, H, W), target (B, S, C, H, W), actions (B, K + S) or None), in [-1, 1]
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]


def valid_batches(
    dataset: Any, device: torch.device, limit: int, batch_size: int, with_actions: bool
) -> Iterator[Batch]:
    """The first ``min(len(dataset), limit)`` sequences of ``dataset`` (``FrameSequences``), stacked into
    batches of ``batch_size`` on ``device``; actions only ``with_actions``."""
    count = min(len(dataset), limit)
    bs = max(1, batch_size)
    for start in range(0, count, bs):
        items = [dataset[(i, 0)] for i in range(start, min(count, start + bs))]
        ctx = torch.stack([it["context"] for it in items]).to(device)
        tgt = torch.stack([it["target"] for it in items]).to(device)
        act = torch.stack([it["actions"] for it in items]).to(device) if with_actions else None
        yield ctx, tgt, act


@torch.no_grad()
def evaluate_rollouts(
    generator: nn.Module, batches: Iterable[Batch], steps: int, psnr_cap: float | None
) -> dict[str, float]:
    """Mean metrics of ``steps``-frame rollouts against the truth, and of the copy-last-frame baseline.

    Args:
        generator: the frame predictor (eval mode).
        batches: validation batches (see :func:`valid_batches`), ``target`` of ``steps`` frames.
        steps: rollout length.
        psnr_cap: PSNR and sharpness difference are clipped per frame at this many dB (None: no cap).

    Returns:
        ``psnr``, ``psnr_copy_last``, ``sharpness`` and (frames of at least the SSIM window)
        ``ssim``, ``ssim_copy_last``: means over sequences and steps; ``psnr_<s>``, ``ssim_<s>`` and
        ``psnr_copy_last_<s>`` per step ``s = 1 .. steps``. Empty without a batch.
    """
    sums: dict[str, torch.Tensor] = {}

    def add(name: str, values: torch.Tensor) -> None:
        total = values.double().sum(0).cpu()
        sums[name] = sums[name] + total if name in sums else total

    count = 0
    for ctx, tgt, act in batches:
        pred = rollout(generator, ctx, steps, act).float().clamp(-1, 1)
        copy = copy_last_frame(ctx, steps)
        add("psnr", psnr(pred, tgt, 2.0, cap=psnr_cap))
        add("psnr_copy_last", psnr(copy, tgt, 2.0, cap=psnr_cap))
        add("sharpness", sharpness_difference(pred, tgt, 2.0, cap=psnr_cap))
        if min(tgt.shape[-2:]) >= SSIM_WINDOW:
            add("ssim", ssim(pred, tgt, (-1.0, 1.0)))
            add("ssim_copy_last", ssim(copy, tgt, (-1.0, 1.0)))
        count += ctx.shape[0]
    if count == 0:
        return {}
    metrics = {name: float(v.mean() / count) for name, v in sums.items()}
    for name in ("psnr", "ssim", "psnr_copy_last"):
        if name in sums:
            metrics.update({f"{name}_{s + 1}": float(sums[name][s] / count) for s in range(steps)})
    return metrics
