"""What the ONNX exports share (:mod:`seqgan.onnx_export` for the offline graphs, :mod:`seqgan.onnx_causal`
for the causal streaming step): the format tag, the opset, the error, the DFT as convolution kernels, the
tracer call and the metadata writer."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from seqgan._optional import require

__all__ = [
    "FORMAT",
    "OPSET",
    "OnnxExportError",
    "compress",
    "decompress",
    "magnitude",
    "dft_bases",
    "noisy_phase",
    "trace_graph",
    "write_metadata",
]

FORMAT = "seqgan-onnx-1"
OPSET = 17
_EPS = 1e-12  # seqgan.models.stft.magnitude's floor under the square root


class OnnxExportError(RuntimeError):
    """The module cannot be exported, or the exported graph disagrees with PyTorch."""


def dft_bases(window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The windowed onesided DFT as convolution kernels, for a frame-sized ``window: (n_fft,)``.

    Returns:
        ``(analysis, synthesis)``, float32, each ``(2 * bins, 1, n_fft)``: ``conv1d`` with ``analysis``
        gives the real parts (first ``bins`` channels) and imaginary parts of ``rfft(frame * window)``;
        ``conv_transpose1d`` of those ``2 * bins`` channels with ``synthesis`` overlap-adds
        ``irfft(spectrum) * window``.
    """
    window = window.double()
    n = window.numel()
    bins = n // 2 + 1
    k = torch.arange(bins, dtype=torch.float64)[:, None]
    t = torch.arange(n, dtype=torch.float64)[None, :]
    angle = 2 * math.pi * k * t / n
    analysis = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window  # (2 bins, n)
    # onesided inverse DFT: bins 1 .. n/2 - 1 count twice; the imaginary parts of DC and Nyquist drop
    weight = torch.full((bins, 1), 2.0, dtype=torch.float64)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0
    synthesis = torch.cat([weight * torch.cos(angle), -weight * torch.sin(angle)]) / n * window
    return analysis.float().unsqueeze(1), synthesis.float().unsqueeze(1)


def _encode(metadata: Mapping[str, Any]) -> dict[str, str]:
    from seqgan.export import encode_metadata

    return encode_metadata(metadata)


def write_metadata(path: str | os.PathLike, meta: Mapping[str, Any]) -> None:
    """Replaces the ``metadata_props`` of the ONNX file at ``path`` by ``meta`` (encoded as strings)."""
    onnx = require("onnx", "onnx")
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in sorted(_encode(meta).items()):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def trace_graph(
    graph: nn.Module,
    example: tuple[torch.Tensor, ...],
    dst: str,
    inputs: list[str] | None = None,
    outputs: list[str] | None = None,
    axes: dict[str, dict[int, str]] | None = None,
) -> None:
    """``torch.onnx.export`` through the TorchScript tracer (the one that handles these models' LSTM,
    relative attention and dynamic lengths); default: ``noisy -> enhanced``, batch and time dynamic."""
    import warnings

    if axes is None:
        axes = {"noisy": {0: "batch", 2: "samples"}, "enhanced": {0: "batch", 2: "samples"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation notes; the output is checked instead
        try:
            torch.onnx.export(
                graph,
                example,
                dst,
                input_names=inputs or ["noisy"],
                output_names=outputs or ["enhanced"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        except Exception as e:  # the exporter raises many kinds; one line says which op failed
            raise OnnxExportError(f"torch.onnx.export failed: {type(e).__name__}: {e}") from None


# seqgan.models.metricgan's compress_magnitude / decompress_magnitude with ops ONNX has (no Log1p, no Expm1)
def compress(generator: nn.Module, mag: torch.Tensor) -> torch.Tensor:
    """The MetricGAN generator's input features from magnitudes ``mag``, as its ``compression`` says."""
    if generator.compression == "power":
        return mag.clamp_min(0).pow(generator.exponent)
    if generator.compression == "log1p":
        return torch.log(mag + 1.0)
    return mag


def decompress(generator: nn.Module, comp: torch.Tensor) -> torch.Tensor:
    """Magnitudes back from masked features ``comp`` (the inverse of :func:`compress`)."""
    if generator.compression == "power":
        return comp.clamp_min(0).pow(1.0 / generator.exponent)
    if generator.compression == "log1p":
        return torch.exp(comp.clamp_min(0)) - 1.0
    return comp


def magnitude(re: torch.Tensor, im: torch.Tensor) -> torch.Tensor:
    """``|re + i im|`` with the floor of :func:`seqgan.models.stft.magnitude`."""
    return torch.sqrt(re * re + im * im + _EPS)


def noisy_phase(re: torch.Tensor, im: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos, sin)`` of the noisy spectrum's phase, with angle(0) = 0 (for ``polar(magnitude, phase)``)."""
    plain = torch.sqrt(re * re + im * im)
    safe = torch.where(plain > 0, plain, torch.ones_like(plain))
    return torch.where(plain > 0, re / safe, torch.ones_like(re)), im / safe
