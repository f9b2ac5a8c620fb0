"""A convolutional GRU cell: the GRU's gates as SAME convolutions over feature maps (Ballas et al. 2016),
the recurrent state of :class:`seqgan.models.frame_gan.MultiScaleGenerator` with ``recurrent``."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvGRUCell"]


class ConvGRUCell(nn.Module):
    """A convolutional GRU (Ballas et al. 2016): the GRU's gates as SAME convolutions over feature maps.

    ``z, r = sigmoid(W_zr * [x, h])``, ``n = tanh(W_n * [x, r h])``, ``h' = (1 - z) h + z n``.
    The input and the state have the same width, so the cell can sit between two layers of a scale.

    Args:
        channels: channels of the input and of the state.
        kernel: odd kernel size of the gate convolutions.

    Shapes:
        x: ``(B, channels, H, W)``; h: the same, or ``None`` for a zero state. Returns ``h'``, same shape.
    """

    def __init__(self, channels: int, kernel: int = 3) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"the recurrent cell's kernel must be odd for SAME padding, got {kernel}")
        self.gates = nn.Conv2d(2 * channels, 2 * channels, kernel, padding=kernel // 2)
        self.candidate = nn.Conv2d(2 * channels, channels, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None) -> torch.Tensor:
        if h is None:
            h = torch.zeros_like(x)
        z, r = torch.sigmoid(self.gates(torch.cat([x, h], dim=1))).chunk(2, dim=1)
        n = torch.tanh(self.candidate(torch.cat([x, r * h], dim=1)))
        return torch.lerp(h, n, z)  # (1 - z) h + z n
