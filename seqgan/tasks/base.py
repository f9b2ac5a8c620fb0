"""The contract between a task and the generic trainer.

A task owns the forward passes of its generator and discriminator and the losses; the trainer owns
the loop, optimisers, devices, precision, checkpoints and logging, and never inspects model types.

Per training step the trainer runs ``n_critic`` discriminator turns (a fresh batch each), then one
generator turn (on the last batch), then every regularisation turn whose interval divides the step.
It switches ``requires_grad`` so that a D turn never accumulates G gradients and a G turn never
accumulates D gradients, and zeroes both optimisers after every turn. Tasks still detach the fake in
the D turn, which saves the generator's backward pass.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from seqgan.config import ConfigError, ExperimentConfig, check_config


@dataclass
class Nets:
    """The networks a turn may call. They may be wrapped (DDP, torch.compile): call, don't inspect."""

    generator: nn.Module
    discriminator: nn.Module


@dataclass
class TurnOutput:
    """What a turn returns: the loss to backpropagate and detached scalar statistics to log."""

    loss: torch.Tensor
    stats: dict[str, float | torch.Tensor] = field(default_factory=dict)


@dataclass
class RegTurn:
    """A regularisation turn (e.g. R1) run every ``interval`` steps on ``network``.

    The trainer multiplies its loss by ``interval`` (lazy regularisation keeps the same strength).
    """

    name: str
    network: str  # "generator" or "discriminator"
    interval: int = 1


class GANTask(abc.ABC):
    """Base class of every task. Subclasses set ``config_class`` and register with
    :func:`seqgan.tasks.register_task`.

    The constructor checks the configuration (:func:`seqgan.config.check_config`), so that a
    configuration built in code is held to the same rules as one loaded from a file.

    Datasets given to the trainer are map-style; the trainer's seeded infinite sampler asks them for
    ``dataset[(index, seed)]``, where ``seed`` is a per-sample integer to draw any randomness from
    (random crops, noise remixing), so that a resumed run sees exactly the same examples.
    """

    config_class: type[ExperimentConfig] = ExperimentConfig

    def __init__(self, config: ExperimentConfig) -> None:
        problems = check_config(config)
        if problems:
            raise ConfigError(*problems)
        self.config = config

    def set_step(self, step: int) -> None:
        """Called by the trainer before every step (0-based): curricula and schedules inside the task."""
        return None

    # -- networks -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        """A fresh ``(generator, discriminator)`` pair, built together (registered model classes of
        ``seqgan.models``); every call builds a new pair.

        Raises:
            seqgan.config.ConfigError: the configuration cannot make these networks (the message names
                the key), as ``seqgan train --dry-run`` reports it.
        """

    # -- data ---------------------------------------------------------------------------------------
    @abc.abstractmethod
    def train_dataset(self) -> Dataset:
        """The training set; ``__getitem__`` takes ``(index, seed)``."""

    def collate_fn(self) -> Any:
        """Collate function for the loader; ``None`` uses torch's default."""
        return None

    def device_batches(
        self, dataset: Dataset, device: torch.device, max_bytes: int | None = None
    ) -> Callable[[list[tuple[int, int]]], Any] | None:
        """The training set held on ``device``: a callable from a batch of ``(index, seed)`` keys to the
        batch the loader would give for them, already on the device (``train.data_on_device``).

        ``None`` (the default) when the task has no device path, or when the corpus needs more than
        ``max_bytes`` of device memory; the trainer then uses the loader.
        """
        return None

    # -- turns --------------------------------------------------------------------------------------
    @abc.abstractmethod
    def discriminator_turn(self, batch: Any, nets: Nets) -> TurnOutput:
        """Discriminator loss on real data and a detached fake."""

    @abc.abstractmethod
    def generator_turn(self, batch: Any, nets: Nets) -> TurnOutput:
        """Generator loss (adversarial + reconstruction terms)."""

    def regularizers(self) -> list[RegTurn]:
        """Extra turns (R1, path length, ...) with their intervals."""
        return []

    def regularizer_turn(self, name: str, batch: Any, nets: Nets) -> TurnOutput:
        raise NotImplementedError(f"{type(self).__name__} declares no regularizer '{name}'")

    def discriminator_weight_clip(self) -> float:
        """WGAN's constraint: clamp D's weights to [-c, c] after each D turn (0: none).

        ``train.weight_clip`` when set; otherwise the value the task's objective recommends (``wgan``).
        """
        clip = self.config.train.weight_clip
        objective = getattr(self, "objective", None)
        if clip == 0 and getattr(objective, "weight_clip_recommended", False):
            clip = float(objective.weight_clip)
        return clip

    def gradient_penalty_weight(self, configured: float) -> float:
        """The configured penalty weight, or the objective's default when it needs one (``wgan-gp``)."""
        objective = getattr(self, "objective", None)
        if configured == 0 and getattr(objective, "needs_gradient_penalty", False):
            return float(objective.gradient_penalty_weight)
        return configured

    # -- evaluation and samples (rank 0, generator in eval mode, EMA weights when enabled) ----------
    def evaluate(self, generator: nn.Module, device: torch.device) -> dict[str, float]:
        """Validation metrics; keys become ``eval/<key>`` in the logs."""
        return {}

    def write_samples(
        self, generator: nn.Module, device: torch.device, step: int, out_dir: Path, writer: Any | None
    ) -> None:
        """Writes audio / frame samples under ``out_dir`` and to TensorBoard ``writer`` (may be None)."""
        return None

    # -- export ---------------------------------------------------------------------------------------
    def export_metadata(self) -> dict[str, Any]:
        """Task-level metadata stored beside the exported generator (sample rate, frame geometry, ...)."""
        return {}
