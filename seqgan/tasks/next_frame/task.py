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

Negatives besides the generator's output (all labelled fake in the discriminator loss):

* ``mismatch_prob``: real pairs whose context and target come from different clips (a fraction of the
  batch, pairing each example's context with the next example's target);
* ``wrong_action_prob``: real frames shown with a random *different* action (action-conditioned D).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqgan.adversarial import get_objective, gradient_penalty
from seqgan.config import ConfigError, ExperimentConfig
from seqgan.metrics.frames import psnr as frame_psnr
from seqgan.models.frame_gan import build_frame_gan, pool_frames
from seqgan.tasks import TASKS
from seqgan.tasks.base import GANTask, Nets, TurnOutput

log = logging.getLogger(__name__)

__all__ = [
    "NextFrameConfig",
    "NextFrameTask",
    "gradient_difference_loss",
    "lp_loss",
]


# --------------------------------------------------------------------------------------------------
# Configuration


@dataclass
class FrameModelConfig:
    """Which networks: a preset of ``seqgan.models.frame_gan.PRESETS`` plus constructor overrides."""

    preset: str = "mathieu2016"
    num_actions: int = 0  # > 0: action-conditioned G and D (the data must have actions)
    generator: dict[str, Any] = field(default_factory=dict)
    discriminator: dict[str, Any] = field(default_factory=dict)


@dataclass
class FrameDataConfig:
    """Training windows (``seqgan.data.frames.FrameWindows``) and validation sequences."""

    train_scp: str = "data/train/episodes.scp"
    valid_scp: str = "data/dev/episodes.scp"
    context: int = 4
    horizon: int = 1  # target frames per training window (>= the longest curriculum rollout)
    patch_size: int = 32  # square training crop; the discriminator is sized for it
    grayscale: bool = False
    resize: list[int] = field(default_factory=list)  # [H, W]; empty keeps the recorded size
    stride: int = 1
    max_per_episode: int = 0  # 0: no limit
    min_motion: float = 0.0  # prefer patches with motion (see FrameWindows)
    motion_tries: int = 10
    in_memory: bool = True


@dataclass
class FrameLossConfig:
    """Loss weights (paper values by default)."""

    objective: str = "nsgan"
    objective_options: dict[str, Any] = field(default_factory=dict)
    adv_weight: float = 0.05
    lp_weight: float = 1.0
    p: float = 1.0
    gdl_weight: float = 1.0
    gdl_alpha: float = 1.0
    gp_weight: float = 0.0  # gradient penalty on D (0: the objective's default, e.g. 10 for wgan-gp)
    mismatch_prob: float = 0.0  # fraction of the batch shown to D as (context, other clip's target)
    wrong_action_prob: float = 0.0  # fraction shown to D as (real frame, different action)
    detach_feedback: bool = False  # stop gradients through fed-back predictions


@dataclass
class CurriculumConfig:
    """Rollout length per training phase: ``horizons[i]`` from step ``steps[i - 1]`` on."""

    horizons: list[int] = field(default_factory=lambda: [1])
    steps: list[int] = field(default_factory=list)


@dataclass
class FrameEvalConfig:
    """Validation rollouts on full frames."""

    rollout_steps: int = 8
    psnr_cap: float = 100.0  # dB per frame (identical frames give inf); 0 disables the cap
    max_sequences: int = 32
    max_per_episode: int = 4
    batch_size: int = 8
    num_samples: int = 4  # sequences drawn in write_samples


@dataclass
class NextFrameConfig(ExperimentConfig):
    task: str = "next_frame"
    model: FrameModelConfig = field(default_factory=FrameModelConfig)
    data: FrameDataConfig = field(default_factory=FrameDataConfig)
    loss: FrameLossConfig = field(default_factory=FrameLossConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    eval: FrameEvalConfig = field(default_factory=FrameEvalConfig)


# --------------------------------------------------------------------------------------------------
# Reconstruction losses


def lp_loss(prediction: torch.Tensor, target: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    """Mean ``|target - prediction|^p`` over all elements. Shapes ``(B, C, H, W)``; returns a scalar."""
    diff = (target - prediction).abs()
    return diff.mean() if p == 1 else diff.pow(p).mean()


def gradient_difference_loss(
    prediction: torch.Tensor, target: torch.Tensor, alpha: float = 1.0
) -> torch.Tensor:
    """Gradient-difference loss (Mathieu et al. 2016, eq. 5).

    ``| |Y[i,j] - Y[i-1,j]| - |Y_hat[i,j] - Y_hat[i-1,j]| |^alpha`` plus the same along ``j``. Each axis
    is averaged over its differences (the paper sums; the mean keeps the weight independent of the
    frame size) and the two axes are added.

    Args:
        prediction: ``(..., H, W)``.
        target: same shape.
        alpha: the exponent.

    Returns:
        Scalar tensor.
    """
    total = prediction.new_zeros(())
    for dim in (-2, -1):
        gt = target.diff(dim=dim).abs()
        gp = prediction.diff(dim=dim).abs()
        d = (gt - gp).abs()
        total = total + (d.mean() if alpha == 1 else d.pow(alpha).mean())
    return total


# --------------------------------------------------------------------------------------------------
# Task


@TASKS.register("next_frame")
class NextFrameTask(GANTask):
    """Next-frame prediction with a multi-scale conditional GAN (``task: next_frame``).

    Batches are dicts from :class:`seqgan.data.frames.FrameWindows`: ``context (B, K, C, P, P)``,
    ``target (B, S, C, P, P)`` in [-1, 1] and, with actions, ``actions (B, K + S)`` long where
    ``actions[:, K - 1 + s]`` leads to target frame ``s``.
    """

    config_class = NextFrameConfig

    def __init__(self, config: NextFrameConfig) -> None:
        super().__init__(config)
        self.config: NextFrameConfig = config
        cur, data, loss = config.curriculum, config.data, config.loss
        if not cur.horizons or min(cur.horizons) < 1:
            raise ConfigError(f"curriculum.horizons must be rollout lengths >= 1, got {cur.horizons}")
        if len(cur.steps) != len(cur.horizons) - 1 or cur.steps != sorted(cur.steps):
            raise ConfigError(
                f"curriculum.steps needs {len(cur.horizons) - 1} increasing step(s) for horizons "
                f"{cur.horizons}, got {cur.steps}"
            )
        if data.horizon < max(cur.horizons):
            raise ConfigError(
                f"data.horizon ({data.horizon}) must be >= the longest curriculum rollout "
                f"({max(cur.horizons)})"
            )
        if data.patch_size < 0:
            raise ConfigError("data.patch_size must be >= 0 (0 trains on full square frames)")
        for name in ("mismatch_prob", "wrong_action_prob"):
            if not 0.0 <= getattr(loss, name) <= 1.0:
                raise ConfigError(f"loss.{name} must lie in [0, 1], got {getattr(loss, name)}")
        if loss.wrong_action_prob > 0 and config.model.num_actions < 2:
            raise ConfigError(
                "loss.wrong_action_prob needs an action-conditioned model (model.num_actions >= 2)"
            )
        try:
            self.objective = get_objective(loss.objective, **loss.objective_options)
        except (KeyError, ValueError) as e:
            raise ConfigError(f"loss.objective: {e}") from None
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
        if n > 0 and not getattr(dataset, "has_actions", True):
            raise ConfigError(f"{where}: model.num_actions is {n} but the episodes have no actions")
        data_actions = getattr(dataset, "num_actions", None)
        if n > 0 and data_actions and data_actions > n:
            raise ConfigError(
                f"{where}: the episodes use {data_actions} actions but model.num_actions is {n}"
            )
        shape = getattr(dataset, "frame_shape", None)
        if shape is not None and self._geometry is None:
            self._geometry = tuple(int(s) for s in shape)  # type: ignore[assignment]

    def geometry(self) -> tuple[int, int, int]:
        """Full-frame ``(C, H, W)`` of the training episodes."""
        if self._geometry is None:
            self.train_dataset()
        if self._geometry is None:  # a dataset without frame_shape: look at one example
            item = self.train_dataset()[(0, 0)]
            self._geometry = tuple(int(s) for s in item["context"].shape[1:])  # type: ignore[assignment]
        return self._geometry  # type: ignore[return-value]

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
    def _build(self) -> tuple[nn.Module, nn.Module]:
        m = self.config.model
        try:
            return build_frame_gan(
                m.preset,
                num_channels=self.geometry()[0],
                context=self.config.data.context,
                num_actions=m.num_actions,
                patch_size=self._patch_size(),
                generator_overrides=m.generator,
                discriminator_overrides=m.discriminator,
            )
        except (TypeError, ValueError) as e:
            raise ConfigError(f"model: {e}") from None

    def build_generator(self) -> nn.Module:
        return self._build()[0]

    def build_discriminator(self) -> nn.Module:
        return self._build()[1]

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
        """``n`` steps of per-scale predictions, the finest fed back as context."""
        k = context.shape[1]
        out = []
        for s in range(n):
            preds = generator(context, None if actions is None else actions[:, s : s + k])
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
            lp_t = lp_t + sum(lp_loss(p, r, lc.p) for p, r in zip(preds, real))
            if lc.gdl_weight > 0:
                gdl_t = gdl_t + sum(gradient_difference_loss(p, r, lc.gdl_alpha) for p, r in zip(preds, real))
        adv_t, lp_t, gdl_t = adv_t / n, lp_t / n, gdl_t / n
        loss = lc.adv_weight * adv_t + lc.lp_weight * lp_t + lc.gdl_weight * gdl_t
        with torch.no_grad():
            psnr = frame_psnr(preds_all[0][-1], target[:, 0], 2.0, reduction="mean", cap=100.0)
        return TurnOutput(
            loss,
            {
                "g_loss": loss.detach(),
                "g_adv": adv_t.detach(),
                "g_lp": lp_t.detach(),
                "g_gdl": gdl_t.detach(),
                "rollout": float(n),
                "psnr": psnr,
            },
        )

    # -- evaluation -----------------------------------------------------------------------------------
    def _valid_batches(self, device: torch.device, limit: int) -> Any:
        dataset = self.valid_dataset()
        count = min(len(dataset), limit)
        if count == 0:
            log.warning(
                "%s: no validation sequence of %d+%d frames",
                self.config.data.valid_scp,
                self.config.data.context,
                self.config.eval.rollout_steps,
            )
        bs = max(1, self.config.eval.batch_size)
        for start in range(0, count, bs):
            items = [dataset[(i, 0)] for i in range(start, min(count, start + bs))]
            ctx = torch.stack([it["context"] for it in items]).to(device)
            tgt = torch.stack([it["target"] for it in items]).to(device)
            act = None
            if self.config.model.num_actions > 0:
                act = torch.stack([it["actions"] for it in items]).to(device)
            yield ctx, tgt, act

    @torch.no_grad()
    def evaluate(self, generator: nn.Module, device: torch.device) -> dict[str, float]:
        """Rollouts of ``eval.rollout_steps`` frames on full validation frames (``seqgan.metrics.frames``):
        PSNR (capped at ``eval.psnr_cap`` dB per frame), SSIM (frames shifted to [0, 2], the uint8
        convention), sharpness difference, their means over steps, PSNR and SSIM per step
        (``psnr_1`` ...), and the copy-last-frame baseline's PSNR (also per step) and SSIM."""
        from seqgan.metrics.frames import SSIM_WINDOW, copy_last_frame, psnr, sharpness_difference, ssim
        from seqgan.predict import rollout

        steps = self.config.eval.rollout_steps
        cap = self.config.eval.psnr_cap or None
        sums: dict[str, torch.Tensor] = {}

        def add(name: str, values: torch.Tensor) -> None:
            total = values.double().sum(0).cpu()
            sums[name] = sums[name] + total if name in sums else total

        count = 0
        for ctx, tgt, act in self._valid_batches(device, self.config.eval.max_sequences):
            pred = rollout(generator, ctx, steps, act).float().clamp(-1, 1)
            copy = copy_last_frame(ctx, steps)
            add("psnr", psnr(pred, tgt, 2.0, cap=cap))
            add("psnr_copy_last", psnr(copy, tgt, 2.0, cap=cap))
            add("sharpness", sharpness_difference(pred, tgt, 2.0, cap=cap))
            if min(tgt.shape[-2:]) >= SSIM_WINDOW:
                add("ssim", ssim(pred, tgt, (-1.0, 1.0)))
                add("ssim_copy_last", ssim(copy, tgt, (-1.0, 1.0)))
            count += ctx.shape[0]
        if count == 0:
            return {}
        metrics = {name: float(v.mean() / count) for name, v in sums.items()}
        for name in ("psnr", "ssim", "psnr_copy_last"):
            if name in sums:
                metrics.update({f"{name}_{s + 1}": float(sums[name][s] / count) for s in range(steps)})
        return metrics

    @torch.no_grad()
    def write_samples(
        self, generator: nn.Module, device: torch.device, step: int, out_dir: Path, writer: Any | None
    ) -> None:
        """Rollouts of the first validation sequences: a PNG strip (truth over prediction per sequence),
        a GIF (truth | prediction) under ``out_dir`` and the strip in TensorBoard."""
        import numpy as np

        from seqgan.predict import comparison_strip, rollout, save_gif, save_png, side_by_side, to_uint8

        steps = self.config.eval.rollout_steps
        strips, gifs = [], []
        for ctx, tgt, act in self._valid_batches(device, self.config.eval.num_samples):
            pred = to_uint8(rollout(generator, ctx, steps, act))
            truth, context = to_uint8(tgt), to_uint8(ctx)
            for i in range(len(pred)):
                strips.append(comparison_strip(truth[i], pred[i], context[i]))
                frames = [side_by_side(f, f) for f in context[i]]
                frames += [side_by_side(t, p) for t, p in zip(truth[i], pred[i])]
                gifs.append(frames)
        if not strips:
            return
        strip = np.concatenate(strips, axis=0)
        out_dir = Path(out_dir)
        save_png(out_dir / f"rollout_{step:08d}.png", strip)
        gif = [np.concatenate([g[t] for g in gifs], axis=0) for t in range(len(gifs[0]))]
        save_gif(out_dir / f"rollout_{step:08d}.gif", gif)
        if writer is not None:
            writer.add_image("samples/rollout", strip, step, dataformats="HWC")

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
