"""Samples of the next-frame task: rollout strips (PNG, TensorBoard) and truth | prediction GIFs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqgan.predict import comparison_strip, rollout, save_gif, save_png, side_by_side, to_uint8
from seqgan.tasks.next_frame.evaluation import Batch


@torch.no_grad()
def write_rollout_samples(
    generator: nn.Module,
    batches: Iterable[Batch],
    steps: int,
    step: int,
    out_dir: Path,
    writer: Any | None = None,
) -> None:
    """Rolls ``generator`` out for ``steps`` frames on every sequence of ``batches`` and writes
    ``out_dir/rollout_<step>.png`` (truth over prediction, after the context, one row pair per sequence),
    ``out_dir/rollout_<step>.gif`` (context, then truth | prediction) and the strip to TensorBoard as
    ``samples/rollout``. Nothing is written without a sequence."""
    strips, gifs = [], []
    for ctx, tgt, act in batches:
        pred = to_uint8(rollout(generator, ctx, steps, act))
        truth, context = to_uint8(tgt), to_uint8(ctx)
        for i in range(len(pred)):
            strips.append(comparison_strip(truth[i], pred[i], context[i]))
            frames = [side_by_side(f, f) for f in context[i]]
            frames += [side_by_side(t, p) for t, p in zip(truth[i], pred[i])]
            gifs.append(frames)
    if not strips:
        return
    strip = np.concatenate(strips, axis=0)
    out_dir = Path(out_dir)
    save_png(out_dir / f"rollout_{step:08d}.png", strip)
    gif = [np.concatenate([g[t] for g in gifs], axis=0) for t in range(len(gifs[0]))]
    save_gif(out_dir / f"rollout_{step:08d}.gif", gif)
    if writer is not None:
        writer.add_image("samples/rollout", strip, step, dataformats="HWC")
