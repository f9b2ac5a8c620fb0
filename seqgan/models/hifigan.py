"""Multi-resolution waveform discriminators (HiFi-GAN, UnivNet) for any waveform generator.

* :class:`MultiPeriodDiscriminator` (Kong et al. 2020): for each period ``p`` (2, 3, 5, 7, 11) the
  waveform is reshaped to ``(frames / p, p)`` and judged by 2-D convolutions ``(5, 1)`` of stride 3
  (32, 128, 512, 1024 channels, then 1024 of stride 1) and a ``(3, 1)`` output convolution; weight norm,
  LeakyReLU 0.1.
* :class:`MultiScaleWaveformDiscriminator` (Kong et al. 2020, after MelGAN): the raw waveform and its
  ×2 and ×4 average-pooled versions, each judged by grouped 1-D convolutions (128 ... 1024 channels, kernel 41);
  spectral norm on the raw scale, weight norm on the others, LeakyReLU 0.1.
* :class:`MultiResolutionSTFTDiscriminator` (UnivNet, Jang et al. 2021): STFT magnitudes at (FFT, hop,
  window) = (1024, 120, 600), (2048, 240, 1200), (512, 50, 240), each judged by 2-D convolutions of 32
  channels (kernels (3, 9), stride 2 along time); weight norm, LeakyReLU 0.2.
* :class:`CombinedDiscriminator` — any of them together by name (``"period"``, ``"scale"``, ``"stft"``).

All take ``forward(x, cond=None, return_features=False)`` on waveforms ``(batch, 1, samples)`` of any
length. With ``conditional=True`` the condition (the noisy waveform) is a second input channel; an
unconditional discriminator ignores ``cond`` (so the enhancement task's ``D(estimate, noisy)`` works with
both). They return a list of outputs, one ``(batch, n)`` tensor per sub-discriminator, which
``seqgan.adversarial`` objectives average; ``return_features`` adds a list of feature lists (every
layer's activation per sub-discriminator) for ``seqgan.adversarial.feature_matching_loss``. The papers
use LSGAN losses with feature matching weight 2 (and a mel-spectrogram L1 of weight 45).

``width`` scales every channel count (rounded to a multiple of 16 for the grouped convolutions) for
CPU-sized models. Named configurations are in :data:`PRESETS`, built by :func:`build_waveform_discriminator`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqgan.models.base import register_model
from seqgan.models.presets import check_overrides
from seqgan.models.stft import STFT, magnitude
from seqgan.registry import UnknownNameError

KINDS = ("period", "scale", "stft")
PERIODS = [2, 3, 5, 7, 11]
RESOLUTIONS = [[1024, 120, 600], [2048, 240, 1200], [512, 50, 240]]

Output = tuple[list[torch.Tensor], list[list[torch.Tensor]]]


def _scaled(channels: int, width: float, multiple: int = 1) -> int:
    return max(multiple, int(round(channels * width / multiple)) * multiple)


def _wn(m: nn.Module) -> nn.Module:
    return nn.utils.parametrizations.weight_norm(m)


def _sn(m: nn.Module) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(m)


def _input(x: torch.Tensor, cond: torch.Tensor | None, conditional: bool, who: str) -> torch.Tensor:
    if x.dim() != 3 or x.shape[1] != 1:
        raise ValueError(f"{who}: x must have shape (batch, 1, samples), got {tuple(x.shape)}")
    if not conditional:
        return x
    if cond is None:
        raise ValueError(f"{who} is conditional: call it as D(x, cond) with the noisy waveform")
    if cond.shape != x.shape:
        raise ValueError(f"{who}: cond {tuple(cond.shape)} must have the shape of x {tuple(x.shape)}")
    return torch.cat([x, cond.to(x.dtype)], dim=1)


def _run(layers: nn.ModuleList, post: nn.Module, h: torch.Tensor, slope: float) -> tuple[torch.Tensor, list]:
    features = []
    for layer in layers:
        h = F.leaky_relu(layer(h), slope)
        features.append(h)
    h = post(h)
    features.append(h)
    return h.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """One HiFi-GAN period discriminator: ``(batch, C, samples)`` reshaped to ``(batch, C, samples / p, p)``.

    Args:
        period: ``p``; the input is reflect-padded at the end to a multiple of it.
        in_channels: 1, or 2 when conditional.
        channels: output channels of the stride-3 convolutions; one more of stride 1 keeps the last width.
        kernel_size: along the frames (5).
        slope: LeakyReLU slope (0.1).
    """

    def __init__(
        self,
        period: int,
        in_channels: int = 1,
        channels: list[int] | None = None,
        kernel_size: int = 5,
        slope: float = 0.1,
    ) -> None:
        super().__init__()
        channels = channels or [32, 128, 512, 1024]
        self.period, self.slope = int(period), slope
        widths = [in_channels, *channels, channels[-1]]
        strides = [3] * len(channels) + [1]
        pad = (kernel_size - 1) // 2
        self.convs = nn.ModuleList(
            _wn(nn.Conv2d(i, o, (kernel_size, 1), (s, 1), padding=(pad, 0)))
            for i, o, s in zip(widths[:-1], widths[1:], strides)
        )
        self.post = _wn(nn.Conv2d(widths[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(batch, C, samples)`` -> ``((batch, n), features)``."""
        b, c, t = x.shape
        extra = (-t) % self.period
        if extra:
            x = F.pad(x, (0, extra), mode="reflect" if t > extra else "constant")
        return _run(self.convs, self.post, x.view(b, c, -1, self.period), self.slope)


class ScaleDiscriminator(nn.Module):
    """One HiFi-GAN / MelGAN scale discriminator of grouped 1-D convolutions on ``(batch, C, samples)``.

    Args:
        in_channels: 1, or 2 when conditional.
        width: channel multiplier (1: 128, 128, 256, 512, 1024, 1024, 1024).
        norm: ``"weight"`` or ``"spectral"``.
        slope: LeakyReLU slope (0.1).
    """

    # (channels, kernel, stride, groups)
    LAYERS = [(128, 15, 1, 1), (128, 41, 2, 4), (256, 41, 2, 16), (512, 41, 4, 16), (1024, 41, 4, 16)]
    LAYERS += [(1024, 41, 1, 16), (1024, 5, 1, 1)]

    def __init__(
        self, in_channels: int = 1, width: float = 1.0, norm: str = "weight", slope: float = 0.1
    ) -> None:
        super().__init__()
        if norm not in ("weight", "spectral"):
            raise ValueError(f"ScaleDiscriminator: unknown norm '{norm}'; choose from: weight, spectral")
        wrap = _wn if norm == "weight" else _sn
        self.slope = slope
        layers, c_in = [], in_channels
        for c, k, s, g in self.LAYERS:
            c_out = _scaled(c, width, 16)
            groups = g if c_in % g == 0 and c_out % g == 0 else 1
            layers.append(wrap(nn.Conv1d(c_in, c_out, k, s, padding=(k - 1) // 2, groups=groups)))
            c_in = c_out
        self.convs = nn.ModuleList(layers)
        self.post = wrap(nn.Conv1d(c_in, 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(batch, C, samples)`` -> ``((batch, n), features)``."""
        return _run(self.convs, self.post, x, self.slope)


class STFTDiscriminator(nn.Module):
    """One UnivNet resolution discriminator on STFT magnitudes ``(batch, C, bins, frames)``.

    Args:
        n_fft, hop_length, win_length: the resolution (Hann window).
        in_channels: 1, or 2 when conditional (the magnitudes of x and cond).
        channels: convolution channels (32).
        slope: LeakyReLU slope (0.2).
    """

    def __init__(
        self,
        n_fft: int,
        hop_length: int,
        win_length: int,
        in_channels: int = 1,
        channels: int = 32,
        slope: float = 0.2,
    ) -> None:
        super().__init__()
        self.stft = STFT(n_fft, hop_length, win_length, "hann")
        self.slope = slope
        specs = [(in_channels, (3, 9), 1)] + [(channels, (3, 9), 2)] * 3 + [(channels, (3, 3), 1)]
        self.convs = nn.ModuleList(
            _wn(nn.Conv2d(i, channels, k, (1, s), padding=(k[0] // 2, k[1] // 2))) for i, k, s in specs
        )
        self.post = _wn(nn.Conv2d(channels, 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(batch, C, samples)`` -> ``((batch, n), features)``."""
        b, c, t = x.shape
        mag = magnitude(self.stft(x.reshape(b * c, t))).view(b, c, self.stft.bins, -1)
        return _run(self.convs, self.post, mag, self.slope)


class _MultiDiscriminator(nn.Module):
    """Runs ``self.discriminators`` on one input; subclasses build them and may transform the input."""

    conditional: bool
    discriminators: nn.ModuleList

    def _inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x] * len(self.discriminators)

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor | None = None, return_features: bool = False
    ) -> list[torch.Tensor] | Output:
        """Judges ``x`` (given ``cond`` when conditional).

        Args:
            x: ``(batch, 1, samples)`` clean or generated waveform.
            cond: ``(batch, 1, samples)`` noisy waveform; required when conditional, ignored otherwise.
            return_features: also return every layer's activation per sub-discriminator.

        Returns:
            A list of raw outputs ``(batch, n_i)``, one per sub-discriminator, and with
            ``return_features`` a tuple ``(outputs, [features of each sub-discriminator])``.
        """
        h = _input(x, cond, self.conditional, type(self).__name__)
        outputs, features = [], []
        for d, inp in zip(self.discriminators, self._inputs(h)):
            out, feats = d(inp)
            outputs.append(out)
            features.append(feats)
        return (outputs, features) if return_features else outputs


@register_model()
class MultiPeriodDiscriminator(_MultiDiscriminator):
    """HiFi-GAN's multi-period discriminator.

    Args:
        periods: the periods (2, 3, 5, 7, 11).
        conditional: the noisy waveform as a second input channel.
        width: channel multiplier (1: 32, 128, 512, 1024, 1024).
    """

    def __init__(
        self, periods: list[int] | None = None, conditional: bool = False, width: float = 1.0
    ) -> None:
        super().__init__()
        self.conditional = bool(conditional)
        channels = [_scaled(c, width) for c in (32, 128, 512, 1024)]
        self.discriminators = nn.ModuleList(
            PeriodDiscriminator(p, 2 if conditional else 1, channels) for p in (periods or PERIODS)
        )


@register_model()
class MultiScaleWaveformDiscriminator(_MultiDiscriminator):
    """HiFi-GAN's multi-scale discriminator: raw, ×2 and ×4 average-pooled waveforms (``AvgPool1d(4, 2, 2)``).

    Args:
        scales: number of scales (3); scale ``i`` sees the input pooled ``i`` times.
        conditional: the noisy waveform as a second input channel (pooled with it).
        width: channel multiplier.
    """

    def __init__(self, scales: int = 3, conditional: bool = False, width: float = 1.0) -> None:
        super().__init__()
        self.conditional = bool(conditional)
        c = 2 if conditional else 1
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(c, width, "spectral" if i == 0 else "weight") for i in range(scales)
        )
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def _inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        inputs = [x]
        for _ in range(len(self.discriminators) - 1):
            inputs.append(self.pool(inputs[-1]))
        return inputs


@register_model()
class MultiResolutionSTFTDiscriminator(_MultiDiscriminator):
    """UnivNet's multi-resolution STFT discriminator.

    Args:
        resolutions: ``[n_fft, hop_length, win_length]`` per sub-discriminator (UnivNet's three by default).
        conditional: the noisy waveform's magnitude as a second input channel.
        width: channel multiplier (1: 32 channels).
    """

    def __init__(
        self, resolutions: list[list[int]] | None = None, conditional: bool = False, width: float = 1.0
    ) -> None:
        super().__init__()
        self.conditional = bool(conditional)
        c = 2 if conditional else 1
        self.discriminators = nn.ModuleList(
            STFTDiscriminator(n, h, w, c, _scaled(32, width)) for n, h, w in (resolutions or RESOLUTIONS)
        )


_BUILDERS = {
    "period": (MultiPeriodDiscriminator, "periods"),
    "scale": (MultiScaleWaveformDiscriminator, "scales"),
    "stft": (MultiResolutionSTFTDiscriminator, "resolutions"),
}


@register_model()
class CombinedDiscriminator(_MultiDiscriminator):
    """Several multi-resolution discriminators as one: their output and feature lists concatenated.

    Args:
        kinds: any of ``"period"``, ``"scale"``, ``"stft"`` (HiFi-GAN: period + scale; UnivNet: period + stft).
        conditional: the noisy waveform as a second input channel of every sub-discriminator.
        width: channel multiplier of all of them.
        periods: the period discriminator's periods.
        scales: the scale discriminator's number of scales.
        resolutions: the STFT discriminator's resolutions.
    """

    def __init__(
        self,
        kinds: list[str] | None = None,
        conditional: bool = False,
        width: float = 1.0,
        periods: list[int] | None = None,
        scales: int = 3,
        resolutions: list[list[int]] | None = None,
    ) -> None:
        super().__init__()
        kinds = list(kinds or ["period", "scale"])
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds or len(set(kinds)) != len(kinds):
            raise ValueError(
                f"CombinedDiscriminator: kinds must be distinct names from: {', '.join(KINDS)}; got {kinds}"
            )
        self.conditional, self.kinds = bool(conditional), kinds
        options = {"periods": periods, "scales": scales, "resolutions": resolutions}
        self.parts = nn.ModuleList(
            cls(options[key], conditional=conditional, width=width)
            for cls, key in (_BUILDERS[k] for k in kinds)
        )

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor | None = None, return_features: bool = False
    ) -> list[torch.Tensor] | Output:
        """As :meth:`_MultiDiscriminator.forward`; outputs ordered by ``kinds``."""
        outputs, features = [], []
        for part in self.parts:
            out, feats = part(x, cond, return_features=True)
            outputs += out
            features += feats
        return (outputs, features) if return_features else outputs


# -- presets ----------------------------------------------------------------------------------------------
PRESETS: dict[str, dict[str, Any]] = {
    "hifigan": {"kinds": ["period", "scale"], "width": 1.0},
    "univnet": {"kinds": ["period", "stft"], "width": 1.0},
    "mpd": {"kinds": ["period"], "width": 1.0},
    "msd": {"kinds": ["scale"], "width": 1.0},
    "mrstft": {"kinds": ["stft"], "width": 1.0},
    "hifigan_small": {"kinds": ["period", "scale"], "width": 0.25},
    "univnet_small": {"kinds": ["period", "stft"], "width": 0.25},
}


def build_waveform_discriminator(
    preset: str, overrides: dict[str, Any] | None = None
) -> CombinedDiscriminator:
    """Builds a named multi-resolution discriminator.

    Args:
        preset: a key of :data:`PRESETS` (``hifigan``, ``univnet``, ``mpd``, ``msd``, ``mrstft`` and the
            ``_small`` variants, width 0.25).
        overrides: :class:`CombinedDiscriminator` arguments replacing the preset's, e.g.
            ``{"conditional": True}``.

    Raises:
        UnknownNameError: for an unknown preset (the message lists the presets).
        ValueError: for an override that is not a constructor argument.
    """
    if preset not in PRESETS:
        raise UnknownNameError(
            f"unknown waveform discriminator preset '{preset}'; choose from: {', '.join(sorted(PRESETS))}"
        )
    kwargs = {**PRESETS[preset], **(overrides or {})}
    kwargs["kinds"] = list(kwargs["kinds"])
    check_overrides(CombinedDiscriminator, kwargs, f"{preset} discriminator")
    return CombinedDiscriminator(**kwargs)
