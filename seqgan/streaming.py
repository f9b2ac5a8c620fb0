"""Chunk-by-chunk enhancement with a causal model: the state carried from one chunk to the next.

A *streamable* generator (:func:`is_streamable`: :class:`~seqgan.models.causal.CausalMetricGANGenerator`)
has frames that end on hop boundaries, a recurrent state and ``step(frames, state)``.
:class:`CausalFrameStream` runs it on samples pushed in chunks of any size: it keeps the samples of the
frame being filled, the LSTM state ``(h, c)`` and the overlap-add tail of the synthesis frames, and emits
each output sample once no later frame touches it. The concatenated outputs equal the model's
``forward`` on the whole signal (float rounding only), whatever the chunk sizes.

:class:`StreamingEnhancer` is the whole chain at any rate and channel count — resampling to the model's
rate, pre-emphasis, the frame stream, de-emphasis, resampling back — each stage keeping its state: it is
:class:`seqgan.enhance.Enhancer`'s own block pipeline (:meth:`~seqgan.enhance.Enhancer.open_stream`), so
offline enhancement of a causal model (``Enhancer.enhance``, ``enhance_file``, ``seqgan enhance``) and
streaming run one code path and give the same samples. (A causal model is never cut into overlapping
windows: that would restart its LSTM at every window.)

Latency: an output sample waits for at most ``model.latency - 1`` later input samples (the frame it
completes; 512 samples = 32 ms for the MetricGAN+ front end at 16 kHz), plus the resamplers' filter
context when the input rate is not the model's. A live loop adds one chunk (buffering) and the
processing time; :meth:`StreamingEnhancer.max_delay` bounds how far the output lags the input, which is
the delay a fixed-rate consumer (a sound card) must hold back.

An exported causal graph (:class:`seqgan.onnx_backend.OnnxGenerator` with ``streamable`` set,
``seqgan enhance --backend onnxruntime``) streams too: :func:`open_frame_stream` gives its own
:class:`~seqgan.onnx_backend.OnnxFrameStream` (the framing, state and overlap-add inside the graph) behind
the same ``push`` / ``flush`` on tensors, so the rest of the chain is the same code.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from seqgan.enhance import Enhancer

logger = logging.getLogger(__name__)

__all__ = ["CausalFrameStream", "StreamingEnhancer", "is_streamable", "open_frame_stream"]

# frames per model call when a long block arrives at once (bounds the working memory)
_MAX_FRAMES = 512


def is_streamable(model: nn.Module) -> bool:
    """Whether ``model`` runs frame by frame with carried state (``step``, ``initial_state``, ``stft``
    with ``n_fft``, ``hop_length`` and ``envelope``; or an exported causal graph, ``streamable``)."""
    if getattr(model, "streamable", False) is True:  # seqgan.onnx_backend.OnnxGenerator of a causal graph
        return True
    stft = getattr(model, "stft", None)
    return (
        callable(getattr(model, "step", None))
        and callable(getattr(model, "initial_state", None))
        and all(hasattr(stft, a) for a in ("n_fft", "hop_length", "envelope"))
    )


def open_frame_stream(model: Any, device: str | torch.device = "cpu") -> CausalFrameStream | _ArrayStream:
    """The frame stream of a streamable model (:func:`is_streamable`): a :class:`CausalFrameStream` for a
    PyTorch module, the graph's own stream for an exported causal graph; both ``push(block: (C, n))
    -> (C, m)`` and ``flush()`` on float32 CPU tensors."""
    opener = getattr(model, "open_frame_stream", None)
    if callable(opener):
        return _ArrayStream(opener())
    return CausalFrameStream(model, device)


class _ArrayStream:
    """A numpy ``push`` / ``flush`` stream (:class:`seqgan.onnx_backend.OnnxFrameStream`) on tensors."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    @property
    def latency(self) -> int:
        return int(self.stream.latency)

    def push(self, block: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.stream.push(block.detach().to("cpu", torch.float32).numpy()))

    def flush(self) -> torch.Tensor:
        return torch.from_numpy(self.stream.flush())


class CausalFrameStream:
    """Runs a streamable model on a signal pushed in chunks (the causal counterpart of ``OverlapAdd``).

    Frame ``t`` covers samples ``[t·hop - pad, t·hop - pad + n_fft)``, ``pad = n_fft - hop`` (zeros before
    the signal, as :class:`~seqgan.models.causal.CausalSTFT`); after it runs, the ``hop`` output samples
    ending at its last input sample minus ``pad`` are final. Channels are independent (the batch of the
    model's state).

    Args:
        model: a streamable generator (:func:`is_streamable`), in eval mode.
        device: where the model runs (inputs and outputs stay on the CPU, float32).

    Shapes:
        ``push(block: (channels, n)) -> (channels, m)``; ``flush() -> (channels, rest)``.
    """

    def __init__(self, model: nn.Module, device: str | torch.device = "cpu") -> None:
        if not is_streamable(model):
            raise ValueError(
                f"{type(model).__name__} cannot stream (no step / initial_state); use OverlapAdd"
            )
        self.model, self.device = model, torch.device(device)
        self.n_fft, self.hop = int(model.stft.n_fft), int(model.stft.hop_length)
        self.pad = self.n_fft - self.hop
        self.envelope = model.stft.envelope.detach().to("cpu", torch.float32)
        self._in: torch.Tensor | None = None  # input not yet consumed, starting at padded index next * hop
        self._acc: torch.Tensor | None = None  # overlap-add sums of padded [next·hop, next·hop + pad)
        self._state: Any = None
        self._next = 0  # frames run
        self._total = 0  # real samples pushed
        self._emitted = 0  # real samples returned

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples (``n_fft``): an output waits for at most ``n_fft - 1`` inputs."""
        return self.n_fft

    def push(self, block: torch.Tensor) -> torch.Tensor:
        """Takes ``(C, n)`` float samples; returns the ``(C, m)`` output samples now final."""
        if block.dim() != 2:
            raise ValueError(
                f"CausalFrameStream.push: expected (channels, samples), got {tuple(block.shape)}"
            )
        if self._in is None:
            self._in = torch.zeros(block.shape[0], self.pad, dtype=torch.float32)
            self._acc = torch.zeros(block.shape[0], self.pad, dtype=torch.float32)
        elif block.shape[0] != self._in.shape[0]:
            raise ValueError(f"CausalFrameStream.push: {block.shape[0]} channels after {self._in.shape[0]}")
        self._in = torch.cat([self._in, block.detach().to("cpu", torch.float32)], dim=-1)
        self._total += block.shape[-1]
        return self._run()

    def flush(self) -> torch.Tensor:
        """Zero-pads the end, runs the frames covering the last samples and returns the rest of the output."""
        if self._in is None:
            raise RuntimeError("flush() before any push()")
        if self._total == 0:
            return self._in[:, :0]
        frames = (self._total - 1 + self.pad) // self.hop + 1  # the last frame holding a real sample
        need = (frames - self._next - 1) * self.hop + self.n_fft
        self._in = torch.nn.functional.pad(self._in, (0, max(0, need - self._in.shape[-1])))
        before = self._emitted
        out = self._run(limit=frames - self._next)[:, : self._total - before]
        self._emitted = before + out.shape[-1]
        return out

    @torch.inference_mode()
    def _run(self, limit: int | None = None) -> torch.Tensor:
        assert self._in is not None and self._acc is not None
        ready = (self._in.shape[-1] - self.n_fft) // self.hop + 1 if self._in.shape[-1] >= self.n_fft else 0
        if limit is not None:
            ready = min(ready, limit)
        parts = []
        for start in range(0, ready, _MAX_FRAMES):
            k = min(_MAX_FRAMES, ready - start)
            parts.append(self._frames(k))
        out = torch.cat(parts, dim=-1) if parts else self._in[:, :0]
        drop = max(0, self.pad - (self._next * self.hop - out.shape[-1]))  # padded samples before the signal
        out = out[:, drop:]
        self._emitted += out.shape[-1]
        return out

    def _frames(self, k: int) -> torch.Tensor:
        """Runs the next ``k`` frames; returns their ``k · hop`` final output samples."""
        span = (k - 1) * self.hop + self.n_fft
        frames = self._in[:, :span].unfold(-1, self.n_fft, self.hop)  # (C, k, n_fft)
        if self._state is None:
            self._state = self.model.initial_state(frames.shape[0], self.device)
        y, self._state = self.model.step(frames.to(self.device), self._state)
        y = y.to("cpu", torch.float32)
        if not torch.isfinite(y).all():
            raise RuntimeError("the model produced non-finite output (NaN or Inf); are the weights broken?")
        acc = torch.nn.functional.fold(
            y.transpose(1, 2), (1, span), kernel_size=(1, self.n_fft), stride=(1, self.hop)
        ).reshape(y.shape[0], span)
        acc[:, : self.pad] += self._acc
        self._acc = acc[:, k * self.hop :].clone()
        self._in = self._in[:, k * self.hop :]
        self._next += k
        return acc[:, : k * self.hop] / self.envelope.repeat(k)


class StreamingEnhancer:
    """Enhances audio pushed in chunks of any size at any rate and channel count, state carried.

    Args:
        enhancer: an :class:`~seqgan.enhance.Enhancer` holding a streamable model.
        sample_rate: the rate of the pushed audio (the output has the same rate).
        channels: channels of the pushed audio (each enhanced independently).

    Shapes:
        ``push(chunk: (channels, n) or numpy (n, channels)) -> same layout, m samples``;
        ``flush()`` the rest. The outputs add up to as many samples as were pushed.
    """

    def __init__(self, enhancer: Enhancer, sample_rate: int, channels: int = 1) -> None:
        if not is_streamable(enhancer.generator):
            raise ValueError(
                f"{type(enhancer.generator).__name__} is not a causal model and cannot stream; "
                "use a causal one (e.g. the metricgan_causal_small preset)"
            )
        if sample_rate <= 0 or channels < 1:
            raise ValueError(
                f"need a positive rate and channels >= 1, got {sample_rate} Hz, {channels} channels"
            )
        self.enhancer, self.sample_rate, self.channels = enhancer, int(sample_rate), int(channels)
        self._pipe = enhancer.open_stream(self.sample_rate, self.sample_rate)
        self._pushed = 0
        self._returned = 0

    @property
    def latency_seconds(self) -> float:
        """Algorithmic latency of the model: ``model.latency`` samples at the model's rate, in seconds."""
        return float(self.enhancer.generator.latency) / self.enhancer.sample_rate

    def max_delay(self) -> int:
        """The most input samples by which the output can lag the input (model frame + resampler context)."""
        model_rate = self.enhancer.sample_rate
        delay = self.enhancer.generator.latency - 1  # model samples
        if model_rate != self.sample_rate:
            g = math.gcd(model_rate, self.sample_rate)
            down = getattr(self._pipe.down, "_width", 0) + self.sample_rate // g
            up = getattr(self._pipe.up, "_width", 0) + model_rate // g
            return down + math.ceil((delay + up) * self.sample_rate / model_rate) + 1
        return delay

    def push(self, chunk: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        """Enhances the next chunk; returns the output samples that are now final (maybe none)."""
        x, is_numpy = self._to_tensor(chunk)
        self._pushed += x.shape[-1]
        return self._out(self._pipe.push(x), is_numpy)

    def flush(self, numpy: bool = False) -> torch.Tensor | np.ndarray:
        """Ends the signal (zero-padded) and returns the rest of the output."""
        return self._out(self._pipe.flush(), numpy)

    def _to_tensor(self, chunk: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, bool]:
        is_numpy = isinstance(chunk, np.ndarray)
        x = torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float32)).T if is_numpy else chunk
        if x.dim() == 1:
            x = x.reshape(1, -1)
        if x.dim() != 2 or x.shape[0] != self.channels:
            layout = "(samples, channels)" if is_numpy else "(channels, samples)"
            raise ValueError(
                f"expected a {layout} chunk of {self.channels} channel(s), got {tuple(chunk.shape)}"
            )
        return x.to("cpu", torch.float32).contiguous(), is_numpy

    def _out(self, y: torch.Tensor, numpy: bool) -> torch.Tensor | np.ndarray:
        y = y[:, : max(0, self._pushed - self._returned)]  # resampling rounds up at the end
        self._returned += y.shape[-1]
        return np.ascontiguousarray(y.T.numpy()) if numpy else y
