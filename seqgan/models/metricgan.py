"""MetricGAN+ (Fu et al., Interspeech 2021): a BLSTM magnitude-mask generator and a metric discriminator.

The generator reads the noisy magnitude spectrogram (512-point FFT, Hamming 512, hop 256: 257 bins at
16 kHz), compressed with ``log1p`` as in the SpeechBrain recipe, runs a 2-layer bidirectional LSTM of 200
units per direction, a fully connected layer of 300 (LeakyReLU) and one of 257 with the *learnable
sigmoid* ``β·sigmoid(α·x)`` (β = 1.2, α learned per bin); the mask, clamped below at 0.05, multiplies the
compressed noisy magnitude, and the waveform is resynthesised with the noisy phase.

The discriminator learns the *normalised metric* of an (enhanced or noisy or clean, clean) pair: the two
compressed magnitudes as 2 channels, batch normalisation, 4 spectrally normalised 5×5 convolutions of 15
channels with LeakyReLU, global average pooling, fully connected 15 → 50 → 10 → 1. Its targets come from
``seqgan.adversarial.metricgan_pesq_target`` and its loss is ``seqgan.adversarial``'s ``metric``
objective.

Named configurations live in :data:`PRESETS` and are built with :func:`build_metricgan`:

* ``metricgan_plus`` — the published sizes (≈ 1.90 M generator parameters, ≈ 19 k discriminator);
* ``metricgan_small`` — a narrower BLSTM (96 units per direction, FC 192; ≈ 0.58 M) for CPU training;
* ``metricgan_plus_48k``, ``metricgan_small_48k`` — the same networks full band at 48 kHz: FFT 1536, Hamming
  1536, hop 768 (the same 32 / 16 ms frames, so the LSTMs run at the same frame rate), 769 bins; only the
  layers that touch the bins grow (≈ 2.87 M and ≈ 1.07 M generator parameters).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
from torch import nn

from seqgan.models.base import register_model
from seqgan.models.presets import build_pair
from seqgan.models.stft import (
    STFT,
    compress_magnitude,
    decompress_magnitude,
    magnitude,
    with_phase,
)


def _check_wave(x: torch.Tensor, name: str, who: str) -> None:
    if x.dim() != 3 or x.shape[1] != 1:
        raise ValueError(f"{who}: {name} must have shape (batch, 1, samples), got {tuple(x.shape)}")


class LearnableSigmoid(nn.Module):
    """``β · sigmoid(α · x)`` with one learned slope α per feature (last dimension), α initialised to 1.

    Args:
        features: size of the last dimension of the input.
        beta: the fixed output scale β (MetricGAN+ 1.2, CMGAN's mask 2.0, its discriminator 1.0).
    """

    def __init__(self, features: int, beta: float = 1.2) -> None:
        super().__init__()
        self.beta = float(beta)
        self.alpha = nn.Parameter(torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (..., features)`` -> same shape, in ``(0, β)``."""
        return self.beta * torch.sigmoid(self.alpha * x)

    def extra_repr(self) -> str:
        return f"{self.alpha.numel()}, beta={self.beta}"


@register_model()
class MetricGANGenerator(nn.Module):
    """MetricGAN+ generator: BLSTM mask on the compressed noisy magnitude, noisy phase kept.

    Args:
        n_fft: FFT size (``n_fft // 2 + 1`` bins).
        hop_length: STFT hop in samples.
        win_length: analysis window length.
        window: analysis window name (``"hamming"`` as published).
        compression: magnitude compression the mask works on: ``"log1p"`` (SpeechBrain recipe),
            ``"power"`` (``|X| ** exponent``) or ``"none"``.
        exponent: the power-law exponent for ``compression="power"``.
        hidden_size: LSTM units per direction.
        num_layers: stacked bidirectional LSTM layers.
        fc_size: width of the fully connected layer after the LSTM.
        negative_slope: its LeakyReLU slope.
        beta: β of the learnable sigmoid (the mask's upper bound).
        min_mask: the mask's lower clamp.
        mask_type: ``"magnitude"`` (published: a real mask on the compressed magnitude, noisy phase) or
            ``"complex"`` (an option beside it: a complex ratio mask on the noisy spectrum, magnitude
            ``max(β · tanh(|u|), min_mask)`` and phase ``angle(u)`` from the two outputs ``u`` per bin, so
            the phase can be corrected too).

    Shapes:
        ``forward(noisy: (batch, 1, samples)) -> (batch, 1, samples)``, any length.
    """

    def __init__(
        self,
        n_fft: int = 512,
        hop_length: int = 256,
        win_length: int = 512,
        window: str = "hamming",
        compression: str = "log1p",
        exponent: float = 0.3,
        hidden_size: int = 200,
        num_layers: int = 2,
        fc_size: int = 300,
        negative_slope: float = 0.3,
        beta: float = 1.2,
        min_mask: float = 0.05,
        mask_type: str = "magnitude",
    ) -> None:
        super().__init__()
        if mask_type not in ("magnitude", "complex"):
            raise ValueError(f"unknown mask_type '{mask_type}'; choose from: magnitude, complex")
        self.mask_type, self.beta = mask_type, float(beta)
        self.stft = STFT(n_fft, hop_length, win_length, window)
        compress_magnitude(torch.ones(1), compression, exponent)  # validates the choice
        self.compression, self.exponent, self.min_mask = compression, float(exponent), float(min_mask)
        bins = self.stft.bins
        self.lstm = nn.LSTM(bins, hidden_size, num_layers, batch_first=True, bidirectional=True)
        self.fc = nn.Sequential(nn.Linear(2 * hidden_size, fc_size), nn.LeakyReLU(negative_slope))
        self.out = nn.Linear(fc_size, bins if mask_type == "magnitude" else 2 * bins)
        self.activation = LearnableSigmoid(bins, beta) if mask_type == "magnitude" else nn.Identity()
        if mask_type == "complex":  # start near the identity: a real mask of 1 (tanh(u) = 1 / β)
            with torch.no_grad():
                self.out.bias.zero_()
                self.out.bias[:bins] = math.atanh(min(1.0 / self.beta, 0.999))
        self.length_multiple = 1

    def features(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``wave: (batch, 1, samples)`` -> ``(spec, feats)``: the complex spectrum ``(batch, bins, frames)``
        and the compressed magnitude the mask applies to, ``(batch, frames, bins)``."""
        spec = self.stft(wave)
        feats = compress_magnitude(magnitude(spec), self.compression, self.exponent).transpose(1, 2)
        return spec, feats

    def mask(self, feats: torch.Tensor) -> torch.Tensor:
        """The clamped mask ``(batch, frames, bins)`` in ``[min_mask, β)`` from compressed magnitudes."""
        return self.activation(self._outputs(feats)).clamp_min(self.min_mask)

    def _outputs(self, feats: torch.Tensor) -> torch.Tensor:
        """The last linear layer's outputs ``(batch, frames, bins or 2 · bins)``."""
        # oneDNN has no bf16 LSTM on many CPUs: under CPU autocast the LSTM runs in float32
        with torch.autocast("cpu", enabled=False) if feats.device.type == "cpu" else contextlib.nullcontext():
            h, _ = self.lstm(feats.float())
        return self.out(self.fc(h))

    def _complex_mask(self, feats: torch.Tensor, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The complex ratio mask's magnitude ``(batch, frames, bins)`` and the masked spectrum
        ``(batch, bins, frames)`` (``mask_type="complex"``)."""
        u = self._outputs(feats).float()
        u = torch.complex(*u.unflatten(-1, (2, -1)).unbind(-2))  # (batch, frames, bins)
        size = magnitude(u)
        gain = (self.beta * torch.tanh(size)).clamp_min(self.min_mask)
        return gain, spec * (u * (gain / size)).transpose(1, 2)

    def spectra(self, noisy: torch.Tensor, clean: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The spectral pieces of one forward pass (for spectral losses and the metric discriminator).

        Args:
            noisy: ``(batch, 1, samples)``.
            clean: optional ``(batch, 1, samples)`` reference, analysed with the same front end.

        Returns:
            ``noisy_spec`` (complex ``(batch, bins, frames)``), ``noisy_feats``, ``mask``, ``enhanced_feats``
            (compressed magnitudes ``(batch, frames, bins)``), ``enhanced_spec`` (complex, noisy phase), and
            with ``clean`` also ``clean_spec`` and ``clean_feats``.
        """
        _check_wave(noisy, "noisy", type(self).__name__)
        spec, feats = self.features(noisy)
        if self.mask_type == "complex":
            mask, enhanced_spec = self._complex_mask(feats, spec)
            enhanced = compress_magnitude(magnitude(enhanced_spec), self.compression, self.exponent)
            enhanced = enhanced.transpose(1, 2)
        else:
            mask = self.mask(feats)
            enhanced = feats * mask
            mag = decompress_magnitude(enhanced, self.compression, self.exponent).transpose(1, 2)
            enhanced_spec = with_phase(mag, spec)
        out = {
            "noisy_spec": spec,
            "noisy_feats": feats,
            "mask": mask,
            "enhanced_feats": enhanced,
            "enhanced_spec": enhanced_spec,
        }
        if clean is not None:
            out["clean_spec"], out["clean_feats"] = self.features(clean)
        return out

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        """Enhances ``noisy: (batch, 1, samples)`` -> ``(batch, 1, samples)``."""
        return self.stft.inverse(self.spectra(noisy)["enhanced_spec"], noisy.shape[-1]).to(noisy.dtype)


@register_model()
class MetricDiscriminator(nn.Module):
    """MetricGAN+ metric discriminator: predicts the normalised metric of an (estimate, reference) pair.

    Input: the compressed magnitudes of the estimate and the clean reference as 2 channels
    ``(batch, 2, frames, bins)``; ``BatchNorm2d(2)``; ``num_layers`` spectrally normalised
    ``Conv2d(kernel_size)`` of ``channels`` with LeakyReLU; global average pooling; spectrally normalised
    fully connected layers ``channels → fc_sizes[0] → ... → 1`` with LeakyReLU between. No output
    activation (the target is a score in [0, 1]).

    Args:
        n_fft, hop_length, win_length, window, compression, exponent: the front end, as the generator's.
        channels: convolution channels (15).
        kernel_size: convolution kernel (5).
        num_layers: convolutions (4).
        fc_sizes: hidden fully connected widths (``[50, 10]``).
        stride: every convolution's stride on both axes (1 as published; 2 quarters the cost of each
            layer after the first, for CPU training).
        negative_slope: LeakyReLU slope (0.3).
        bn_momentum: the input batch norm's momentum (0.01).

    Shapes:
        ``forward(estimate: (batch, 1, samples), reference: (batch, 1, samples)) -> (batch, 1)``.
    """

    def __init__(
        self,
        n_fft: int = 512,
        hop_length: int = 256,
        win_length: int = 512,
        window: str = "hamming",
        compression: str = "log1p",
        exponent: float = 0.3,
        channels: int = 15,
        kernel_size: int = 5,
        num_layers: int = 4,
        fc_sizes: list[int] | None = None,
        stride: int = 1,
        negative_slope: float = 0.3,
        bn_momentum: float = 0.01,
    ) -> None:
        super().__init__()
        if int(stride) < 1:
            raise ValueError(f"MetricDiscriminator: stride must be >= 1, got {stride}")
        sn = nn.utils.parametrizations.spectral_norm
        self.stft = STFT(n_fft, hop_length, win_length, window)
        compress_magnitude(torch.ones(1), compression, exponent)
        self.compression, self.exponent = compression, float(exponent)
        self.norm = nn.BatchNorm2d(2, momentum=bn_momentum)
        self.convs = nn.ModuleList(
            sn(
                nn.Conv2d(
                    2 if i == 0 else channels,
                    channels,
                    kernel_size,
                    stride=int(stride),
                    padding=kernel_size // 2,
                )
            )
            for i in range(num_layers)
        )
        sizes = [channels, *(fc_sizes if fc_sizes is not None else [50, 10]), 1]
        self.fcs = nn.ModuleList(sn(nn.Linear(i, o)) for i, o in zip(sizes[:-1], sizes[1:]))
        self.act = nn.LeakyReLU(negative_slope)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.parametrizations.weight.original)
                nn.init.zeros_(m.bias)

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """Compressed magnitude ``(batch, frames, bins)`` of ``wave: (batch, 1, samples)``."""
        return compress_magnitude(magnitude(self.stft(wave)), self.compression, self.exponent).transpose(1, 2)

    def score(
        self, estimate: torch.Tensor, reference: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Predicted scores ``(batch, 1)`` from compressed magnitudes ``(batch, frames, bins)`` (e.g. the
        generator's ``spectra()`` entries); with ``return_features`` also each convolution's activation."""
        h = self.norm(torch.stack([estimate, reference], dim=1))
        features = []
        for conv in self.convs:
            h = self.act(conv(h))
            features.append(h)
        h = h.mean(dim=(2, 3))
        for k, fc in enumerate(self.fcs):
            h = fc(h)
            if k < len(self.fcs) - 1:
                h = self.act(h)
        return (h, features) if return_features else h

    def forward(
        self, estimate: torch.Tensor, reference: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Predicted normalised metric of ``estimate`` against ``reference``.

        Args:
            estimate: ``(batch, 1, samples)`` enhanced, noisy or clean waveform.
            reference: ``(batch, 1, samples)`` clean waveform.
            return_features: also return the convolutions' activations ``(batch, channels, frames, bins)``.

        Returns:
            ``(batch, 1)``, and with ``return_features`` a tuple ``(scores, features)``.
        """
        who = type(self).__name__
        _check_wave(estimate, "estimate", who)
        _check_wave(reference, "reference", who)
        return self.score(self.features(estimate), self.features(reference), return_features)


# -- presets ----------------------------------------------------------------------------------------------
_FRONT_END = {"n_fft": 512, "hop_length": 256, "win_length": 512, "window": "hamming", "compression": "log1p"}
# 32 ms windows, 16 ms hop at 48 kHz: the 16 kHz frames, three times the bins' resolution range
_FRONT_END_48K = {**_FRONT_END, "n_fft": 1536, "hop_length": 768, "win_length": 1536}
_METRIC_D = {"channels": 15, "kernel_size": 5, "num_layers": 4, "fc_sizes": [50, 10]}

PRESETS: dict[str, dict[str, Any]] = {
    "metricgan_plus": {
        "generator": {**_FRONT_END, "hidden_size": 200, "num_layers": 2, "fc_size": 300, "beta": 1.2},
        "discriminator": {
            **_FRONT_END,
            "channels": 15,
            "kernel_size": 5,
            "num_layers": 4,
            "fc_sizes": [50, 10],
        },
        "window": 64000,
        "notes": "Fu et al. 2021 (SpeechBrain recipe): STFT 512 / Hamming 512 / hop 256, log1p magnitude; "
        "2-layer BLSTM 200 per direction, FC 300 LeakyReLU, FC 257 learnable sigmoid (beta 1.2), mask >= 0.05, "
        "noisy phase (~1.90 M params); metric D: BN, 4 x SN conv 5x5 15 ch, GAP, FC 15-50-10-1 (~19 k). "
        "Adam lr 5e-4 for both, batch 1 utterance; targets (PESQ + 0.5) / 5.",
    },
    "metricgan_small": {
        "generator": {**_FRONT_END, "hidden_size": 96, "num_layers": 2, "fc_size": 192, "beta": 1.2},
        "discriminator": {
            **_FRONT_END,
            "channels": 15,
            "kernel_size": 5,
            "num_layers": 4,
            "fc_sizes": [50, 10],
        },
        "window": 32000,
        "notes": "CPU-sized MetricGAN+: 2-layer BLSTM 96 per direction, FC 192 (~0.58 M params); the "
        "published metric discriminator; 2 s windows.",
    },
    "metricgan_plus_48k": {
        "generator": {**_FRONT_END_48K, "hidden_size": 200, "num_layers": 2, "fc_size": 300, "beta": 1.2},
        "discriminator": {**_FRONT_END_48K, **_METRIC_D},
        "sample_rate": 48000,
        "window": 192000,
        "notes": "metricgan_plus full band at 48 kHz: STFT 1536 / Hamming 1536 / hop 768 (32 / 16 ms), 769 "
        "bins; train with data.sample_rate=48000.",
    },
    "metricgan_small_48k": {
        "generator": {**_FRONT_END_48K, "hidden_size": 96, "num_layers": 2, "fc_size": 192, "beta": 1.2},
        "discriminator": {**_FRONT_END_48K, **_METRIC_D},
        "sample_rate": 48000,
        "window": 96000,
        "notes": "metricgan_small full band at 48 kHz: STFT 1536 / Hamming 1536 / hop 768 (32 / 16 ms), "
        "769 bins; 2 s windows; train with data.sample_rate=48000.",
    },
}


def build_metricgan(
    preset: str,
    generator_overrides: dict[str, Any] | None = None,
    discriminator_overrides: dict[str, Any] | None = None,
) -> tuple[MetricGANGenerator, MetricDiscriminator]:
    """Builds the generator and metric discriminator of a named configuration.

    Args:
        preset: a key of :data:`PRESETS` (``metricgan_plus``, ``metricgan_small`` and their ``_48k``
            full-band versions).
        generator_overrides: constructor arguments replacing the preset's generator ones.
        discriminator_overrides: likewise for the discriminator.

    Raises:
        UnknownNameError: for an unknown preset (the message lists the presets).
        ValueError: for an override that is not a constructor argument.
    """
    return build_pair(  # type: ignore[return-value]
        PRESETS,
        "MetricGAN",
        preset,
        MetricGANGenerator,
        MetricDiscriminator,
        generator_overrides,
        discriminator_overrides,
    )
