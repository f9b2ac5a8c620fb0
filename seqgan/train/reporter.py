"""Training reports: log lines, ``metrics.jsonl``, TensorBoard scalars and a progress bar.

Only rank 0 reports. Statistics arrive as tensors or floats; they are turned into Python floats here,
once per log interval, so the training step itself never waits for the device.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


class StatsAccumulator:
    """Running sums of per-turn statistics between two log intervals (kept on the device)."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor | float] = {}
        self.counts: dict[str, torch.Tensor | int] = {}

    def add(self, stats: dict[str, Any], prefix: str = "", weight: torch.Tensor | None = None) -> None:
        """Adds one turn's ``stats``; ``weight`` (a device flag) leaves out a turn the device skipped."""
        for key, value in stats.items():
            if isinstance(value, torch.Tensor):
                value = value.detach().float().mean()
            name = prefix + key
            if weight is not None:  # where, not a product: a skipped turn's statistics may be NaN
                value = torch.where(weight, value, 0.0)  # a Python float stays a scalar: no copy
                count: torch.Tensor | int = weight.long()
            else:
                count = 1
            self.sums[name] = self.sums.get(name, 0.0) + value
            self.counts[name] = self.counts.get(name, 0) + count

    def means(self) -> dict[str, float]:
        """The means since the last call."""
        out = {}
        for k, v in self.sums.items():
            n = int(self.counts[k])
            if n:  # a statistic whose every turn was skipped is left out, as on the host path
                out[k] = float(v) / n
        self.sums.clear()
        self.counts.clear()
        return out


class Reporter:
    """Writes what the trainer reports.

    Args:
        exp_dir: experiment directory (``metrics.jsonl`` and ``tensorboard/`` go there).
        max_steps: total steps, for the progress bar and the ETA.
        enabled: False on ranks other than 0.
        progress: "auto" (a bar when stderr is a terminal), "bar" or "lines".
    """

    def __init__(
        self, exp_dir: Path, max_steps: int, enabled: bool = True, progress: str = "auto", start_step: int = 0
    ) -> None:
        self.enabled = enabled
        self.max_steps = max_steps
        self.start_step = start_step
        self._t0 = time.monotonic()
        self._bar = None
        self.writer = None
        self._jsonl = None
        if not enabled:
            return
        self._jsonl = open(exp_dir / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(exp_dir / "tensorboard"))
        except Exception as e:  # tensorboard missing or broken: keep training, say so once
            log.warning("TensorBoard logging disabled: %s", e)
        use_bar = progress == "bar" or (progress == "auto" and sys.stderr.isatty())
        if use_bar:
            from tqdm import tqdm

            self._bar = tqdm(
                total=max_steps, initial=start_step, desc="train", unit="step", dynamic_ncols=True
            )

    def step(self) -> None:
        """Advances the progress bar by one step."""
        if self._bar is not None:
            self._bar.update(1)

    def report(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        """Records ``values`` at ``step``: a log line, a jsonl row and TensorBoard scalars."""
        if not self.enabled:
            return
        elapsed = time.monotonic() - self._t0
        row = {"step": step, "kind": kind, "time": round(elapsed, 3), **values}
        self._jsonl.write(json.dumps(row, allow_nan=True) + "\n")
        self._jsonl.flush()
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key if "/" in key else f"{kind}/{key}", value, step)
        done = step - self.start_step
        rate = done / elapsed if elapsed > 0 else 0.0
        text = " ".join(f"{k}={_fmt(v)}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix_str(text[:120])
            if kind != "train":
                self._bar.write(f"step {step} {kind}: {text}")
        else:
            eta = (self.max_steps - step) / rate if rate > 0 else float("nan")
            log.info(
                "step %d/%d %s: %s (%.2f steps/s, eta %s)",
                step,
                self.max_steps,
                kind,
                text,
                rate,
                _fmt_time(eta),
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self.writer is not None:
            self.writer.close()
        if self._jsonl is not None:
            self._jsonl.close()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _fmt_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
