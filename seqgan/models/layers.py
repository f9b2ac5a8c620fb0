"""Layers and helpers shared by the model families.

* :func:`same_length_padding` — padding / output padding so that a strided convolution divides the
  length exactly by its stride and the mirrored transposed convolution restores it;
* :func:`init_truncated_normal_` — the N(0, 0.02) truncated initialisation of DCGAN-style GANs;
* :func:`make_activation` — activations by name;
* :class:`VirtualBatchNorm` — virtual batch normalisation (Salimans et al. 2016).
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = ("prelu", "leaky_relu", "relu")


def same_length_padding(kernel_size: int, stride: int) -> tuple[int, int]:
    """Padding that makes a strided convolution map ``T`` to ``T / stride`` exactly.

    With ``padding = (kernel_size - 1) // 2`` a ``Conv1d`` gives ``ceil(T / stride)`` frames (exactly
    ``T / stride`` when ``T`` is a multiple of ``stride``), and a ``ConvTranspose1d`` with the same
    padding and ``output_padding = stride + 2 * padding - kernel_size`` gives back ``stride * T'``.

    Args:
        kernel_size: convolution kernel width (odd, or even with ``stride >= 2``).
        stride: convolution stride (>= 1).

    Returns:
        ``(padding, output_padding)``.

    Raises:
        ValueError: for a kernel / stride pair that cannot keep lengths exact.
    """
    if kernel_size < 1 or stride < 1:
        raise ValueError(f"kernel_size and stride must be >= 1, got {kernel_size} and {stride}")
    padding = (kernel_size - 1) // 2
    output_padding = stride + 2 * padding - kernel_size
    if not 0 <= output_padding < stride:
        raise ValueError(
            f"kernel_size {kernel_size} with stride {stride} cannot keep lengths exact; "
            "use an odd kernel size"
        )
    return padding, output_padding


_INIT_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)


@torch.no_grad()
def init_truncated_normal_(module: nn.Module, std: float = 0.02) -> None:
    """Initialises every convolution and linear weight of ``module`` from N(0, std²) cut at ±2·std.

    Biases are set to zero; other parameters (PReLU slopes, norm affines) keep their defaults.
    """
    for m in module.modules():
        if isinstance(m, _INIT_TYPES):
            nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2 * std, b=2 * std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def make_activation(name: str, channels: int, negative_slope: float = 0.3) -> nn.Module:
    """An activation by name.

    Args:
        name: ``"prelu"`` (one learnable slope per channel), ``"leaky_relu"`` or ``"relu"``.
        channels: number of channels (for PReLU).
        negative_slope: slope of ``leaky_relu``.
    """
    if name == "prelu":
        return nn.PReLU(channels)
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope)
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"unknown activation '{name}'; choose from: {', '.join(ACTIVATIONS)}")


class VirtualBatchNorm(nn.Module):
    """Virtual batch normalisation (Salimans et al. 2016, "Improved techniques for training GANs").

    Each example is normalised with the statistics of a fixed *reference batch* together with the
    example itself, so an example's output does not depend on the other examples it is batched with.
    The reference batch is normalised with its own statistics alone.

    The reference batch travels through the network in the same tensor as the examples: the first
    ``num_reference`` rows of the input are the reference batch's activations at this layer (they change
    as the network's weights change, and gradients flow through their statistics, as in the paper).

    Statistics are per channel, over the batch and every position (dims 0, 2, 3, ...), computed in
    float32. For an example ``x`` and a reference batch of ``N`` examples (all of one length) the combined
    statistics are ``mean = (x̄ + N·ref_mean) / (N + 1)``, likewise for the mean square.

    Args:
        num_features: number of channels ``C``.
        eps: added to the variance.
        affine: learn a per-channel scale (init 1) and shift (init 0).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, h: torch.Tensor, num_reference: int) -> torch.Tensor:
        """Normalises ``h``.

        Args:
            h: ``(num_reference + batch, C, *)``; the first ``num_reference`` rows are the reference batch.
            num_reference: size of the reference batch (>= 1).

        Returns:
            Tensor of the shape and dtype of ``h``.
        """
        if num_reference < 1 or num_reference > h.shape[0]:
            raise ValueError(f"num_reference must be in [1, {h.shape[0]}], got {num_reference}")
        dtype = h.dtype
        hf = h.float()
        ref, x = hf[:num_reference], hf[num_reference:]
        dims = [0, *range(2, h.dim())]  # batch and positions
        view = (1, -1) + (1,) * (h.dim() - 2)
        ref_mean = ref.mean(dim=dims)  # (C,)
        ref_sq = ref.square().mean(dim=dims)
        # per example: its own statistics mixed with the reference batch's
        x_dims = list(range(2, h.dim()))
        coeff = 1.0 / (num_reference + 1)
        x_mean = x.mean(dim=x_dims) if x_dims else x  # (B, C)
        x_sq = x.square().mean(dim=x_dims) if x_dims else x.square()
        mean = coeff * x_mean + (1.0 - coeff) * ref_mean
        sq = coeff * x_sq + (1.0 - coeff) * ref_sq
        x_var = (sq - mean.square()).clamp_min(0.0)
        ref_var = (ref_sq - ref_mean.square()).clamp_min(0.0)
        x_shape = tuple(mean.shape) + (1,) * (h.dim() - 2)
        x_out = (x - mean.reshape(x_shape)) * torch.rsqrt(x_var.reshape(x_shape) + self.eps)
        ref_out = (ref - ref_mean.reshape(view)) * torch.rsqrt(ref_var.reshape(view) + self.eps)
        out = torch.cat([ref_out, x_out], dim=0)
        if self.weight is not None:
            out = out * self.weight.float().reshape(view) + self.bias.float().reshape(view)
        return out.to(dtype)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, affine={self.weight is not None}"
