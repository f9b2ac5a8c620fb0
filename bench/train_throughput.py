"""Training throughput of the GANs, through the real trainer turns, beside the machine's matmul speed.

For SEGAN (``--se-presets``, paper size ``segan`` by default on CUDA, ``segan_small`` on CPU) it times
full training steps (the trainer's own ``Trainer.train_step``: one discriminator turn + one generator
turn, with bf16 autocast on CUDA unless ``--precision fp32``, the paper's RMSprop unless
``--optimizer adam``) at each ``--batch-sizes`` with the batch already on the device, and reports
windows per second, with ``paper_run_minutes``: the time of the paper's 86 epochs of VoiceBank-DEMAND
(66 000 windows each) at that rate. The data path is timed separately over a generated data directory: the corpus held on the
device (``SEWindows.on_device``, the trainer's path on CUDA), and ``SEWindows`` through a
``DataLoader`` (``--workers``) in memory and streaming; the result names the bottleneck (the model, or
the data path the trainer would use when it is slower). ``end_to_end`` times whole steps at the largest
batch with batches drawn from the trainer's own data path.
For the frame GAN (``--frame-presets``, ``mathieu2016``) it times steps on 32x32 patches (4 context
frames; two generated episodes give the networks their geometry) and reports frames per second.

Each model's FLOPs per step are counted by torch's FlopCounterMode (forward and backward as executed),
so ``achieved_tflops`` / ``matmul_tflops`` is a hardware-independent efficiency ratio.

Usage::

    python bench/train_throughput.py                      # CPU, small sizes
    python bench/train_throughput.py --device cuda --se-presets segan --batch-sizes 100 400 --compile
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (  # noqa: E402
    count_flops,
    machine,
    matmul_reference,
    peak_rss_mb,
    sync,
    timed,
    train_step,
    window_batch,
)

from seqgan.config import load_config  # noqa: E402
from seqgan.data.scp import write_scp  # noqa: E402
from seqgan.tasks import get_task  # noqa: E402
from seqgan.train.trainer import Trainer  # noqa: E402

PAPER_WINDOWS = 86 * 66_000  # SEGAN: 86 epochs of VoiceBank-DEMAND's training windows


def _trainer(task: Any, exp_dir: Path, args: argparse.Namespace) -> Trainer:
    trainer = Trainer(task, exp_dir)
    trainer.tc.device = args.device
    trainer.tc.amp = {"auto": "auto", "bf16": True, "fp32": False}[args.precision]
    trainer.tc.compile = args.compile
    trainer.tc.compile_mode = args.compile_mode
    trainer.tc.skip_nonfinite = args.guard
    trainer.device = torch.device(args.device)
    return trainer


def _setup(trainer: Trainer) -> None:
    """The trainer's networks and optimisers, without touching a dataset (the batches are made here)."""
    trainer.task.train_dataset = lambda: [None]  # type: ignore[method-assign]
    trainer.setup()


def _measure(trainer: Trainer, batch: Any, examples: int, iters: int, warmup: int) -> dict[str, Any]:
    device = trainer.device
    flops = count_flops(lambda: train_step(trainer, batch))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = timed(lambda: train_step(trainer, batch), device, iters, warmup)
    out = {
        "step_ms": round(seconds * 1e3, 2),
        "per_s": round(examples / seconds, 2),
        "gflop_per_step": round(flops / 1e9, 2),
        "achieved_tflops": round(flops / seconds / 1e12, 4),
    }
    if device.type == "cuda":
        out["cuda_max_memory_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return out


def _se_trainer(
    preset: str, batch: int, window: int, args: argparse.Namespace, exp: Path, data: str
) -> Trainer:
    cfg = load_config(
        None,
        [
            f"model.preset={preset}",
            f"data.window={window}",
            f"train.batch_size={batch}",
            f"data.train_dir={data}",
            f"train.optim_g.name={args.optimizer}",
            f"train.optim_d.name={args.optimizer}",
        ],
        task="enhancement",
    )
    return _trainer(get_task("enhancement")(cfg), exp, args)


def bench_segan(preset: str, batch: int, window: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    trainer = _se_trainer(preset, batch, window, args, tmp / f"se_{preset}_{batch}", "unused")
    _setup(trainer)
    batch_data = window_batch(batch, window, trainer.device)
    result = {"model": preset, "batch": batch, "window": window}
    result.update(_measure(trainer, batch_data, batch, args.iters, args.warmup))
    result["windows_per_s"] = result.pop("per_s")
    result["paper_run_minutes"] = round(PAPER_WINDOWS / result["windows_per_s"] / 60, 1)
    return result


def bench_end_to_end(
    preset: str, batch: int, window: int, args: argparse.Namespace, tmp: Path, data: Path
) -> dict[str, Any]:
    """Whole training steps with batches from the trainer's own data path (``Trainer.batches``)."""
    trainer = _se_trainer(preset, batch, window, args, tmp / f"e2e_{preset}_{batch}", str(data))
    trainer.tc.num_workers = args.workers
    trainer.tc.data_on_device = args.data_on_device
    batches = trainer.setup().batches()
    on_device = trainer.data_on_device

    def step() -> None:
        trainer.train_step(batches)

    seconds = timed(step, trainer.device, args.iters, args.warmup)
    return {
        "model": preset,
        "batch": batch,
        "data_path": "device" if on_device else f"loader ({args.workers} workers)",
        "step_ms": round(seconds * 1e3, 2),
        "windows_per_s": round(batch / seconds, 2),
        "paper_run_minutes": round(PAPER_WINDOWS / (batch / seconds) / 60, 1),
    }


def make_corpus(tmp: Path, utterances: int = 40) -> Path:
    """A 16 kHz data dir of four-second noisy/clean pairs (white noise: content does not change cost)."""
    data = tmp / "data"
    wavs = tmp / "wav"
    wavs.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    noisy_lines, clean_lines = [], []
    for i in range(utterances):
        for kind, lines in (("noisy", noisy_lines), ("clean", clean_lines)):
            path = wavs / f"{kind}_{i:03d}.wav"
            sf.write(path, (0.1 * rng.standard_normal(16000 * 4)).astype(np.float32), 16000, subtype="PCM_16")
            lines.append(f"utt{i:03d} {path}")
    write_scp(data / "wav.scp", dict(line.split(" ", 1) for line in noisy_lines))
    write_scp(data / "spk1.scp", dict(line.split(" ", 1) for line in clean_lines))
    return data


def bench_loader(data: Path, window: int, batch: int, workers: int, seconds: float) -> dict[str, Any]:
    """Windows per second that SEWindows + DataLoader deliver from ``data``."""
    from torch.utils.data import DataLoader

    from seqgan.data.se_dataset import SEWindows
    from seqgan.train.sampler import InfiniteBatchSampler

    out = {}
    for mode in ("in_memory", "streaming"):
        dataset = SEWindows(data, window=window, in_memory=mode == "in_memory")
        loader = DataLoader(
            dataset,
            batch_sampler=InfiniteBatchSampler(len(dataset), batch),
            num_workers=workers,
            pin_memory=torch.cuda.is_available(),
        )
        it = iter(loader)
        next(it)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            next(it)
            n += batch
        out[f"{mode}_windows_per_s"] = round(n / (time.perf_counter() - start), 1)
        del it
    out.update(workers=workers, batch=batch)
    return out


def bench_device_batches(
    data: Path, window: int, batch: int, device: torch.device, seconds: float
) -> dict[str, Any]:
    """Windows per second gathered on ``device`` from the corpus held there, plain and remixed."""
    from seqgan.data.se_dataset import SEWindows
    from seqgan.train.sampler import InfiniteBatchSampler

    out: dict[str, Any] = {}
    for name, remix in (("device_windows_per_s", None), ("device_remixed_windows_per_s", [0.0, 5.0, 10.0])):
        dataset = SEWindows(data, window=window, remix_snrs=remix, remix_prob=1.0, in_memory=True)
        batches = dataset.on_device(device)
        keys = iter(InfiniteBatchSampler(len(dataset), batch))
        batches(next(keys))
        sync(device)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            batches(next(keys))
            n += batch
        sync(device)
        out[name] = round(n / (time.perf_counter() - start), 1)
    return out


def make_episodes(tmp: Path, frames: int = 16, size: int = 32) -> Path:
    """An ``episodes.scp`` of two short RGB episodes of random frames (they give the frame geometry)."""
    from seqgan.data.episodes import write_episode, write_episodes_scp

    rng = np.random.default_rng(0)
    entries = {}
    for i in range(2):
        path = tmp / "episodes" / f"ep{i}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_episode(path, rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8))
        entries[f"ep{i}"] = path
    scp = tmp / "episodes" / "episodes.scp"
    write_episodes_scp(scp, entries)
    return scp


def bench_frames(preset: str, batch: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    cfg = load_config(
        None,
        [
            f"model.preset={preset}",
            "data.patch_size=32",
            f"train.batch_size={batch}",
            f"data.train_scp={make_episodes(tmp)}",
            "train.skip_nonfinite=false",
        ],
        task="next_frame",
    )
    trainer = _trainer(get_task("next_frame")(cfg), tmp / f"vp_{preset}_{batch}", args)
    trainer.setup()  # the batches are made below; the episodes give the networks their geometry
    g = torch.Generator().manual_seed(0)
    k = cfg.data.context
    batch_data = {
        "context": torch.rand(batch, k, 3, 32, 32, generator=g).mul(2).sub(1).to(trainer.device),
        "target": torch.rand(batch, 1, 3, 32, 32, generator=g).mul(2).sub(1).to(trainer.device),
    }
    result = {"model": preset, "batch": batch, "patch": 32, "context": k}
    result.update(_measure(trainer, batch_data, batch, args.iters, args.warmup))
    result["frames_per_s"] = result.pop("per_s")
    return result


def main(argv: list[str] | None = None) -> int:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if cuda else "cpu")
    p.add_argument(
        "--se-presets",
        nargs="*",
        default=None,
        help="SEGAN presets (default: segan on CUDA, segan_small on CPU)",
    )
    p.add_argument(
        "--batch-sizes", nargs="*", type=int, default=None, help="default: 100 400 on CUDA, 8 on CPU"
    )
    p.add_argument("--frame-presets", nargs="*", default=None, help="default: mathieu2016 (tiny on CPU too)")
    p.add_argument("--frame-batch", type=int, default=None, help="default: 64 on CUDA, 8 on CPU")
    p.add_argument("--workers", type=int, default=None, help="loader workers (default: 8 on CUDA, 1 on CPU)")
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--precision",
        choices=("auto", "bf16", "fp32"),
        default="auto",
        help="bf16 autocast or fp32 (auto: bf16 on CUDA, fp32 on CPU)",
    )
    p.add_argument(
        "--optimizer", choices=("rmsprop", "adam"), default="rmsprop", help="SEGAN's (rmsprop) or adam"
    )
    p.add_argument("--guard", action="store_true", help="keep the trainer's non-finite guard on")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D")
    p.add_argument("--compile-mode", default="default", help="torch.compile mode")
    p.add_argument(
        "--data-on-device",
        choices=("auto", "true", "false"),
        default="auto",
        help="end-to-end data path (auto: the corpus on the device on CUDA, the loader on CPU)",
    )
    p.add_argument("--data-seconds", type=float, default=3.0, help="seconds per data-path measurement")
    args = p.parse_args(argv)
    gpu = args.device.startswith("cuda")
    if args.threads:
        torch.set_num_threads(args.threads)
    args.se_presets = (
        args.se_presets if args.se_presets is not None else (["segan"] if gpu else ["segan_small"])
    )
    args.batch_sizes = args.batch_sizes or ([100, 400] if gpu else [8])
    args.frame_presets = (
        args.frame_presets
        if args.frame_presets is not None
        else (["mathieu2016"] if gpu else ["tiny", "mathieu2016"])
    )
    args.frame_batch = args.frame_batch or (64 if gpu else 8)
    args.workers = args.workers if args.workers is not None else (8 if gpu else 1)
    args.iters = args.iters or (20 if gpu else 3)
    args.warmup = args.warmup if args.warmup is not None else (5 if gpu else 1)
    args.data_on_device = {"auto": "auto", "true": True, "false": False}[args.data_on_device]
    device = torch.device(args.device)
    if gpu:
        torch.backends.cudnn.benchmark = True

    from seqgan.models.segan import PRESETS

    result: dict[str, Any] = {
        "benchmark": "train_throughput",
        "machine": machine(device),
        "bf16": args.precision == "bf16" or (args.precision == "auto" and gpu),
        "optimizer": args.optimizer,
        "fused_optimizer": gpu and args.optimizer == "adam",
        "nonfinite_guard": args.guard,
        "compile": args.compile,
        "compile_mode": args.compile_mode if args.compile else None,
    }
    result["matmul_tflops"] = matmul_reference(device, seconds=1.0 if not gpu else 2.0)
    best_ref = max(result["matmul_tflops"].values())
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        result["segan"] = []
        for preset in args.se_presets:
            window = PRESETS[preset].get("window", 16384)
            for batch in args.batch_sizes:
                r = bench_segan(preset, batch, window, args, tmp)
                r["fraction_of_matmul"] = round(r["achieved_tflops"] / best_ref, 4)
                result["segan"].append(r)
        preset = args.se_presets[0] if args.se_presets else "segan"
        window = PRESETS[preset].get("window", 16384)
        data = make_corpus(tmp)
        loader = bench_loader(data, window, max(args.batch_sizes), args.workers, seconds=args.data_seconds)
        loader.update(
            bench_device_batches(data, window, max(args.batch_sizes), device, seconds=args.data_seconds)
        )
        result["data_path"] = loader
        if result["segan"]:
            e2e = bench_end_to_end(preset, max(args.batch_sizes), window, args, tmp, data)
            result["end_to_end"] = e2e
            model_rate = max(r["windows_per_s"] for r in result["segan"])
            if e2e["data_path"] == "device":
                data_rate = loader["device_windows_per_s"]
            else:
                data_rate = max(loader["in_memory_windows_per_s"], loader["streaming_windows_per_s"])
            result["bottleneck"] = "data_path" if data_rate < model_rate else "model"
        result["frame_gan"] = []
        for preset in args.frame_presets:
            r = bench_frames(preset, args.frame_batch, args, tmp)
            r["fraction_of_matmul"] = round(r["achieved_tflops"] / best_ref, 4)
            result["frame_gan"].append(r)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
