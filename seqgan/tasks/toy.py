"""A toy task: learn a 1-D Gaussian mixture with tiny MLPs.

It exercises the whole trainer (objectives, penalties, n_critic, EMA, checkpoints, DDP) in seconds and
shows whether an objective trains stably: the generated samples' moments should approach the target's.
The latent vector of every example comes from its sampler seed, so a run is reproducible example by
example (and several processes see exactly what one process with the combined batch sees).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from seqgan.adversarial import get_objective, gradient_penalty, r1_penalty
from seqgan.config import ExperimentConfig, at_least, collect, resolves
from seqgan.models.base import register_model
from seqgan.tasks import register_task
from seqgan.tasks.base import GANTask, Nets, RegTurn, TurnOutput


@dataclass
class ToyDataConfig:
    """The target mixture (one component per entry of ``means`` / ``stds`` / ``weights``)."""

    means: list[float] = field(default_factory=lambda: [-2.0, 2.0])
    stds: list[float] = field(default_factory=lambda: [0.5, 0.5])
    weights: list[float] = field(default_factory=lambda: [0.5, 0.5])
    num_examples: int = 8192
    latent_dim: int = 4

    def check(self) -> list[str]:
        found = [at_least(self, "num_examples", 1), at_least(self, "latent_dim", 1)]
        if not self.means or not len(self.means) == len(self.stds) == len(self.weights):
            found.append(
                f"means, stds and weights must be non-empty lists of one length, got {len(self.means)}, "
                f"{len(self.stds)} and {len(self.weights)} values"
            )
        if any(s <= 0 for s in self.stds):
            found.append(f"stds must be > 0, got {self.stds}")
        if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            found.append(f"weights must be >= 0 with a positive sum, got {self.weights}")
        return collect(*found)


@dataclass
class ToyLossConfig:
    objective: str = "nsgan"
    gp_weight: float = 0.0
    r1_gamma: float = 0.0
    r1_interval: int = 4

    def check(self) -> list[str]:
        return collect(
            resolves("objective", lambda: get_objective(self.objective)),
            at_least(self, "gp_weight", 0),
            at_least(self, "r1_gamma", 0),
            at_least(self, "r1_interval", 1),
        )


@dataclass
class ToyConfig(ExperimentConfig):
    task: str = "toy"
    data: ToyDataConfig = field(default_factory=ToyDataConfig)
    loss: ToyLossConfig = field(default_factory=ToyLossConfig)
    hidden: int = 32

    def check(self) -> list[str]:
        return collect(at_least(self, "hidden", 1))


@register_model("ToyGenerator")
class ToyGenerator(nn.Module):
    """``z: (batch, latent_dim) -> x: (batch, 1)``."""

    def __init__(self, latent_dim: int = 4, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


@register_model("ToyDiscriminator")
class ToyDiscriminator(nn.Module):
    """``x: (batch, 1) -> logits: (batch, 1)``; ``cond`` is accepted and unused (unconditional)."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(1, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x)


class MixtureDataset(torch.utils.data.Dataset):
    """Samples of the target mixture and one latent vector per example (drawn from the example seed)."""

    def __init__(self, cfg: ToyDataConfig, seed: int) -> None:
        rng = np.random.default_rng(seed)
        weights = np.asarray(cfg.weights, dtype=np.float64)
        comp = rng.choice(len(weights), size=cfg.num_examples, p=weights / weights.sum())
        x = rng.normal(np.asarray(cfg.means)[comp], np.asarray(cfg.stds)[comp])
        self.real = torch.from_numpy(x.astype(np.float32)).unsqueeze(1)
        self.latent_dim = cfg.latent_dim

    def __len__(self) -> int:
        return len(self.real)

    def __getitem__(self, key: tuple[int, int] | int) -> dict[str, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, 0)
        z = torch.randn(self.latent_dim, generator=torch.Generator().manual_seed(seed))
        return {"real": self.real[index], "z": z}


def mixture_moments(cfg: ToyDataConfig) -> tuple[float, float]:
    """Exact mean and standard deviation of the target mixture."""
    w = np.asarray(cfg.weights, dtype=np.float64)
    w = w / w.sum()
    m = np.asarray(cfg.means)
    s = np.asarray(cfg.stds)
    mean = float((w * m).sum())
    var = float((w * (s**2 + m**2)).sum() - mean**2)
    return mean, var**0.5


@register_task("toy")
class ToyTask(GANTask):
    """A 1-D Gaussian mixture learned by tiny MLPs (batches: ``real (B, 1)``, ``z (B, latent_dim)``)."""

    config_class = ToyConfig

    def __init__(self, config: ToyConfig) -> None:
        super().__init__(config)
        self.objective = get_objective(config.loss.objective)

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        hidden = self.config.hidden
        return ToyGenerator(self.config.data.latent_dim, hidden), ToyDiscriminator(hidden)

    def train_dataset(self) -> MixtureDataset:
        return MixtureDataset(self.config.data, self.config.train.seed)

    def discriminator_turn(self, batch: dict[str, torch.Tensor], nets: Nets) -> TurnOutput:
        real = batch["real"]
        fake = nets.generator(batch["z"]).detach()
        d_real, d_fake = nets.discriminator(real), nets.discriminator(fake)
        loss = self.objective.discriminator_loss(d_real, d_fake)
        stats: dict[str, Any] = {
            "d_loss": loss.detach(),
            "d_real": d_real.detach().mean(),
            "d_fake": d_fake.detach().mean(),
        }
        gp_weight = self.gradient_penalty_weight(self.config.loss.gp_weight)
        if gp_weight > 0:
            gp = gradient_penalty(nets.discriminator, real, fake, weight=gp_weight)
            loss = loss + gp
            stats["gp"] = gp.detach()
        return TurnOutput(loss, stats)

    def generator_turn(self, batch: dict[str, torch.Tensor], nets: Nets) -> TurnOutput:
        fake = nets.generator(batch["z"])
        loss = self.objective.generator_loss(nets.discriminator(fake))
        return TurnOutput(
            loss,
            {"g_loss": loss.detach(), "fake_mean": fake.detach().mean(), "fake_std": fake.detach().std()},
        )

    def regularizers(self) -> list[RegTurn]:
        if self.config.loss.r1_gamma > 0:
            return [RegTurn("r1", "discriminator", self.config.loss.r1_interval)]
        return []

    def regularizer_turn(self, name: str, batch: dict[str, torch.Tensor], nets: Nets) -> TurnOutput:
        r1 = r1_penalty(nets.discriminator, batch["real"], gamma=self.config.loss.r1_gamma)
        return TurnOutput(r1, {"r1": r1.detach()})

    @torch.no_grad()
    def sample(self, generator: nn.Module, n: int, device: torch.device, seed: int = 1234) -> torch.Tensor:
        """``n`` generated values, shape (n,)."""
        z = torch.randn(n, self.config.data.latent_dim, generator=torch.Generator().manual_seed(seed))
        return generator(z.to(device)).squeeze(1).float().cpu()

    def evaluate(self, generator: nn.Module, device: torch.device) -> dict[str, float]:
        x = self.sample(generator, 4096, device)
        mean, std = mixture_moments(self.config.data)
        return {"mean": float(x.mean()), "std": float(x.std()), "target_mean": mean, "target_std": std}
