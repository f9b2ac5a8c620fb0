"""SEGAN: the speech-enhancement generator and conditional discriminator (Pascual et al. 2017).

The generator is a fully convolutional encoder–decoder on raw waveforms: strided ``Conv1d`` layers down to
a bottleneck, a latent ``z`` concatenated there, and ``ConvTranspose1d`` layers mirroring the encoder
back up, each decoder output but the last concatenated with the mirrored encoder activation. The
discriminator is the same strided encoder on the pair ``(clean or enhanced) ‖ noisy`` and outputs one
raw logit per example.

Named configurations live in :data:`PRESETS` and are built with :func:`build_segan`:

* ``segan`` — the paper (11 + 11 layers, kernel 31, stride 2, ≈73.1 M + ≈24.4 M parameters);
* ``segan_plus`` — the later PyTorch release (5 + 5 layers, stride 4, learned skip gains, BN + FC D);
* ``segan_small`` — a narrow 7 + 7 layer model (kernel 15, 8192-sample windows) that trains on two
  CPU cores in minutes.
"""

from __future__ import annotations

import copy
import inspect
import logging
import math
from typing import Any

import torch
from torch import nn

from seqgan.models.base import register_model
from seqgan.models.layers import (
    VirtualBatchNorm,
    init_truncated_normal_,
    make_activation,
    same_length_padding,
)
from seqgan.registry import UnknownNameError

logger = logging.getLogger(__name__)

SKIP_GAINS = ("none", "learned")
NORMS = ("vbn", "batch", "spectral", "none")
HEADS = ("conv1x1_linear", "fc", "conv1x1_mean")


def _check_channels(channels: list[int], who: str) -> list[int]:
    channels = [int(c) for c in channels]
    if not channels or any(c < 1 for c in channels):
        raise ValueError(f"{who}: channels must be a non-empty list of positive ints, got {channels}")
    return channels


def _check_waveform(x: torch.Tensor, name: str, channels: int, multiple: int, who: str) -> None:
    if x.dim() != 3 or x.shape[1] != channels:
        raise ValueError(f"{who}: {name} must have shape (batch, {channels}, samples), got {tuple(x.shape)}")
    if x.shape[-1] % multiple != 0:
        raise ValueError(
            f"{who}: {name} has {x.shape[-1]} samples, not a multiple of {multiple} "
            f"(stride ** layers); pad or crop to a multiple of `length_multiple`"
        )


@register_model()
class SEGANGenerator(nn.Module):
    """SEGAN generator: a strided convolutional encoder–decoder with skip connections and a latent z.

    Encoder layer ``i`` is ``Conv1d(channels[i-1], channels[i], kernel_size, stride)`` + activation
    (input channels 1). The decoder mirrors it with ``ConvTranspose1d``: its outputs have channels
    ``channels[-2], ..., channels[0], 1``; every decoder output but the last goes through the activation
    and is concatenated with the encoder activation of the same length (times a learnable per-channel
    gain when ``skip_gain="learned"``); the last goes through ``tanh``. ``z`` of ``latent_channels``
    channels is concatenated with the bottleneck.

    Latent: when ``z`` is not given, ``z ~ N(0, I)`` in training mode; in eval mode ``z = 0`` (the prior's
    mean: deterministic enhancement) unless ``self.sample_latent_at_eval`` is True.

    Args:
        channels: encoder output channels, e.g. ``[16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 1024]``.
        kernel_size: width of every (transposed) convolution.
        stride: stride of every (transposed) convolution.
        latent_channels: channels of ``z`` at the bottleneck; ``None`` or 0 for no latent.
        skip: concatenate mirrored encoder activations to the decoder outputs.
        skip_gain: ``"none"`` or ``"learned"`` (a per-channel gain on each skip, initialised to 1).
        activation: ``"prelu"`` (paper), ``"leaky_relu"`` or ``"relu"``.
        negative_slope: slope for ``"leaky_relu"``.
        init_std: standard deviation of the truncated-normal weight initialisation (cut at ±2·std).

    Shapes:
        ``forward(noisy: (batch, 1, samples), z: (batch, latent_channels, samples / length_multiple))``
        ``-> (batch, 1, samples)``; ``samples`` must be a multiple of ``length_multiple``.
    """

    def __init__(
        self,
        channels: list[int],
        kernel_size: int = 31,
        stride: int = 2,
        latent_channels: int | None = 1024,
        skip: bool = True,
        skip_gain: str = "none",
        activation: str = "prelu",
        negative_slope: float = 0.3,
        init_std: float = 0.02,
    ) -> None:
        super().__init__()
        who = type(self).__name__
        channels = _check_channels(channels, who)
        if skip_gain not in SKIP_GAINS:
            raise ValueError(f"{who}: unknown skip_gain '{skip_gain}'; choose from: {', '.join(SKIP_GAINS)}")
        padding, output_padding = same_length_padding(kernel_size, stride)
        self.num_layers = len(channels)
        self.stride = stride
        self.latent_channels = int(latent_channels or 0)
        self.skip = skip
        self.length_multiple = stride**self.num_layers
        self.sample_latent_at_eval = False

        enc_in = [1, *channels[:-1]]
        self.encoder = nn.ModuleList(
            nn.Conv1d(i, o, kernel_size, stride, padding) for i, o in zip(enc_in, channels)
        )
        self.encoder_act = nn.ModuleList(make_activation(activation, o, negative_slope) for o in channels)

        dec_out = [*reversed(channels[:-1]), 1]
        # decoder layer 0 takes bottleneck ‖ z; layer k + 1 takes decoder output k (‖ its skip)
        dec_in = [channels[-1] + self.latent_channels] + [o * 2 if skip else o for o in dec_out[:-1]]
        self.decoder = nn.ModuleList(
            nn.ConvTranspose1d(i, o, kernel_size, stride, padding, output_padding)
            for i, o in zip(dec_in, dec_out)
        )
        self.decoder_act = nn.ModuleList(make_activation(activation, o, negative_slope) for o in dec_out[:-1])
        # skip k joins decoder output k: the encoder activation of layer num_layers - 2 - k
        if skip and skip_gain == "learned":
            self.skip_gains = nn.ParameterList(nn.Parameter(torch.ones(1, o, 1)) for o in dec_out[:-1])
        else:
            self.skip_gains = None
        init_truncated_normal_(self, init_std)

    def latent_shape(self, length: int) -> tuple[int, int]:
        """``(channels, frames)`` of ``z`` for an input of ``length`` samples."""
        if length % self.length_multiple != 0:
            raise ValueError(
                f"{type(self).__name__}: length {length} is not a multiple of {self.length_multiple}"
            )
        return self.latent_channels, length // self.length_multiple

    def forward(self, noisy: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Enhances ``noisy``.

        Args:
            noisy: ``(batch, 1, samples)``, ``samples`` a multiple of ``length_multiple``.
            z: optional latent ``(batch, latent_channels, samples / length_multiple)``.

        Returns:
            ``(batch, 1, samples)`` in ``[-1, 1]``.
        """
        _check_waveform(noisy, "noisy", 1, self.length_multiple, type(self).__name__)
        h = noisy
        skips = []
        for conv, act in zip(self.encoder, self.encoder_act):
            h = act(conv(h))
            skips.append(h)
        if self.latent_channels:
            shape = (h.shape[0], self.latent_channels, h.shape[-1])
            if z is None:
                if self.training or self.sample_latent_at_eval:
                    z = torch.randn(shape, device=h.device, dtype=h.dtype)
                else:
                    z = h.new_zeros(shape)
            elif tuple(z.shape) != shape:
                raise ValueError(f"{type(self).__name__}: z must have shape {shape}, got {tuple(z.shape)}")
            h = torch.cat([h, z.to(h.dtype)], dim=1)
        elif z is not None:
            raise ValueError(f"{type(self).__name__} was built without a latent (latent_channels=0)")
        last = self.num_layers - 1
        for k, deconv in enumerate(self.decoder):
            h = deconv(h)
            if k == last:
                break
            h = self.decoder_act[k](h)
            if self.skip:
                s = skips[last - 1 - k]
                if self.skip_gains is not None:
                    s = s * self.skip_gains[k]
                h = torch.cat([h, s], dim=1)
        return torch.tanh(h)


@register_model()
class SEGANDiscriminator(nn.Module):
    """SEGAN conditional discriminator: a strided convolutional encoder on ``x ‖ cond``.

    Every layer is ``Conv1d(kernel_size, stride)`` → norm → ``LeakyReLU(negative_slope)``, then a head:

    * ``"conv1x1_linear"`` (paper): 1×1 convolution to one channel, then ``Linear(frames, 1)``, where
      ``frames = input_length / stride ** layers``: the input length is fixed;
    * ``"fc"`` (SEGAN+): flatten ``channels[-1] × frames`` → 256 → 128 → 1 with LeakyReLU between;
      the input length is fixed;
    * ``"conv1x1_mean"``: 1×1 convolution to one channel averaged over frames: any length.

    Norms: ``"vbn"`` virtual batch norm (paper), ``"batch"``, ``"spectral"`` (spectral normalisation of
    every weight, no norm layer) or ``"none"``.

    **Virtual batch norm.** The discriminator keeps a reference batch of ``x ‖ cond`` pairs in the buffer
    ``reference`` (saved in the state dict, so a resumed run keeps it). Set it with
    :meth:`set_reference` (e.g. from a seeded batch of real pairs when the task builds the model);
    otherwise the first pair batch seen in training mode becomes the reference (the task's first D call,
    normally on real pairs). Every forward runs the reference batch in the same tensor as the input; each
    VBN layer normalises an example with the reference statistics mixed with its own, so the output for an
    example does not depend on the rest of its batch (real and fake may be batched together), and train
    and eval modes behave the same. The input length must equal the reference's length.

    Args:
        channels: output channels of the layers, e.g. the generator encoder's.
        kernel_size: convolution width.
        stride: convolution stride.
        in_channels: channels of ``x ‖ cond`` (2 for mono pairs).
        norm: one of ``"vbn"``, ``"batch"``, ``"spectral"``, ``"none"``.
        negative_slope: LeakyReLU slope (0.3 in the paper).
        head: one of ``"conv1x1_linear"``, ``"fc"``, ``"conv1x1_mean"``.
        input_length: samples per input (needed by the fixed-length heads).
        init_std: standard deviation of the truncated-normal weight initialisation.

    Shapes:
        ``forward(x: (batch, 1, samples), cond: (batch, 1, samples)) -> (batch, 1)`` raw logits.
    """

    def __init__(
        self,
        channels: list[int],
        kernel_size: int = 31,
        stride: int = 2,
        in_channels: int = 2,
        norm: str = "vbn",
        negative_slope: float = 0.3,
        head: str = "conv1x1_linear",
        input_length: int | None = 16384,
        init_std: float = 0.02,
    ) -> None:
        super().__init__()
        who = type(self).__name__
        channels = _check_channels(channels, who)
        if norm not in NORMS:
            raise ValueError(f"{who}: unknown norm '{norm}'; choose from: {', '.join(NORMS)}")
        if head not in HEADS:
            raise ValueError(f"{who}: unknown head '{head}'; choose from: {', '.join(HEADS)}")
        padding, _ = same_length_padding(kernel_size, stride)
        self.norm = norm
        self.head = head
        self.in_channels = in_channels
        self.length_multiple = stride ** len(channels)
        self.input_length = input_length
        frames = None
        if head != "conv1x1_mean":
            if not input_length or input_length % self.length_multiple != 0:
                raise ValueError(
                    f"{who}: head '{head}' needs input_length, a multiple of {self.length_multiple}, "
                    f"got {input_length}; or use head='conv1x1_mean' for any length"
                )
            frames = input_length // self.length_multiple

        conv_in = [in_channels, *channels[:-1]]
        self.convs = nn.ModuleList(
            nn.Conv1d(i, o, kernel_size, stride, padding, bias=norm in ("spectral", "none"))
            for i, o in zip(conv_in, channels)
        )
        if norm == "vbn":
            self.norms = nn.ModuleList(VirtualBatchNorm(o) for o in channels)
        elif norm == "batch":
            self.norms = nn.ModuleList(nn.BatchNorm1d(o) for o in channels)
        else:
            self.norms = nn.ModuleList(nn.Identity() for _ in channels)
        self.act = nn.LeakyReLU(negative_slope)

        if head == "fc":
            self.head_conv = None
            self.head_linear = nn.Sequential(
                nn.Linear(channels[-1] * frames, 256),
                nn.LeakyReLU(negative_slope),
                nn.Linear(256, 128),
                nn.LeakyReLU(negative_slope),
                nn.Linear(128, 1),
            )
        else:
            self.head_conv = nn.Conv1d(channels[-1], 1, 1)
            self.head_linear = nn.Linear(frames, 1) if head == "conv1x1_linear" else None
        init_truncated_normal_(self, init_std)
        if norm == "spectral":
            for m in self.modules():
                if isinstance(m, (nn.Conv1d, nn.Linear)):
                    nn.utils.parametrizations.spectral_norm(m)
        if norm == "vbn":
            self.register_buffer("reference", torch.zeros(0, in_channels, 0))

    # -- virtual batch norm reference -------------------------------------------------------------------
    @property
    def has_reference(self) -> bool:
        """Whether a VBN reference batch is set (always False for other norms)."""
        return self.norm == "vbn" and self.reference.shape[0] > 0

    @torch.no_grad()
    def set_reference(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> None:
        """Fixes the virtual batch norm reference batch (``norm="vbn"`` only).

        Args:
            x: ``(N, 1, samples)`` real (clean) examples.
            cond: ``(N, 1, samples)`` their conditions (noisy), or None when ``in_channels`` counts ``x`` alone.
        """
        if self.norm != "vbn":
            raise RuntimeError(f"{type(self).__name__}: set_reference needs norm='vbn', not '{self.norm}'")
        pair = self._pair(x, cond)
        if pair.shape[0] < 1:
            raise ValueError(f"{type(self).__name__}: the reference batch is empty")
        self.reference = pair.detach().clone().to(self.reference.device)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        # the reference batch's shape is only known once set: adopt the stored one
        key = prefix + "reference"
        if self.norm == "vbn" and key in state_dict:
            self.reference = torch.empty_like(state_dict[key], device=self.reference.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- forward ----------------------------------------------------------------------------------------
    def _pair(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        pair = x if cond is None else torch.cat([x, cond.to(x.dtype)], dim=1)
        who = type(self).__name__
        _check_waveform(pair, "x ‖ cond", self.in_channels, self.length_multiple, who)
        if self.head != "conv1x1_mean" and pair.shape[-1] != self.input_length:
            raise ValueError(
                f"{who}: head '{self.head}' was built for {self.input_length} samples, got "
                f"{pair.shape[-1]}; rebuild with input_length={pair.shape[-1]} or use head='conv1x1_mean'"
            )
        return pair

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor | None = None, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Scores ``x`` given ``cond``.

        Args:
            x: ``(batch, 1, samples)`` clean or enhanced waveform.
            cond: ``(batch, 1, samples)`` noisy waveform (the condition).
            return_features: also return every layer's activation (for feature matching).

        Returns:
            Logits ``(batch, 1)`` (no sigmoid), and with ``return_features`` a tuple
            ``(logits, [ (batch, channels[i], samples / stride ** (i + 1)) for each layer ])``.
        """
        h = self._pair(x, cond)
        n_ref = 0
        if self.norm == "vbn":
            if not self.has_reference:
                if not self.training:
                    raise RuntimeError(
                        f"{type(self).__name__}: no virtual batch norm reference; call "
                        "set_reference(clean, noisy) or run a training-mode forward on real pairs first"
                    )
                logger.info(
                    "virtual batch norm: adopting the first batch (%d pairs) as reference", h.shape[0]
                )
                self.set_reference(h)
            ref = self.reference
            if ref.shape[-1] != h.shape[-1]:
                raise ValueError(
                    f"{type(self).__name__}: input has {h.shape[-1]} samples but the VBN reference batch "
                    f"has {ref.shape[-1]}; use inputs of the reference's length"
                )
            n_ref = ref.shape[0]
            h = torch.cat([ref.to(h.dtype), h], dim=0)

        features = []
        for conv, norm in zip(self.convs, self.norms):
            h = conv(h)
            h = norm(h, n_ref) if n_ref else norm(h)
            h = self.act(h)
            features.append(h[n_ref:] if n_ref else h)
        h = features[-1]
        if self.head_conv is None:
            logits = self.head_linear(h.flatten(1))
        else:
            h = self.head_conv(h).squeeze(1)  # (batch, frames)
            logits = self.head_linear(h) if self.head_linear is not None else h.mean(-1, keepdim=True)
        if return_features:
            return logits, features
        return logits


# -- presets ----------------------------------------------------------------------------------------------
_PAPER_CHANNELS = [16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 1024]
_PLUS_CHANNELS = [64, 128, 256, 512, 1024]
_SMALL_CHANNELS = [16, 16, 32, 32, 64, 64, 128]

PRESETS: dict[str, dict[str, Any]] = {
    "segan": {
        "generator": {
            "channels": _PAPER_CHANNELS,
            "kernel_size": 31,
            "stride": 2,
            "latent_channels": 1024,
            "skip": True,
            "skip_gain": "none",
            "activation": "prelu",
        },
        "discriminator": {
            "channels": _PAPER_CHANNELS,
            "kernel_size": 31,
            "stride": 2,
            "in_channels": 2,
            "norm": "vbn",
            "negative_slope": 0.3,
            "head": "conv1x1_linear",
            "input_length": 16384,
        },
        "window": 16384,
        "notes": "Pascual et al. 2017: 11+11 layers, kernel 31, stride 2, z 8x1024, PReLU, skip concat; "
        "D with virtual batch norm, LeakyReLU(0.3), 1x1 conv + linear 8->1. ~73.1 M + ~24.4 M params.",
    },
    "segan_plus": {
        "generator": {
            "channels": _PLUS_CHANNELS,
            "kernel_size": 31,
            "stride": 4,
            "latent_channels": 1024,
            "skip": True,
            "skip_gain": "learned",
            "activation": "prelu",
        },
        "discriminator": {
            "channels": _PLUS_CHANNELS,
            "kernel_size": 31,
            "stride": 4,
            "in_channels": 2,
            "norm": "batch",
            "negative_slope": 0.3,
            "head": "fc",
            "input_length": 16384,
        },
        "window": 16384,
        "notes": "SEGAN+ (PyTorch release): 5+5 layers, stride 4, kernel 31, learned per-channel skip "
        "gains, z 16x1024; D with batch norm and an FC head (16x1024 -> 256 -> 128 -> 1).",
    },
    "segan_small": {
        "generator": {
            "channels": _SMALL_CHANNELS,
            "kernel_size": 15,
            "stride": 2,
            "latent_channels": 64,
            "skip": True,
            "skip_gain": "none",
            "activation": "prelu",
        },
        "discriminator": {
            "channels": _SMALL_CHANNELS,
            "kernel_size": 15,
            "stride": 2,
            "in_channels": 2,
            "norm": "vbn",
            "negative_slope": 0.3,
            "head": "conv1x1_linear",
            "input_length": 8192,
        },
        "window": 8192,
        "notes": "CPU-sized SEGAN: 7+7 layers, kernel 15, stride 2, channels 16,16,32,32,64,64,128, "
        "z 64 channels x 64 frames, window 8192 (0.51 s at 16 kHz); D as in the paper (VBN, "
        "LeakyReLU(0.3), 1x1 conv + linear 64->1). ~0.67 M + ~0.24 M params.",
    },
}


def _check_overrides(cls: type, overrides: dict[str, Any], what: str) -> None:
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what} option(s) {', '.join(unknown)}; choose from: {', '.join(allowed)}")


def build_segan(
    preset: str,
    generator_overrides: dict[str, Any] | None = None,
    discriminator_overrides: dict[str, Any] | None = None,
) -> tuple[SEGANGenerator, SEGANDiscriminator]:
    """Builds the generator and discriminator of a named configuration.

    Args:
        preset: a key of :data:`PRESETS` (``segan``, ``segan_plus``, ``segan_small``).
        generator_overrides: constructor arguments replacing the preset's generator ones.
        discriminator_overrides: likewise for the discriminator.

    Returns:
        ``(generator, discriminator)``, freshly initialised.

    Raises:
        UnknownNameError: for an unknown preset (the message lists the presets).
        ValueError: for an override that is not a constructor argument.
    """
    if preset not in PRESETS:
        raise UnknownNameError(f"unknown SEGAN preset '{preset}'; choose from: {', '.join(sorted(PRESETS))}")
    spec = copy.deepcopy(PRESETS[preset])
    g_kwargs = {**spec["generator"], **(generator_overrides or {})}
    d_kwargs = {**spec["discriminator"], **(discriminator_overrides or {})}
    _check_overrides(SEGANGenerator, g_kwargs, "generator")
    _check_overrides(SEGANDiscriminator, d_kwargs, "discriminator")
    return SEGANGenerator(**g_kwargs), SEGANDiscriminator(**d_kwargs)


def segan_generator_flops(generator: SEGANGenerator, length: int) -> int:
    """Floating-point operations of one generator forward on one ``length``-sample window.

    Counts the (transposed) convolutions' multiply–accumulates × 2 analytically: a ``Conv1d`` costs
    ``frames_out · C_out · C_in · k`` MACs and a ``ConvTranspose1d`` costs ``frames_in · C_in · C_out · k``.
    Biases, activations, concatenations and ``tanh`` are left out (well under 1 %). The paper
    configuration gives ≈4.3 GFLOP per 16384 samples.

    Args:
        generator: the model.
        length: window length in samples (a multiple of ``generator.length_multiple``).
    """
    generator.latent_shape(length)  # validates the length
    macs = 0
    frames = length
    for conv in generator.encoder:
        frames = math.ceil(frames / conv.stride[0])
        macs += frames * conv.out_channels * conv.in_channels * conv.kernel_size[0]
    for deconv in generator.decoder:
        macs += frames * deconv.in_channels * deconv.out_channels * deconv.kernel_size[0]
        frames *= deconv.stride[0]
    return 2 * macs
