"""ONNX export of the causal enhancer: one streaming step, its whole state as inputs and outputs.

``seqgan export --format onnx`` of a causal model (:class:`~seqgan.models.causal.CausalMetricGANGenerator`,
presets ``metricgan_causal`` and ``metricgan_causal_small``) goes through :func:`export_causal_onnx`: the
graph runs **one block of new samples** — any whole number ``k >= 1`` of hops — from the state the
previous block left, and returns the enhanced samples that are final and the next state. Streaming is
then a loop that feeds hops of input as they arrive (:class:`seqgan.onnx_backend.OnnxFrameStream`, under
``seqgan enhance --backend onnxruntime`` with or without ``--stream``); no framing or overlap-add is
left outside the graph.

The step graph (``P = n_fft - hop``, ``H`` LSTM units, ``L`` layers; every tensor float32, ``batch``
dynamic, the state's first dimension is always ``batch``)
-------------------------------------------------------------------------------------------------------

===================== ===================== ==========================================================
name                  shape                 meaning
===================== ===================== ==========================================================
noisy                 ``(batch, 1, k·hop)`` the next ``k·hop`` input samples (pre-emphasised, model rate)
state_in_frame        ``(batch, P)``        the last ``P`` input samples before them (the start of the
                                            next frame); zeros at the signal's start
state_in_overlap      ``(batch, P)``        overlap-add sums of the windowed output frames already run
                                            over the next ``P`` output positions (not yet normalised)
state_in_h<l>         ``(batch, H)``        LSTM layer ``l``'s hidden state after the last frame
state_in_c<l>         ``(batch, H)``        LSTM layer ``l``'s cell state after the last frame
enhanced              ``(batch, 1, k·hop)`` output samples now final; the stream's first ``P`` output
                                            samples lie before the signal (drop them)
state_out_<name>      as ``state_in_<name>`` the state after these ``k`` frames, to feed to the next call
===================== ===================== ==========================================================

Inputs come in the order above, layers ``0 .. L - 1`` (``h0 .. h<L-1>`` then ``c0 .. c<L-1>``). From a
zero state, the graph's output sample ``i`` is the enhanced input sample ``i - P``: feeding the signal
followed by zeros up to frame ``(T - 1 + P) // hop`` and dropping the first ``P`` outputs gives
``module(noisy)`` of the whole signal (float rounding; the check below and the tests measure it). An
output sample waits for at most ``n_fft - 1`` later inputs (the algorithmic latency, ``n_fft``).

Metadata (``metadata_props``, as for the offline graphs of :mod:`seqgan.onnx_export`): the model's header
(``architecture``, ``hparams``, ``sample_rate``, ``preemphasis``, ``window`` (the training window; a
stream uses none), ``step``, ...), ``format``, ``length_multiple`` (``hop``: ``noisy`` holds whole
hops), ``inputs`` / ``outputs`` (the names, in order) and ``stream``: ``hop``, ``n_fft``, ``win_length``,
``window``, ``latency`` (``n_fft``), ``delay`` (``P``, the output samples before the signal) and
``state`` (each state's name and shape, ``"batch"`` for the dynamic dimension).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqgan import __version__
from seqgan._optional import require
from seqgan.atomic import AtomicFile
from seqgan.onnx_common import (
    FORMAT,
    OnnxExportError,
    compress,
    decompress,
    dft_bases,
    magnitude,
    noisy_phase,
    trace_graph,
    write_metadata,
)

logger = logging.getLogger(__name__)

__all__ = ["CAUSAL_GRAPHS", "CausalStepGraph", "check_causal_onnx", "export_causal_onnx", "state_shapes"]


def state_shapes(module: nn.Module) -> dict[str, list[int | str]]:
    """The step graph's state names (in input order) and shapes, ``"batch"`` for the dynamic dimension."""
    pad = int(module.stft.n_fft - module.stft.hop_length)
    shapes: dict[str, list[int | str]] = {"frame": ["batch", pad], "overlap": ["batch", pad]}
    for kind in ("h", "c"):
        for layer in range(int(module.num_layers)):
            shapes[f"{kind}{layer}"] = ["batch", int(module.hidden_size)]
    return shapes


class CausalStepGraph(nn.Module):
    """One streaming step of :class:`~seqgan.models.causal.CausalMetricGANGenerator` in real arithmetic.

    The frames are a strided convolution of the carried ``P`` samples and the new ones with the windowed
    DFT basis; the synthesis a transposed convolution, added to the carried overlap-add sums and divided
    by the squared-window envelope (:class:`~seqgan.models.causal.CausalSTFT`'s inverse, block by block).

    Args:
        generator: the causal generator (eval mode; its weights are shared, not copied).

    Shapes:
        ``forward(noisy: (batch, 1, k·hop), frame, overlap, h0 .. h<L-1>, c0 .. c<L-1>)`` ->
        ``(enhanced: (batch, 1, k·hop), frame, overlap, h0 .., c0 ..)``, the state as in the module
        docstring.
    """

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        stft = generator.stft
        self.generator = generator
        self.n_fft, self.hop = int(stft.n_fft), int(stft.hop_length)
        self.pad, self.layers = self.n_fft - self.hop, int(generator.num_layers)
        analysis, synthesis = dft_bases(stft.window.detach().cpu())
        self.register_buffer("analysis", analysis, persistent=False)
        self.register_buffer("synthesis", synthesis, persistent=False)
        self.register_buffer("envelope", stft.envelope.detach().cpu().float(), persistent=False)

    def forward(self, noisy: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        g, pad, hop = self.generator, self.pad, self.hop
        frame, overlap, lstm = state[0], state[1], state[2:]
        x = torch.cat([frame, noisy[:, 0]], dim=1)  # (batch, P + k·hop): padded samples of frames t..t+k-1
        re, im = F.conv1d(x.unsqueeze(1), self.analysis, stride=hop).chunk(2, dim=1)  # (batch, bins, k)
        mag = magnitude(re, im)
        feats = compress(g, mag).transpose(1, 2)  # (batch, k, bins)
        h0 = torch.stack(lstm[: self.layers])  # (L, batch, H)
        c0 = torch.stack(lstm[self.layers :])
        h, (hn, cn) = g.lstm(feats, (h0, c0))
        out = decompress(g, feats * g.activation(g.out(g.fc(h))).clamp_min(g.min_mask)).transpose(1, 2)
        cos, sin = noisy_phase(re, im)  # polar(out, angle(spec))
        spec = torch.cat([out * cos, out * sin], dim=1)
        acc = F.conv_transpose1d(spec, self.synthesis, stride=hop)[:, 0]  # (batch, k·hop + P)
        acc = torch.cat([acc[:, :pad] + overlap, acc[:, pad:]], dim=1)
        done = acc[:, :-pad]  # positions no later frame touches
        enhanced = (done.reshape(done.shape[0], -1, hop) / self.envelope).reshape(done.shape[0], 1, -1)
        return (enhanced, x[:, -pad:], acc[:, -pad:], *hn.unbind(0), *cn.unbind(0))


# architecture name (seqgan.models.MODELS) -> its streaming step graph
CAUSAL_GRAPHS = {"CausalMetricGANGenerator": CausalStepGraph}


def _step_graph(module: nn.Module) -> CausalStepGraph:
    from seqgan.export import architecture_name

    name = architecture_name(module)
    stft = getattr(module, "stft", None)
    if name not in CAUSAL_GRAPHS or stft is None:
        raise OnnxExportError(f"{name} is not a causal model; exportable: {', '.join(sorted(CAUSAL_GRAPHS))}")
    if stft.hop_length >= stft.n_fft:
        raise OnnxExportError(
            f"{name} with hop_length {stft.hop_length} = n_fft {stft.n_fft} carries no frame overlap; "
            "the streaming graph needs hop_length < n_fft"
        )
    if getattr(module, "mask_type", "magnitude") != "magnitude":
        raise OnnxExportError(f"{name} with mask_type '{module.mask_type}' cannot be exported to ONNX yet")
    return CAUSAL_GRAPHS[name](module.eval()).eval()


def export_causal_onnx(
    module: nn.Module,
    path: str | os.PathLike,
    window: int,
    check: bool = True,
    atol: float = 1e-4,
    **metadata: Any,
) -> dict[str, Any]:
    """Writes the streaming step graph of a causal generator with its metadata, checked with onnxruntime.

    Args:
        module: a causal generator (:data:`CAUSAL_GRAPHS` lists the architectures).
        path: the ``.onnx`` file to write (atomically).
        window: samples of the random signal the check streams (the training window; the graph takes
            any whole number of hops).
        check: run :func:`check_causal_onnx` before the file is renamed into place.
        atol: the largest absolute difference from PyTorch's offline output that ``check`` accepts.
        **metadata: header entries (``sample_rate``, ``preemphasis``, ``step``, ...).

    Returns:
        The metadata written, with ``max_abs_diff`` (the check's figure) when ``check``.

    Raises:
        OnnxExportError: not a causal model the graph handles, the exporter failed, or the graph disagrees
            with PyTorch by more than ``atol``.
        MissingExtraError: ``onnx`` / ``onnxruntime`` are not installed (``seqgan[onnx]``).
    """
    from seqgan.export import architecture_name

    require("onnx", "onnx")
    graph = _step_graph(module)
    shapes = state_shapes(module)
    inputs = ["noisy", *(f"state_in_{n}" for n in shapes)]
    outputs = ["enhanced", *(f"state_out_{n}" for n in shapes)]
    stft = module.stft
    meta: dict[str, Any] = dict(metadata)
    meta.update(
        architecture=architecture_name(module),
        hparams=dict(getattr(module, "hparams", {}) or {}),
        seqgan_version=__version__,
        format=FORMAT,
        length_multiple=graph.hop,
        window=int(window),
        inputs=inputs,
        outputs=outputs,
        stream={
            "hop": graph.hop,
            "n_fft": graph.n_fft,
            "win_length": int(stft.win_length),
            "window": str(stft.window_name),
            "latency": int(module.latency),
            "delay": graph.pad,
            "state": shapes,
        },
    )
    gen = torch.Generator().manual_seed(0)
    example = (
        0.1 * torch.randn(2, 1, 3 * graph.hop, generator=gen),
        *(torch.zeros(2, int(shape[1])) for shape in shapes.values()),
    )
    axes = {"noisy": {0: "batch", 2: "samples"}, "enhanced": {0: "batch", 2: "samples"}}
    axes.update({name: {0: "batch"} for name in (*inputs[1:], *outputs[1:])})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with AtomicFile(path, ".part") as out:
        trace_graph(graph, example, str(out.tmp), inputs, outputs, axes)
        write_metadata(out.tmp, meta)
        if check:
            diff = check_causal_onnx(module, out.tmp, window)
            if not diff <= atol:
                raise OnnxExportError(
                    f"{path}: the streamed onnxruntime output differs from PyTorch's by {diff:.3g} "
                    f"(> {atol:g}); the graph was not written"
                )
            meta["max_abs_diff"] = diff
            logger.info("%s: onnxruntime, streamed, agrees with PyTorch within %.3g", path, diff)
    return meta


def check_causal_onnx(
    module: nn.Module, path: str | os.PathLike, window: int, batch: int = 2, seed: int = 0
) -> float:
    """Largest absolute difference between the step graph streamed by onnxruntime and ``module(noisy)``.

    A seeded random ``(batch, 1, window)`` signal (white noise at -20 dBFS) is pushed through
    :class:`seqgan.onnx_backend.OnnxFrameStream` in uneven chunks (so the graph runs blocks of several
    sizes, one hop included, with the state fed back) and compared with PyTorch's offline ``forward``.
    """
    from seqgan.onnx_backend import OnnxGenerator

    rng = np.random.default_rng(seed)
    x = (0.1 * rng.standard_normal((batch, int(window)))).astype(np.float32)
    with torch.no_grad():
        ref = module.eval()(torch.from_numpy(x).unsqueeze(1))[:, 0].numpy()
    stream = OnnxGenerator(path, threads=1).open_frame_stream()
    hop = int(module.stft.hop_length)
    sizes, outs, i, k = [3 * hop + 37, 1, hop, 5 * hop - 11], [], 0, 0
    while i < x.shape[-1]:
        outs.append(stream.push(x[:, i : i + sizes[k % len(sizes)]]))
        i, k = i + sizes[k % len(sizes)], k + 1
    out = np.concatenate([*outs, stream.flush()], axis=-1)
    if out.shape != ref.shape:
        return float("inf")
    return float(np.abs(out - ref).max())
