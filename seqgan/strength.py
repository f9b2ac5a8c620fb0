"""Strength control of enhancement: dry/wet mixing and an attenuation limit per time-frequency cell.

``mix`` (``--mix``): the output is ``mix · enhanced + (1 − mix) · input``, sample-aligned, at the output
rate; 0 returns the input exactly, 1 (the default) the enhanced signal exactly. :class:`DryWetMix` does it
block by block beside the enhancement pipeline.

``atten_lim_db`` (``--atten-lim-db L``): in every cell of a short-time Fourier transform of each window the
model enhances, the output may differ from the input by at most ``L`` dB in level. With ``X`` the input's
cell and ``Y`` the model's, the limited cell is ``X + λ (Y − X)``: the model's change (for an attenuating
model, the removed signal) is scaled by the largest ``λ`` in ``[0, 1]`` for which every point on the way
from ``X`` stays within ``[g |X|, |X| / g]``, ``g = 10 ** (−L / 20)`` (:func:`limit_cells`). So no cell falls
more than ``L`` dB below the input (nor rises more than ``L`` dB above it); ``L = 0`` returns the input and
``L = ∞`` (``None``) the enhanced signal, and cells the model changes within the bound are kept as they are.
The cells are the model's own STFT for the spectral models (MetricGAN+: 512 / 256 Hamming, CMGAN: 400 /
100), and a 512-point Hann STFT with hop 128 for the waveform models (SEGAN), where the limit bounds the
level of the removed signal in each cell. It is applied to the windows the generator sees (after
pre-emphasis), before the overlap-add; the crossfade of neighbouring windows blends cells that each keep
the bound. Mixing comes after the limit.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from seqgan.data.audio import StreamingResampler
from seqgan.models.stft import STFT, make_window

__all__ = [
    "DEFAULT_CELLS",
    "AttenuationLimiter",
    "DryWetMix",
    "check_strength",
    "limit_cells",
    "stft_geometry",
]

# the STFT cells of the limit for a model without a front end of its own (waveform models)
DEFAULT_CELLS: dict[str, Any] = {"n_fft": 512, "hop_length": 128, "win_length": 512, "window": "hann"}


def stft_geometry(module: nn.Module) -> dict[str, Any] | None:
    """``{n_fft, hop_length, win_length, window}`` of a spectral model's front end (``module.stft``), else None."""
    stft = getattr(module, "stft", None)
    if not isinstance(stft, STFT):
        return None
    return {
        "n_fft": stft.n_fft,
        "hop_length": stft.hop_length,
        "win_length": stft.win_length,
        "window": stft.window_name,
    }


def check_strength(mix: float, atten_lim_db: float | None) -> None:
    """Raises ``ValueError`` for ``mix`` outside [0, 1] or a negative or NaN ``atten_lim_db``."""
    if not 0.0 <= float(mix) <= 1.0:
        raise ValueError(f"mix must be in [0, 1] (0: the input, 1: fully enhanced), got {mix}")
    if atten_lim_db is not None and not float(atten_lim_db) >= 0.0:
        raise ValueError(f"atten_lim_db must be >= 0 dB (or None: no limit), got {atten_lim_db}")


def limit_cells(x: torch.Tensor, y: torch.Tensor, atten_lim_db: float | None) -> torch.Tensor:
    """Limits each complex cell ``y`` to within ``atten_lim_db`` dB of ``x``'s level (module docstring).

    Args:
        x: complex input cells, any shape.
        y: complex enhanced cells, the same shape.
        atten_lim_db: the limit ``L`` in dB (``None`` or ``inf``: ``y`` is returned as it is).

    Returns:
        ``x + λ (y − x)``, complex, the shape of ``x``: ``g |x| <= |out| <= |x| / g`` in every cell.
    """
    if atten_lim_db is None or math.isinf(atten_lim_db):
        return y
    if atten_lim_db <= 0:
        return x.clone()
    g2 = 10.0 ** (-float(atten_lim_db) / 10.0)  # g²
    xd, rd = x.to(torch.complex128), (y - x).to(torch.complex128)
    a = xd.real.square() + xd.imag.square()  # |x|²
    b = xd.real * rd.real + xd.imag * rd.imag  # Re(conj(x) r)
    c = rd.real.square() + rd.imag.square()  # |r|²
    # |x + μ r|² = a + 2 b μ + c μ²; the first μ > 0 where it reaches g² a (only when b < 0) ...
    disc = b.square() - c * a * (1.0 - g2)
    down = torch.where(
        (b < 0) & (disc >= 0), a * (1.0 - g2) / (-b + disc.clamp_min(0).sqrt()), torch.full_like(a, math.inf)
    )
    # ... or a / g² (the positive root, written without cancellation)
    s = (b.square() + c * a * (1.0 / g2 - 1.0)).sqrt()
    up = torch.where(b >= 0, a * (1.0 / g2 - 1.0) / (b + s), (s - b) / c.clamp_min(1e-300))
    lam = torch.minimum(down, up).clamp(0.0, 1.0)
    lam = torch.where(c == 0, torch.ones_like(lam), lam)  # nothing changed
    lam = torch.where((a == 0) & (c > 0), torch.zeros_like(lam), lam)  # a silent cell stays silent
    lam = torch.nan_to_num(lam, nan=0.0)
    return torch.where(lam == 1, y, (xd + lam * rd).to(x.dtype))  # cells within the bound: y as it is


class AttenuationLimiter:
    """``--atten-lim-db`` on windows: the STFT of input and output, :func:`limit_cells`, the inverse.

    Args:
        atten_lim_db: the limit in dB (> 0, finite).
        n_fft, hop_length, win_length, window: the cells (:data:`DEFAULT_CELLS` or the model's front end).

    Call with ``(noisy, enhanced)``, both ``(batch, samples)`` float32; returns the limited ``(batch,
    samples)``, computed as ``noisy + istft(λ · stft(enhanced − noisy))`` (so λ = 0 gives ``noisy`` exactly).
    """

    def __init__(
        self,
        atten_lim_db: float,
        n_fft: int = 512,
        hop_length: int = 128,
        win_length: int | None = None,
        window: str = "hann",
    ) -> None:
        self.atten_lim_db = float(atten_lim_db)
        self.n_fft, self.hop = int(n_fft), int(hop_length)
        self.win_length = int(win_length or n_fft)
        self.window = make_window(window, self.win_length)

    @classmethod
    def for_model(cls, atten_lim_db: float, geometry: dict[str, Any] | None) -> AttenuationLimiter:
        """The limiter on a model's STFT cells (``geometry`` from :func:`stft_geometry` or the ONNX
        metadata ``stft``), or on :data:`DEFAULT_CELLS` for a waveform model (``None``)."""
        cells = {**DEFAULT_CELLS, **(geometry or {})}
        return cls(atten_lim_db, cells["n_fft"], cells["hop_length"], cells["win_length"], cells["window"])

    def _stft(self, x: torch.Tensor) -> torch.Tensor:
        pad = "reflect" if x.shape[-1] > self.n_fft // 2 else "constant"
        return torch.stft(
            x,
            self.n_fft,
            self.hop,
            self.win_length,
            self.window,
            center=True,
            pad_mode=pad,
            return_complex=True,
        )

    def __call__(self, noisy: torch.Tensor, enhanced: torch.Tensor) -> torch.Tensor:
        x = self._stft(noisy)
        change = limit_cells(x, self._stft(enhanced), self.atten_lim_db) - x
        return noisy + torch.istft(
            change, self.n_fft, self.hop, self.win_length, self.window, center=True, length=noisy.shape[-1]
        )


class DryWetMix:
    """``mix · wet + (1 − mix) · dry`` for two signals produced block by block with different delays.

    The dry (input) signal is pushed as it is read, resampled to the output rate when that differs; the
    enhanced (wet) one as it comes out of the pipeline. Each call returns the mix of the samples both
    have reached; :meth:`flush` returns the rest (dry zero-padded past the input's end).

    Args:
        mix: the wet share in [0, 1].
        in_rate: the input's rate in Hz.
        out_rate: the output's rate in Hz.
    """

    def __init__(self, mix: float, in_rate: int, out_rate: int) -> None:
        self.mix = float(mix)
        self.resampler = StreamingResampler(in_rate, out_rate)
        self._dry: torch.Tensor | None = None
        self._wet: torch.Tensor | None = None

    @staticmethod
    def _cat(buf: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor:
        return y if buf is None else torch.cat([buf, y], dim=-1)

    def push(self, dry: torch.Tensor, wet: torch.Tensor) -> torch.Tensor:
        """Takes ``(C, n)`` input and ``(C, m)`` enhanced samples; returns the ``(C, k)`` mixed ones ready."""
        self._dry = self._cat(self._dry, self.resampler.push(dry))
        self._wet = self._cat(self._wet, wet)
        k = min(self._dry.shape[-1], self._wet.shape[-1])
        return self._take(k, k)

    def flush(self, wet: torch.Tensor) -> torch.Tensor:
        """Takes the pipeline's last ``(C, m)`` enhanced samples; returns every mixed sample left."""
        self._dry = self._cat(self._dry, self.resampler.flush())
        self._wet = self._cat(self._wet, wet)
        return self._take(self._wet.shape[-1], self._dry.shape[-1])

    def _take(self, k: int, k_dry: int) -> torch.Tensor:
        assert self._dry is not None and self._wet is not None
        wet, self._wet = self._wet[:, :k], self._wet[:, k:]
        dry, self._dry = self._dry[:, : min(k, k_dry)], self._dry[:, k:]
        if dry.shape[-1] < k:
            dry = torch.nn.functional.pad(dry, (0, k - dry.shape[-1]))
        return self.mix * wet + (1.0 - self.mix) * dry
