"""Live enhancement: the sound-card callback of ``seqgan live`` (microphone in, enhanced audio out).

:class:`LiveProcessor` is what a duplex audio stream (``sounddevice.Stream``) calls once per block: it
pushes the captured block through a :class:`~seqgan.streaming.StreamingEnhancer` and plays the output
a fixed ``delay`` later, through a FIFO primed with ``delay`` zeros, where ``delay`` is the most the
engine's output can lag its input (:meth:`~seqgan.streaming.StreamingEnhancer.max_delay`: the model's
frame, 511 samples for the 32 ms front end at 16 kHz, plus the resamplers' context). The FIFO then never
runs dry, so the output is the offline enhancement of the input delayed by exactly ``delay`` samples.

Latency, microphone to speaker: the device's input and output latency (``stream.latency``, which holds
the block buffering) plus ``delay``. The processing time of a block must stay under the block's
duration (the real-time factor under 1); :meth:`LiveProcessor.report` measures both, and the CPU load
of the callback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqgan.streaming import StreamingEnhancer

__all__ = ["LiveProcessor", "LiveReport"]


@dataclass(frozen=True)
class LiveReport:
    """Measured figures of a live run (times in milliseconds)."""

    blocks: int
    block_ms: float
    delay_ms: float  # the FIFO delay added to the device latency
    algorithmic_ms: float  # the model's frame
    device_ms: float  # the stream's input + output latency (0 when unknown)
    process_ms_mean: float  # per block
    process_ms_max: float
    cpu_load: float  # processing time / audio time
    underruns: int  # blocks the FIFO could not fill (never, with the primed delay)
    xruns: int  # blocks the device flagged (input overflow / output underflow)

    @property
    def end_to_end_ms(self) -> float:
        """Microphone to speaker: device latency + the FIFO delay."""
        return self.device_ms + self.delay_ms

    def line(self) -> str:
        """One status line."""
        return (
            f"latency {self.end_to_end_ms:.1f} ms (device {self.device_ms:.1f} + delay {self.delay_ms:.1f}; "
            f"algorithmic {self.algorithmic_ms:.1f}), processing {self.process_ms_mean:.2f} ms a "
            f"{self.block_ms:.0f} ms block (max {self.process_ms_max:.2f}), CPU load {100 * self.cpu_load:.1f} %, "
            f"underruns {self.underruns}, xruns {self.xruns}"
        )


class LiveProcessor:
    """The duplex stream callback: enhance each captured block, play the output ``delay`` samples later.

    Args:
        engine: a :class:`~seqgan.streaming.StreamingEnhancer` at the device's rate and channel count.

    The callback signature is ``sounddevice``'s: ``callback(indata, outdata, frames, time, status)`` with
    ``indata``, ``outdata`` float32 ``(frames, channels)``.
    """

    def __init__(self, engine: StreamingEnhancer) -> None:
        self.engine = engine
        self.delay = int(engine.max_delay())
        self._fifo = np.zeros((self.delay, engine.channels), np.float32)
        self.blocks = self.frames = self.underruns = self.xruns = 0
        self.busy = 0.0
        self.busy_max = 0.0

    def callback(
        self, indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: Any, status: Any
    ) -> None:
        """Enhances ``indata`` and fills ``outdata`` (both ``(frames, channels)``)."""
        start = time.perf_counter()
        if status:
            self.xruns += 1
        y = self.engine.push(np.asarray(indata, np.float32))
        fifo = np.concatenate([self._fifo, y]) if y.shape[0] else self._fifo
        n = min(frames, fifo.shape[0])
        outdata[:n] = fifo[:n]
        if n < frames:
            outdata[n:] = 0
            self.underruns += 1
        self._fifo = fifo[n:]
        spent = time.perf_counter() - start
        self.blocks += 1
        self.frames += frames
        self.busy += spent
        self.busy_max = max(self.busy_max, spent)

    def report(self, stream: Any = None) -> LiveReport:
        """The figures so far; ``stream``'s ``latency`` (seconds, or an (input, output) pair) when given."""
        rate = self.engine.sample_rate
        latency = getattr(stream, "latency", 0.0) if stream is not None else 0.0
        device = float(sum(latency)) if isinstance(latency, (tuple, list)) else float(latency or 0.0)
        blocks = max(1, self.blocks)
        return LiveReport(
            blocks=self.blocks,
            block_ms=1000.0 * self.frames / blocks / rate,
            delay_ms=1000.0 * self.delay / rate,
            algorithmic_ms=1000.0 * self.engine.latency_seconds,
            device_ms=1000.0 * device,
            process_ms_mean=1000.0 * self.busy / blocks,
            process_ms_max=1000.0 * self.busy_max,
            cpu_load=self.busy / (self.frames / rate) if self.frames else 0.0,
            underruns=self.underruns,
            xruns=self.xruns,
        )
