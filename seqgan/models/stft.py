"""The one STFT front end of every spectral model: analysis, exact-length synthesis, compression.

:class:`STFT` wraps ``torch.stft`` / ``torch.istft`` with a periodic window and ``center=True``, so a
signal of any length ``T`` gives ``T // hop + 1`` frames and :meth:`STFT.inverse` given ``length=T``
returns exactly ``T`` samples; for a window that satisfies the NOLA condition (Hann, Hamming, ... at
the hops used here) ``inverse(forward(x), T) == x`` to float rounding.

The helpers work on complex spectra ``(batch, bins, frames)``:

* :func:`magnitude` — ``|X|`` with a small floor under the square root (finite gradients at 0);
* :func:`compress_magnitude` / :func:`decompress_magnitude` — ``log1p`` or power-law compression
  (CMGAN: exponent 0.3) and its inverse;
* :func:`compress_spectrum` / :func:`decompress_spectrum` — the same on a complex spectrum, phase kept;
* :func:`with_phase` — a magnitude combined with the phase of another spectrum (noisy phase).

Analysis parameters used by the presets: MetricGAN+ ``STFT(512, 256, window="hamming")`` (257 bins,
32 ms / 16 ms at 16 kHz), CMGAN ``STFT(400, 100, window="hamming")`` (201 bins), UnivNet's
multi-resolution discriminator ``(1024, 120, 600)``, ``(2048, 240, 1200)``, ``(512, 50, 240)`` (Hann).
"""

from __future__ import annotations

import torch
from torch import nn

WINDOWS = ("hann", "hamming", "rect")
COMPRESSIONS = ("none", "log1p", "power")

_EPS = 1e-12


def make_window(name: str, length: int) -> torch.Tensor:
    """A periodic analysis window of ``length`` samples by name (``hann``, ``hamming``, ``rect``)."""
    if name == "hann":
        return torch.hann_window(length, periodic=True)
    if name == "hamming":
        return torch.hamming_window(length, periodic=True)
    if name == "rect":
        return torch.ones(length)
    raise ValueError(f"unknown STFT window '{name}'; choose from: {', '.join(WINDOWS)}")


class STFT(nn.Module):
    """Short-time Fourier transform and its exact-length inverse (``center=True``, periodic window).

    The window is a non-persistent buffer: it follows ``.to(device)`` but is not saved in state dicts.
    Inputs shorter than ``n_fft // 2 + 1`` samples cannot be reflect-padded; they are zero-padded
    instead (the inverse still returns them exactly).

    Args:
        n_fft: FFT size; ``n_fft // 2 + 1`` frequency bins.
        hop_length: frame step in samples.
        win_length: window length (``<= n_fft``, centred in the frame); default ``n_fft``.
        window: ``"hann"``, ``"hamming"`` or ``"rect"``.
        pad_mode: ``torch.stft`` padding of the signal ends (``"reflect"`` or ``"constant"``).

    Shapes:
        ``forward(x: (batch, 1, samples) or (batch, samples)) -> (batch, bins, frames)`` complex;
        ``inverse(spec: (batch, bins, frames), length) -> (batch, 1, length)``.
    """

    def __init__(
        self,
        n_fft: int,
        hop_length: int,
        win_length: int | None = None,
        window: str = "hann",
        pad_mode: str = "reflect",
    ) -> None:
        super().__init__()
        win_length = int(win_length or n_fft)
        if not 1 <= hop_length <= win_length <= n_fft:
            raise ValueError(
                f"STFT: need 1 <= hop_length <= win_length <= n_fft, got hop {hop_length}, "
                f"window {win_length}, n_fft {n_fft}"
            )
        if pad_mode not in ("reflect", "constant"):
            raise ValueError(f"STFT: unknown pad_mode '{pad_mode}'; choose from: reflect, constant")
        self.n_fft, self.hop_length, self.win_length = int(n_fft), int(hop_length), win_length
        self.window_name, self.pad_mode = window, pad_mode
        self.register_buffer("window", make_window(window, win_length), persistent=False)

    @property
    def bins(self) -> int:
        """Number of frequency bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    def frames(self, length: int) -> int:
        """Frames of a ``length``-sample signal: ``length // hop_length + 1``."""
        return length // self.hop_length + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Complex spectrum of ``x``: ``(batch, 1, samples)`` or ``(batch, samples)`` -> ``(batch, bins, frames)``."""
        if x.dim() == 3:
            if x.shape[1] != 1:
                raise ValueError(f"STFT: expected (batch, 1, samples), got {tuple(x.shape)}")
            x = x.squeeze(1)
        if x.dim() != 2:
            raise ValueError(f"STFT: expected (batch, 1, samples) or (batch, samples), got {tuple(x.shape)}")
        pad_mode = self.pad_mode if x.shape[-1] > self.n_fft // 2 else "constant"
        return torch.stft(
            x.float(),
            self.n_fft,
            self.hop_length,
            self.win_length,
            self.window,
            center=True,
            pad_mode=pad_mode,
            return_complex=True,
        )

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Waveform of exactly ``length`` samples from ``spec: (batch, bins, frames)`` -> ``(batch, 1, length)``."""
        if spec.dim() != 3 or spec.shape[1] != self.bins:
            raise ValueError(f"STFT.inverse: expected (batch, {self.bins}, frames), got {tuple(spec.shape)}")
        wave = torch.istft(
            spec, self.n_fft, self.hop_length, self.win_length, self.window, center=True, length=int(length)
        )
        return wave.unsqueeze(1)

    def extra_repr(self) -> str:
        return (
            f"n_fft={self.n_fft}, hop_length={self.hop_length}, win_length={self.win_length}, "
            f"window={self.window_name!r}"
        )


def magnitude(spec: torch.Tensor, eps: float = _EPS) -> torch.Tensor:
    """``sqrt(re² + im² + eps)`` of a complex spectrum (finite gradients where it is 0)."""
    return torch.sqrt(spec.real.square() + spec.imag.square() + eps)


def _check_compression(compression: str, exponent: float) -> None:
    if compression not in COMPRESSIONS:
        raise ValueError(f"unknown compression '{compression}'; choose from: {', '.join(COMPRESSIONS)}")
    if compression == "power" and exponent <= 0:
        raise ValueError(f"power-law compression needs an exponent > 0, got {exponent}")


def compress_magnitude(mag: torch.Tensor, compression: str = "power", exponent: float = 0.3) -> torch.Tensor:
    """``mag`` -> ``mag ** exponent`` (``"power"``), ``log(1 + mag)`` (``"log1p"``) or ``mag`` (``"none"``)."""
    _check_compression(compression, exponent)
    if compression == "power":
        return mag.clamp_min(0).pow(exponent)
    if compression == "log1p":
        return torch.log1p(mag)
    return mag


def decompress_magnitude(
    comp: torch.Tensor, compression: str = "power", exponent: float = 0.3
) -> torch.Tensor:
    """Inverse of :func:`compress_magnitude` (negative inputs are clamped to 0 first)."""
    _check_compression(compression, exponent)
    if compression == "power":
        return comp.clamp_min(0).pow(1.0 / exponent)
    if compression == "log1p":
        return torch.expm1(comp.clamp_min(0))
    return comp


def with_phase(mag: torch.Tensor, phase_of: torch.Tensor) -> torch.Tensor:
    """The complex spectrum of magnitude ``mag`` and the phase of ``phase_of`` (same shape)."""
    return torch.polar(mag, torch.angle(phase_of))


def compress_spectrum(spec: torch.Tensor, exponent: float = 0.3) -> torch.Tensor:
    """Power-law compression of a complex spectrum: magnitude ``|X| ** exponent``, phase kept."""
    mag = magnitude(spec)
    return spec * (compress_magnitude(mag, "power", exponent) / mag)


def decompress_spectrum(comp: torch.Tensor, exponent: float = 0.3) -> torch.Tensor:
    """Inverse of :func:`compress_spectrum`: magnitude ``|C| ** (1 / exponent)``, phase kept."""
    mag = magnitude(comp)
    return comp * (decompress_magnitude(mag, "power", exponent) / mag)
