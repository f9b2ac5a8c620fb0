"""The generic GAN trainer: one loop for every task, never inspecting model types.

A step is ``n_critic`` discriminator turns (a fresh batch each; 0: none), one generator turn on the last
batch (skipped during ``d_warmup_steps``) and the regularisation turns whose interval divides the step. Each
network is wrapped for DistributedDataParallel separately and only in its own turn, so the other
network's forward pass needs no gradient synchronisation.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from seqgan.adversarial import clip_weights_
from seqgan.config import ConfigError, ExperimentConfig, check_train_config, dump_config, to_dict
from seqgan.tasks.base import GANTask, Nets, TurnOutput
from seqgan.train import checkpoint as ckpt
from seqgan.train.distributed import DistInfo, any_flag, cleanup, init_distributed
from seqgan.train.optim import build_optimizer, lr_factor, set_lr
from seqgan.train.reporter import Reporter, StatsAccumulator
from seqgan.train.sampler import InfiniteBatchSampler

log = logging.getLogger(__name__)


def resolve_device(name: str, dist_info: DistInfo | None = None) -> torch.device:
    """``auto`` picks CUDA when available; under torchrun each process takes its local GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and dist_info is not None and dist_info.enabled:
        name = f"cuda:{dist_info.local_rank}"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device '{name}' was asked for but CUDA is not available; use --device cpu")
    return torch.device(name)


def to_device(batch: Any, device: torch.device) -> Any:
    """Moves every tensor of a nested batch to ``device`` (non-blocking from pinned memory)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _auto(value: bool | str, default: bool) -> bool:
    return default if value == "auto" else bool(value)


def seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _StopRequest:
    """Turns SIGINT / SIGTERM into a request to stop at the end of the step (a second SIGINT aborts)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        log.warning(
            "received %s: saving a checkpoint and stopping after this step", signal.Signals(signum).name
        )

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Trainer:
    """Trains ``task`` as ``config.train`` says, in experiment directory ``exp_dir``.

    Args:
        task: the task (owns the forward passes and losses).
        exp_dir: where config, checkpoints, logs and samples go. A ``checkpoints/last.pt`` there is
            resumed automatically (everything: weights, optimisers, step, random states).
        init_from: a checkpoint or exported model to take *weights only* from when starting fresh.
    """

    def __init__(self, task: GANTask, exp_dir: str | Path, init_from: str | Path | None = None) -> None:
        self.task = task
        self.config: ExperimentConfig = task.config
        self.tc = self.config.train
        self.exp_dir = Path(exp_dir)
        self.init_from = init_from
        check_train_config(self.tc)
        self.dist = init_distributed(
            "cuda"
            if self.tc.device.startswith("cuda") or (self.tc.device == "auto" and torch.cuda.is_available())
            else "cpu"
        )
        self.device = resolve_device(self.tc.device, self.dist)
        self.step = 0
        self.batches_seen = 0
        self.skipped = {"discriminator": 0, "generator": 0}
        # turns skipped on the device and not yet counted on the host (the sync-free guard)
        self._skipped_pending: dict[str, torch.Tensor] = {}
        self._stop_at: int | None = None

    # -- construction ---------------------------------------------------------------------------------
    def _build(self) -> None:
        tc = self.tc
        seed_everything(tc.seed)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = tc.cudnn_benchmark
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.generator = self.task.build_generator().to(self.device)
        self.discriminator = self.task.build_discriminator().to(self.device)
        self.ema: nn.Module | None = None
        if tc.ema_decay > 0:
            self.ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        fused = _auto(tc.fused_optimizer, self.device.type == "cuda")
        self.opt_g = build_optimizer(self.generator.parameters(), tc.optim_g, fused=fused)
        self.opt_d = build_optimizer(self.discriminator.parameters(), tc.optim_d, fused=fused)
        # each network runs wrapped for DDP in its own turn and plain (no gradient sync) in the other's;
        # torch.compile goes outside DDP, so that compiled graphs break at DDP's gradient buckets
        self.wrapped_g, self.wrapped_d = self.generator, self.discriminator
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped_g = DDP(self.generator, device_ids=ids)
            self.wrapped_d = DDP(self.discriminator, device_ids=ids)
        self.plain_g, self.plain_d = self.generator, self.discriminator
        if tc.compile:
            compiled = {}
            for name in ("wrapped_g", "wrapped_d", "plain_g", "plain_d"):
                module = getattr(self, name)
                if id(module) not in compiled:
                    compiled[id(module)] = torch.compile(module, mode=tc.compile_mode)
                setattr(self, name, compiled[id(module)])
        dataset = self.task.train_dataset()
        self.dataset = dataset
        self.dataset_size = len(dataset)

    def _sampler(self) -> InfiniteBatchSampler:
        tc = self.tc
        return InfiniteBatchSampler(
            self.dataset_size,
            tc.batch_size,
            seed=tc.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            start_batch=self.batches_seen,
        )

    def _device_batches(self) -> Iterator[Any] | None:
        """Batches gathered from the corpus held on the device (``train.data_on_device``), or None."""
        wanted = self.tc.data_on_device
        if wanted is False or (wanted == "auto" and self.device.type != "cuda"):
            return None
        max_bytes = None
        if wanted == "auto":  # leave most of the device to the networks and activations
            free, _ = torch.cuda.mem_get_info(self.device)
            max_bytes = free // 4
        batches = self.task.device_batches(self.dataset, self.device, max_bytes)
        if batches is None:
            if wanted is True:
                raise ConfigError(
                    f"train.data_on_device=true: the {self.config.task} task cannot hold its training set "
                    "on the device; set it to auto or false"
                )
            return None
        log.info("training data held on %s", self.device)
        return (batches(keys) for keys in self._sampler())

    def _batches(self) -> Iterator[Any]:
        """The training batches on the device: gathered there, or loaded and copied."""
        on_device = self._device_batches()
        self.data_on_device = on_device is not None
        if on_device is not None:
            return on_device
        return (to_device(batch, self.device) for batch in self._loader())

    def _loader(self) -> DataLoader:
        tc = self.tc
        sampler = self._sampler()
        kwargs: dict[str, Any] = {}
        if tc.num_workers > 0:
            kwargs.update(persistent_workers=False, prefetch_factor=4)
        return DataLoader(
            self.dataset,
            batch_sampler=sampler,
            num_workers=tc.num_workers,
            collate_fn=self.task.collate_fn(),
            pin_memory=self.device.type == "cuda",
            # the loader's own generator keeps worker seeding off the global RNG stream
            generator=torch.Generator().manual_seed(tc.seed),
            **kwargs,
        )

    # -- checkpoints ----------------------------------------------------------------------------------
    @property
    def last_checkpoint(self) -> Path:
        return self.exp_dir / "checkpoints" / "last.pt"

    def state_dict(self) -> dict[str, Any]:
        models = {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict()}
        if self.ema is not None:
            models["generator_ema"] = self.ema.state_dict()
        return {
            "format_version": ckpt.FORMAT_VERSION,
            "step": self.step,
            "task": self.config.task,
            "config": to_dict(self.config),
            "models": models,
            "optimizers": {"generator": self.opt_g.state_dict(), "discriminator": self.opt_d.state_dict()},
            "rng": ckpt.rng_state(),
            "trainer": {"batches_seen": self.batches_seen, "skipped": dict(self.skipped)},
            "export": {
                "architecture": type(self.generator).__name__,
                "hparams": getattr(self.generator, "hparams", {}),
                "metadata": self.task.export_metadata(),
            },
        }

    def save(self, path: Path | None = None) -> None:
        self._count_skipped()
        if not self.dist.is_main:
            return
        path = path or self.last_checkpoint
        ckpt.save_checkpoint(self.state_dict(), path)
        log.info("saved %s (step %d)", path, self.step)

    def _resume(self, path: Path) -> None:
        state = ckpt.read_checkpoint(path, map_location=self.device)
        ckpt.load_weights(self.generator, state["models"]["generator"], str(path))
        ckpt.load_weights(self.discriminator, state["models"]["discriminator"], str(path))
        if self.ema is not None:
            ckpt.load_weights(
                self.ema, state["models"].get("generator_ema", state["models"]["generator"]), str(path)
            )
        self.opt_g.load_state_dict(state["optimizers"]["generator"])
        self.opt_d.load_state_dict(state["optimizers"]["discriminator"])
        self.step = int(state["step"])
        self.batches_seen = int(state["trainer"]["batches_seen"])
        self.skipped.update(state["trainer"].get("skipped", {}))
        ckpt.set_rng_state(state["rng"])
        log.info("resumed from %s at step %d", path, self.step)

    def _init_weights(self, source: Path) -> None:
        """Weights only (no optimiser, step or random state): a fine-tuning start."""
        if source.suffix == ".safetensors":
            from safetensors.torch import load_file

            ckpt.load_weights(self.generator, load_file(str(source), device=str(self.device)), str(source))
            log.info("initialised the generator from %s", source)
        else:
            state = ckpt.read_checkpoint(source, map_location=self.device)
            models = state["models"]
            ckpt.load_weights(self.generator, models.get("generator_ema", models["generator"]), str(source))
            ckpt.load_weights(self.discriminator, models["discriminator"], str(source))
            log.info("initialised generator and discriminator weights from %s", source)
        if self.ema is not None:
            self.ema.load_state_dict(self.generator.state_dict())

    # -- one turn ---------------------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager:
        if _auto(self.tc.amp, self.device.type == "cuda"):
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _turn(
        self, network: str, run: Any, batch: Any, scale: float = 1.0
    ) -> tuple[TurnOutput, torch.Tensor | None] | None:
        """Runs one turn updating ``network``.

        Returns ``(output, ok)``, or None when the turn was skipped as non-finite. With a fused optimiser
        the check stays on the device: ``ok`` is then a boolean tensor (whether the update was taken);
        otherwise it is None.
        """
        tc = self.tc
        train_d = network == "discriminator"
        self.generator.requires_grad_(not train_d)
        self.discriminator.requires_grad_(train_d)
        # each network is DDP-wrapped only in its own turn; the other runs unwrapped, without gradients
        nets = Nets(
            generator=self.plain_g if train_d else self.wrapped_g,
            discriminator=self.wrapped_d if train_d else self.plain_d,
        )
        module, opt = (self.discriminator, self.opt_d) if train_d else (self.generator, self.opt_g)
        clip = tc.grad_clip_d if train_d else tc.grad_clip_g
        with self._autocast():
            out: TurnOutput = run(batch, nets)
        loss = out.loss * scale if scale != 1.0 else out.loss
        loss.backward()
        ok: torch.Tensor | None = None  # the device's verdict, when the optimiser itself acts on it
        skip = False  # the host's verdict otherwise
        if tc.skip_nonfinite or clip > 0:
            params = [p for p in module.parameters() if p.grad is not None]
            if clip > 0:
                norm = torch.nn.utils.clip_grad_norm_(params, clip)
            else:
                norm = torch.nn.utils.get_total_norm([p.grad for p in params])
            if tc.skip_nonfinite:
                bad = any_flag(~(torch.isfinite(norm) & torch.isfinite(out.loss.detach())), self.dist)
                if getattr(opt, "_step_supports_amp_scaling", False):
                    # fused kernels skip the update themselves when found_inf is 1: no host sync
                    ok = ~bad
                    opt.found_inf, opt.grad_scale = bad.float(), None
                else:
                    skip = bool(bad)  # one host sync per turn
        if skip:
            self.skipped[network] += 1
            self._warn_skipped(network, 1)
        else:
            opt.step()
            if ok is not None:
                del opt.found_inf, opt.grad_scale
                pending = self._skipped_pending.get(network)
                skipped = (~ok).long()
                self._skipped_pending[network] = skipped if pending is None else pending + skipped
            clip_value = self.task.discriminator_weight_clip() if train_d else 0.0
            if clip_value > 0:
                with torch.no_grad():
                    clip_weights_(self.discriminator, clip_value)
        # zero both optimisers after every turn
        self.opt_g.zero_grad(set_to_none=True)
        self.opt_d.zero_grad(set_to_none=True)
        return None if skip else (out, ok)

    def _warn_skipped(self, network: str, new: int) -> None:
        n = self.skipped[network]
        if n.bit_length() != (n - new).bit_length():  # at 1, 2, 4, 8, ...: say it without flooding the log
            log.warning(
                "step %d: skipped %s turn(s) with a non-finite loss or gradient (%d so far)",
                self.step,
                network,
                n,
            )

    def _count_skipped(self) -> None:
        """Folds the turns the device skipped into the host counters (a host sync: log and save only)."""
        for network, pending in self._skipped_pending.items():
            new = int(pending)
            if new:
                self.skipped[network] += new
                self._warn_skipped(network, new)
        self._skipped_pending.clear()

    @torch.no_grad()
    def _update_ema(self, ok: torch.Tensor | None = None) -> None:
        """Moves the EMA towards the generator; ``ok`` (a device flag) holds it still after a skipped turn."""
        if self.ema is None:
            return
        decay = self.tc.ema_decay if self.step >= self.tc.ema_start_step else 0.0
        ema, params = list(self.ema.parameters()), [p.detach() for p in self.generator.parameters()]
        if ok is None:
            torch._foreach_lerp_(ema, params, 1.0 - decay)
        else:
            weight = ok.to(params[0].dtype) * (1.0 - decay)
            torch._foreach_lerp_(ema, params, [weight] * len(ema))
        for e, b in zip(self.ema.buffers(), self.generator.buffers()):
            e.copy_(b)

    def _eval_generator(self) -> nn.Module:
        return self.ema if self.ema is not None else self.generator

    def _run_eval_and_samples(self, reporter: Reporter) -> None:
        tc = self.tc
        do_eval = tc.eval_interval > 0 and self.step % tc.eval_interval == 0
        do_samples = tc.sample_interval > 0 and self.step % tc.sample_interval == 0
        if not (do_eval or do_samples) or not self.dist.is_main:
            return
        g = self._eval_generator()
        was_training = g.training
        g.eval()
        # evaluation never perturbs the training random stream
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            with torch.no_grad(), self._autocast():
                if do_eval:
                    metrics = self.task.evaluate(g, self.device)
                    if metrics:
                        reporter.report(
                            self.step, {f"eval/{k}": float(v) for k, v in metrics.items()}, "eval"
                        )
                if do_samples:
                    self.task.write_samples(
                        g, self.device, self.step, self.exp_dir / "samples", reporter.writer
                    )
        g.train(was_training)

    # -- the loop -----------------------------------------------------------------------------------------
    def fit(self, stop_at: int | None = None) -> dict[str, float]:
        """Trains until ``max_steps`` (or ``stop_at``, as if interrupted there); returns the last stats."""
        tc = self.tc
        self._build()
        if self.dist.is_main:
            self.exp_dir.mkdir(parents=True, exist_ok=True)
            (self.exp_dir / "config.yaml").write_text(dump_config(self.config))
        if self.last_checkpoint.is_file():
            self._resume(self.last_checkpoint)
        elif self.init_from:
            self._init_weights(Path(self.init_from))
        if self.step >= tc.max_steps:
            log.info("already trained to step %d (max_steps %d); nothing to do", self.step, tc.max_steps)
            return {}
        reporter = Reporter(
            self.exp_dir, tc.max_steps, enabled=self.dist.is_main, progress=tc.progress, start_step=self.step
        )
        acc = StatsAccumulator()
        last: dict[str, float] = {}
        regs = self.task.regularizers()
        self.generator.train()
        self.discriminator.train()
        batches = self._batches()
        t_data = 0.0
        self._at_step_boundary = True
        log.info(
            "training %s on %s for %d steps (from step %d), %d examples, batch %d x %d process(es)",
            self.config.task,
            self.device,
            tc.max_steps,
            self.step,
            self.dataset_size,
            tc.batch_size,
            self.dist.world_size,
        )
        try:
            with _StopRequest() as stop:
                while self.step < tc.max_steps:
                    self._at_step_boundary = False
                    self.task.set_step(self.step)
                    self._set_lrs()
                    # n_critic 0 trains the generator alone (a no-adversarial baseline): one batch per step
                    for turn in range(max(1, tc.n_critic)):
                        t0 = time.perf_counter()
                        batch = next(batches)
                        t_data += time.perf_counter() - t0
                        self.batches_seen += 1
                        if turn < tc.n_critic:
                            done = self._turn("discriminator", self.task.discriminator_turn, batch)
                            if done is not None:
                                acc.add(done[0].stats, weight=done[1])
                    if self.step >= tc.d_warmup_steps:
                        done = self._turn("generator", self.task.generator_turn, batch)
                        if done is not None:
                            acc.add(done[0].stats, weight=done[1])
                            self._update_ema(done[1])
                    for reg in regs:
                        if (self.step + 1) % reg.interval == 0:
                            done = self._turn(
                                reg.network,
                                lambda b, n, r=reg: self.task.regularizer_turn(r.name, b, n),
                                batch,
                                scale=float(reg.interval),
                            )
                            if done is not None:
                                acc.add(done[0].stats, weight=done[1])
                    self.step += 1
                    self._at_step_boundary = True
                    reporter.step(self.step)
                    if self.step % tc.log_interval == 0 or self.step == tc.max_steps:
                        last = acc.means()
                        self._count_skipped()
                        last.update(
                            lr_g=self.opt_g.param_groups[0]["lr"],
                            lr_d=self.opt_d.param_groups[0]["lr"],
                            data_s=t_data,
                        )
                        if any(self.skipped.values()):
                            last.update({f"skipped_{k}": float(v) for k, v in self.skipped.items()})
                        t_data = 0.0
                        reporter.report(self.step, last)
                    self._run_eval_and_samples(reporter)
                    if tc.save_interval > 0 and self.step % tc.save_interval == 0:
                        self.save()
                    if stop.requested or (stop_at is not None and self.step >= stop_at):
                        break
        finally:
            # a save on every exit at a step boundary: normal end, Ctrl-C, SIGTERM; a step broken off
            # half-way (an error, a second Ctrl-C) would not resume exactly, so the last save stays
            if self._at_step_boundary:
                self.save()
            else:
                log.warning(
                    "stopped in the middle of step %d: keeping the last saved checkpoint", self.step + 1
                )
            reporter.close()
            cleanup(self.dist)
        return last

    def _set_lrs(self) -> None:
        tc = self.tc
        set_lr(self.opt_g, tc.optim_g.lr, lr_factor(tc.sched_g, self.step, tc.max_steps))
        set_lr(self.opt_d, tc.optim_d.lr, lr_factor(tc.sched_d, self.step, tc.max_steps))
