"""The reconstruction terms of the enhancement generator's loss, beside the adversarial one.

=================== =========================================================== ====================
stat                term                                                        weight (published)
=================== =========================================================== ====================
``g_l1``            mean ``|G(x) − y|`` (time domain)                           SEGAN 100, CMGAN 0.2
``g_stft_sc/mag``   multi-resolution STFT: spectral convergence + log magnitude  (Parallel WaveGAN)
``g_mel``           mean ``|log mel G(x) − log mel y|`` (80 mels, 1024 / 256)   HiFi-GAN 45
``g_ri``            MSE of compressed real and imaginary parts (``|X| ** 0.3``)  CMGAN 0.1
``g_magnitude``     MSE of compressed magnitudes                                CMGAN 0.9
=================== =========================================================== ====================

With ``normalize_scale`` both signals are first multiplied by ``c = 1 / rms(x)`` of the noisy input, per
example (CMGAN's training pipeline, whose loss weights assume unit-RMS inputs). CMGAN's spectral terms are
computed on the STFT of the output waveform (the STFT-consistent spectrum) rather than on the decoder's
spectrum before its inverse STFT: one definition for every waveform generator, and the generator is only
ever called through ``forward`` (as DistributedDataParallel needs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from seqgan.losses import (
    compressed_spectrum_loss,
    lp_loss,
    mel_spectrogram_loss,
    multi_resolution_stft_loss,
)

__all__ = ["Reconstruction"]


class Reconstruction:
    """The weighted reconstruction terms of the generator's loss.

    Args:
        sample_rate: the signals' rate in Hz (the mel filters).
        l1_weight: time-domain L1 (always reported as ``g_l1``).
        stft_weight: multi-resolution STFT loss at ``stft_fft_sizes`` (hop a quarter, window the FFT size).
        stft_fft_sizes: its FFT sizes.
        mel_weight: HiFi-GAN's log-mel L1.
        ri_weight: CMGAN's compressed real / imaginary MSE.
        magnitude_weight: CMGAN's compressed magnitude MSE.
        spectral_stft: ``(n_fft, hop, window)`` of the two CMGAN terms.
        spectral_exponent: their compression exponent.
        normalize_scale: compare ``c · G(x)`` with ``c · y``, ``c = 1 / rms(x)``.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        l1_weight: float = 0.0,
        stft_weight: float = 0.0,
        stft_fft_sizes: Sequence[int] = (512, 1024, 2048),
        mel_weight: float = 0.0,
        ri_weight: float = 0.0,
        magnitude_weight: float = 0.0,
        spectral_stft: Sequence[int] = (400, 100, 400),
        spectral_exponent: float = 0.3,
        normalize_scale: bool = False,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.l1_weight, self.stft_weight, self.mel_weight = (
            float(l1_weight),
            float(stft_weight),
            float(mel_weight),
        )
        self.stft_resolutions = [(int(n), int(n) // 4, int(n)) for n in stft_fft_sizes]
        self.ri_weight, self.magnitude_weight = float(ri_weight), float(magnitude_weight)
        self.spectral_stft = tuple(int(v) for v in spectral_stft)
        self.spectral_exponent = float(spectral_exponent)
        self.normalize_scale = bool(normalize_scale)

    def __call__(
        self, fake: torch.Tensor, clean: torch.Tensor, noisy: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """The weighted sum of the terms and their detached values.

        Args:
            fake: ``(batch, 1, samples)`` generator output.
            clean: ``(batch, 1, samples)`` reference.
            noisy: ``(batch, 1, samples)`` input (its RMS sets the scale with ``normalize_scale``).

        Returns:
            ``(loss, stats)``: a scalar tensor and the unweighted terms by stat name.
        """
        fake, clean = fake.float(), clean.float()
        if self.normalize_scale:
            c = torch.rsqrt(noisy.detach().float().pow(2).mean(dim=-1, keepdim=True).clamp_min(1e-10))
            fake, clean = fake * c, clean * c
        g_l1 = lp_loss(fake, clean, 1)
        loss = self.l1_weight * g_l1
        stats: dict[str, Any] = {"g_l1": g_l1.detach()}
        if self.stft_weight > 0:
            sc, mag = multi_resolution_stft_loss(fake, clean, self.stft_resolutions)
            loss = loss + self.stft_weight * (sc + mag)
            stats.update(g_stft_sc=sc.detach(), g_stft_mag=mag.detach())
        if self.mel_weight > 0:
            mel = mel_spectrogram_loss(fake, clean, self.sample_rate)
            loss = loss + self.mel_weight * mel
            stats["g_mel"] = mel.detach()
        if self.ri_weight > 0 or self.magnitude_weight > 0:
            n_fft, hop, win = self.spectral_stft
            ri, magnitude = compressed_spectrum_loss(fake, clean, n_fft, hop, win, self.spectral_exponent)
            loss = loss + self.ri_weight * ri + self.magnitude_weight * magnitude
            stats.update(g_ri=ri.detach(), g_magnitude=magnitude.detach())
        return loss, stats
