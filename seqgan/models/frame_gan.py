"""Multi-scale next-frame prediction GAN (Mathieu, Couprie & LeCun, ICLR 2016), optionally
action-conditioned for game frames (Oh et al., NeurIPS 2015; GameGAN-style conditional D).

Generator. Scales are average-pooling factors of the frame (8, 4, 2, 1 in the paper). Scale ``k`` sees
the context frames pooled by its factor, stacked on the channel axis (K frames x C channels), plus the
bilinearly upsampled prediction of the coarser scale (C more channels), and outputs a residual that is
added to that upsampled prediction (the paper's eq. 2, ``Y_k = up(Y_{k-1}) + G'_k(X_k, up(Y_{k-1}))``);
every scale network ends in ``tanh``, so each residual lies in [-1, 1] and the coarsest prediction is a
``tanh`` output. A sum of residuals can step slightly outside [-1, 1]; :meth:`MultiScaleGenerator.predict`
clamps (training losses see the raw sums, which keeps their gradients alive: adding the residual in
pre-``tanh`` space instead lets the logits of the [-1, 1]-saturated background run off to infinity under
an L1 loss and Adam, after which no gradient reaches the moving objects). Every convolution uses SAME
padding, so the generator is fully convolutional: trained on 32x32 patches, it runs on full frames.
:meth:`MultiScaleGenerator.predict` pads frames whose size is not a multiple of the coarsest factor
(replicate padding) and crops the prediction back.

Action conditioning. Oh et al. transform the encoding ``h`` of the frames with the one-hot action ``a``
multiplicatively: ``h' = W_dec((W_enc h) * (W_a a)) + b``. The multi-scale generator has no global
encoding, so the same factor interaction is applied at every pixel of each scale's middle layer with
1x1 convolutions (:class:`ActionTransform`). The action used is the one leading from the last context
frame to the predicted frame. With ``action_planes`` the one-hot action also enters every scale's input
as constant planes (one per action), so that the first convolutions of every scale see it beside the
frames: an additive path next to the multiplicative one, cheap, and off in the published presets.

Recurrent state (Oh et al.'s recurrent variant). With ``recurrent`` a convolutional GRU
(:class:`~seqgan.models.conv_gru.ConvGRUCell`) follows each scale's middle hidden layer (after the
action transform, where there is one) and carries a state per scale from one prediction to the next, so
that the model can remember what the K-frame window has forgotten (velocities, objects that left the
window). The state is a tuple of tensors, one per scale; see :meth:`MultiScaleGenerator.step`.

Discriminator. One conditional discriminator per scale sees the pooled context stacked with a real or
predicted frame: VALID convolutions with ReLU, one 2x2 max-pool, then fully connected layers ending in a
raw logit (the sigmoid lives in the objective). With VALID convolutions the size of the first fully
connected layer depends on the input size, so a discriminator is built for one ``patch_size`` (the
fixed training crop) and refuses other sizes; it is only needed in training. With ``num_actions > 0``
an embedding of the action is concatenated to the flattened convolutional features, so the task can
show real frames with wrong actions as fake (GameGAN).
"""

from __future__ import annotations

import copy
from typing import Any, TypeAlias

import torch
import torch.nn.functional as F
from torch import nn

from seqgan.models.base import register_model
from seqgan.models.conv_gru import ConvGRUCell

__all__ = [
    "PRESETS",
    "ActionTransform",
    "GeneratorState",
    "MultiScaleDiscriminator",
    "MultiScaleGenerator",
    "build_frame_gan",
    "last_action",
    "pool_frames",
]


def pool_frames(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Average-pools the last two axes by ``factor``.

    Args:
        x: ``(..., H, W)`` with ``H`` and ``W`` multiples of ``factor``.

    Returns:
        ``(..., H / factor, W / factor)``.
    """
    if factor == 1:
        return x
    lead = x.shape[:-3] if x.dim() > 3 else ()
    y = F.avg_pool2d(x.reshape(-1, *x.shape[-3:]), factor)
    return y.reshape(*lead, *y.shape[-3:])


def last_action(actions: torch.Tensor | None, batch: int) -> torch.Tensor | None:
    """The action that leads from the last context frame to the predicted one.

    Args:
        actions: ``(B, K)`` (the last column is used) or ``(B,)`` integer actions, or ``None``.
        batch: expected batch size.

    Returns:
        ``(B,)`` long tensor or ``None``.
    """
    if actions is None:
        return None
    if actions.dim() == 2:
        actions = actions[:, -1]
    if actions.dim() != 1 or actions.shape[0] != batch:
        raise ValueError(
            f"actions must be (batch, K) or (batch,) with batch={batch}, got {tuple(actions.shape)}"
        )
    return actions.long()


class ActionTransform(nn.Module):
    """Per-pixel multiplicative action interaction ``h' = W_dec((W_enc h) * (W_a a)) + b``.

    Args:
        channels: channels of ``h``.
        num_actions: size of the one-hot action.
        factors: size of the factor space (Oh et al. use 2048 on their global encoding).

    Shapes:
        h: ``(B, channels, H, W)``; action: ``(B,)`` long. Returns ``(B, channels, H, W)``.
    """

    def __init__(self, channels: int, num_actions: int, factors: int) -> None:
        super().__init__()
        self.num_actions = num_actions
        self.enc = nn.Conv2d(channels, factors, 1, bias=False)
        # W_a applied to a one-hot vector is a row lookup: an embedding without bias
        self.action = nn.Embedding(num_actions, factors)
        self.dec = nn.Conv2d(factors, channels, 1)

    def forward(self, h: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        if action.min() < 0 or action.max() >= self.num_actions:
            raise ValueError(
                f"actions must lie in [0, {self.num_actions}), got {action.min()}..{action.max()}"
            )
        factor = self.action(action)[:, :, None, None]  # (B, F, 1, 1)
        return self.dec(self.enc(h) * factor)


GeneratorState: TypeAlias = tuple[torch.Tensor, ...]
"""The state of a recurrent :class:`MultiScaleGenerator`: one ``(B, width, H/f, W/f)`` tensor per scale,
coarsest first (``width`` the scale's middle hidden width, ``f`` its pooling factor)."""


class _ScaleGenerator(nn.Module):
    """One scale of the generator: SAME convolutions with ReLU, the last one linear (``tanh`` follows)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        channels: list[int],
        kernels: list[int],
        num_actions: int,
        action_factors: int,
        recurrent: bool = False,
    ) -> None:
        super().__init__()
        if len(kernels) != len(channels) + 1:
            raise ValueError(
                f"a scale with {len(channels)} hidden layers needs {len(channels) + 1} kernels, got {kernels}"
            )
        if any(k % 2 == 0 for k in kernels):
            raise ValueError(f"kernels must be odd for SAME padding, got {kernels}")
        widths = [in_channels, *channels, out_channels]
        self.convs = nn.ModuleList(
            nn.Conv2d(a, b, k, padding=k // 2) for a, b, k in zip(widths[:-1], widths[1:], kernels)
        )
        # the action interaction follows the middle hidden layer (the narrowest point in depth)
        self.action_at = len(channels) // 2 if channels else 0
        self.action = None
        if num_actions > 0:
            if not channels:
                raise ValueError("action conditioning needs at least one hidden layer per scale")
            width = channels[self.action_at]
            self.action = ActionTransform(width, num_actions, action_factors or width)
        # the recurrent cell sits at the same place, after the action interaction
        self.cell = None
        if recurrent:
            if not channels:
                raise ValueError("a recurrent generator needs at least one hidden layer per scale")
            self.cell = ConvGRUCell(channels[self.action_at])
        self.state_channels = channels[self.action_at] if recurrent else 0

    def forward(self, x: torch.Tensor, action: torch.Tensor | None) -> torch.Tensor:
        """The linear output (with a cell: from the zero state)."""
        return self.step(x, action, None)[0]

    def step(
        self, x: torch.Tensor, action: torch.Tensor | None, h: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The linear output and the new state (``None`` without a cell)."""
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i == len(self.convs) - 1:
                break
            x = F.relu(x)
            if i == self.action_at:
                if self.action is not None:
                    x = F.relu(self.action(x, action))
                if self.cell is not None:
                    h = x = self.cell(x, h)
        return x, h


@register_model()
class MultiScaleGenerator(nn.Module):
    """Multi-scale residual next-frame generator (Mathieu et al. 2016).

    Args:
        num_channels: channels per frame ``C`` (3 for colour, 1 for grey).
        context: number of context frames ``K``.
        scale_factors: average-pooling factors, coarsest first (paper: ``[8, 4, 2, 1]``).
        channels: hidden widths per scale (paper: see ``PRESETS["mathieu2016"]``).
        kernels: kernel sizes per scale, one more than the hidden widths.
        num_actions: size of the action set; 0 for an unconditioned generator.
        action_factors: factor-space size of the action interaction; 0 uses the layer's width.
        action_planes: also stack the one-hot action as ``num_actions`` constant planes on every
            scale's input (needs ``num_actions > 0``).
        from_last: predict the change from the last context frame: each scale's prediction is that
            frame (pooled to the scale) plus the upsampled change of the coarser scale plus its own
            ``tanh`` residual, so an untrained network starts near copy-last-frame and the static
            background costs nothing (the paper's chain, off by default, sums residuals from the
            coarsest prediction up).
        recurrent: carry a state across steps (Oh et al.'s recurrent variant): a convolutional GRU
            (:class:`~seqgan.models.conv_gru.ConvGRUCell`, 3x3 gates) after each scale's middle hidden
            layer, after the action transform where there is one; its output replaces that layer's
            features and is the scale's new state. A GRU rather than an LSTM: one state tensor per scale instead of two (a smaller
            state to carry, export and feed back) and three gate convolutions instead of four, which
            matters on CPU; the LSTM's separate memory cell buys little over a rollout of a few
            steps. Off by default (the presets); when off the module, its weights and its outputs are
            exactly those of the feed-forward generator.

    ``forward`` returns the per-scale predictions, coarsest first; ``predict`` the finest one for frames
    of any size. A recurrent generator also steps a state: ``step(context, actions, state) -> (preds,
    new_state)`` and ``predict_step`` (the finest prediction, padded and clamped as ``predict``), with
    ``state`` a :data:`GeneratorState` (a tuple of tensors, one per scale) or ``None`` for the zero
    state; ``forward`` and ``predict`` without a state are one step from the zero state. A rollout
    starts from the zero state at its K context frames (the first prediction encodes the K frames
    feed-forward, as Oh et al.'s models do; the context is not run through the cell first) and feeds
    each step's state to the next (:func:`seqgan.predict.rollout`).
    """

    def __init__(
        self,
        num_channels: int = 3,
        context: int = 4,
        scale_factors: list[int] | None = None,
        channels: list[list[int]] | None = None,
        kernels: list[list[int]] | None = None,
        num_actions: int = 0,
        action_factors: int = 0,
        action_planes: bool = False,
        from_last: bool = False,
        recurrent: bool = False,
    ) -> None:
        super().__init__()
        paper = PRESETS["mathieu2016"]["generator"]
        scale_factors = list(scale_factors or paper["scale_factors"])
        channels = [list(c) for c in (channels or paper["channels"])]
        kernels = [list(k) for k in (kernels or paper["kernels"])]
        if not (len(scale_factors) == len(channels) == len(kernels)) or not scale_factors:
            raise ValueError(
                f"scale_factors, channels and kernels need one entry per scale, got "
                f"{len(scale_factors)}, {len(channels)}, {len(kernels)}"
            )
        if scale_factors != sorted(scale_factors, reverse=True) or scale_factors[-1] != 1:
            raise ValueError(f"scale_factors must decrease to 1 (coarsest first), got {scale_factors}")
        self.num_channels = num_channels
        self.context = context
        self.scale_factors = scale_factors
        self.num_actions = num_actions
        if action_planes and num_actions < 1:
            raise ValueError("action_planes needs an action-conditioned generator (num_actions > 0)")
        self.action_planes = bool(action_planes)
        self.from_last = bool(from_last)
        self.recurrent = bool(recurrent)
        planes = num_actions if action_planes else 0
        self.scales = nn.ModuleList()
        for i, (ch, ks) in enumerate(zip(channels, kernels)):
            in_ch = context * num_channels + (num_channels if i > 0 else 0) + planes
            self.scales.append(
                _ScaleGenerator(in_ch, num_channels, ch, ks, num_actions, action_factors, self.recurrent)
            )

    @property
    def multiple(self) -> int:
        """Frame sizes ``forward`` accepts are multiples of this (the coarsest pooling factor)."""
        return self.scale_factors[0]

    def forward(
        self,
        context: torch.Tensor,
        actions: torch.Tensor | None = None,
        state: GeneratorState | None = None,
        return_state: bool = False,
    ) -> list[torch.Tensor] | tuple[list[torch.Tensor], GeneratorState | None]:
        """Predicts the next frame at every scale.

        Args:
            context: ``(B, K, C, H, W)`` in [-1, 1]; ``H`` and ``W`` multiples of ``self.multiple``.
            actions: ``(B, K)`` or ``(B,)`` long when ``num_actions > 0`` (see :func:`last_action`).
            state: a recurrent generator's state from the previous step (:data:`GeneratorState`);
                ``None``: the zero state. Must be ``None`` when the generator is not recurrent.
            return_state: also return the new state (as :meth:`step` does; ``None`` when not
                recurrent). A keyword of ``forward`` so that a wrapped module (DDP) can step.

        Returns:
            ``[(B, C, H/f, W/f) for f in scale_factors]``, coarsest first: the coarsest in [-1, 1], the
            others sums of residuals in [-1, 1] (not clamped, see the module notes); with
            ``return_state``, ``(that list, new state)``.
        """
        b, k, c, h, w = context.shape
        if k != self.context or c != self.num_channels:
            raise ValueError(
                f"expected context (B, {self.context}, {self.num_channels}, H, W), got {tuple(context.shape)}"
            )
        if h % self.multiple or w % self.multiple:
            raise ValueError(
                f"frame size {h}x{w} is not a multiple of {self.multiple}; use predict() for "
                "arbitrary sizes (it pads)"
            )
        action = last_action(actions, b)
        if self.num_actions > 0 and action is None:
            raise ValueError(
                f"this generator is action-conditioned ({self.num_actions} actions): pass actions"
            )
        if (
            self.action_planes
            and action is not None
            and (action.min() < 0 or action.max() >= self.num_actions)
        ):
            raise ValueError(
                f"actions must lie in [0, {self.num_actions}), got {action.min()}..{action.max()}"
            )
        self._check_state(state, b, h, w)
        flat = context.reshape(b, k * c, h, w)
        preds: list[torch.Tensor] = []
        new_state: list[torch.Tensor] = []
        change = None  # from_last: the predicted change from the last context frame, at the previous scale
        for i, (factor, scale) in enumerate(zip(self.scale_factors, self.scales)):
            x = pool_frames(flat, factor)
            prev = None if state is None else state[i]
            if self.action_planes:
                assert action is not None
                onehot = F.one_hot(action, self.num_actions).to(x.dtype)[:, :, None, None]
                x = torch.cat([x, onehot.expand(-1, -1, *x.shape[-2:])], dim=1)
            up = None
            if preds:
                up = F.interpolate(preds[-1], size=x.shape[-2:], mode="bilinear", align_corners=False)
                x_in = torch.cat([x, up], dim=1)
            else:
                x_in = x
            if self.recurrent:
                out, hidden = scale.step(x_in, action, prev)
                new_state.append(hidden)
            else:
                out = scale(x_in, action)
            step = torch.tanh(out)
            if self.from_last:
                # the residual chain runs on changes: last frame (at this scale) + the coarser change + a residual
                if change is not None:
                    step = step + F.interpolate(
                        change, size=x.shape[-2:], mode="bilinear", align_corners=False
                    )
                change = step
                preds.append(x[:, (k - 1) * c : k * c] + step)
            else:
                preds.append(step if up is None else up + step)
        if return_state:
            return preds, tuple(new_state) if self.recurrent else None
        return preds

    def _check_state(self, state: GeneratorState | None, batch: int, height: int, width: int) -> None:
        if state is None:
            return
        if not self.recurrent:
            raise ValueError("this generator is not recurrent (recurrent=False): it takes no state")
        expected = [
            (batch, scale.state_channels, height // f, width // f)
            for f, scale in zip(self.scale_factors, self.scales)
        ]
        got = [tuple(t.shape) for t in state] if isinstance(state, (tuple, list)) else None
        if got != expected:
            raise ValueError(
                f"state must be a tuple of {len(expected)} tensors (one per scale) of shapes {expected} "
                f"for this batch and frame size, got {got if got is not None else type(state).__name__}; "
                "pass None to start from the zero state"
            )

    def step(
        self, context: torch.Tensor, actions: torch.Tensor | None = None, state: GeneratorState | None = None
    ) -> tuple[list[torch.Tensor], GeneratorState | None]:
        """One step of a rollout: the per-scale predictions (as :meth:`forward`) and the new state.

        Args:
            context: ``(B, K, C, H, W)`` in [-1, 1]; ``H`` and ``W`` multiples of ``self.multiple``.
            actions: as for :meth:`forward`.
            state: the previous step's state, ``None`` for the zero state (the first step).

        Returns:
            ``(preds, new_state)``: ``new_state`` a :data:`GeneratorState`, ``None`` when the generator
            is not recurrent.
        """
        return self(context, actions, state, return_state=True)

    def _pad(self, context: torch.Tensor) -> torch.Tensor:
        """Replicate-pads ``(B, K, C, H, W)`` up to multiples of :attr:`multiple`."""
        b, k, c, h, w = context.shape
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        if not (ph or pw):
            return context
        padded = F.pad(context.reshape(b, k * c, h, w), (0, pw, 0, ph), mode="replicate")
        return padded.reshape(b, k, c, h + ph, w + pw)

    def predict_step(
        self, context: torch.Tensor, actions: torch.Tensor | None = None, state: GeneratorState | None = None
    ) -> tuple[torch.Tensor, GeneratorState | None]:
        """The finest prediction for frames of any size, and the new state.

        Args:
            context: ``(B, K, C, H, W)`` in [-1, 1].
            actions: ``(B, K)`` or ``(B,)`` long, when action-conditioned.
            state: the previous step's state (``None``: zero). Its tensors have the padded frame size
                (the next multiple of :attr:`multiple`), as the state this method returns.

        Returns:
            ``((B, C, H, W)`` clamped to [-1, 1], the new state or ``None`` when not recurrent``)``.
        """
        h, w = context.shape[-2:]
        preds, new_state = self.step(self._pad(context), actions, state)
        return preds[-1][..., :h, :w].clamp(-1.0, 1.0), new_state

    def predict(self, context: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        """The finest prediction for frames of any size (a recurrent generator: from the zero state).

        Args:
            context: ``(B, K, C, H, W)`` in [-1, 1].
            actions: ``(B, K)`` or ``(B,)`` long, when action-conditioned.

        Returns:
            ``(B, C, H, W)`` clamped to [-1, 1].
        """
        h, w = context.shape[-2:]
        return self(self._pad(context), actions)[-1][..., :h, :w].clamp(-1.0, 1.0)


class _ScaleDiscriminator(nn.Module):
    """One scale of the discriminator: VALID convs + ReLU, a max-pool, FC layers to one logit."""

    def __init__(
        self,
        in_channels: int,
        size: int,
        conv_channels: list[int],
        kernels: list[int],
        fc: list[int],
        pool: int,
        num_actions: int,
        action_dim: int,
    ) -> None:
        super().__init__()
        if len(conv_channels) != len(kernels):
            raise ValueError(f"one kernel per convolution: got {conv_channels} and {kernels}")
        widths = [in_channels, *conv_channels]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, k) for a, b, k in zip(widths[:-1], widths[1:], kernels))
        out = size - sum(k - 1 for k in kernels)
        if out < 1 or (pool > 1 and out < pool):
            raise ValueError(
                f"an input of {size}x{size} is too small for VALID kernels {kernels} and "
                f"pool {pool}; use a larger patch_size or smaller kernels"
            )
        self.size = size
        self.pool = pool
        out = out // pool if pool > 1 else out
        features = widths[-1] * out * out
        self.action = nn.Embedding(num_actions, action_dim) if num_actions > 0 else None
        dims = [features + (action_dim if self.action is not None else 0), *fc, 1]
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: torch.Tensor, action: torch.Tensor | None) -> torch.Tensor:
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            raise ValueError(
                f"this discriminator scale was built for {self.size}x{self.size} inputs, got "
                f"{x.shape[-2]}x{x.shape[-1]} (the discriminator is sized for the training patch)"
            )
        for conv in self.convs:
            x = F.relu(conv(x))
        if self.pool > 1:
            x = F.max_pool2d(x, self.pool)
        x = x.flatten(1)
        if self.action is not None:
            if action is None:
                raise ValueError("this discriminator is action-conditioned: pass actions")
            x = torch.cat([x, self.action(action)], dim=1)
        for i, fc in enumerate(self.fcs):
            x = fc(x)
            if i < len(self.fcs) - 1:
                x = F.relu(x)
        return x


@register_model()
class MultiScaleDiscriminator(nn.Module):
    """One conditional discriminator per scale over (context, real or predicted frame).

    Args:
        num_channels: channels per frame ``C``.
        context: number of context frames ``K``.
        patch_size: side of the (square) training crop the discriminator judges.
        scale_factors: pooling factors, coarsest first, as in the generator.
        conv_channels: convolution widths per scale.
        kernels: VALID convolution kernels per scale.
        fc: hidden fully connected widths per scale (a final layer to one logit is added).
        pool: max-pool factor after the convolutions (paper: 2).
        num_actions: size of the action set; 0 for an unconditioned discriminator.
        action_dim: size of the action embedding concatenated to the convolutional features.
    """

    def __init__(
        self,
        num_channels: int = 3,
        context: int = 4,
        patch_size: int = 32,
        scale_factors: list[int] | None = None,
        conv_channels: list[list[int]] | None = None,
        kernels: list[list[int]] | None = None,
        fc: list[list[int]] | None = None,
        pool: int = 2,
        num_actions: int = 0,
        action_dim: int = 16,
    ) -> None:
        super().__init__()
        paper = PRESETS["mathieu2016"]["discriminator"]
        scale_factors = list(scale_factors or paper["scale_factors"])
        conv_channels = [list(c) for c in (conv_channels or paper["conv_channels"])]
        kernels = [list(k) for k in (kernels or paper["kernels"])]
        fc = [list(f) for f in (fc or paper["fc"])]
        if not (len(scale_factors) == len(conv_channels) == len(kernels) == len(fc)):
            raise ValueError("scale_factors, conv_channels, kernels and fc need one entry per scale")
        if patch_size % scale_factors[0]:
            raise ValueError(
                f"patch_size {patch_size} is not a multiple of the coarsest factor {scale_factors[0]}"
            )
        self.context = context
        self.num_channels = num_channels
        self.patch_size = patch_size
        self.scale_factors = scale_factors
        self.num_actions = num_actions
        in_ch = (context + 1) * num_channels
        self.scales = nn.ModuleList(
            _ScaleDiscriminator(in_ch, patch_size // f, cc, ks, fs, pool, num_actions, action_dim)
            for f, cc, ks, fs in zip(scale_factors, conv_channels, kernels, fc)
        )

    def forward(
        self, frames: list[torch.Tensor], context: torch.Tensor, actions: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Logits per scale.

        Args:
            frames: real or predicted frames per scale, coarsest first: ``[(B, C, P/f, P/f), ...]``.
            context: ``(B, K, C, P, P)`` full-resolution context (pooled here per scale).
            actions: ``(B, K)`` or ``(B,)`` long; the action leading to the judged frame.

        Returns:
            ``[(B, 1) for each scale]`` raw logits.
        """
        if len(frames) != len(self.scales):
            raise ValueError(f"expected {len(self.scales)} scales of frames, got {len(frames)}")
        b, k, c, h, w = context.shape
        if (h, w) != (self.patch_size, self.patch_size):
            raise ValueError(
                f"this discriminator was built for {self.patch_size}x{self.patch_size} patches, got "
                f"{h}x{w} context frames (its fully connected layers fix the input size)"
            )
        action = last_action(actions, b)
        flat = context.reshape(b, k * c, h, w)
        return [
            scale(torch.cat([pool_frames(flat, f), frame], dim=1), action)
            for f, scale, frame in zip(self.scale_factors, self.scales, frames)
        ]


# --------------------------------------------------------------------------------------------------
# Named configurations

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Mathieu et al. 2016, the paper-size networks (Table 1 of the paper)
    "mathieu2016": {
        "generator": {
            "scale_factors": [8, 4, 2, 1],
            "channels": [
                [128, 256, 128],
                [128, 256, 128],
                [128, 256, 512, 256, 128],
                [128, 256, 512, 256, 128],
            ],
            "kernels": [[3, 3, 3, 3], [5, 3, 3, 5], [5, 3, 3, 3, 3, 5], [7, 5, 5, 5, 5, 7]],
        },
        "discriminator": {
            "scale_factors": [8, 4, 2, 1],
            "conv_channels": [[64], [64, 128, 128], [128, 256, 256], [128, 256, 512, 128]],
            "kernels": [[3], [3, 3, 3], [5, 5, 5], [7, 7, 5, 5]],
            "fc": [[512, 256], [1024, 512], [1024, 512], [1024, 512]],
            "pool": 2,
        },
    },
    # CPU-sized: same four scales and structure, 8-32 channels; learns bouncing balls in minutes
    "tiny": {
        "generator": {
            "scale_factors": [8, 4, 2, 1],
            "channels": [[16, 16], [16, 16], [16, 32, 16], [16, 32, 16]],
            "kernels": [[3, 3, 3], [3, 3, 3], [3, 3, 3, 3], [5, 3, 3, 5]],
        },
        "discriminator": {
            "scale_factors": [8, 4, 2, 1],
            "conv_channels": [[8], [8, 16], [16, 16], [16, 16, 16]],
            "kernels": [[3], [3, 3], [3, 3], [5, 5, 3]],
            "fc": [[32], [64], [64], [64]],
            "pool": 2,
            "action_dim": 8,
        },
    },
}


def build_frame_gan(
    preset: str = "mathieu2016",
    num_channels: int = 3,
    context: int = 4,
    num_actions: int = 0,
    patch_size: int = 32,
    generator_overrides: dict[str, Any] | None = None,
    discriminator_overrides: dict[str, Any] | None = None,
) -> tuple[MultiScaleGenerator, MultiScaleDiscriminator]:
    """Builds a generator and discriminator from a named preset.

    Args:
        preset: a key of :data:`PRESETS`.
        num_channels: channels per frame.
        context: number of context frames ``K``.
        num_actions: action-set size (0: no action conditioning).
        patch_size: training crop side; sizes the discriminator's fully connected layers.
        generator_overrides: constructor arguments replacing the preset's.
        discriminator_overrides: constructor arguments replacing the preset's.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown frame-GAN preset '{preset}'; choose from: {', '.join(sorted(PRESETS))}")
    g_args = copy.deepcopy(PRESETS[preset]["generator"])
    d_args = copy.deepcopy(PRESETS[preset]["discriminator"])
    g_args.update(generator_overrides or {})
    d_args.update(discriminator_overrides or {})
    common = {"num_channels": num_channels, "context": context, "num_actions": num_actions}
    generator = MultiScaleGenerator(**common, **g_args)
    discriminator = MultiScaleDiscriminator(**common, patch_size=patch_size, **d_args)
    if discriminator.scale_factors != generator.scale_factors:
        raise ValueError(
            f"generator scales {generator.scale_factors} and discriminator scales "
            f"{discriminator.scale_factors} differ"
        )
    return generator, discriminator
