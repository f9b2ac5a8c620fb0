"""A temporal discriminator for next-frame prediction (GameGAN, Kim et al. 2020).

The frame discriminator of :mod:`seqgan.models.frame_gan` judges one frame at a time against its real
past. A rollout can pass that test frame by frame and still move wrongly as a whole (a ball that slows
down, stops or jumps). The temporal critic sees a whole clip — the context frames followed by the
rolled-out frames (fed-back predictions), or the real clip — and judges its motion: 3D convolutions over
(time, height, width) at the finest scale (optionally average-pooled first), strided in space only,
then a mean over time (clips of any length, so one critic serves every rollout length of the
curriculum) and a fully connected layer to one raw logit.

Action conditioning (when the model is action-conditioned): every frame of the clip but the first gets
constant planes holding an embedding of the action that led to it; the first frame gets the embedding of
an extra "clip start" index. The critic then judges whether the clip's motion follows its actions.

:class:`FrameCritics` holds the frame discriminator and the temporal critic in one module, so that the
trainer keeps one discriminator network with one optimiser, one checkpoint entry and one DDP wrapper.
Its ``forward`` keeps the frame discriminator's signature; ``temporal=True`` calls the temporal critic.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqgan.models.base import register_model
from seqgan.models.frame_gan import pool_frames

__all__ = ["FrameCritics", "TemporalDiscriminator"]


@register_model()
class TemporalDiscriminator(nn.Module):
    """3D-convolutional critic of whole clips.

    Args:
        num_channels: channels per frame ``C``.
        patch_size: side of the (square) training crop; sizes the fully connected layer.
        channels: widths of the 3D convolutions (each halves the spatial size, stride 2, SAME padding).
        kernel: spatial kernel size of every convolution (odd).
        time_kernel: temporal kernel size of every convolution (odd; stride 1, SAME padding in time).
        pool: average-pooling factor applied to the frames first (1: the finest scale as it is).
        num_actions: size of the action set; 0 for an unconditioned critic.
        action_dim: size of the action embedding stacked as planes on every frame.

    ``forward(clip, actions)`` takes ``clip (B, T, C, P, P)`` with ``T >= 1`` and, when
    action-conditioned, ``actions (B, T - 1)`` long (``actions[:, t]`` leads from frame ``t`` to frame
    ``t + 1``), and returns ``(B, 1)`` raw logits.
    """

    def __init__(
        self,
        num_channels: int = 3,
        patch_size: int = 32,
        channels: list[int] | None = None,
        kernel: int = 3,
        time_kernel: int = 3,
        pool: int = 1,
        num_actions: int = 0,
        action_dim: int = 4,
    ) -> None:
        super().__init__()
        channels = list(channels or [16, 32, 32])
        if not channels or min(channels) < 1:
            raise ValueError(f"temporal discriminator channels must be widths >= 1, got {channels}")
        if kernel % 2 == 0 or time_kernel % 2 == 0:
            raise ValueError(
                f"kernel and time_kernel must be odd (SAME padding), got {kernel}, {time_kernel}"
            )
        if pool < 1 or patch_size % pool:
            raise ValueError(f"pool {pool} must be >= 1 and divide patch_size {patch_size}")
        self.num_channels = num_channels
        self.patch_size = patch_size
        self.pool = pool
        self.num_actions = num_actions
        # one extra row: the "clip start" token given to the first frame, which no action led to
        self.action = nn.Embedding(num_actions + 1, action_dim) if num_actions > 0 else None
        in_ch = num_channels + (action_dim if num_actions > 0 else 0)
        widths = [in_ch, *channels]
        pad = (time_kernel // 2, kernel // 2, kernel // 2)
        self.convs = nn.ModuleList(
            nn.Conv3d(a, b, (time_kernel, kernel, kernel), stride=(1, 2, 2), padding=pad)
            for a, b in zip(widths[:-1], widths[1:])
        )
        size = patch_size // pool
        for _ in channels:
            size = (size - 1) // 2 + 1  # stride 2 with SAME padding: ceil(size / 2)
        self.fc = nn.Linear(channels[-1] * size * size, 1)

    def forward(self, clip: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of whole clips.

        Args:
            clip: ``(B, T, C, P, P)`` frames in [-1, 1], oldest first.
            actions: ``(B, T - 1)`` long, the actions between consecutive frames (action-conditioned
                critics only).

        Returns:
            ``(B, 1)`` raw logits.
        """
        if clip.dim() != 5 or clip.shape[2] != self.num_channels:
            raise ValueError(
                f"expected a clip (B, T, {self.num_channels}, {self.patch_size}, {self.patch_size}), "
                f"got {tuple(clip.shape)}"
            )
        b, t = clip.shape[:2]
        if clip.shape[-2:] != (self.patch_size, self.patch_size):
            raise ValueError(
                f"this temporal discriminator was built for {self.patch_size}x{self.patch_size} patches, "
                f"got {clip.shape[-2]}x{clip.shape[-1]} (its fully connected layer fixes the input size)"
            )
        x = pool_frames(clip, self.pool).transpose(1, 2)  # (B, C, T, H, W)
        if self.action is not None:
            if actions is None or actions.shape != (b, t - 1):
                got = None if actions is None else tuple(actions.shape)
                raise ValueError(
                    f"this temporal discriminator is action-conditioned: pass actions ({b}, {t - 1}), got {got}"
                )
            if t > 1 and (actions.min() < 0 or actions.max() >= self.num_actions):
                raise ValueError(
                    f"actions must lie in [0, {self.num_actions}), got {actions.min()}..{actions.max()}"
                )
            start = actions.new_full((b, 1), self.num_actions)
            emb = self.action(torch.cat([start, actions.long()], dim=1))  # (B, T, E)
            planes = emb.transpose(1, 2)[..., None, None].expand(-1, -1, -1, *x.shape[-2:])
            x = torch.cat([x, planes.to(x.dtype)], dim=1)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return self.fc(x.mean(dim=2).flatten(1))


class FrameCritics(nn.Module):
    """The frame discriminator and the temporal critic as one discriminator network.

    Args:
        frame: the per-frame conditional discriminator (``MultiScaleDiscriminator``).
        temporal: the clip critic (:class:`TemporalDiscriminator`).

    ``forward(frames, context, actions)`` is the frame discriminator's call;
    ``forward(clip, None, clip_actions, temporal=True)`` the temporal critic's.
    """

    def __init__(self, frame: nn.Module, temporal: nn.Module) -> None:
        super().__init__()
        self.frame = frame
        self.temporal = temporal

    def forward(
        self,
        frames: list[torch.Tensor] | torch.Tensor,
        context: torch.Tensor | None = None,
        actions: torch.Tensor | None = None,
        *,
        temporal: bool = False,
    ) -> list[torch.Tensor] | torch.Tensor:
        """Frame logits per scale, or with ``temporal`` the clip logits.

        Args:
            frames: per-scale frames ``[(B, C, P/f, P/f), ...]``, or with ``temporal`` a clip
                ``(B, T, C, P, P)``.
            context: ``(B, K, C, P, P)`` for the frame discriminator; unused with ``temporal``.
            actions: the frame discriminator's ``(B, K)`` / ``(B,)`` actions, or with ``temporal``
                the clip's ``(B, T - 1)``.
            temporal: call the temporal critic.

        Returns:
            ``[(B, 1) per scale]``, or with ``temporal`` ``(B, 1)``.
        """
        if temporal:
            if not isinstance(frames, torch.Tensor):
                raise TypeError("the temporal critic takes one clip tensor (B, T, C, P, P)")
            return self.temporal(frames, actions)
        if context is None:
            raise ValueError("the frame discriminator needs the context frames")
        return self.frame(frames, context, actions)
