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
    one_of,
    resolves,
    tri_state,
)
from seqgan.metrics.audio import resolve_metrics
from seqgan.models.hifigan import PRESETS as WAVEFORM_DISCRIMINATORS
from seqgan.tasks.enhancement.metric_turns import NORMALIZATIONS
from seqgan.tasks.enhancement.networks import check_model, preset_names

__all__ = [
    "EnhancementConfig",
    "SEDataConfig",
    "SEEvalConfig",
    "SELossConfig",
    "SEMetricConfig",
    "SEModelConfig",
    "SEOptimizerConfig",
    "SETrainConfig",
]


@dataclass
class SEModelConfig:
    """Which networks to build: a preset of one model family and constructor overrides
    (:mod:`seqgan.tasks.enhancement.networks`).

    ``preset`` names the family too: ``segan``, ``segan_plus``, ``segan_small`` (SEGAN), ``metricgan_plus``,
    ``metricgan_small`` (MetricGAN+), ``cmgan``, ``cmgan_small`` (CMGAN). ``discriminator_preset`` replaces
    the family's discriminator by a multi-resolution waveform one (``hifigan``, ``univnet``, ``mpd``,
    ``msd``, ``mrstft``, ``hifigan_small``, ``univnet_small``); ``discriminator`` then overrides its
    arguments (e.g. ``{conditional: true}``).
    """

    preset: str = "segan"
    generator: dict[str, Any] = field(default_factory=dict)
    discriminator: dict[str, Any] = field(default_factory=dict)  # SEGAN's input_length: data.window
    discriminator_preset: str = ""  # empty: the family's own discriminator

    def check(self) -> list[str]:
        # the overrides are checked where the networks are built (networks.build_networks)
        found = []
        if self.preset not in preset_names():
            found.append(f"preset: unknown preset '{self.preset}'; choose from: {', '.join(preset_names())}")
        if self.discriminator_preset and self.discriminator_preset not in WAVEFORM_DISCRIMINATORS:
            found.append(
                f"discriminator_preset: unknown waveform discriminator '{self.discriminator_preset}'; choose "
                f"from: {', '.join(sorted(WAVEFORM_DISCRIMINATORS))} (or leave it empty)"
            )
        return found


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
class SEMetricConfig:
    """What a metric discriminator learns (``loss.objective: metric``; :mod:`.metric_turns`)."""

    name: str = "pesq_wb"  # a metric of seqgan.metrics.audio, computed in worker processes
    normalization: str = "metricgan"  # metricgan: (PESQ + 0.5) / 5 | cmgan: (PESQ - 1) / 3.5 | none
    noisy_term: bool = False  # MetricGAN+'s (D(x, y) - Q(x, y))^2
    replay_size: int = 0  # scored outputs kept for replay (MetricGAN+'s history); 0: none
    replay_batch: int = 0  # replayed examples per discriminator turn
    workers: int = 1  # scoring processes; 0: in the training thread

    def check(self) -> list[str]:
        found = [
            resolves("name", lambda: resolve_metrics([self.name])),
            one_of(self, "normalization", list(NORMALIZATIONS)),
            at_least(self, "replay_size", 0, "0: no replay"),
            at_least(self, "replay_batch", 0),
            at_least(self, "workers", 0, "0: in the training thread"),
        ]
        if self.replay_size > 0 and self.replay_batch == 0:
            found.append("replay_batch must be >= 1 when replay_size > 0")
        return collect(*found)


@dataclass
class SELossConfig:
    """The adversarial objective and the extra terms of the generator and discriminator losses.

    The generator's loss is ``adversarial_weight · L_adv`` plus the reconstruction terms of
    :mod:`.reconstruction` (time-domain L1, multi-resolution STFT, HiFi-GAN's log-mel L1, CMGAN's MSEs of
    compressed real/imaginary parts and magnitudes), each with its weight (0 leaves it out).
    """

    objective: str = "lsgan"
    objective_options: dict[str, Any] = field(default_factory=dict)  # e.g. {scale: 0.5} for lsgan
    adversarial_weight: float = 1.0
    l1_weight: float = 100.0
    stft_weight: float = 0.0  # multi-resolution STFT loss (spectral convergence + log magnitude)
    stft_fft_sizes: list[int] = field(default_factory=lambda: [512, 1024, 2048])
    mel_weight: float = 0.0  # L1 of log-mel spectrograms (HiFi-GAN: 45)
    ri_weight: float = 0.0  # MSE of compressed real / imaginary parts (CMGAN: 0.1)
    magnitude_weight: float = 0.0  # MSE of compressed magnitudes (CMGAN: 0.9)
    spectral_stft: list[int] = field(default_factory=lambda: [400, 100, 400])  # n_fft, hop, window (CMGAN)
    spectral_exponent: float = 0.3  # the compression |X| ** exponent of ri / magnitude
    normalize_scale: bool = False  # compare c * G(x) with c * y, c = 1 / rms(x) per example (CMGAN)
    gp_weight: float = 0.0  # 0: the objective's default (10 for wgan-gp, none otherwise)
    r1_gamma: float = 0.0
    r1_interval: int = 1
    feature_matching_weight: float = 0.0
    metric: SEMetricConfig = field(default_factory=SEMetricConfig)

    def check(self) -> list[str]:
        found = [resolves("objective", lambda: get_objective(self.objective, **self.objective_options))]
        weights = ("adversarial_weight", "l1_weight", "stft_weight", "mel_weight", "ri_weight")
        for key in (*weights, "magnitude_weight", "gp_weight", "r1_gamma", "feature_matching_weight"):
            found.append(at_least(self, key, 0))
        found.append(at_least(self, "r1_interval", 1))
        if self.stft_weight > 0 and not self.stft_fft_sizes:
            found.append("stft_fft_sizes is empty but stft_weight > 0")
        if any(n < 4 for n in self.stft_fft_sizes):
            found.append(f"stft_fft_sizes must be FFT sizes >= 4, got {self.stft_fft_sizes}")
        n_fft, hop, win = (list(self.spectral_stft) + [0, 0, 0])[:3]
        if len(self.spectral_stft) != 3 or not 1 <= hop <= win <= n_fft:
            found.append(
                f"spectral_stft must be [n_fft, hop, window] with 1 <= hop <= window <= n_fft, got {self.spectral_stft}"
            )
        if self.spectral_exponent <= 0:
            found.append(f"spectral_exponent must be > 0, got {self.spectral_exponent}")
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

    def check(self) -> list[str]:
        # a metric discriminator and the metric objective go together
        found = check_model(self.model.preset, self.model.discriminator_preset, self.loss.objective)
        if self.loss.objective == "metric":
            found += [
                f"loss.{key} is not defined for a metric discriminator (it regresses scores); set it to 0"
                for key in ("gp_weight", "r1_gamma")
                if getattr(self.loss, key) > 0
            ]
        return found
