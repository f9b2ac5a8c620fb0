"""Speech enhancement with a conditional GAN (SEGAN, Pascual et al. 2017).

The generator maps a pre-emphasised noisy window to a clean one; the discriminator judges the pair
``(clean or enhanced) ‖ noisy``. Per step (the trainer runs the turns):

* D turn: ``fake = G(noisy)`` without a graph; D loss from ``D(clean, noisy)`` and ``D(fake, noisy)``
  under the configured objective (LSGAN in the paper), plus a gradient penalty when configured or
  required by the objective (``wgan-gp``).
* G turn: ``fake = G(noisy)`` with ``z ~ N(0, I)`` drawn afresh inside G; adversarial G loss plus
  ``l1_weight · mean|fake − clean|`` (λ = 100), and optionally a multi-resolution STFT loss and D feature
  matching.
* R1 on real pairs as a regularisation turn when ``loss.r1_gamma > 0``.

The defaults of :class:`EnhancementConfig` are the paper's: the ``segan`` preset, 16384-sample windows
with 50 % overlap at 16 kHz, pre-emphasis 0.95, LSGAN + 100·L1, RMSprop with lr 2e-4 for both networks
and 100 windows per process (400 on 4 GPUs, as published).

Validation enhances whole utterances (padded to the generator's ``length_multiple``, then
de-emphasised) and reports mean scores of the enhanced and the noisy signals and their difference.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqgan.adversarial import feature_matching_loss, get_objective, gradient_penalty, r1_penalty
from seqgan.config import ConfigError, ExperimentConfig, OptimizerConfig, TrainConfig
from seqgan.data.audio import deemphasis, preemphasis, write_audio
from seqgan.data.se_dataset import DeviceWindows, SEUtterances, SEWindows
from seqgan.losses import multi_resolution_stft_loss
from seqgan.tasks import TASKS
from seqgan.tasks.base import GANTask, Nets, RegTurn, TurnOutput

log = logging.getLogger(__name__)


# -- configuration ----------------------------------------------------------------------------------------
@dataclass
class SEModelConfig:
    """Which SEGAN to build: a preset of ``seqgan.models.segan.PRESETS`` and constructor overrides."""

    preset: str = "segan"  # segan | segan_plus | segan_small
    generator: dict[str, Any] = field(default_factory=dict)
    discriminator: dict[str, Any] = field(default_factory=dict)  # input_length defaults to data.window


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


@dataclass
class SEEvalConfig:
    """Validation on whole utterances of ``data.valid_dir``."""

    max_utts: int = 20  # evenly spaced over the sorted ids; 0: all
    metrics: list[str] = field(default_factory=lambda: ["si_sdr", "ssnr"])  # names of seqgan.metrics.audio
    num_samples: int = 3  # utterances written by write_samples


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


def _unwrap(module: nn.Module) -> nn.Module:
    """The model inside DDP / torch.compile wrappers."""
    while True:
        if hasattr(module, "_orig_mod"):
            module = module._orig_mod
        elif isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        else:
            return module


def _logits(out: Any) -> torch.Tensor:
    """A scalar summary source: the logits tensor, or the mean over a list of them."""
    if isinstance(out, (list, tuple)):
        return torch.stack([o.detach().float().mean() for o in out]).mean()
    return out.detach().float().mean()


# -- the task ---------------------------------------------------------------------------------------------
@TASKS.register("enhancement")
class EnhancementTask(GANTask):
    """SEGAN-style speech enhancement. Batches are dicts of ``noisy`` and ``clean``: ``(batch, 1, window)``."""

    config_class = EnhancementConfig

    def __init__(self, config: EnhancementConfig) -> None:
        super().__init__(config)
        self._check_config(config)
        loss = config.loss
        try:
            self.objective = get_objective(loss.objective, **loss.objective_options)
        except ValueError as e:  # includes an unknown name (the message lists the choices)
            raise ConfigError(f"loss.objective: {e}") from None
        self.gp_weight = self.gradient_penalty_weight(loss.gp_weight)
        self._pending: dict[str, nn.Module] = {}
        self._valid: list[tuple[str, torch.Tensor, torch.Tensor]] | None = None
        self._noisy_scores: dict[str, float] | None = None

    @staticmethod
    def _check_config(config: EnhancementConfig) -> None:
        from seqgan.metrics.audio import resolve_metrics

        d, loss = config.data, config.loss
        if d.window <= 0:
            raise ConfigError(f"data.window must be positive, got {d.window}")
        if d.hop < 0:
            raise ConfigError(f"data.hop must be >= 0 (0: window // 2), got {d.hop}")
        if d.sample_rate <= 0:
            raise ConfigError(f"data.sample_rate must be positive, got {d.sample_rate}")
        if not 0.0 <= d.preemphasis < 1.0:
            raise ConfigError(f"data.preemphasis must be in [0, 1), got {d.preemphasis}")
        if not 0.0 <= d.remix_prob <= 1.0:
            raise ConfigError(f"data.remix_prob must be in [0, 1], got {d.remix_prob}")
        if isinstance(d.in_memory, str) and d.in_memory != "auto":
            raise ConfigError(f"data.in_memory must be true, false or auto, got {d.in_memory!r}")
        for key in ("l1_weight", "stft_weight", "gp_weight", "r1_gamma", "feature_matching_weight"):
            if getattr(loss, key) < 0:
                raise ConfigError(f"loss.{key} must be >= 0, got {getattr(loss, key)}")
        if loss.r1_interval < 1:
            raise ConfigError(f"loss.r1_interval must be >= 1, got {loss.r1_interval}")
        if loss.stft_weight > 0 and not loss.stft_fft_sizes:
            raise ConfigError("loss.stft_fft_sizes is empty but loss.stft_weight > 0")
        try:
            resolve_metrics(config.eval.metrics)
        except ValueError as e:
            raise ConfigError(f"eval.metrics: {e}") from None

    # -- networks -----------------------------------------------------------------------------------------
    def _build_pair(self) -> None:
        from seqgan.models.segan import PRESETS, build_segan

        m, window = self.config.model, self.config.data.window
        d_overrides = dict(m.discriminator)
        d_overrides.setdefault("input_length", window)  # fixed-length D heads see one training window
        preset = PRESETS.get(m.preset, {})
        if preset.get("window") and preset["window"] != window:
            log.info(
                "model preset '%s' was designed for %d-sample windows; training on %d",
                m.preset,
                preset["window"],
                window,
            )
        # both networks downsample by stride ** layers: say so in terms of data.window before building
        for name, overrides in (("generator", m.generator), ("discriminator", d_overrides)):
            spec = {**preset.get(name, {}), **overrides}
            try:
                multiple = int(spec.get("stride", 2)) ** len(spec["channels"])
            except (KeyError, TypeError, ValueError):
                continue  # build_segan reports a malformed spec
            if window % multiple:
                raise ConfigError(
                    f"data.window={window} is not a multiple of the {name}'s length_multiple ({multiple} = "
                    f"stride ** layers); use e.g. data.window={max(multiple, window // multiple * multiple)}"
                )
        try:
            generator, discriminator = build_segan(m.preset, m.generator, d_overrides)
        except ValueError as e:
            raise ConfigError(f"model: {e}") from None
        self._pending = {"generator": generator, "discriminator": discriminator}

    def _take(self, name: str) -> nn.Module:
        if name not in self._pending:
            self._build_pair()  # builds both; the other waits for its build_* call
        return self._pending.pop(name)

    def build_generator(self) -> nn.Module:
        return self._take("generator")

    def build_discriminator(self) -> nn.Module:
        return self._take("discriminator")

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
        stats: dict[str, Any] = {}
        if cfg.feature_matching_weight > 0:
            with torch.no_grad():
                _, real_features = nets.discriminator(clean, noisy, return_features=True)
            d_fake, fake_features = nets.discriminator(fake, noisy, return_features=True)
            fm = feature_matching_loss(real_features, fake_features)
        else:
            d_fake = nets.discriminator(fake, noisy)
            fm = None
        g_adv = self.objective.generator_loss(d_fake)
        g_l1 = F.l1_loss(fake.float(), clean.float())
        loss = g_adv + cfg.l1_weight * g_l1
        stats.update(g_adv=g_adv.detach(), g_l1=g_l1.detach())
        if cfg.stft_weight > 0:
            sizes = cfg.stft_fft_sizes
            sc, mag = multi_resolution_stft_loss(fake, clean, [(n, n // 4, n) for n in sizes])
            loss = loss + cfg.stft_weight * (sc + mag)
            stats.update(g_stft_sc=sc.detach(), g_stft_mag=mag.detach())
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

    # -- validation -----------------------------------------------------------------------------------------
    def _validation(self) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """The validation utterances (loaded once): ``(utt_id, noisy (1, T), clean (1, T))``."""
        if self._valid is None:
            d = self.config.data
            if not d.valid_dir:
                log.info("data.valid_dir is not set: no validation metrics or samples")
                self._valid = []
            else:
                self._valid = list(
                    SEUtterances(d.valid_dir, d.sample_rate, self.config.eval.max_utts or None)
                )
        return self._valid

    @torch.no_grad()
    def enhance(self, generator: nn.Module, noisy: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Enhances one whole utterance.

        Pre-emphasis, zero padding to the generator's ``length_multiple``, one forward pass, cropping and
        de-emphasis.

        Args:
            generator: the generator (eval mode for the deterministic ``z = 0``).
            noisy: ``(1, samples)`` waveform without pre-emphasis.

        Returns:
            ``(1, samples)`` float32 enhanced waveform on the CPU.
        """
        coef = self.config.data.preemphasis
        n = noisy.shape[-1]
        multiple = int(getattr(_unwrap(generator), "length_multiple", 1))
        padded = math.ceil(n / multiple) * multiple
        x = preemphasis(noisy.float(), coef)
        x = F.pad(x, (0, padded - n)).unsqueeze(0).to(device)
        y = generator(x)[0, :, :n].float().cpu()
        return deemphasis(y, coef)

    def evaluate(self, generator: nn.Module, device: torch.device) -> dict[str, float]:
        """Mean scores on up to ``eval.max_utts`` validation utterances.

        Returns:
            For each metric ``m`` of ``eval.metrics``: ``m`` (enhanced), ``m_noisy`` (the input) and
            ``m_improvement`` (enhanced − noisy, sign flipped for distances such as LLR and WSS, so that
            a positive value always means better).
        """
        from seqgan.metrics.audio import HIGHER_IS_BETTER, compute_metrics, resolve_metrics

        utts = self._validation()
        if not utts:
            return {}
        names = resolve_metrics(self.config.eval.metrics)
        rate = self.config.data.sample_rate
        fresh_noisy = self._noisy_scores is None
        sums = {"enhanced": dict.fromkeys(names, 0.0), "noisy": dict.fromkeys(names, 0.0)}
        counts = {"enhanced": dict.fromkeys(names, 0), "noisy": dict.fromkeys(names, 0)}
        failures: dict[str, str] = {}
        for utt, noisy, clean in utts:
            ref = clean[0].numpy()
            pairs = [("enhanced", self.enhance(generator, noisy, device)[0].numpy())]
            if fresh_noisy:
                pairs.append(("noisy", noisy[0].numpy()))
            for kind, est in pairs:
                scores, errors = compute_metrics(ref, est, rate, names)
                for m, v in scores.items():
                    sums[kind][m] += v
                    counts[kind][m] += 1
                for m, why in errors.items():
                    failures.setdefault(f"{m} ({kind}, {utt})", why)
        if failures:
            shown = "; ".join(f"{k}: {v}" for k, v in list(failures.items())[:3])
            log.warning("validation: %d score(s) could not be computed (%s)", len(failures), shown)
        if fresh_noisy:
            self._noisy_scores = {
                m: sums["noisy"][m] / counts["noisy"][m] for m in names if counts["noisy"][m]
            }
        out: dict[str, float] = {}
        for m in names:
            if not counts["enhanced"][m]:
                continue
            value = sums["enhanced"][m] / counts["enhanced"][m]
            out[m] = value
            if m in self._noisy_scores:
                base = self._noisy_scores[m]
                out[f"{m}_noisy"] = base
                out[f"{m}_improvement"] = (value - base) if HIGHER_IS_BETTER.get(m, True) else (base - value)
        return out

    def write_samples(
        self, generator: nn.Module, device: torch.device, step: int, out_dir: Path, writer: Any | None
    ) -> None:
        """Writes ``<utt>_{noisy,enhanced,clean}.wav`` of ``eval.num_samples`` validation utterances under
        ``out_dir/step_<step>/`` (16-bit PCM) and to TensorBoard as ``samples/<utt>/<kind>``."""
        utts = self._validation()[: self.config.eval.num_samples]
        if not utts:
            return
        rate = self.config.data.sample_rate
        folder = Path(out_dir) / f"step_{step}"
        folder.mkdir(parents=True, exist_ok=True)
        for utt, noisy, clean in utts:
            enhanced = self.enhance(generator, noisy, device)
            for kind, wave in (("noisy", noisy), ("enhanced", enhanced), ("clean", clean)):
                wave = wave.float().clamp(-1.0, 1.0)
                write_audio(folder / f"{utt}_{kind}.wav", wave, rate, subtype="PCM_16")
                if writer is not None:
                    writer.add_audio(f"samples/{utt}/{kind}", wave, step, sample_rate=rate)

    # -- export -----------------------------------------------------------------------------------------------
    def export_metadata(self) -> dict[str, Any]:
        d = self.config.data
        return {"sample_rate": d.sample_rate, "preemphasis": d.preemphasis, "window": d.window}
