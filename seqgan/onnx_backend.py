"""The onnxruntime backend: an exported ``.onnx`` enhancement graph as a ``frames -> frames`` callable.

:class:`OnnxGenerator` is what :class:`seqgan.enhance.Enhancer` calls in place of a PyTorch module when
it is loaded with ``backend="onnxruntime"`` (``seqgan enhance --backend onnxruntime -m model.onnx``):
numpy in, numpy out, no torch in the model path. The graph's inputs and outputs are described in
:mod:`seqgan.onnx_export`; the metadata (rate, window, pre-emphasis, ...) is read from the file's
``metadata_props``, so the ``.onnx`` file is all that enhancement needs.

A stateful (causal) graph declares its state as inputs ``state_in_<name>`` and outputs
``state_out_<name>``: :meth:`OnnxGenerator.initial_state` gives zeros of the declared shapes and
:meth:`OnnxGenerator.run` takes the state and returns the next one, so a streaming engine carries it from
chunk to chunk. An exported causal model (:mod:`seqgan.onnx_causal`: ``stream`` in its metadata) is
*streamable*: :meth:`OnnxGenerator.open_frame_stream` gives an :class:`OnnxFrameStream`, which feeds the
graph whole hops of samples pushed in chunks of any size, carries its state and drops the samples before
the signal, so that :class:`seqgan.enhance.Enhancer` (files) and
:class:`seqgan.streaming.StreamingEnhancer` (``seqgan enhance --stream``) run it as they run the
PyTorch model, and give the same samples.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from seqgan._optional import require

logger = logging.getLogger(__name__)

__all__ = ["OnnxFrameStream", "OnnxGenerator", "is_onnx_file"]

# frames per graph call when a long block arrives at once (bounds the working memory)
_MAX_FRAMES = 512

STATE_IN, STATE_OUT = "state_in_", "state_out_"


def is_onnx_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an ONNX model (by its ``.onnx`` suffix)."""
    return Path(path).suffix.lower() == ".onnx"


class OnnxGenerator:
    """An exported enhancement graph run by onnxruntime.

    Args:
        path: a ``.onnx`` file written by ``seqgan export --format onnx``.
        threads: onnxruntime intra-op threads (``None``: onnxruntime's default, all cores).
        providers: onnxruntime execution providers (default: CPU).

    Attributes:
        metadata: the decoded ``metadata_props`` (``sample_rate``, ``preemphasis``, ``window``, ...).
        length_multiple: a window must be a multiple of it (1 for a streamable graph, which takes no
            windows: it runs whole hops, ``metadata["length_multiple"]``).
        state_names: the names ``<name>`` of the graph's state inputs / outputs (empty: stateless).
        streamable: an exported causal model (``stream`` metadata, state inputs): run it through
            :meth:`open_frame_stream`.

    Raises:
        seqgan.export.ModelFileError: missing or unreadable file, or one that was not written by seqgan.
        MissingExtraError: onnxruntime is not installed (``pip install 'seqgan[onnx]'``).
    """

    def __init__(
        self, path: str | os.PathLike, threads: int | None = None, providers: list[str] | None = None
    ) -> None:
        from seqgan.export import ModelFileError, decode_metadata

        ort = require("onnxruntime", "onnx")
        p = Path(path)
        if not p.is_file():
            raise ModelFileError(f"{p}: no such model file")
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        try:
            self.session = ort.InferenceSession(
                str(p), options, providers=providers or ["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own exception types for bad files
            raise ModelFileError(f"{p}: not a loadable ONNX model ({type(e).__name__}: {e})") from None
        raw = dict(self.session.get_modelmeta().custom_metadata_map)
        if "architecture" not in raw:
            raise ModelFileError(
                f"{p}: metadata 'architecture' is missing; this ONNX file was not written by "
                "`seqgan export --format onnx`"
            )
        try:
            self.metadata: dict[str, Any] = decode_metadata(raw)
        except json.JSONDecodeError as e:
            raise ModelFileError(f"{p}: corrupt metadata ({e})") from None
        self.path = str(p)
        self.length_multiple = int(self.metadata.get("length_multiple", 1) or 1)
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if not inputs or inputs[0] != "noisy" or not outputs or outputs[0] != "enhanced":
            raise ModelFileError(
                f"{p}: expected the graph's first input 'noisy' and output 'enhanced', got {inputs} -> {outputs}"
            )
        self.state_names = [n[len(STATE_IN) :] for n in inputs if n.startswith(STATE_IN)]
        missing = [n for n in self.state_names if STATE_OUT + n not in outputs]
        if missing:
            raise ModelFileError(
                f"{p}: state inputs without outputs: {', '.join(STATE_OUT + n for n in missing)}"
            )
        self._state_inputs = {i.name: i for i in self.session.get_inputs() if i.name.startswith(STATE_IN)}
        stream = self.metadata.get("stream")
        self.streamable = bool(self.state_names) and isinstance(stream, dict)
        if self.streamable:
            try:
                self.hop, self.delay = int(stream["hop"]), int(stream["delay"])
                self.latency, self.n_fft = int(stream["latency"]), int(stream["n_fft"])
            except (KeyError, TypeError, ValueError) as e:
                raise ModelFileError(
                    f"{p}: metadata 'stream' lacks hop / delay / latency / n_fft ({e})"
                ) from None
            self.length_multiple = 1

    def __call__(self, noisy: np.ndarray) -> np.ndarray:
        """Enhances windows of a stateless graph.

        Args:
            noisy: float32 ``(batch, 1, samples)``.

        Returns:
            float32 ``(batch, 1, samples)``.
        """
        if self.state_names:
            raise RuntimeError(
                f"{self.path} carries state ({', '.join(self.state_names)}); run it with run(noisy, state)"
            )
        return self.session.run(["enhanced"], {"noisy": np.ascontiguousarray(noisy, dtype=np.float32)})[0]

    def initial_state(self, batch: int = 1) -> dict[str, np.ndarray]:
        """Zeros of each state input's declared shape (a symbolic first dimension is ``batch``)."""
        state = {}
        for name in self.state_names:
            shape = self._state_inputs[STATE_IN + name].shape
            dims = [d if isinstance(d, int) else (batch if k == 0 else 1) for k, d in enumerate(shape)]
            state[name] = np.zeros(dims, dtype=np.float32)
        return state

    def run(
        self, noisy: np.ndarray, state: dict[str, np.ndarray] | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One call of a stateful (or stateless) graph: ``(enhanced, next state)``.

        Args:
            noisy: float32 ``(batch, 1, samples)``.
            state: the previous call's state (default: :meth:`initial_state`).
        """
        state = self.initial_state(noisy.shape[0]) if state is None else state
        feeds = {"noisy": np.ascontiguousarray(noisy, dtype=np.float32)}
        feeds.update({STATE_IN + k: v for k, v in state.items()})
        names = ["enhanced", *(STATE_OUT + n for n in self.state_names)]
        out = self.session.run(names, feeds)
        return out[0], dict(zip(self.state_names, out[1:]))

    def open_frame_stream(self) -> OnnxFrameStream:
        """A fresh :class:`OnnxFrameStream` over this (streamable) graph, from a zero state."""
        if not self.streamable:
            raise RuntimeError(f"{self.path} is not a streaming graph (no 'stream' metadata and state)")
        return OnnxFrameStream(self)

    def __repr__(self) -> str:
        return f"OnnxGenerator({self.path!r}, architecture={self.metadata.get('architecture')!r})"


class OnnxFrameStream:
    """Runs a streaming step graph on samples pushed in chunks of any size (numpy, no torch).

    The graph takes whole hops: a push keeps the incomplete hop for the next one and runs the complete
    ones (at most 512 frames per call); the graph's first ``delay`` output samples lie before the signal
    and are dropped, so the outputs concatenated equal the model's offline output sample for sample.
    :meth:`flush` feeds zeros up to the last frame holding a real sample and cuts the output at the input's
    length. Channels are independent (the graph's batch).

    Args:
        generator: a streamable :class:`OnnxGenerator`.

    Shapes:
        ``push(block: (channels, n)) -> (channels, m)``; ``flush() -> (channels, rest)``; float32.
    """

    def __init__(self, generator: OnnxGenerator) -> None:
        self.generator = generator
        self.hop, self.delay = generator.hop, generator.delay
        self._in: np.ndarray | None = None  # input not yet run (less than a hop after each push)
        self._state: dict[str, np.ndarray] | None = None
        self._frames = 0  # frames run
        self._total = 0  # real samples pushed
        self._emitted = 0  # real samples returned

    @property
    def latency(self) -> int:
        """Algorithmic latency in samples: an output waits for at most ``latency - 1`` later inputs."""
        return self.generator.latency

    def push(self, block: np.ndarray) -> np.ndarray:
        """Takes ``(C, n)`` samples; returns the ``(C, m)`` output samples now final."""
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 2:
            raise ValueError(f"OnnxFrameStream.push: expected (channels, samples), got {block.shape}")
        if self._in is None:
            self._in = np.zeros((block.shape[0], 0), np.float32)
            self._state = self.generator.initial_state(block.shape[0])
        elif block.shape[0] != self._in.shape[0]:
            raise ValueError(f"OnnxFrameStream.push: {block.shape[0]} channels after {self._in.shape[0]}")
        self._in = np.concatenate([self._in, block], axis=-1)
        self._total += block.shape[-1]
        return self._run(self._in.shape[-1] // self.hop)

    def flush(self) -> np.ndarray:
        """Zero-pads the end, runs the frames covering the last samples and returns the rest of the output."""
        if self._in is None:
            raise RuntimeError("flush() before any push()")
        if self._total == 0:
            return self._in[:, :0]
        frames = (self._total - 1 + self.delay) // self.hop + 1  # the last frame holding a real sample
        need = (frames - self._frames) * self.hop
        self._in = np.pad(self._in, ((0, 0), (0, max(0, need - self._in.shape[-1]))))
        return self._run(frames - self._frames)  # cut at the input's length

    def _run(self, frames: int) -> np.ndarray:
        assert self._in is not None and self._state is not None
        parts = []
        for start in range(0, frames, _MAX_FRAMES):
            k = min(_MAX_FRAMES, frames - start)
            x = self._in[:, None, : k * self.hop]
            y, self._state = self.generator.run(x, self._state)
            if not np.isfinite(y).all():
                raise RuntimeError(
                    "the model produced non-finite output (NaN or Inf); are the weights broken?"
                )
            parts.append(y[:, 0])
            self._in = self._in[:, k * self.hop :]
            self._frames += k
        out = np.concatenate(parts, axis=-1) if parts else self._in[:, :0]
        before = self._frames * self.hop - out.shape[-1]  # graph output samples returned by earlier calls
        out = out[:, max(0, self.delay - before) :]
        out = out[:, : max(0, self._total - self._emitted)]
        self._emitted += out.shape[-1]
        return out
