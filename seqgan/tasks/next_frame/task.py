"""Next-frame prediction task: the multi-scale adversarial predictor of Mathieu et al. (2016), with
optional action conditioning (Oh et al. 2015; GameGAN-style wrong-action negatives).

Per scale ``k`` (pooling factors 8, 4, 2, 1 in the paper) the generator loss is
``adv_weight * L_adv + lp_weight * |Y - Y_hat|^p + gdl_weight * GDL``, summed over scales as in the paper
(adv 0.05, p = 1, GDL 1 with alpha = 1). ``L_adv`` and the discriminator loss come from the shared
objective registry (``nsgan`` is the paper's binary cross-entropy).

Multi-step training (Oh et al.'s curriculum): the generator is rolled out for ``n`` steps, each
prediction fed back as the newest context frame (gradients flow through the feedback unless
``loss.detach_feedback``); losses are averaged over the steps. ``n`` grows with the training step as
``curriculum`` says. At every step ``s`` the discriminator judges the frame against the *real* past
(the true window ending just before frame ``s``), so it asks "is this a plausible next frame of this
clip?" for the generator's fed-back predictions too.

With ``loss.motion_weight`` λ > 0 the ℓp term weighs each pixel ``1 + λ m``, where ``m`` is 1 where the
target differs from the true frame before it (average-pooled per scale): the few pixels that move (the
ball, the paddles) otherwise hardly enter a mean dominated by the static background. With
``loss.action_weight`` μ > 0 it adds ``μ d``, where ``d`` (the dataset's ``action_mask``, from the
episodes' emulator branches) is 1 where the frames every action leads to differ: the pixels the action
decides, under 1 % of a Pong frame.

Negatives besides the generator's output (all labelled fake in the discriminator loss):

* ``mismatch_prob``: real pairs whose context and target come from different clips (a fraction of the
  batch, pairing each example's context with the next example's target);
* ``wrong_action_prob``: real frames shown with a random *different* action (action-conditioned D).

With ``loss.temporal_weight`` > 0 a temporal critic (GameGAN; :mod:`seqgan.models.frame_temporal`)
judges whole clips at the finest scale: the K context frames followed by the ``n`` rolled-out frames
(fed-back predictions) against the real clip, with the clip's actions when the model is
action-conditioned. It is trained with the same objective (and gradient penalty) as the frame
discriminator, its loss added to the discriminator loss, and the generator adds
``temporal_weight * L_adv_temporal``. Both critics live in one discriminator network
(:class:`~seqgan.models.frame_temporal.FrameCritics`), so the trainer, checkpoints and the exported
generator are unchanged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqgan.adversarial import get_objective, gradient_penalty
from seqgan.config import ConfigError
from seqgan.losses import gradient_difference_loss, lp_loss
from seqgan.metrics.frames import psnr
from seqgan.models.frame_gan import build_frame_gan, pool_frames
from seqgan.models.frame_temporal import FrameCritics, TemporalDiscriminator
from seqgan.tasks import register_task
from seqgan.tasks.base import GANTask, Nets, TurnOutput
from seqgan.tasks.next_frame.config import NextFrameConfig
from seqgan.tasks.next_frame.evaluation import Batch, evaluate_rollouts, valid_batches
from seqgan.tasks.next_frame.samples import write_rollout_samples

log = logging.getLogger(__name__)


def weighted_lp_loss(
    prediction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, p: float
) -> torch.Tensor:
    """Mean of ``weight * |target - prediction|^p``.

    Args:
        prediction: ``(B, C, H, W)``.
        target: ``(B, C, H, W)``.
        weight: ``(B, 1, H, W)`` (broadcast over channels).
        p: the exponent.

    Returns:
        Scalar tensor; ``lp_loss`` when ``weight`` is all ones.
    """
    diff = (target - prediction).abs()
    diff = diff if p == 1 else diff.pow(p)
    return (weight * diff).mean()


@register_task("next_frame")
class NextFrameTask(GANTask):
    """Next-frame prediction with a multi-scale conditional GAN (``task: next_frame``).

    Batches are dicts from :class:`seqgan.data.frames.FrameWindows`: ``context (B, K, C, P, P)``,
    ``target (B, S, C, P, P)`` in [-1, 1] and, with actions, ``actions (B, K + S)`` long where
    ``actions[:, K - 1 + s]`` leads to target frame ``s``.
    """

    config_class = NextFrameConfig

    def __init__(self, config: NextFrameConfig) -> None:
        super().__init__(config)  # checks the configuration
        self.config: NextFrameConfig = config
        self.objective = get_objective(config.loss.objective, **config.loss.objective_options)
        self.step = 0
        self._train_set: Any = None
        self._valid_set: Any = None
        self._geometry: tuple[int, int, int] | None = None  # full-frame (C, H, W)

    # -- curriculum ----------------------------------------------------------------------------------
    def set_step(self, step: int) -> None:
        """The trainer's step (0-based), given before every step: drives the curriculum."""
        self.step = int(step)

    def rollout_length(self, step: int | None = None) -> int:
        """The curriculum's rollout length at ``step`` (default: the current one)."""
        step = self.step if step is None else step
        cur = self.config.curriculum
        n = cur.horizons[0]
        for boundary, h in zip(cur.steps, cur.horizons[1:]):
            if step >= boundary:
                n = h
        return n

    # -- data -----------------------------------------------------------------------------------------
    def _window_args(self) -> dict[str, Any]:
        d = self.config.data
        return {
            "context": d.context,
            "grayscale": d.grayscale,
            "resize": list(d.resize) or None,
            "in_memory": d.in_memory,
            "max_per_episode": d.max_per_episode or None,
        }

    def train_dataset(self) -> Any:
        if self._train_set is None:
            from seqgan.data.frames import FrameWindows

            d = self.config.data
            self._train_set = FrameWindows(
                d.train_scp,
                horizon=d.horizon,
                patch_size=d.patch_size,
                stride=d.stride,
                min_motion=d.min_motion,
                motion_tries=d.motion_tries,
                branch_prob=d.branch_prob,
                action_masks=self.config.loss.action_weight > 0,
                **self._window_args(),
            )
            self._check_dataset(self._train_set, d.train_scp)
        return self._train_set

    def valid_dataset(self) -> Any:
        """Full-frame validation sequences (``FrameSequences``) of ``eval.rollout_steps`` future frames."""
        if self._valid_set is None:
            from seqgan.data.frames import FrameSequences

            e = self.config.eval
            args = self._window_args()
            args["max_per_episode"] = e.max_per_episode or None
            self._valid_set = FrameSequences(self.config.data.valid_scp, horizon=e.rollout_steps, **args)
            self._check_dataset(self._valid_set, self.config.data.valid_scp)
        return self._valid_set

    def _check_dataset(self, dataset: Any, where: str) -> None:
        n = self.config.model.num_actions
        if n > 0 and not dataset.has_actions:
            raise ConfigError(f"{where}: model.num_actions is {n} but the episodes have no actions")
        data_actions = dataset.num_actions
        if n > 0 and data_actions and data_actions > n:
            raise ConfigError(
                f"{where}: the episodes use {data_actions} actions but model.num_actions is {n}"
            )
        if self._geometry is None:
            c, h, w = dataset.frame_shape
            self._geometry = (int(c), int(h), int(w))

    def geometry(self) -> tuple[int, int, int]:
        """Full-frame ``(C, H, W)`` of the training episodes (from the loaded training set, or else from the
        episodes' headers: no frame is decoded, so that building the networks needs no data loading)."""
        if self._geometry is None:
            from seqgan.data.frames import FrameWindows

            d = self.config.data
            args = {**self._window_args(), "in_memory": False}  # episode headers only
            self._check_dataset(FrameWindows(d.train_scp, horizon=d.horizon, **args), d.train_scp)
        assert self._geometry is not None
        return self._geometry

    def _patch_size(self) -> int:
        p = self.config.data.patch_size
        if p > 0:
            return p
        _, h, w = self.geometry()
        if h != w:
            raise ConfigError(
                f"data.patch_size 0 trains on full frames, which are {h}x{w}; the discriminator "
                "needs square inputs: set data.patch_size"
            )
        return h

    # -- networks ---------------------------------------------------------------------------------------
    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        """The preset's multi-scale generator and discriminator for the episodes' channels, sized for the
        training patch; with ``loss.temporal_weight`` > 0 the discriminator network also holds the
        temporal critic (built after the others, which keep their initial weights)."""
        m = self.config.model
        channels, patch = self.geometry()[0], self._patch_size()
        try:
            generator, discriminator = build_frame_gan(
                m.preset,
                num_channels=channels,
                context=self.config.data.context,
                num_actions=m.num_actions,
                patch_size=patch,
                generator_overrides=m.generator,
                discriminator_overrides=m.discriminator,
            )
        except (TypeError, ValueError) as e:
            raise ConfigError(f"model: {e}") from None
        if self.config.loss.temporal_weight <= 0:
            return generator, discriminator
        try:
            temporal = TemporalDiscriminator(
                num_channels=channels, patch_size=patch, num_actions=m.num_actions, **m.temporal
            )
        except (TypeError, ValueError) as e:
            raise ConfigError(f"model.temporal: {e}") from None
        return generator, FrameCritics(discriminator, temporal)

    # -- turns ----------------------------------------------------------------------------------------
    def _unpack(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, int]:
        context, target = batch["context"], batch["target"]
        actions = batch.get("actions") if self.config.model.num_actions > 0 else None
        if self.config.model.num_actions > 0 and actions is None:
            raise ValueError("model.num_actions > 0 but the batch has no 'actions'")
        n = min(self.rollout_length(), target.shape[1])
        return context, target, actions, n

    @staticmethod
    def _pyramid(frame: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
        """``frame (B, C, H, W)`` average-pooled to the size of each prediction in ``like``."""
        return [pool_frames(frame, frame.shape[-1] // p.shape[-1]) for p in like]

    def _rollout_train(
        self, generator: nn.Module, context: torch.Tensor, actions: torch.Tensor | None, n: int, detach: bool
    ) -> list[list[torch.Tensor]]:
        """``n`` steps of per-scale predictions, the finest fed back as context.

        A recurrent generator carries its state across the steps, from the zero state at the context
        (as :func:`seqgan.predict.rollout`); ``detach`` cuts the gradient through the state as through
        the fed-back frame.
        """
        k = context.shape[1]
        # DDP wraps the generator in its turn: the flag lives on the module inside
        recurrent = getattr(getattr(generator, "module", generator), "recurrent", False)
        out = []
        state = None
        for s in range(n):
            window = None if actions is None else actions[:, s : s + k]
            if recurrent:
                preds, state = generator(context, window, state, return_state=True)
                state = tuple(h.detach() for h in state) if detach else state
            else:
                preds = generator(context, window)
            out.append(preds)
            # fed back as at inference (predict() clamps to [-1, 1])
            nxt = preds[-1].clamp(-1.0, 1.0)
            nxt = nxt.detach() if detach else nxt
            context = torch.cat([context[:, 1:], nxt.unsqueeze(1)], dim=1)
        return out

    def discriminator_turn(self, batch: dict[str, Any], nets: Nets) -> TurnOutput:
        context, target, actions, n = self._unpack(batch)
        lc = self.config.loss
        k = context.shape[1]
        with torch.no_grad():
            fakes = self._rollout_train(nets.generator, context, actions, n, detach=True)
        windows = torch.cat([context, target], dim=1)
        b = context.shape[0]
        total = context.new_zeros(())
        stats: dict[str, Any] = {}
        real_mean = fake_mean = context.new_zeros(())
        n_mismatch = n_wrong = 0
        gp_weight = self.gradient_penalty_weight(lc.gp_weight)
        for s in range(n):
            cond = windows[:, s : s + k]
            act = None if actions is None else actions[:, k - 1 + s]
            fake = [f.detach() for f in fakes[s]]
            real = self._pyramid(target[:, s], fake)
            d_real = nets.discriminator(real, cond, act)
            d_fake = nets.discriminator(fake, cond, act)
            extra: list[list[torch.Tensor]] = []
            if lc.mismatch_prob > 0 and b > 1:
                mask = torch.rand(b, device=context.device) < lc.mismatch_prob
                if mask.any():
                    # context of clip i, target of clip i + 1: a real frame, but not this clip's future
                    other = [r.roll(1, dims=0)[mask] for r in real]
                    extra.append(nets.discriminator(other, cond[mask], None if act is None else act[mask]))
                    n_mismatch += int(mask.sum())
            if lc.wrong_action_prob > 0 and act is not None:
                mask = torch.rand(b, device=context.device) < lc.wrong_action_prob
                if mask.any():
                    num = self.config.model.num_actions
                    shift = torch.randint(1, num, (b,), device=act.device)
                    wrong = (act + shift) % num  # uniformly one of the other actions
                    extra.append(nets.discriminator([r[mask] for r in real], cond[mask], wrong[mask]))
                    n_wrong += int(mask.sum())
            all_fake = [torch.cat([d_fake[i], *(e[i] for e in extra)]) for i in range(len(d_fake))]
            # summed over scales, as the paper sums the per-scale cross-entropies
            loss = sum(self.objective.discriminator_loss(r, f) for r, f in zip(d_real, all_fake))
            if gp_weight > 0:
                gp = self._gradient_penalty(nets.discriminator, real, fake, cond, act, gp_weight)
                loss = loss + gp
                stats["gp"] = stats.get("gp", 0.0) + gp.detach() / n
            total = total + loss
            real_mean = real_mean + torch.stack([r.detach().mean() for r in d_real]).mean()
            fake_mean = fake_mean + torch.stack([f.detach().mean() for f in d_fake]).mean()
        total = total / n
        stats.update({"d_loss": total.detach(), "d_real": real_mean / n, "d_fake": fake_mean / n})
        if lc.temporal_weight > 0:
            real_clip, clip_actions = self._real_clip(context, target, actions, n)
            fake_clip = self._fake_clip(context, [f[-1].detach() for f in fakes])
            t_loss, t_stats = self._temporal_d_loss(
                nets.discriminator, real_clip, fake_clip, clip_actions, gp_weight
            )
            total = total + t_loss
            stats.update({"d_loss": total.detach(), **t_stats})
        if lc.mismatch_prob > 0:
            stats["d_mismatched"] = float(n_mismatch) / n
        if lc.wrong_action_prob > 0:
            stats["d_wrong_actions"] = float(n_wrong) / n
        return TurnOutput(total, stats)

    def _gradient_penalty(
        self,
        discriminator: nn.Module,
        real: list[torch.Tensor],
        fake: list[torch.Tensor],
        cond: torch.Tensor,
        act: torch.Tensor | None,
        weight: float,
    ) -> torch.Tensor:
        """Gradient penalty over all scales jointly: the scales are flattened into one input vector, so
        each sample is interpolated with one alpha at every scale and the norm spans the scales."""
        shapes = [r.shape[1:] for r in real]
        sizes = [math.prod(s) for s in shapes]

        def d_flat(x: torch.Tensor) -> list[torch.Tensor]:
            parts = [p.reshape(-1, *s) for p, s in zip(x.split(sizes, dim=1), shapes)]
            return discriminator(parts, cond, act)

        flat = [torch.cat([t.flatten(1) for t in pyr], dim=1) for pyr in (real, fake)]
        return gradient_penalty(d_flat, flat[0], flat[1], weight=weight)

    @staticmethod
    def _real_clip(
        context: torch.Tensor, target: torch.Tensor, actions: torch.Tensor | None, n: int
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The real clip ``(B, K + n, C, P, P)`` and its actions ``(B, K + n - 1)`` (``actions[:, j]``
        leads from clip frame ``j`` to ``j + 1``), or ``None`` without actions."""
        k = context.shape[1]
        clip_actions = None if actions is None else actions[:, : k + n - 1]
        return torch.cat([context, target[:, :n]], dim=1), clip_actions

    @staticmethod
    def _fake_clip(context: torch.Tensor, finest: list[torch.Tensor]) -> torch.Tensor:
        """The context followed by the rolled-out finest predictions ``[(B, C, P, P)] * n``."""
        return torch.cat([context, torch.stack(finest, dim=1)], dim=1)

    def _temporal_d_loss(
        self,
        discriminator: nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        actions: torch.Tensor | None,
        gp_weight: float,
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """The temporal critic's loss on real and rolled-out clips ``(B, K + n, C, P, P)`` (``fake``
        detached), with the frame discriminator's objective and gradient penalty."""
        d_real = discriminator(real, None, actions, temporal=True)
        d_fake = discriminator(fake, None, actions, temporal=True)
        loss = self.objective.discriminator_loss(d_real, d_fake)
        stats: dict[str, Any] = {}
        if gp_weight > 0:
            gp = gradient_penalty(
                lambda x: discriminator(x, None, actions, temporal=True), real, fake, weight=gp_weight
            )
            loss = loss + gp
            stats["gp_temporal"] = gp.detach()
        stats.update(
            {
                "d_temporal": loss.detach(),
                "d_temporal_real": d_real.detach().mean(),
                "d_temporal_fake": d_fake.detach().mean(),
            }
        )
        return loss, stats

    def generator_turn(self, batch: dict[str, Any], nets: Nets) -> TurnOutput:
        context, target, actions, n = self._unpack(batch)
        lc = self.config.loss
        k = context.shape[1]
        windows = torch.cat([context, target], dim=1)
        preds_all = self._rollout_train(nets.generator, context, actions, n, detach=lc.detach_feedback)
        adv_t = lp_t = gdl_t = context.new_zeros(())
        for s, preds in enumerate(preds_all):
            real = self._pyramid(target[:, s], preds)
            act = None if actions is None else actions[:, k - 1 + s]
            if lc.adv_weight > 0:
                logits = nets.discriminator(preds, windows[:, s : s + k], act)
                adv_t = adv_t + sum(self.objective.generator_loss(lg) for lg in logits)
            if lc.motion_weight > 0 or lc.action_weight > 0:
                weight = torch.ones_like(target[:, s, :1])
                if lc.motion_weight > 0:
                    moved = (target[:, s] != windows[:, s + k - 1]).any(1, keepdim=True).to(target.dtype)
                    weight = weight + lc.motion_weight * moved
                if lc.action_weight > 0:
                    weight = weight + lc.action_weight * batch["action_mask"][:, s].to(target.dtype)
                weights = self._pyramid(weight, preds)
                lp_t = lp_t + sum(weighted_lp_loss(p, r, w, lc.p) for p, r, w in zip(preds, real, weights))
            else:
                lp_t = lp_t + sum(lp_loss(p, r, lc.p) for p, r in zip(preds, real))
            if lc.gdl_weight > 0:
                gdl_t = gdl_t + sum(gradient_difference_loss(p, r, lc.gdl_alpha) for p, r in zip(preds, real))
        adv_t, lp_t, gdl_t = adv_t / n, lp_t / n, gdl_t / n
        loss = lc.adv_weight * adv_t + lc.lp_weight * lp_t + lc.gdl_weight * gdl_t
        extra: dict[str, Any] = {}
        if lc.temporal_weight > 0:
            _, clip_actions = self._real_clip(context, target, actions, n)
            fake_clip = self._fake_clip(context, [p[-1] for p in preds_all])
            logits = nets.discriminator(fake_clip, None, clip_actions, temporal=True)
            temporal_t = self.objective.generator_loss(logits)
            loss = loss + lc.temporal_weight * temporal_t
            extra["g_temporal"] = temporal_t.detach()
        with torch.no_grad():
            cap = self.config.eval.psnr_cap or None
            train_psnr = psnr(preds_all[0][-1], target[:, 0], 2.0, reduction="mean", cap=cap)
        return TurnOutput(
            loss,
            {
                "g_loss": loss.detach(),
                "g_adv": adv_t.detach(),
                "g_lp": lp_t.detach(),
                "g_gdl": gdl_t.detach(),
                "rollout": float(n),
                "psnr": train_psnr,
                **extra,
            },
        )

    # -- evaluation and samples -------------------------------------------------------------------------
    def _valid_batches(self, device: torch.device, limit: int) -> Iterator[Batch]:
        dataset = self.valid_dataset()
        if min(len(dataset), limit) == 0:
            log.warning(
                "%s: no validation sequence of %d+%d frames",
                self.config.data.valid_scp,
                self.config.data.context,
                self.config.eval.rollout_steps,
            )
        with_actions = self.config.model.num_actions > 0
        return valid_batches(dataset, device, limit, self.config.eval.batch_size, with_actions)

    def evaluate(self, generator: nn.Module, device: torch.device) -> dict[str, float]:
        """Rollouts of ``eval.rollout_steps`` frames on full validation frames (``seqgan.metrics.frames``):
        PSNR (capped at ``eval.psnr_cap`` dB per frame), SSIM (frames shifted to [0, 2], the uint8
        convention), sharpness difference, their means over steps, PSNR and SSIM per step
        (``psnr_1`` ...), and the copy-last-frame baseline's PSNR (also per step) and SSIM."""
        e = self.config.eval
        batches = self._valid_batches(device, e.max_sequences)
        return evaluate_rollouts(generator, batches, e.rollout_steps, e.psnr_cap or None)

    def write_samples(
        self, generator: nn.Module, device: torch.device, step: int, out_dir: Path, writer: Any | None
    ) -> None:
        """Rollouts of the first validation sequences: a PNG strip (truth over prediction per sequence),
        a GIF (truth | prediction) under ``out_dir`` and the strip in TensorBoard."""
        e = self.config.eval
        batches = self._valid_batches(device, e.num_samples)
        write_rollout_samples(generator, batches, e.rollout_steps, step, Path(out_dir), writer)

    # -- export -----------------------------------------------------------------------------------------
    def export_metadata(self) -> dict[str, Any]:
        d, m = self.config.data, self.config.model
        c, h, w = self.geometry()
        return {
            "task": "next_frame",
            "num_channels": c,
            "frame_height": h,
            "frame_width": w,
            "context": d.context,
            "num_actions": m.num_actions,
            "value_range": [-1.0, 1.0],
            "grayscale": d.grayscale,
            "resize": list(d.resize),
            "patch_size": d.patch_size,
        }
