"""Configuration of the ``enhancement`` task; the defaults are the SEGAN paper's (Pascual et al. 2017).

The ``segan`` preset, 16384-sample windows with 50 % overlap at 16 kHz, pre-emphasis 0.95, LSGAN +
100·L1, RMSprop with lr 2e-4 for both networks and 100 windows per process (400 on 4 GPUs, as
published). Each section checks its own values (``check()``, see :mod:`seqgan.config`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqgan.adversarial import get_objective
from seqgan.config import (
    ExperimentConfig,
    OptimizerConfig,
    TrainConfig,
    at_least,
    collect,
    in_range,
    resolves,
    tri_state,
)
from seqgan.metrics.audio import resolve_metrics
from seqgan.models.segan import PRESETS

__all__ = [
    "EnhancementConfig",
    "SEDataConfig",
    "SEEvalConfig",
    "SELossConfig",
    "SEModelConfig",
    "SEOptimizerConfig",
    "SETrainConfig",
]


@dataclass
class SEModelConfig:
    """Which SEGAN to build: a preset of ``seqgan.models.segan.PRESETS`` and constructor overrides."""

    preset: str = "segan"  # segan | segan_plus | segan_small
    generator: dict[str, Any] = field(default_factory=dict)
    discriminator: dict[str, Any] = field(default_factory=dict)  # input_length defaults to data.window

    def check(self) -> list[str]:
        # the overrides are checked where the networks are built (EnhancementTask.build_networks)
        if self.preset not in PRESETS:
            return [
                f"preset: unknown SEGAN preset '{self.preset}'; choose from: {', '.join(sorted(PRESETS))}"
            ]
        return []


@dataclass
class SEDataConfig:
    """Training and validation data directories and how windows are cut from them."""

    train_dir: str = ""
    valid_dir: str = ""  # empty: no evaluation and no samples
    window: int = 16384
    hop: int = 0  # 0: window // 2 (50 % overlap)
    sample_rate: int = 16000
    preemphasis: float = 0.95
    remix_snrs: list[float] = field(default_factory=list)  # empty: no on-the-fly remixing
    remix_prob: float = 0.5
    in_memory: bool | str = "auto"  # true | false | auto (in memory under 2 GiB)

    def check(self) -> list[str]:
        found = [
            at_least(self, "window", 1),
            at_least(self, "hop", 0, "0: window // 2"),
            at_least(self, "sample_rate", 1),
            in_range(self, "preemphasis", 0.0, 1.0, closed=False),
            in_range(self, "remix_prob", 0.0, 1.0),
            tri_state(self, "in_memory"),
        ]
        return collect(*found)


@dataclass
class SELossConfig:
    """The adversarial objective and the extra terms of the generator and discriminator losses."""

    objective: str = "lsgan"
    objective_options: dict[str, Any] = field(default_factory=dict)  # e.g. {scale: 0.5} for lsgan
    l1_weight: float = 100.0
    stft_weight: float = 0.0  # multi-resolution STFT loss (spectral convergence + log magnitude)
    stft_fft_sizes: list[int] = field(default_factory=lambda: [512, 1024, 2048])
    gp_weight: float = 0.0  # 0: the objective's default (10 for wgan-gp, none otherwise)
    r1_gamma: float = 0.0
    r1_interval: int = 1
    feature_matching_weight: float = 0.0

    def check(self) -> list[str]:
        found = [resolves("objective", lambda: get_objective(self.objective, **self.objective_options))]
        for key in ("l1_weight", "stft_weight", "gp_weight", "r1_gamma", "feature_matching_weight"):
            found.append(at_least(self, key, 0))
        found.append(at_least(self, "r1_interval", 1))
        if self.stft_weight > 0 and not self.stft_fft_sizes:
            found.append("stft_fft_sizes is empty but stft_weight > 0")
        if any(n < 4 for n in self.stft_fft_sizes):
            found.append(f"stft_fft_sizes must be FFT sizes >= 4, got {self.stft_fft_sizes}")
        return collect(*found)


@dataclass
class SEEvalConfig:
    """Validation on whole utterances of ``data.valid_dir``."""

    max_utts: int = 20  # evenly spaced over the sorted ids; 0: all
    metrics: list[str] = field(default_factory=lambda: ["si_sdr", "ssnr"])  # names of seqgan.metrics.audio
    num_samples: int = 3  # utterances written by write_samples

    def check(self) -> list[str]:
        found = [
            at_least(self, "max_utts", 0, "0: all"),
            resolves("metrics", lambda: resolve_metrics(self.metrics)),
            at_least(self, "num_samples", 0),
        ]
        return collect(*found)


@dataclass
class SEOptimizerConfig(OptimizerConfig):
    """An optimiser whose defaults are SEGAN's: RMSprop, lr 2e-4.

    The smoothing constant is 0.9, the default decay of the TensorFlow RMSProp optimiser that the original
    code used (PyTorch's default is 0.99). A configuration that names another optimiser keeps the other
    fields' meaning (``alpha`` is RMSprop's only).
    """

    name: str = "rmsprop"
    lr: float = 2e-4
    alpha: float = 0.9


@dataclass
class SETrainConfig(TrainConfig):
    """Trainer settings with SEGAN's published optimisation as defaults: RMSprop for G and D, and 100
    windows per process (the paper: 400 on 4 GPUs). The defaults hold field by field, so a configuration
    that sets only ``train.max_steps`` still trains with RMSprop."""

    batch_size: int = 100
    optim_g: SEOptimizerConfig = field(default_factory=SEOptimizerConfig)
    optim_d: SEOptimizerConfig = field(default_factory=SEOptimizerConfig)


@dataclass
class EnhancementConfig(ExperimentConfig):
    """Configuration of the ``enhancement`` task (defaults: the SEGAN paper)."""

    task: str = "enhancement"
    train: SETrainConfig = field(default_factory=SETrainConfig)
    model: SEModelConfig = field(default_factory=SEModelConfig)
    data: SEDataConfig = field(default_factory=SEDataConfig)
    loss: SELossConfig = field(default_factory=SELossConfig)
    eval: SEEvalConfig = field(default_factory=SEEvalConfig)
