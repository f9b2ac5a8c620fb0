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
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from seqgan.adversarial import clip_weights_
from seqgan.config import ConfigError, ExperimentConfig, check_train_config, dump_config, to_dict
from seqgan.tasks.base import GANTask, Nets, RegTurn, TurnOutput
from seqgan.train import checkpoint as ckpt
from seqgan.train.distributed import DistInfo, any_flag, cleanup, init_distributed
from seqgan.train.optim import (
    build_optimizer,
    ema_update_,
    lr_factor,
    set_lr,
    skips_on_device_flag,
    step_unless,
)
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

    ``fit()`` is the whole run. Its parts are public for benchmarks, tests and other loops:
    :meth:`setup` (networks, optimisers, data, resume), :meth:`batches` (the training data path),
    :meth:`train_step` (one step) and :meth:`run_turn` (one turn of one network).

    Args:
        task: the task (owns the forward passes and losses).
        exp_dir: where config, checkpoints, logs and samples go. A checkpoint there
            (``checkpoints/last.pt``, or ``previous.pt`` when that one is unreadable) is resumed
            automatically (everything: weights, optimisers, step, random states).
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
        self.stats = StatsAccumulator()  # per-turn statistics since the last log line
        # turns skipped on the device and not yet counted on the host (the sync-free guard)
        self._skipped_pending: dict[str, torch.Tensor] = {}
        self._data_seconds = 0.0  # time spent waiting for batches since the last log line
        self._ready = False
        self._saved_step: int | None = None  # the step of a readable checkpoints/last.pt, if any
        self._last_readable = True  # False after resuming past an unreadable last.pt: not kept on save

    # -- construction ---------------------------------------------------------------------------------
    def setup(self) -> Trainer:
        """Builds everything a step needs and restores the run's state; a second call does nothing.

        Seeds every random generator, builds the networks (on the device; DDP-wrapped and compiled as
        configured), the EMA, the optimisers, the training set and the regularisation turns, writes
        ``config.yaml`` and then resumes from the experiment's checkpoint, or takes weights from
        ``init_from`` when there is none.

        Returns:
            The trainer itself.

        Raises:
            CheckpointError: the experiment has checkpoints but none of them can be read.
        """
        if self._ready:
            return self
        tc = self.tc
        seed_everything(tc.seed)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = tc.cudnn_benchmark
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.generator, self.discriminator = (m.to(self.device) for m in self.task.build_networks())
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
        self.dataset = self.task.train_dataset()
        self.dataset_size = len(self.dataset)
        self.regularizers = self.task.regularizers()
        if self.dist.is_main:
            self.exp_dir.mkdir(parents=True, exist_ok=True)
            (self.exp_dir / "config.yaml").write_text(dump_config(self.config))
        found = ckpt.find_resume_checkpoint(self.exp_dir, map_location=self.device)
        if found is not None:
            state, path = found
            self.load_state_dict(state, str(path))
            self._last_readable = path == self.last_checkpoint
            self._saved_step = self.step if self._last_readable else None
            log.info("resumed from %s at step %d", path, self.step)
        elif self.init_from:
            self._init_weights(Path(self.init_from))
        self._ready = True
        return self

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

    def batches(self) -> Iterator[Any]:
        """The training batches, on the device, from where the run stands (``batches_seen``) onwards.

        Gathered from the corpus held on the device when ``train.data_on_device`` allows it and the task
        can, loaded by a ``DataLoader`` and copied otherwise; ``data_on_device`` tells which. Infinite.
        """
        self.setup()
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
        """``exp_dir/checkpoints/last.pt``, where :meth:`save` writes (the one before: ``previous.pt``)."""
        return ckpt.last_path(self.exp_dir)

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs, as :mod:`seqgan.train.checkpoint` documents it."""
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

    def load_state_dict(self, state: dict[str, Any], source: str = "checkpoint") -> None:
        """Restores what :meth:`state_dict` returned (after :meth:`setup` built the networks).

        Raises:
            CheckpointError: the weights do not fit the networks (the message names ``source``).
        """
        models = state["models"]
        ckpt.load_weights(self.generator, models["generator"], source)
        ckpt.load_weights(self.discriminator, models["discriminator"], source)
        if self.ema is not None:
            ckpt.load_weights(self.ema, models.get("generator_ema", models["generator"]), source)
        self.opt_g.load_state_dict(state["optimizers"]["generator"])
        self.opt_d.load_state_dict(state["optimizers"]["discriminator"])
        self.step = int(state["step"])
        self.batches_seen = int(state["trainer"]["batches_seen"])
        self.skipped.update(state["trainer"].get("skipped", {}))
        ckpt.set_rng_state(state["rng"])

    def save(self) -> None:
        """Writes ``checkpoints/last.pt`` (rank 0), keeping the checkpoint before it as ``previous.pt``."""
        self.count_skipped()
        if self.dist.is_main:
            ckpt.save_checkpoint(self.state_dict(), self.last_checkpoint, keep_previous=self._last_readable)
            log.info("saved %s (step %d)", self.last_checkpoint, self.step)
        self._saved_step, self._last_readable = self.step, True

    def _init_weights(self, source: Path) -> None:
        """Weights only (no optimiser, step or random state): a fine-tuning start."""
        if source.suffix == ".safetensors":
            from safetensors.torch import load_file

            if not source.is_file():
                raise ckpt.CheckpointError(f"{source}: no such model file (--init-from / init_from)")
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

    def run_turn(
        self, network: str, batch: Any, regularizer: RegTurn | None = None
    ) -> tuple[TurnOutput, torch.Tensor | None] | None:
        """Runs one turn updating ``network`` ("discriminator" or "generator") on ``batch``.

        The task's turn for that network, or ``regularizer``'s (its loss multiplied by its interval).
        Only ``network`` gets gradients; after the update (non-finite turns skipped, gradients clipped,
        WGAN weights clamped) both optimisers are zeroed.

        Returns:
            ``(output, ok)``, or None when the turn was skipped as non-finite on the host. With a fused
            optimiser the check stays on the device: ``ok`` is then a boolean tensor (whether the update
            was taken); otherwise it is None.
        """
        tc = self.tc
        train_d = network == "discriminator"
        if regularizer is not None:
            run, scale = partial(self.task.regularizer_turn, regularizer.name), float(regularizer.interval)
        else:
            run, scale = (self.task.discriminator_turn if train_d else self.task.generator_turn), 1.0
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
        bad: torch.Tensor | None = None
        if tc.skip_nonfinite or clip > 0:
            params = [p for p in module.parameters() if p.grad is not None]
            if clip > 0:
                norm = torch.nn.utils.clip_grad_norm_(params, clip)
            else:
                norm = torch.nn.utils.get_total_norm([p.grad for p in params])
            if tc.skip_nonfinite:
                bad = any_flag(~(torch.isfinite(norm) & torch.isfinite(out.loss.detach())), self.dist)
                if skips_on_device_flag(opt):
                    ok = ~bad  # fused kernels skip the update themselves: no host sync
                else:
                    skip = bool(bad)  # one host sync per turn
        if skip:
            self.skipped[network] += 1
            self._warn_skipped(network, 1)
        else:
            if ok is not None:
                step_unless(opt, bad)
                pending = self._skipped_pending.get(network)
                skipped = (~ok).long()
                self._skipped_pending[network] = skipped if pending is None else pending + skipped
            else:
                opt.step()
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

    def count_skipped(self) -> dict[str, int]:
        """Turns skipped as non-finite so far, per network (``skipped``).

        Folds in the turns the device skipped (a host sync: the trainer calls it to log and save only).
        """
        for network, pending in self._skipped_pending.items():
            new = int(pending)
            if new:
                self.skipped[network] += new
                self._warn_skipped(network, new)
        self._skipped_pending.clear()
        return dict(self.skipped)

    @torch.no_grad()
    def _update_ema(self, ok: torch.Tensor | None = None) -> None:
        """Moves the EMA towards the generator; ``ok`` (a device flag) holds it still after a skipped turn."""
        if self.ema is None:
            return
        decay = self.tc.ema_decay if self.step >= self.tc.ema_start_step else 0.0
        params = [p.detach() for p in self.generator.parameters()]
        ema_update_(list(self.ema.parameters()), params, decay, ok)
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
    def train_step(self, batches: Iterator[Any]) -> None:
        """One training step: ``n_critic`` discriminator turns (a fresh batch each from ``batches``), a
        generator turn on the last batch (after ``d_warmup_steps``; then the EMA moves), the
        regularisation turns due at this step; ``step`` advances by one.

        The turns' statistics go to ``stats``. Nothing here waits for the device unless the non-finite
        guard has to check a non-fused optimiser's turn on the host.
        """
        tc = self.tc
        self.setup()
        self.task.set_step(self.step)
        self._set_lrs()
        # n_critic 0 trains the generator alone (a no-adversarial baseline): one batch per step
        for turn in range(max(1, tc.n_critic)):
            t0 = time.perf_counter()
            batch = next(batches)
            self._data_seconds += time.perf_counter() - t0
            self.batches_seen += 1
            if turn < tc.n_critic:
                self._add_stats(self.run_turn("discriminator", batch))
        if self.step >= tc.d_warmup_steps:
            done = self.run_turn("generator", batch)
            self._add_stats(done)
            if done is not None:
                self._update_ema(done[1])
        for reg in self.regularizers:
            if (self.step + 1) % reg.interval == 0:
                self._add_stats(self.run_turn(reg.network, batch, regularizer=reg))
        self.step += 1

    def _add_stats(self, done: tuple[TurnOutput, torch.Tensor | None] | None) -> None:
        if done is not None:
            self.stats.add(done[0].stats, weight=done[1])

    def fit(self, stop_at: int | None = None) -> dict[str, float]:
        """Trains until ``max_steps`` (or ``stop_at``, as if interrupted there); returns the last stats.

        Saves ``checkpoints/last.pt`` every ``save_interval`` steps and on every exit at a step boundary
        (the end, Ctrl-C, SIGTERM).
        """
        tc = self.tc
        self.setup()
        if self.step >= tc.max_steps:
            log.info("already trained to step %d (max_steps %d); nothing to do", self.step, tc.max_steps)
            return {}
        reporter = Reporter(
            self.exp_dir, tc.max_steps, enabled=self.dist.is_main, progress=tc.progress, start_step=self.step
        )
        last: dict[str, float] = {}
        self.generator.train()
        self.discriminator.train()
        batches = self.batches()
        self.stats, self._data_seconds = StatsAccumulator(), 0.0  # a log line covers this run's turns only
        at_step_boundary = True
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
                    at_step_boundary = False
                    self.train_step(batches)
                    at_step_boundary = True
                    reporter.step()
                    if self.step % tc.log_interval == 0 or self.step == tc.max_steps:
                        last = self.stats.means()
                        self.count_skipped()
                        last.update(
                            lr_g=self.opt_g.param_groups[0]["lr"],
                            lr_d=self.opt_d.param_groups[0]["lr"],
                            data_s=self._data_seconds,
                        )
                        if any(self.skipped.values()):
                            last.update({f"skipped_{k}": float(v) for k, v in self.skipped.items()})
                        self._data_seconds = 0.0
                        reporter.report(self.step, last)
                    self._run_eval_and_samples(reporter)
                    if tc.save_interval > 0 and self.step % tc.save_interval == 0:
                        self.save()
                    if stop.requested or (stop_at is not None and self.step >= stop_at):
                        break
        finally:
            # a save on every exit at a step boundary (unless this step is saved already): normal end,
            # Ctrl-C, SIGTERM; a step broken off half-way (an error, a second Ctrl-C) would not resume
            # exactly, so the last save stays
            if not at_step_boundary:
                log.warning(
                    "stopped in the middle of step %d: keeping the last saved checkpoint", self.step + 1
                )
            elif self._saved_step != self.step:
                self.save()
            reporter.close()
            cleanup(self.dist)
        return last

    def _set_lrs(self) -> None:
        """The learning rates of this step (a pure function of the step: nothing to checkpoint)."""
        tc = self.tc
        set_lr(self.opt_g, tc.optim_g.lr, lr_factor(tc.sched_g, self.step, tc.max_steps))
        set_lr(self.opt_d, tc.optim_d.lr, lr_factor(tc.sched_d, self.step, tc.max_steps))
