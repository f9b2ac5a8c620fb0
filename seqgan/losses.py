"""Reconstruction losses used beside the adversarial objectives, for any task.

* :func:`lp_loss`: mean ``|target - prediction|^p`` (L1 for p = 1, as SEGAN and Mathieu et al. use);
* :func:`gradient_difference_loss`: the image gradient difference loss of Mathieu et al. (2016);
* :func:`multi_resolution_stft_loss` / :class:`MultiResolutionSTFTLoss` (below);
* :func:`mel_spectrogram_loss` (HiFi-GAN) and :func:`compressed_spectrum_loss` (CMGAN), at the end.

Multi-resolution STFT loss (as in Parallel WaveGAN, Yamamoto et al. 2020): at each resolution,

* spectral convergence ``‖ |S| − |Ŝ| ‖_F / ‖ |S| ‖_F`` (per example, then averaged), and
* log-magnitude distance ``mean | log |S| − log |Ŝ| |``,

with ``S`` the STFT of the reference and ``Ŝ`` that of the estimate; the loss is the mean over
resolutions of their sum. Magnitudes are floored at ``eps`` before the log and the ratio. The STFTs are
computed in float32 even under autocast.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "DEFAULT_RESOLUTIONS",
    "MultiResolutionSTFTLoss",
    "compressed_spectrum_loss",
    "gradient_difference_loss",
    "log_mel_spectrogram",
    "lp_loss",
    "mel_spectrogram_loss",
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


# -- spectral reconstruction terms of the GAN enhancers (HiFi-GAN's mel L1, CMGAN's compressed spectra) --
@functools.lru_cache(maxsize=16)
def _mel_filters(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> torch.Tensor:
    from torchaudio.functional import melscale_fbanks

    # Slaney's mel scale and area normalisation, as librosa's filters (HiFi-GAN's mel front end)
    return melscale_fbanks(
        n_fft // 2 + 1, f_min, f_max, n_mels, sample_rate, norm="slaney", mel_scale="slaney"
    )


def log_mel_spectrogram(
    x: torch.Tensor,
    sample_rate: int,
    n_fft: int = 1024,
    hop: int = 256,
    win_length: int = 1024,
    n_mels: int = 80,
    f_min: float = 0.0,
    f_max: float | None = None,
    floor: float = 1e-5,
) -> torch.Tensor:
    """``log(max(mel, floor))`` of the magnitude STFT (periodic Hann window), as HiFi-GAN's mel loss uses it.

    Args:
        x: ``(batch, 1, samples)`` or ``(batch, samples)``.
        sample_rate: rate of ``x`` in Hz; ``f_max`` defaults to half of it.

    Returns:
        ``(batch, n_mels, frames)``, float32.
    """
    x = _flatten(x, "x")
    fb = _mel_filters(
        int(sample_rate), int(n_fft), int(n_mels), float(f_min), float(f_max or sample_rate / 2)
    )
    with torch.autocast(device_type=x.device.type, enabled=False):
        mag = stft_magnitude(x, n_fft, hop, win_length, eps=0.0)
        mel = torch.matmul(fb.to(x.device).T, mag)
        return mel.clamp_min(floor).log()


def mel_spectrogram_loss(
    estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, **mel_options: float
) -> torch.Tensor:
    """HiFi-GAN's reconstruction term (Kong et al. 2020; weight 45 there): mean ``|log mel(ŷ) − log mel(y)|``.

    Args:
        estimate: ``(batch, 1, samples)`` or ``(batch, samples)``.
        reference: same shape.
        sample_rate: their rate in Hz.
        mel_options: :func:`log_mel_spectrogram` options (``n_fft``, ``hop``, ``n_mels``, ...).

    Returns:
        Scalar tensor.
    """
    est = log_mel_spectrogram(estimate, sample_rate, **mel_options)
    ref = log_mel_spectrogram(reference, sample_rate, **mel_options)
    return (est - ref).abs().mean()


def compressed_spectrum_loss(
    estimate: torch.Tensor,
    reference: torch.Tensor,
    n_fft: int = 400,
    hop: int = 100,
    win_length: int = 400,
    exponent: float = 0.3,
) -> tuple[torch.Tensor, torch.Tensor]:
    """CMGAN's spectral terms (Cao et al. 2022) on power-law compressed spectra (magnitude ``|X| ** exponent``,
    phase kept; periodic Hamming window, ``center=True``).

    Args:
        estimate: ``(batch, 1, samples)`` or ``(batch, samples)``.
        reference: same shape.
        n_fft, hop, win_length: the STFT (CMGAN: 400, 100, 400 at 16 kHz).
        exponent: the compression exponent (0.3).

    Returns:
        ``(ri, magnitude)``: ``mean (Re Ĉ − Re C)² + mean (Im Ĉ − Im C)²`` and ``mean (|Ĉ| − |C|)²``,
        scalar tensors (CMGAN weighs them 0.1 and 0.9).
    """
    est, ref = _flatten(estimate, "estimate"), _flatten(reference, "reference")
    if est.shape != ref.shape:
        raise ValueError(f"estimate {tuple(est.shape)} and reference {tuple(ref.shape)} differ in shape")
    window = torch.hamming_window(win_length, periodic=True, device=est.device)
    with torch.autocast(device_type=est.device.type, enabled=False):
        specs = []
        for x in (est, ref):
            spec = torch.stft(x, n_fft, hop, win_length, window, center=True, return_complex=True)
            mag = torch.sqrt(spec.real.square() + spec.imag.square() + 1e-12)  # finite gradients at 0
            specs.append((spec * (mag.pow(exponent) / mag), mag.pow(exponent)))
        (c_est, m_est), (c_ref, m_ref) = specs
        ri = (c_est.real - c_ref.real).square().mean() + (c_est.imag - c_ref.imag).square().mean()
        return ri, (m_est - m_ref).square().mean()
