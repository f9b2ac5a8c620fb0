"""CMGAN (Cao, Abdulatif, Yang, Interspeech 2022): a conformer time-frequency generator and its metric
discriminator.

Front end: STFT with a 400-point FFT, Hamming 400, hop 100 (201 bins at 16 kHz); the complex spectrum is
power-law compressed (magnitude ``|X| ** 0.3``, phase kept), and the generator reads three channels:
compressed magnitude, real and imaginary part, laid out ``(batch, 3, frames, bins)``. Each waveform is
first scaled to unit RMS (``c = 1 / rms(noisy)``, as in the authors' pipeline) and the output is scaled
back by ``1 / c``.

Generator: a dense encoder (1×1 convolution to 64 channels, a dilated DenseNet of depth 4 dilated along
time, a (1, 3) convolution of stride 2 along frequency), four two-stage conformer blocks (a conformer along
time, then one along frequency; dim 64, 4 heads of 16, convolution kernel 31, Shaw relative positions),
a mask decoder (DenseNet, sub-pixel upsampling along frequency, a learnable sigmoid with β = 2 per bin:
a mask on the compressed magnitude, combined with the noisy phase) and a complex decoder (a real /
imaginary residual added to the masked spectrum); ≈ 1.83 M parameters.

Metric discriminator: (clean, estimate) compressed magnitudes as 2 channels, four 4×4 / stride-2
convolutions of 16, 32, 64, 128 channels with spectral and instance normalisation and PReLU, adaptive max
pooling, fully connected 128 → 64 (dropout 0.3, PReLU) → 1 and a learnable sigmoid (β = 1); it predicts
``(PESQ − 1) / 3.5`` (``seqgan.adversarial.cmgan_pesq_target``).

Named configurations live in :data:`PRESETS` and are built with :func:`build_cmgan`: ``cmgan`` (the
published sizes, ≈ 65 GFLOP per second of audio) and ``cmgan_small`` (width 16, DenseNets of depth 2, two
conformer blocks; ≈ 66 k parameters, ≈ 1.9 GFLOP per second).

Attention along time is quadratic in the frames: enhance long files in windows of a few seconds (the
``Enhancer`` does, with overlap-add); the presets' ``window`` is the paper's 2-second crop.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqgan.models.base import register_model
from seqgan.models.metricgan import LearnableSigmoid
from seqgan.models.presets import build_pair
from seqgan.models.stft import STFT, compress_spectrum, decompress_spectrum, magnitude


def _check_wave(x: torch.Tensor, name: str, who: str) -> None:
    if x.dim() != 3 or x.shape[1] != 1:
        raise ValueError(f"{who}: {name} must have shape (batch, 1, samples), got {tuple(x.shape)}")


# -- the conformer ------------------------------------------------------------------------------------------
class FeedForward(nn.Module):
    """Pre-norm feed-forward module: LayerNorm, Linear(dim, mult·dim), SiLU, dropout, Linear back, dropout."""

    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, dim * mult),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(dim * mult, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, length, dim)`` -> same shape."""
        return self.net(x)


class RelativeAttention(nn.Module):
    """Pre-norm multi-head self-attention with Shaw et al. (2018) relative position embeddings.

    ``logits[i, j] = q_i · (k_j + r_{clip(i − j)}) / sqrt(dim_head)``, with one learned ``r`` per clipped
    distance in ``[−max_distance, max_distance]`` shared by the heads.

    Args:
        dim: model width.
        heads: attention heads.
        dim_head: width per head.
        dropout: on the attention weights and the output.
        max_distance: distances beyond it share the embedding of ``±max_distance``.
    """

    def __init__(
        self, dim: int, heads: int, dim_head: int, dropout: float = 0.0, max_distance: int = 512
    ) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads, self.dim_head, self.max_distance = heads, dim_head, max_distance
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, 2 * inner, bias=False)
        self.to_out = nn.Linear(inner, dim)
        self.rel_pos = nn.Embedding(2 * max_distance + 1, dim_head)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, length, dim)`` -> same shape."""
        b, n, _ = x.shape
        h = self.norm(x)
        q = self.to_q(h).view(b, n, self.heads, self.dim_head).transpose(1, 2)
        k, v = (
            t.view(b, n, self.heads, self.dim_head).transpose(1, 2) for t in self.to_kv(h).chunk(2, dim=-1)
        )
        pos = torch.arange(n, device=x.device)
        dist = (pos[:, None] - pos[None, :]).clamp(-self.max_distance, self.max_distance) + self.max_distance
        rel = self.rel_pos(dist) * self.dim_head**-0.5  # (n, n, dim_head), scaled as q . k is
        # the position term q_i . r_ij / sqrt(d) enters as an additive bias of the fused attention kernel
        bias = torch.einsum("bhid,ijd->bhij", q, rel)
        p = self.dropout.p if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
        out = out.transpose(1, 2).reshape(b, n, self.heads * self.dim_head)
        return self.dropout(self.to_out(out))


class ConvModule(nn.Module):
    """Conformer convolution module: LayerNorm, pointwise conv to 2·inner + GLU, depthwise conv,
    BatchNorm, SiLU, pointwise conv back to ``dim``, dropout."""

    def __init__(self, dim: int, kernel_size: int = 31, expansion: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"ConvModule: kernel_size must be odd, got {kernel_size}")
        inner = dim * expansion
        self.norm = nn.LayerNorm(dim)
        self.pointwise_in = nn.Conv1d(dim, 2 * inner, 1)
        self.depthwise = nn.Conv1d(inner, inner, kernel_size, padding=kernel_size // 2, groups=inner)
        self.bn = nn.BatchNorm1d(inner)
        self.pointwise_out = nn.Conv1d(inner, dim, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, length, dim)`` -> same shape."""
        h = F.glu(self.pointwise_in(self.norm(x).transpose(1, 2)), dim=1)
        h = self.pointwise_out(F.silu(self.bn(self.depthwise(h))))
        return self.dropout(h.transpose(1, 2))


class ConformerBlock(nn.Module):
    """Conformer block (Gulati et al. 2020): ½·FF, attention, convolution, ½·FF, each residual, then LayerNorm."""

    def __init__(
        self,
        dim: int,
        heads: int = 4,
        dim_head: int = 16,
        kernel_size: int = 31,
        ff_mult: int = 4,
        attn_dropout: float = 0.2,
        ff_dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.ff1 = FeedForward(dim, ff_mult, ff_dropout)
        self.attn = RelativeAttention(dim, heads, dim_head, attn_dropout)
        self.conv = ConvModule(dim, kernel_size)
        self.ff2 = FeedForward(dim, ff_mult, ff_dropout)
        self.post_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, length, dim)`` -> same shape."""
        x = x + 0.5 * self.ff1(x)
        x = x + self.attn(x)
        x = x + self.conv(x)
        x = x + 0.5 * self.ff2(x)
        return self.post_norm(x)


class TwoStageConformer(nn.Module):
    """A conformer along time for every frequency bin, then one along frequency for every frame (residual)."""

    def __init__(self, dim: int, **conformer: Any) -> None:
        super().__init__()
        self.time = ConformerBlock(dim, **conformer)
        self.freq = ConformerBlock(dim, **conformer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, dim, frames, bins)`` -> same shape."""
        b, c, t, f = x.shape
        h = x.permute(0, 3, 2, 1).reshape(b * f, t, c)
        h = self.time(h) + h
        h = h.view(b, f, t, c).transpose(1, 2).reshape(b * t, f, c)
        h = self.freq(h) + h
        return h.view(b, t, f, c).permute(0, 3, 1, 2)


# -- encoder and decoders -----------------------------------------------------------------------------------
def _norm_act(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.InstanceNorm2d(channels, affine=True), nn.PReLU(channels))


class DilatedDenseNet(nn.Module):
    """Densely connected (2, 3) convolutions dilated 1, 2, 4, ... along time (causal padding in time).

    Layer ``i`` reads the concatenation of the input and every earlier output (``channels · (i + 1)``)
    and writes ``channels``; the last layer's output is returned.
    """

    def __init__(self, channels: int, depth: int = 4) -> None:
        super().__init__()
        self.pads = [(1, 1, 2**i, 0) for i in range(depth)]  # (bins left, right, frames before, after)
        self.convs = nn.ModuleList(
            nn.Conv2d(channels * (i + 1), channels, (2, 3), dilation=(2**i, 1)) for i in range(depth)
        )
        self.acts = nn.ModuleList(_norm_act(channels) for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, channels, frames, bins)`` -> same shape."""
        skip = x
        for pad, conv, act in zip(self.pads, self.convs, self.acts):
            out = act(conv(F.pad(skip, pad)))
            skip = torch.cat([out, skip], dim=1)
        return out


class SubPixelUp(nn.Module):
    """Doubles (``r`` times) the frequency axis: a (1, 3) convolution to ``r·out`` channels, then a shuffle."""

    def __init__(self, in_channels: int, out_channels: int, r: int = 2) -> None:
        super().__init__()
        self.r = r
        self.conv = nn.Conv2d(in_channels, out_channels * r, (1, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in, frames, bins)`` -> ``(batch, out, frames, r · bins)``."""
        h = self.conv(F.pad(x, (1, 1, 0, 0)))
        b, c, t, f = h.shape
        return (
            h.view(b, self.r, c // self.r, t, f).permute(0, 2, 3, 4, 1).reshape(b, c // self.r, t, f * self.r)
        )


class DenseEncoder(nn.Module):
    """1×1 conv to ``channels`` + IN + PReLU, a dilated DenseNet, a (1, 3) conv of stride 2 along frequency."""

    def __init__(self, in_channels: int, channels: int, depth: int = 4) -> None:
        super().__init__()
        self.inp = nn.Sequential(nn.Conv2d(in_channels, channels, 1), _norm_act(channels))
        self.dense = DilatedDenseNet(channels, depth)
        self.down = nn.Sequential(
            nn.Conv2d(channels, channels, (1, 3), (1, 2), padding=(0, 1)), _norm_act(channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, in, frames, bins)`` -> ``(batch, channels, frames, (bins + 1) / 2)``."""
        return self.down(self.dense(self.inp(x)))


class MaskDecoder(nn.Module):
    """DenseNet, sub-pixel upsampling, (1, 2) conv to 1 channel + IN + PReLU, 1×1 conv, learnable sigmoid."""

    def __init__(self, channels: int, bins: int, depth: int = 4, beta: float = 2.0) -> None:
        super().__init__()
        self.dense = DilatedDenseNet(channels, depth)
        self.up = SubPixelUp(channels, channels)
        self.conv = nn.Sequential(nn.Conv2d(channels, 1, (1, 2)), _norm_act(1), nn.Conv2d(1, 1, 1))
        self.activation = LearnableSigmoid(bins, beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, channels, frames, (bins + 1) / 2)`` -> mask ``(batch, 1, frames, bins)`` in ``(0, β)``."""
        return self.activation(self.conv(self.up(self.dense(x))))


class ComplexDecoder(nn.Module):
    """DenseNet, sub-pixel upsampling, IN + PReLU, (1, 2) conv to the real and imaginary residual."""

    def __init__(self, channels: int, depth: int = 4) -> None:
        super().__init__()
        self.dense = DilatedDenseNet(channels, depth)
        self.up = SubPixelUp(channels, channels)
        self.act = _norm_act(channels)
        self.conv = nn.Conv2d(channels, 2, (1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, channels, frames, (bins + 1) / 2)`` -> ``(batch, 2, frames, bins)``."""
        return self.conv(self.act(self.up(self.dense(x))))


@register_model()
class CMGANGenerator(nn.Module):
    """CMGAN generator: compressed-magnitude mask + complex refinement through two-stage conformers.

    Args:
        n_fft: FFT size, a multiple of 4 (the encoder halves the odd bin count ``n_fft // 2 + 1``).
        hop_length: STFT hop.
        win_length: analysis window length.
        window: analysis window name (``"hamming"`` as published).
        exponent: power-law compression exponent (0.3).
        channels: width of the encoder, conformers and decoders (64).
        num_blocks: two-stage conformer blocks (4).
        heads: attention heads (4; ``channels // heads`` per head).
        kernel_size: conformer depthwise convolution kernel (31).
        dense_depth: layers of each dilated DenseNet (4).
        mask_beta: β of the mask's learnable sigmoid (2).
        attn_dropout: conformer attention dropout (0.2).
        ff_dropout: conformer feed-forward dropout (0.2).
        normalize_input: scale each input to unit RMS and the output back (the authors' pipeline).

    Shapes:
        ``forward(noisy: (batch, 1, samples)) -> (batch, 1, samples)``, any length of at least one hop.
    """

    def __init__(
        self,
        n_fft: int = 400,
        hop_length: int = 100,
        win_length: int = 400,
        window: str = "hamming",
        exponent: float = 0.3,
        channels: int = 64,
        num_blocks: int = 4,
        heads: int = 4,
        kernel_size: int = 31,
        dense_depth: int = 4,
        mask_beta: float = 2.0,
        attn_dropout: float = 0.2,
        ff_dropout: float = 0.2,
        normalize_input: bool = True,
    ) -> None:
        super().__init__()
        who = type(self).__name__
        if n_fft % 4:
            raise ValueError(f"{who}: n_fft must be a multiple of 4 (an odd number of bins), got {n_fft}")
        if channels % heads:
            raise ValueError(f"{who}: channels {channels} must be a multiple of heads {heads}")
        if exponent <= 0:
            raise ValueError(f"{who}: exponent must be > 0, got {exponent}")
        self.stft = STFT(n_fft, hop_length, win_length, window)
        self.exponent, self.normalize_input = float(exponent), bool(normalize_input)
        bins = self.stft.bins
        self.encoder = DenseEncoder(3, channels, dense_depth)
        conformer = {
            "heads": heads,
            "dim_head": channels // heads,
            "kernel_size": kernel_size,
            "attn_dropout": attn_dropout,
            "ff_dropout": ff_dropout,
        }
        self.blocks = nn.ModuleList(TwoStageConformer(channels, **conformer) for _ in range(num_blocks))
        self.mask_decoder = MaskDecoder(channels, bins, dense_depth, mask_beta)
        self.complex_decoder = ComplexDecoder(channels, dense_depth)
        self.length_multiple = 1

    def input_scale(self, noisy: torch.Tensor) -> torch.Tensor:
        """``c = 1 / rms(noisy)`` per example, ``(batch, 1, 1)`` (ones without ``normalize_input``)."""
        if not self.normalize_input:
            return noisy.new_ones(noisy.shape[0], 1, 1)
        return torch.rsqrt(noisy.float().pow(2).mean(dim=-1, keepdim=True).clamp_min(1e-10))

    def compressed(self, wave: torch.Tensor) -> torch.Tensor:
        """Power-law compressed complex spectrum ``(batch, bins, frames)`` of ``wave: (batch, 1, samples)``."""
        return compress_spectrum(self.stft(wave), self.exponent)

    def spectra(self, noisy: torch.Tensor, clean: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The spectral pieces of one forward pass (for CMGAN's losses and the metric discriminator).

        Both signals are scaled by the noisy input's ``c`` (``scale``), as in training the paper's model.

        Args:
            noisy: ``(batch, 1, samples)``.
            clean: optional ``(batch, 1, samples)`` reference.

        Returns:
            ``scale`` ``(batch, 1, 1)``; compressed complex spectra ``(batch, bins, frames)``: ``noisy_spec``,
            ``enhanced_spec`` (and ``clean_spec``); compressed magnitudes ``(batch, frames, bins)``:
            ``noisy_mag``, ``enhanced_mag`` (and ``clean_mag``); the ``mask`` ``(batch, frames, bins)``.
        """
        _check_wave(noisy, "noisy", type(self).__name__)
        scale = self.input_scale(noisy)
        spec = self.compressed(noisy.float() * scale).transpose(1, 2)  # (batch, frames, bins)
        mag = magnitude(spec)
        h = self.encoder(torch.stack([mag, spec.real, spec.imag], dim=1))
        for block in self.blocks:
            h = block(h)
        mask = self.mask_decoder(h).squeeze(1)
        residual = self.complex_decoder(h)
        masked = spec * mask  # mask · |C| with the noisy phase
        enhanced = torch.complex(masked.real + residual[:, 0], masked.imag + residual[:, 1])
        out = {
            "scale": scale,
            "noisy_spec": spec.transpose(1, 2),
            "enhanced_spec": enhanced.transpose(1, 2),
            "noisy_mag": mag,
            "enhanced_mag": magnitude(enhanced),
            "mask": mask,
        }
        if clean is not None:
            ref = self.compressed(clean.float() * scale)
            out["clean_spec"], out["clean_mag"] = ref, magnitude(ref).transpose(1, 2)
        return out

    def synthesize(self, spec: torch.Tensor, length: int, scale: torch.Tensor) -> torch.Tensor:
        """Waveform ``(batch, 1, length)`` of a compressed spectrum ``(batch, bins, frames)``, scaled by ``1 / scale``."""
        return self.stft.inverse(decompress_spectrum(spec, self.exponent), length) / scale

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        """Enhances ``noisy: (batch, 1, samples)`` -> ``(batch, 1, samples)``."""
        s = self.spectra(noisy)
        return self.synthesize(s["enhanced_spec"], noisy.shape[-1], s["scale"]).to(noisy.dtype)


@register_model()
class CMGANDiscriminator(nn.Module):
    """CMGAN metric discriminator: predicts ``(PESQ − 1) / 3.5`` of an (estimate, reference) pair in (0, 1).

    Args:
        n_fft, hop_length, win_length, window, exponent: the front end of :meth:`forward` (as the generator's).
        channels: the first convolution's channels, doubled per layer (16 → 16, 32, 64, 128).
        num_layers: 4×4 / stride-2 convolutions (4).
        dropout: before the hidden PReLU of the head (0.3).
        beta: β of the output's learnable sigmoid (1).

    Shapes:
        ``forward(estimate: (batch, 1, samples), reference: (batch, 1, samples)) -> (batch, 1)``; at least
        ``16 · hop_length`` samples (each convolution halves the frames).
    """

    def __init__(
        self,
        n_fft: int = 400,
        hop_length: int = 100,
        win_length: int = 400,
        window: str = "hamming",
        exponent: float = 0.3,
        channels: int = 16,
        num_layers: int = 4,
        dropout: float = 0.3,
        beta: float = 1.0,
    ) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        self.stft = STFT(n_fft, hop_length, win_length, window)
        self.exponent = float(exponent)
        widths = [2] + [channels * 2**i for i in range(num_layers)]
        self.convs = nn.ModuleList(
            sn(nn.Conv2d(i, o, 4, 2, 1, bias=False)) for i, o in zip(widths[:-1], widths[1:])
        )
        self.acts = nn.ModuleList(_norm_act(o) for o in widths[1:])
        top = widths[-1]
        self.head = nn.Sequential(
            sn(nn.Linear(top, top // 2)),
            nn.Dropout(dropout),
            nn.PReLU(top // 2),
            sn(nn.Linear(top // 2, 1)),
            LearnableSigmoid(1, beta),
        )

    def score(
        self, estimate: torch.Tensor, reference: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Scores ``(batch, 1)`` from compressed magnitudes ``(batch, frames, bins)`` (the generator's
        ``spectra()`` ``enhanced_mag`` / ``clean_mag``); with ``return_features`` also each layer's output."""
        h = torch.stack([reference, estimate], dim=1)
        features = []
        for conv, act in zip(self.convs, self.acts):
            h = act(conv(h))
            features.append(h)
        out = self.head(torch.amax(h, dim=(2, 3)))
        return (out, features) if return_features else out

    def forward(
        self, estimate: torch.Tensor, reference: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Predicted normalised PESQ of ``estimate`` against ``reference`` (waveforms ``(batch, 1, samples)``).

        Returns:
            ``(batch, 1)``, and with ``return_features`` a tuple ``(scores, features)``.
        """
        who = type(self).__name__
        _check_wave(estimate, "estimate", who)
        _check_wave(reference, "reference", who)

        def mag(x: torch.Tensor) -> torch.Tensor:
            return magnitude(compress_spectrum(self.stft(x), self.exponent)).transpose(1, 2)

        return self.score(mag(estimate), mag(reference), return_features)


# -- presets ----------------------------------------------------------------------------------------------
_FRONT_END = {"n_fft": 400, "hop_length": 100, "win_length": 400, "window": "hamming", "exponent": 0.3}

PRESETS: dict[str, dict[str, Any]] = {
    "cmgan": {
        "generator": {**_FRONT_END, "channels": 64, "num_blocks": 4, "heads": 4, "kernel_size": 31},
        "discriminator": {**_FRONT_END, "channels": 16, "num_layers": 4, "dropout": 0.3},
        "window": 32000,
        "loss_weights": {"ri": 0.1, "magnitude": 0.9, "time": 0.2, "adversarial": 0.05},
        "notes": "Cao et al. 2022 (authors' code): STFT 400 / Hamming 400 / hop 100, power-law 0.3; dense "
        "encoder 64 ch, 4 two-stage conformers (dim 64, 4 heads, kernel 31), mask decoder (learnable "
        "sigmoid beta 2) + complex decoder (~1.83 M params); metric D 16-32-64-128 SN + IN + PReLU, FC "
        "128-64-1, dropout 0.3, learnable sigmoid. AdamW lr 5e-4 (G) / 1e-3 (D), halved every 30 epochs; "
        "batch 4 of 2 s crops; targets (PESQ - 1) / 3.5.",
    },
    "cmgan_small": {
        "generator": {
            **_FRONT_END,
            "channels": 16,
            "num_blocks": 2,
            "heads": 4,
            "kernel_size": 15,
            "dense_depth": 2,
        },
        "discriminator": {**_FRONT_END, "channels": 8, "num_layers": 4, "dropout": 0.3},
        "window": 16000,
        "loss_weights": {"ri": 0.1, "magnitude": 0.9, "time": 0.2, "adversarial": 0.05},
        "notes": "CPU-sized CMGAN: the published front end, width 16, DenseNets of depth 2, 2 two-stage "
        "conformers (4 heads of 4, kernel 15): ~66 k params, ~1.9 GFLOP per second of audio (the "
        "published model ~65); metric D 8-16-32-64; 1 s windows.",
    },
}


def build_cmgan(
    preset: str,
    generator_overrides: dict[str, Any] | None = None,
    discriminator_overrides: dict[str, Any] | None = None,
) -> tuple[CMGANGenerator, CMGANDiscriminator]:
    """Builds the generator and metric discriminator of a named configuration.

    Args:
        preset: a key of :data:`PRESETS` (``cmgan``, ``cmgan_small``).
        generator_overrides: constructor arguments replacing the preset's generator ones.
        discriminator_overrides: likewise for the discriminator.

    Raises:
        UnknownNameError: for an unknown preset (the message lists the presets).
        ValueError: for an override that is not a constructor argument.
    """
    return build_pair(  # type: ignore[return-value]
        PRESETS,
        "CMGAN",
        preset,
        CMGANGenerator,
        CMGANDiscriminator,
        generator_overrides,
        discriminator_overrides,
    )
