"""Configuration of the ``next_frame`` task; the loss weights default to Mathieu et al. (2016).

Each section checks its own values (``check()``, see :mod:`seqgan.config`); :class:`NextFrameConfig`
checks what relates sections (the curriculum against ``data.horizon``, wrong-action negatives against
``model.num_actions``, the temporal critic against the curriculum).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqgan.adversarial import get_objective
from seqgan.config import ExperimentConfig, at_least, collect, in_range, resolves
from seqgan.models.frame_gan import PRESETS

__all__ = [
    "CurriculumConfig",
    "FrameDataConfig",
    "FrameEvalConfig",
    "FrameLossConfig",
    "FrameModelConfig",
    "NextFrameConfig",
]


@dataclass
class FrameModelConfig:
    """Which networks: a preset of ``seqgan.models.frame_gan.PRESETS`` plus constructor overrides."""

    preset: str = "mathieu2016"
    num_actions: int = 0  # > 0: action-conditioned G and D (the data must have actions)
    generator: dict[str, Any] = field(default_factory=dict)
    discriminator: dict[str, Any] = field(default_factory=dict)
    # constructor arguments of the temporal critic (seqgan.models.frame_temporal), built when
    # loss.temporal_weight > 0
    temporal: dict[str, Any] = field(default_factory=dict)

    def check(self) -> list[str]:
        found = [at_least(self, "num_actions", 0, "0: no actions")]
        if self.preset not in PRESETS:
            found.append(
                f"preset: unknown frame GAN preset '{self.preset}'; choose from: {', '.join(sorted(PRESETS))}"
            )
        return collect(*found)


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
    # > 0: that fraction of the windows' targets are the frames of a drawn action held from the last
    # context frame (the episodes' emulator branches, seqgan data atari --branches)
    branch_prob: float = 0.0

    def check(self) -> list[str]:
        found = [
            at_least(self, "context", 1),
            at_least(self, "horizon", 1),
            at_least(self, "patch_size", 0, "0 trains on full square frames"),
            at_least(self, "stride", 1),
            at_least(self, "max_per_episode", 0, "0: no limit"),
            at_least(self, "min_motion", 0),
            at_least(self, "motion_tries", 1),
            in_range(self, "branch_prob", 0.0, 1.0),
        ]
        if self.branch_prob > 0 and not self.in_memory:
            found.append(f"branch_prob {self.branch_prob} needs the episodes in memory (in_memory true)")
        if self.resize and (len(self.resize) != 2 or min(self.resize) < 1):
            found.append(f"resize must be empty or [H, W] with H, W >= 1, got {self.resize}")
        return collect(*found)


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
    # the lp term weighs pixels that change from the previous true frame 1 + motion_weight (0: off)
    motion_weight: float = 0.0
    # the lp term also weighs the pixels the action decides (where the episodes' branches differ
    # between actions) 1 + action_weight (0: off; needs branches)
    action_weight: float = 0.0
    # > 0: a temporal critic judges whole rolled-out clips; the generator adds temporal_weight times
    # its adversarial loss (0: off, no temporal critic is built)
    temporal_weight: float = 0.0

    def check(self) -> list[str]:
        found = [resolves("objective", lambda: get_objective(self.objective, **self.objective_options))]
        found += [
            at_least(self, key, 0)
            for key in (
                "adv_weight",
                "lp_weight",
                "gdl_weight",
                "gp_weight",
                "motion_weight",
                "action_weight",
            )
        ]
        found.append(at_least(self, "temporal_weight", 0, "0: no temporal critic"))
        found += [
            None if getattr(self, k) > 0 else f"{k} must be > 0, got {getattr(self, k)}"
            for k in ("p", "gdl_alpha")
        ]
        found += [in_range(self, key, 0.0, 1.0) for key in ("mismatch_prob", "wrong_action_prob")]
        return collect(*found)


@dataclass
class CurriculumConfig:
    """Rollout length per training phase: ``horizons[i]`` from step ``steps[i - 1]`` on."""

    horizons: list[int] = field(default_factory=lambda: [1])
    steps: list[int] = field(default_factory=list)

    def check(self) -> list[str]:
        found = []
        if not self.horizons or min(self.horizons) < 1:
            found.append(f"horizons must be rollout lengths >= 1, got {self.horizons}")
        if len(self.steps) != max(0, len(self.horizons) - 1) or self.steps != sorted(self.steps):
            found.append(
                f"steps needs {max(0, len(self.horizons) - 1)} increasing step(s) for horizons "
                f"{self.horizons}, got {self.steps}"
            )
        return found


@dataclass
class FrameEvalConfig:
    """Validation rollouts on full frames."""

    rollout_steps: int = 8
    psnr_cap: float = 100.0  # dB per frame (identical frames give inf); 0 disables the cap
    max_sequences: int = 32
    max_per_episode: int = 4
    batch_size: int = 8
    num_samples: int = 4  # sequences drawn in write_samples

    def check(self) -> list[str]:
        return collect(
            at_least(self, "rollout_steps", 1),
            at_least(self, "psnr_cap", 0, "0 disables the cap"),
            at_least(self, "max_sequences", 0),
            at_least(self, "max_per_episode", 0, "0: no limit"),
            at_least(self, "batch_size", 1),
            at_least(self, "num_samples", 0),
        )


@dataclass
class NextFrameConfig(ExperimentConfig):
    """Configuration of the ``next_frame`` task."""

    task: str = "next_frame"
    model: FrameModelConfig = field(default_factory=FrameModelConfig)
    data: FrameDataConfig = field(default_factory=FrameDataConfig)
    loss: FrameLossConfig = field(default_factory=FrameLossConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    eval: FrameEvalConfig = field(default_factory=FrameEvalConfig)

    def check(self) -> list[str]:
        found = []
        longest = max(self.curriculum.horizons, default=1)
        if self.data.horizon < longest:
            found.append(
                f"data.horizon ({self.data.horizon}) must be >= the longest curriculum rollout ({longest})"
            )
        if self.loss.wrong_action_prob > 0 and self.model.num_actions < 2:
            found.append("loss.wrong_action_prob needs an action-conditioned model (model.num_actions >= 2)")
        if self.loss.action_weight > 0 and not self.data.in_memory:
            found.append("loss.action_weight needs the episodes in memory (data.in_memory true)")
        if self.loss.temporal_weight > 0 and longest < 2:
            found.append(
                f"loss.temporal_weight needs rollouts of n >= 2 steps to judge, but the curriculum's "
                f"longest is {longest}: add a longer phase to curriculum.horizons or set loss.temporal_weight 0"
            )
        return found
