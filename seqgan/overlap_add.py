"""Streaming windowed processing with a Hann-weighted overlap-add (the engine under the Enhancer).

A signal pushed in blocks of any size is cut into windows of ``window`` samples every ``hop`` samples,
the windows are processed in batches, and the outputs are cross-faded with a periodic Hann window,
dividing by the summed weights: an identity process returns its input exactly, and the result does not
depend on the block sizes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["OverlapAdd"]


class OverlapAdd:
    """Streaming windowed processing with a Hann-weighted overlap-add.

    Window ``i`` covers padded samples ``[i * hop, i * hop + window)``, where the signal starts after
    ``window - hop`` zeros. Each output sample is ``sum_i w(n - s_i) y_i(n) / sum_i w(n - s_i)`` over
    the windows covering it, which is exact at the edges and for any ``hop < window``.

    Args:
        process: maps windows ``(B, window)`` to outputs ``(B, window)``; called with at most
            ``batch_size`` rows (windows of all channels are batched together).
        window: window length in samples.
        hop: window step, ``1 <= hop < window``.
        batch_size: rows per ``process`` call.
    """

    def __init__(
        self, process: Callable[[torch.Tensor], torch.Tensor], window: int, hop: int, batch_size: int
    ) -> None:
        if not 1 <= hop < window:
            raise ValueError(f"hop must be in [1, window) = [1, {window}), got {hop}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.process, self.window, self.hop, self.batch_size = process, window, hop, batch_size
        self.pad = window - hop
        self.weights = torch.hann_window(window, periodic=True, dtype=torch.float32)
        self._in: torch.Tensor | None = None  # padded input from padded index self._in_start
        self._in_start = 0
        self._next = 0  # next window to run
        self._acc: torch.Tensor | None = None  # weighted output sums from padded index self._acc_start
        self._wsum = torch.zeros(0)
        self._acc_start = 0
        self._emitted = self.pad  # the first real sample sits after the padding
        self._total = 0  # real samples pushed

    def push(self, block: torch.Tensor) -> torch.Tensor:
        """Takes ``(C, n)``; returns the ``(C, m)`` output samples that no later window touches."""
        if self._in is None:
            self._in = torch.zeros(block.shape[0], self.pad, dtype=torch.float32)
            self._acc = torch.zeros(block.shape[0], 0, dtype=torch.float32)
        self._in = torch.cat([self._in, block.to(torch.float32)], dim=-1)
        self._total += block.shape[-1]
        end = self.pad + self._total
        ready = (end - self.window) // self.hop + 1 - self._next if end >= self.window else 0
        group = max(1, self.batch_size // block.shape[0])  # windows per forward pass
        self._run((ready // group) * group)
        return self._emit(self._next * self.hop)

    def flush(self) -> torch.Tensor:
        """Runs the remaining windows (zero-padding the end) and returns the rest of the output."""
        if self._in is None:
            raise RuntimeError("flush() before any push()")
        end = self.pad + self._total
        if self._total == 0:
            return self._in[:, :0]
        n_windows = (end - 1) // self.hop + 1  # the last window starts at or before the last sample
        need = (n_windows - 1) * self.hop + self.window - self._in_start
        self._in = torch.nn.functional.pad(self._in, (0, max(0, need - self._in.shape[-1])))
        self._run(n_windows - self._next)
        return self._emit(end)

    def _run(self, count: int) -> None:
        if count <= 0:
            return
        first = self._next
        start = first * self.hop - self._in_start
        stop = (first + count - 1) * self.hop + self.window - self._in_start
        frames = self._in[:, start:stop].unfold(-1, self.window, self.hop)  # (C, count, window)
        channels = frames.shape[0]
        out = self.process(frames.reshape(channels * count, self.window)).reshape(
            channels, count, self.window
        )
        out = out.to(torch.float32) * self.weights
        acc_end = (first + count - 1) * self.hop + self.window - self._acc_start
        if acc_end > self._acc.shape[-1]:
            grow = acc_end - self._acc.shape[-1]
            self._acc = torch.nn.functional.pad(self._acc, (0, grow))
            self._wsum = torch.nn.functional.pad(self._wsum, (0, grow))
        for j in range(count):
            offset = (first + j) * self.hop - self._acc_start
            self._acc[:, offset : offset + self.window] += out[:, j]
            self._wsum[offset : offset + self.window] += self.weights
        self._next = first + count
        keep = self._next * self.hop - self._in_start
        self._in = self._in[:, keep:]
        self._in_start += keep

    def _emit(self, end: int) -> torch.Tensor:
        if end <= self._emitted:  # nothing final yet (still inside the leading padding)
            return self._acc[:, :0]
        a, b = self._emitted - self._acc_start, end - self._acc_start
        out = self._acc[:, a:b] / self._wsum[a:b]
        self._acc, self._wsum = self._acc[:, b:], self._wsum[b:]
        self._acc_start, self._emitted = end, end
        return out
