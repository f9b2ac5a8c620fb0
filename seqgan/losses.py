"""Reconstruction losses used beside the adversarial objectives, for any task.

* :func:`lp_loss`: mean ``|target - prediction|^p`` (L1 for p = 1, as SEGAN and Mathieu et al. use);
* :func:`gradient_difference_loss`: the image gradient difference loss of Mathieu et al. (2016);
* :func:`multi_resolution_stft_loss` / :class:`MultiResolutionSTFTLoss` (below).

Multi-resolution STFT loss (as in Parallel WaveGAN, Yamamoto et al. 2020): at each resolution,

* spectral convergence ``‖ |S| − |Ŝ| ‖_F / ‖ |S| ‖_F`` (per example, then averaged), and
* log-magnitude distance ``mean | log |S| − log |Ŝ| |``,

with ``S`` the STFT of the reference and ``Ŝ`` that of the estimate; the loss is the mean over
resolutions of their sum. Magnitudes are floored at ``eps`` before the log and the ratio. The STFTs are
computed in float32 even under autocast.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "DEFAULT_RESOLUTIONS",
    "MultiResolutionSTFTLoss",
    "gradient_difference_loss",
    "lp_loss",
    "multi_resolution_stft_loss",
    "stft_magnitude",
]

DEFAULT_RESOLUTIONS: tuple[tuple[int, int, int], ...] = (
    (512, 128, 512),
    (1024, 256, 1024),
    (2048, 512, 2048),
)


def lp_loss(prediction: torch.Tensor, target: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    """Mean ``|target - prediction|^p`` over all elements.

    Args:
        prediction: any shape, e.g. frames ``(B, C, H, W)``.
        target: same shape.
        p: the exponent (1: L1, 2: squared error).

    Returns:
        Scalar tensor.
    """
    diff = (target - prediction).abs()
    return diff.mean() if p == 1 else diff.pow(p).mean()


def gradient_difference_loss(
    prediction: torch.Tensor, target: torch.Tensor, alpha: float = 1.0
) -> torch.Tensor:
    """Gradient-difference loss (Mathieu et al. 2016, eq. 5).

    ``| |Y[i,j] - Y[i-1,j]| - |Y_hat[i,j] - Y_hat[i-1,j]| |^alpha`` plus the same along ``j``. Each axis
    is averaged over its differences (the paper sums; the mean keeps the weight independent of the
    frame size) and the two axes are added.

    Args:
        prediction: ``(..., H, W)``.
        target: same shape.
        alpha: the exponent.

    Returns:
        Scalar tensor.
    """
    total = prediction.new_zeros(())
    for dim in (-2, -1):
        gt = target.diff(dim=dim).abs()
        gp = prediction.diff(dim=dim).abs()
        d = (gt - gp).abs()
        total = total + (d.mean() if alpha == 1 else d.pow(alpha).mean())
    return total


def stft_magnitude(
    x: torch.Tensor, fft_size: int, hop: int, win_length: int, eps: float = 1e-7
) -> torch.Tensor:
    """Magnitude STFT with a periodic Hann window.

    Args:
        x: ``(batch, samples)``.

    Returns:
        ``(batch, fft_size // 2 + 1, frames)``, floored at ``eps``.
    """
    window = torch.hann_window(win_length, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, fft_size, hop, win_length, window, center=True, return_complex=True)
    return spec.abs().clamp_min(eps)


def _flatten(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dim() == 3:
        if x.shape[1] != 1:
            raise ValueError(
                f"{name}: expected (batch, 1, samples) or (batch, samples), got {tuple(x.shape)}"
            )
        x = x[:, 0]
    elif x.dim() != 2:
        raise ValueError(f"{name}: expected (batch, 1, samples) or (batch, samples), got {tuple(x.shape)}")
    return x.float()


def multi_resolution_stft_loss(
    estimate: torch.Tensor,
    reference: torch.Tensor,
    resolutions: Sequence[Sequence[int]] = DEFAULT_RESOLUTIONS,
    eps: float = 1e-7,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectral convergence and log-magnitude losses averaged over resolutions.

    Args:
        estimate: ``(batch, 1, samples)`` or ``(batch, samples)``.
        reference: same shape.
        resolutions: ``(fft_size, hop, win_length)`` triples.
        eps: magnitude floor.

    Returns:
        ``(spectral_convergence, log_magnitude)``, scalar tensors; their sum is the usual loss.
    """
    est, ref = _flatten(estimate, "estimate"), _flatten(reference, "reference")
    if est.shape != ref.shape:
        raise ValueError(f"estimate {tuple(est.shape)} and reference {tuple(ref.shape)} differ in shape")
    if not resolutions:
        raise ValueError("multi_resolution_stft_loss needs at least one resolution")
    sc_total = est.new_zeros(())
    mag_total = est.new_zeros(())
    with torch.autocast(device_type=est.device.type, enabled=False):
        for fft_size, hop, win_length in resolutions:
            s_est = stft_magnitude(est, fft_size, hop, win_length, eps)
            s_ref = stft_magnitude(ref, fft_size, hop, win_length, eps)
            num = torch.linalg.vector_norm((s_ref - s_est).flatten(1), dim=1)
            den = torch.linalg.vector_norm(s_ref.flatten(1), dim=1)
            sc_total = sc_total + (num / den).mean()
            mag_total = mag_total + (s_ref.log() - s_est.log()).abs().mean()
    n = len(resolutions)
    return sc_total / n, mag_total / n


class MultiResolutionSTFTLoss(nn.Module):
    """Module form of :func:`multi_resolution_stft_loss`; ``forward`` returns the summed loss.

    Args:
        fft_sizes: FFT sizes; the hop is a quarter and the window the whole FFT size unless
            ``resolutions`` is given.
        resolutions: explicit ``(fft_size, hop, win_length)`` triples (overrides ``fft_sizes``).
        eps: magnitude floor.
    """

    def __init__(
        self,
        fft_sizes: Sequence[int] = (512, 1024, 2048),
        resolutions: Sequence[Sequence[int]] | None = None,
        eps: float = 1e-7,
    ) -> None:
        super().__init__()
        if resolutions is None:
            resolutions = [(n, n // 4, n) for n in fft_sizes]
        self.resolutions = [tuple(int(v) for v in r) for r in resolutions]
        self.eps = eps

    def forward(self, estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        sc, mag = multi_resolution_stft_loss(estimate, reference, self.resolutions, self.eps)
        return sc + mag
