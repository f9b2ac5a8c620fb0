"""ONNX export of the enhancement generators, checked with onnxruntime.

``seqgan export --format onnx`` (:func:`export_onnx`) writes one ``.onnx`` file that
:class:`seqgan.onnx_backend.OnnxGenerator` (``seqgan enhance --backend onnxruntime``) runs without torch.

The exported graph
------------------

======== ======================== =================================================================
name     type, shape              meaning
======== ======================== =================================================================
noisy    float32 ``(batch, 1, T)`` windows of the pre-emphasised noisy waveform at the model's rate
enhanced float32 ``(batch, 1, T)`` the enhanced windows (the same samples the PyTorch module returns)
======== ======================== =================================================================

``batch`` is dynamic; ``T`` is dynamic too (any multiple of ``length_multiple`` for SEGAN, at least
``n_fft // 2 + 1`` samples for the spectral models), and the Enhancer feeds the trained ``window``.
A latent ``z`` (SEGAN) is zero, as in PyTorch's eval mode. A causal generator (``metricgan_causal*``) is
exported as its streaming step instead, with its state as explicit inputs ``state_in_<name>`` and outputs
``state_out_<name>`` (:mod:`seqgan.onnx_causal` describes that graph;
:class:`seqgan.onnx_backend.OnnxGenerator` passes the state from call to call).

The graph is real-valued: the spectral models' ``torch.stft`` / ``torch.istft`` and their complex
arithmetic are rewritten by :class:`ConvSTFT` (a convolution with the windowed DFT basis, and a
transposed convolution divided by the summed squared window) and the family wrappers below, which
compute what the module's ``forward`` computes (tested equal within 1e-4, and the export checks it).

Metadata travels in the file's ``metadata_props`` (strings; the non-string values JSON-encoded and
listed under ``json_keys``, as in the ``.safetensors`` export): ``architecture``, ``hparams``,
``seqgan_version``, ``sample_rate``, ``preemphasis``, ``window``, ``step``, ..., plus ``format``
(``seqgan-onnx-1``), ``length_multiple``, ``inputs`` / ``outputs`` (the names above) and, for the
spectral models, ``stft`` (``n_fft``, ``hop_length``, ``win_length``, ``window``: the cells of
``--atten-lim-db``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqgan import __version__
from seqgan._optional import require
from seqgan.atomic import AtomicFile
from seqgan.models.stft import STFT, make_window
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
from seqgan.strength import stft_geometry

logger = logging.getLogger(__name__)

__all__ = [
    "FORMAT",
    "ConvSTFT",
    "OnnxExportError",
    "check_onnx",
    "dft_bases",
    "export_onnx",
    "onnx_graph",
    "stft_geometry",
    "write_metadata",
]


class ConvSTFT(nn.Module):
    """:class:`seqgan.models.stft.STFT` as real convolutions: the same spectra and exact-length inverse.

    Analysis is ``conv1d`` of the reflect-padded signal (``center=True``) with ``2 * bins`` kernels, the
    window times ``cos`` and ``-sin`` of the DFT; synthesis is the onesided inverse DFT times the window as
    a ``conv_transpose1d``, divided by the overlap-added squared window (what ``torch.istft`` does), the
    ``n_fft // 2`` padding cut off.

    Args:
        stft: the module's front end (its FFT size, hop, window length and window).

    Shapes:
        ``forward(x: (batch, 1, samples)) -> (re, im)`` each ``(batch, bins, frames)``;
        ``inverse(re, im, length) -> (batch, 1, length)``.
    """

    def __init__(self, stft: STFT) -> None:
        super().__init__()
        n, self.hop, self.pad_mode = stft.n_fft, stft.hop_length, stft.pad_mode
        self.n_fft = n
        window = torch.zeros(n, dtype=torch.float64)
        left = (n - stft.win_length) // 2  # torch.stft centres a shorter window in the frame
        window[left : left + stft.win_length] = make_window(stft.window_name, stft.win_length).double()
        analysis, synthesis = dft_bases(window)
        self.register_buffer("analysis", analysis, persistent=False)
        self.register_buffer("synthesis", synthesis, persistent=False)
        self.register_buffer("window_sq", window.square().float().view(1, 1, n), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x: (batch, 1, samples)`` -> real and imaginary parts ``(batch, bins, frames)``."""
        half = self.n_fft // 2
        spec = F.conv1d(F.pad(x, (half, half), mode=self.pad_mode), self.analysis, stride=self.hop)
        re, im = spec.chunk(2, dim=1)
        return re, im

    def inverse(self, re: torch.Tensor, im: torch.Tensor, length: int | torch.Tensor) -> torch.Tensor:
        """Waveform ``(batch, 1, length)`` of the spectrum ``re + i·im``, each ``(batch, bins, frames)``."""
        frames = torch.cat([re, im], dim=1)
        wave = F.conv_transpose1d(frames, self.synthesis, stride=self.hop)
        ones = torch.ones_like(frames[:1, :1])
        envelope = F.conv_transpose1d(ones, self.window_sq, stride=self.hop)
        half = self.n_fft // 2
        wave = wave / envelope.clamp_min(1e-11)
        return wave[..., half : half + length]


class _WaveformGraph(nn.Module):
    """A waveform generator as it is (SEGAN: the latent is zero, as in PyTorch's eval mode)."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        return self.generator(noisy)


class _MetricGANGraph(nn.Module):
    """:class:`~seqgan.models.metricgan.MetricGANGenerator` ``forward`` in real arithmetic."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.stft = ConvSTFT(generator.stft)

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        g = self.generator
        re, im = self.stft(noisy)
        mag = magnitude(re, im)
        feats = compress(g, mag).transpose(1, 2)
        h, _ = g.lstm(feats)
        out = decompress(g, feats * g.activation(g.out(g.fc(h))).clamp_min(g.min_mask)).transpose(1, 2)
        cos, sin = noisy_phase(re, im)  # polar(out, angle(spec))
        return self.stft.inverse(out * cos, out * sin, noisy.shape[-1])


class _CMGANGraph(nn.Module):
    """:class:`~seqgan.models.cmgan.CMGANGenerator` ``forward`` in real arithmetic."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.stft = ConvSTFT(generator.stft)

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        g = self.generator
        p = g.exponent
        scale = g.input_scale(noisy)
        re, im = self.stft(noisy * scale)
        mag = magnitude(re, im)
        factor = mag.clamp_min(0).pow(p) / mag  # compress_spectrum: |X| ** p, phase kept
        re, im = (re * factor).transpose(1, 2), (im * factor).transpose(1, 2)  # (batch, frames, bins)
        h = g.encoder(torch.stack([magnitude(re, im), re, im], dim=1))
        for block in g.blocks:
            h = block(h)
        mask = g.mask_decoder(h).squeeze(1)
        residual = g.complex_decoder(h)
        re = (re * mask + residual[:, 0]).transpose(1, 2)
        im = (im * mask + residual[:, 1]).transpose(1, 2)
        mag = magnitude(re, im)
        factor = mag.clamp_min(0).pow(1.0 / p) / mag  # decompress_spectrum
        return self.stft.inverse(re * factor, im * factor, noisy.shape[-1]) / scale


# architecture name (seqgan.models.MODELS) -> the real-valued graph of its generator
GRAPHS: dict[str, Callable[[nn.Module], nn.Module]] = {
    "SEGANGenerator": _WaveformGraph,
    "MetricGANGenerator": _MetricGANGraph,
    "CMGANGenerator": _CMGANGraph,
}


def onnx_graph(module: nn.Module) -> nn.Module:
    """The exportable (real-valued) module that computes ``module(noisy)``, in eval mode.

    Raises:
        OnnxExportError: no graph is known for the module's architecture.
    """
    from seqgan.export import architecture_name
    from seqgan.onnx_causal import CAUSAL_GRAPHS

    name = architecture_name(module)
    if name in CAUSAL_GRAPHS:
        raise OnnxExportError(f"{name} is causal: export it with seqgan.onnx_causal.export_causal_onnx")
    if name not in GRAPHS:
        exportable = ", ".join(sorted({*GRAPHS, *CAUSAL_GRAPHS}))
        raise OnnxExportError(f"{name} cannot be exported to ONNX; exportable: {exportable}")
    if getattr(module, "mask_type", "magnitude") != "magnitude":  # the graph has the published mask only
        raise OnnxExportError(f"{name} with mask_type '{module.mask_type}' cannot be exported to ONNX yet")
    return GRAPHS[name](module.eval()).eval()


def export_onnx(
    module: nn.Module,
    path: str | os.PathLike,
    window: int,
    check: bool = True,
    atol: float = 1e-4,
    **metadata: Any,
) -> dict[str, Any]:
    """Writes ``module`` as an ONNX graph with its metadata, atomically, and checks it with onnxruntime.

    A causal generator (``seqgan.onnx_causal.CAUSAL_GRAPHS``) is written as its streaming step graph, with
    its state as inputs and outputs (:func:`seqgan.onnx_causal.export_causal_onnx`).

    Args:
        module: a registered enhancement generator (``GRAPHS`` and ``CAUSAL_GRAPHS`` list the exportable
            architectures).
        path: the ``.onnx`` file to write.
        window: samples per window (``T`` of the example input; the graph takes any ``T``).
        check: run :func:`check_onnx` on random input before the file is renamed into place.
        atol: the largest absolute difference from PyTorch that ``check`` accepts.
        **metadata: header entries (``sample_rate``, ``preemphasis``, ``window``, ``step``, ...).

    Returns:
        The metadata written, with ``max_abs_diff`` (the check's figure) when ``check``.

    Raises:
        OnnxExportError: not exportable, or the graph disagrees with PyTorch by more than ``atol``.
        MissingExtraError: ``onnx`` / ``onnxruntime`` are not installed (``seqgan[onnx]``).
    """
    from seqgan.export import architecture_name
    from seqgan.onnx_causal import CAUSAL_GRAPHS, export_causal_onnx

    if architecture_name(module) in CAUSAL_GRAPHS:
        return export_causal_onnx(module, path, window, check=check, atol=atol, **metadata)
    require("onnx", "onnx")
    graph = onnx_graph(module)
    name = architecture_name(module)
    multiple = int(getattr(module, "length_multiple", 1) or 1)
    meta: dict[str, Any] = dict(metadata)
    meta.update(
        architecture=name,
        hparams=dict(getattr(module, "hparams", {}) or {}),
        seqgan_version=__version__,
        format=FORMAT,
        length_multiple=multiple,
        window=int(window),
        inputs=["noisy"],
        outputs=["enhanced"],
    )
    geometry = stft_geometry(module)
    if geometry is not None:
        meta["stft"] = geometry
    example = torch.randn(2, 1, int(window), generator=torch.Generator().manual_seed(0)) * 0.1
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with AtomicFile(path, ".part") as out:
        trace_graph(graph, (example,), str(out.tmp))
        write_metadata(out.tmp, meta)
        if check:
            diff = check_onnx(module, out.tmp, window)
            if not diff <= atol:
                raise OnnxExportError(
                    f"{path}: onnxruntime's output differs from PyTorch's by {diff:.3g} (> {atol:g}); "
                    "the graph was not written"
                )
            meta["max_abs_diff"] = diff
            logger.info("%s: onnxruntime agrees with PyTorch within %.3g", path, diff)
    return meta


def check_onnx(
    module: nn.Module, path: str | os.PathLike, window: int, batch: int = 2, seed: int = 0
) -> float:
    """Largest absolute difference between onnxruntime and PyTorch on random ``(batch, 1, window)`` input.

    The input is white noise at -20 dBFS (seeded); ``module`` runs in eval mode without gradients.
    """
    from seqgan.onnx_backend import OnnxGenerator

    rng = np.random.default_rng(seed)
    x = (0.1 * rng.standard_normal((batch, 1, int(window)))).astype(np.float32)
    with torch.no_grad():
        ref = module.eval()(torch.from_numpy(x)).numpy()
    out = OnnxGenerator(path, threads=1)(x)
    return float(np.abs(out - ref).max())
