"""The onnxruntime backend: an exported ``.onnx`` enhancement graph as a ``frames -> frames`` callable.

:class:`OnnxGenerator` is what :class:`seqgan.enhance.Enhancer` calls in place of a PyTorch module when
it is loaded with ``backend="onnxruntime"`` (``seqgan enhance --backend onnxruntime -m model.onnx``):
numpy in, numpy out, no torch in the model path. The graph's inputs and outputs are described in
:mod:`seqgan.onnx_export`; the metadata (rate, window, pre-emphasis, ...) is read from the file's
``metadata_props``, so the ``.onnx`` file is all that enhancement needs.

A stateful (causal) graph declares its state as inputs ``state_in_<name>`` and outputs
``state_out_<name>``: :meth:`OnnxGenerator.initial_state` gives zeros of the declared shapes and
:meth:`OnnxGenerator.run` takes the state and returns the next one, so a streaming engine carries it from
chunk to chunk.
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

__all__ = ["OnnxGenerator", "is_onnx_file"]

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
        length_multiple: the window must be a multiple of it.
        state_names: the names ``<name>`` of the graph's state inputs / outputs (empty: stateless).

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

    def __repr__(self) -> str:
        return f"OnnxGenerator({self.path!r}, architecture={self.metadata.get('architecture')!r})"
