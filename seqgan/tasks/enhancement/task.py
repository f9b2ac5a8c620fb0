"""Speech enhancement with a conditional GAN (SEGAN, Pascual et al. 2017) or a metric GAN (MetricGAN+, CMGAN).

The generator maps a pre-emphasised noisy window to a clean one; the discriminator judges the pair
``(clean or enhanced) ‖ noisy``. Per step (the trainer runs the turns):

* D turn: ``fake = G(noisy)`` without a graph; D loss from ``D(clean, noisy)`` and ``D(fake, noisy)``
  under the configured objective (LSGAN in the paper), plus a gradient penalty when configured or
  required by the objective (``wgan-gp``).
* G turn: ``fake = G(noisy)`` with ``z ~ N(0, I)`` drawn afresh inside G; adversarial G loss plus
  ``l1_weight · mean|fake − clean|`` (λ = 100), and optionally a multi-resolution STFT loss and D feature
  matching.
* R1 on real pairs as a regularisation turn when ``loss.r1_gamma > 0``.

The model family follows ``model.preset`` (:mod:`.networks`: SEGAN, MetricGAN+, CMGAN; any of their
generators with a HiFi-GAN-style waveform discriminator). With ``loss.objective: metric`` the
discriminator learns the normalised PESQ of ``(estimate, clean)`` pairs: its turn is
:class:`.metric_turns.MetricTurns` (scores from worker processes, one turn late), and the generator's
adversarial term asks ``D(G(x), clean)`` for the best score. The generator's reconstruction terms
(time L1, MR-STFT, log-mel, CMGAN's compressed spectra) are :class:`.reconstruction.Reconstruction`'s,
the adversarial term weighs ``loss.adversarial_weight``.

The configuration (:class:`EnhancementConfig`, the paper's defaults) is in ``config.py``; validation
(:mod:`.evaluation`) and audio samples (:mod:`.samples`) enhance whole utterances through
:class:`seqgan.enhance.Enhancer`, exactly as ``seqgan enhance`` does with the exported model.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqgan.adversarial import (
    MetricObjective,
    feature_matching_loss,
    get_objective,
    gradient_penalty,
    r1_penalty,
)
from seqgan.config import ConfigError
from seqgan.data.se_dataset import DeviceWindows, SEWindows
from seqgan.tasks import register_task
from seqgan.tasks.base import GANTask, Nets, RegTurn, TurnOutput
from seqgan.tasks.enhancement.config import EnhancementConfig
from seqgan.tasks.enhancement.evaluation import Validation
from seqgan.tasks.enhancement.metric_turns import MetricTurns
from seqgan.tasks.enhancement.networks import build_networks
from seqgan.tasks.enhancement.reconstruction import Reconstruction
from seqgan.tasks.enhancement.samples import write_audio_samples

log = logging.getLogger(__name__)


def _logits(out: Any) -> torch.Tensor:
    """A scalar summary source: the logits tensor, or the mean over a list of them."""
    if isinstance(out, (list, tuple)):
        return torch.stack([o.detach().float().mean() for o in out]).mean()
    return out.detach().float().mean()


@register_task("enhancement")
class EnhancementTask(GANTask):
    """SEGAN-style speech enhancement. Batches are dicts of ``noisy`` and ``clean``: ``(batch, 1, window)``."""

    config_class = EnhancementConfig

    def __init__(self, config: EnhancementConfig) -> None:
        super().__init__(config)  # checks the configuration
        self.config: EnhancementConfig = config
        loss = config.loss
        self.objective = get_objective(loss.objective, **loss.objective_options)
        self.gp_weight = self.gradient_penalty_weight(loss.gp_weight)
        d = config.data
        self.reconstruction = Reconstruction(
            d.sample_rate,
            l1_weight=loss.l1_weight,
            stft_weight=loss.stft_weight,
            stft_fft_sizes=loss.stft_fft_sizes,
            mel_weight=loss.mel_weight,
            ri_weight=loss.ri_weight,
            magnitude_weight=loss.magnitude_weight,
            spectral_stft=loss.spectral_stft,
            spectral_exponent=loss.spectral_exponent,
            normalize_scale=loss.normalize_scale,
        )
        # the objective chooses the discriminator's turn: a metric D learns scores of (estimate, clean)
        self.metric_turns: MetricTurns | None = None
        if isinstance(self.objective, MetricObjective):
            mc = loss.metric
            self.metric_turns = MetricTurns(
                self.objective,
                metric=mc.name,
                normalization=mc.normalization,
                sample_rate=d.sample_rate,
                preemphasis=d.preemphasis,
                noisy_term=mc.noisy_term,
                replay_size=mc.replay_size,
                replay_batch=mc.replay_batch,
                workers=mc.workers,
                seed=config.train.seed,
            )
        # D's second input: the noisy condition, or the clean reference of a metric discriminator
        self.d_reference = self.metric_turns.reference if self.metric_turns is not None else "noisy"
        self.validation = Validation(
            d.valid_dir, d.sample_rate, d.preemphasis, d.window, config.eval.max_utts, config.eval.metrics
        )

    # -- networks -----------------------------------------------------------------------------------------
    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        """The preset's family pair (or its generator with ``model.discriminator_preset``) with the configured
        overrides; SEGAN's discriminator sees ``data.window`` (:func:`.networks.build_networks`)."""
        m, window = self.config.model, self.config.data.window
        return build_networks(m.preset, m.generator, m.discriminator, m.discriminator_preset, window)

    # -- data -----------------------------------------------------------------------------------------------
    def train_dataset(self) -> SEWindows:
        d = self.config.data
        if not d.train_dir:
            raise ConfigError("data.train_dir is not set (a data directory with wav.scp and spk1.scp)")
        return SEWindows(
            d.train_dir,
            window=d.window,
            hop=d.hop or None,
            sample_rate=d.sample_rate,
            preemphasis=d.preemphasis,
            remix_snrs=d.remix_snrs or None,
            remix_prob=d.remix_prob,
            in_memory=d.in_memory,
        )

    def device_batches(
        self, dataset: Any, device: torch.device, max_bytes: int | None = None
    ) -> DeviceWindows | None:
        if not isinstance(dataset, SEWindows):
            return None
        if max_bytes is not None and dataset.nbytes > max_bytes:
            log.info(
                "the training corpus (%.2f GiB decoded) exceeds %.2f GiB of free device memory; using the loader",
                dataset.nbytes / 2**30,
                max_bytes / 2**30,
            )
            return None
        return dataset.on_device(device)

    # -- turns ----------------------------------------------------------------------------------------------
    def discriminator_turn(self, batch: dict[str, torch.Tensor], nets: Nets) -> TurnOutput:
        noisy, clean = batch["noisy"], batch["clean"]
        if self.metric_turns is not None:
            return self.metric_turns.discriminator_turn(noisy, clean, nets)
        with torch.no_grad():  # the fake is a constant for D: no generator graph at all
            fake = nets.generator(noisy)
        d_real = nets.discriminator(clean, noisy)
        d_fake = nets.discriminator(fake, noisy)
        loss = self.objective.discriminator_loss(d_real, d_fake)
        stats: dict[str, Any] = {
            "d_loss": loss.detach(),
            "d_real": _logits(d_real),
            "d_fake": _logits(d_fake),
        }
        if self.gp_weight > 0:
            gp = gradient_penalty(nets.discriminator, clean, fake, cond=noisy, weight=self.gp_weight)
            loss = loss + gp
            stats["d_gp"] = gp.detach()
        return TurnOutput(loss, stats)

    def generator_turn(self, batch: dict[str, torch.Tensor], nets: Nets) -> TurnOutput:
        noisy, clean = batch["noisy"], batch["clean"]
        cfg = self.config.loss
        fake = nets.generator(noisy)
        ref = batch[self.d_reference]
        stats: dict[str, Any] = {}
        if cfg.feature_matching_weight > 0:
            with torch.no_grad():
                _, real_features = nets.discriminator(clean, ref, return_features=True)
            d_fake, fake_features = nets.discriminator(fake, ref, return_features=True)
            fm = feature_matching_loss(real_features, fake_features)
            g_adv = self.objective.generator_loss(d_fake)
        elif cfg.adversarial_weight > 0:
            g_adv, fm = self.objective.generator_loss(nets.discriminator(fake, ref)), None
        else:  # the no-adversarial ablation: D is not consulted at all
            g_adv, fm = torch.zeros((), device=fake.device), None
        recon, recon_stats = self.reconstruction(fake, clean, noisy)
        loss = cfg.adversarial_weight * g_adv + recon
        stats.update(g_adv=g_adv.detach(), **recon_stats)
        if fm is not None:
            loss = loss + cfg.feature_matching_weight * fm
            stats["g_fm"] = fm.detach()
        stats["g_loss"] = loss.detach()
        return TurnOutput(loss, stats)

    def regularizers(self) -> list[RegTurn]:
        if self.config.loss.r1_gamma > 0:
            return [RegTurn("r1", "discriminator", self.config.loss.r1_interval)]
        return []

    def regularizer_turn(self, name: str, batch: dict[str, torch.Tensor], nets: Nets) -> TurnOutput:
        if name != "r1":
            return super().regularizer_turn(name, batch, nets)
        r1 = r1_penalty(
            nets.discriminator, batch["clean"], cond=batch["noisy"], gamma=self.config.loss.r1_gamma
        )
        return TurnOutput(r1, {"d_r1": r1.detach()})

    # -- validation and samples -------------------------------------------------------------------------------
    def evaluate(self, generator: nn.Module, device: torch.device) -> dict[str, float]:
        """Mean scores on up to ``eval.max_utts`` validation utterances, enhanced as ``seqgan enhance`` does.

        Returns:
            For each metric ``m`` of ``eval.metrics``: ``m`` (enhanced), ``m_noisy`` (the input) and
            ``m_improvement`` (enhanced − noisy, sign flipped for distances such as LLR and WSS, so that
            a positive value always means better). Empty without ``data.valid_dir``.
        """
        return self.validation.evaluate(generator, device)

    def write_samples(
        self, generator: nn.Module, device: torch.device, step: int, out_dir: Path, writer: Any | None
    ) -> None:
        """Writes ``<utt>_{noisy,enhanced,clean}.wav`` of ``eval.num_samples`` validation utterances under
        ``out_dir/step_<step>/`` (16-bit PCM) and to TensorBoard as ``samples/<utt>/<kind>``."""
        utts = self.validation.utterances()[: self.config.eval.num_samples]
        if not utts:
            return
        enhancer = self.validation.enhancer(generator, device)
        write_audio_samples(
            [
                (utt, noisy, enhancer.enhance(noisy, enhancer.sample_rate), clean)
                for utt, noisy, clean in utts
            ],
            self.config.data.sample_rate,
            Path(out_dir) / f"step_{step}",
            step,
            writer,
        )

    # -- export -----------------------------------------------------------------------------------------------
    def export_metadata(self) -> dict[str, Any]:
        d = self.config.data
        return {"sample_rate": d.sample_rate, "preemphasis": d.preemphasis, "window": d.window}
