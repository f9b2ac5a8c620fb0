"""Training throughput of the GANs, through the real trainer turns, beside the machine's matmul speed.

For SEGAN (``--se-presets``, paper size ``segan`` by default on CUDA, ``segan_small`` on CPU) it times
full training steps (one discriminator turn + one generator turn, the trainer's own ``_turn``, with
bf16 autocast on CUDA unless ``--no-amp``) at each ``--batch-sizes`` with the batch already on the
device, and reports windows per second. The data path is timed separately: ``SEWindows`` over a
generated data directory through a ``DataLoader`` (``--workers``), windows per second delivered; when
the loader is slower than the model the result names the loader as the bottleneck.
For the frame GAN (``--frame-presets``, ``mathieu2016``) it times steps on 32x32 patches (4 context
frames) and reports frames per second.

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
from benchlib import count_flops, machine, matmul_reference, peak_rss_mb, timed  # noqa: E402

from seqgan.config import load_config  # noqa: E402
from seqgan.tasks import get_task  # noqa: E402
from seqgan.train.trainer import Trainer  # noqa: E402


def _trainer(task: Any, exp_dir: Path, device: str, amp: bool, compile_: bool) -> Trainer:
    trainer = Trainer(task, exp_dir)
    trainer.tc.device = device
    trainer.tc.amp = amp
    trainer.tc.compile = compile_
    trainer.device = torch.device(device)
    return trainer


def _build(trainer: Trainer) -> None:
    """The trainer's networks and optimisers, without touching a dataset."""
    trainer.task.train_dataset = lambda: [None]  # type: ignore[method-assign]
    trainer._build()


def _step(trainer: Trainer, batch: Any) -> None:
    trainer._turn("discriminator", trainer.task.discriminator_turn, batch)
    trainer._turn("generator", trainer.task.generator_turn, batch)


def _measure(trainer: Trainer, batch: Any, examples: int, iters: int, warmup: int) -> dict[str, Any]:
    device = trainer.device
    flops = count_flops(lambda: _step(trainer, batch))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = timed(lambda: _step(trainer, batch), device, iters, warmup)
    out = {
        "step_ms": round(seconds * 1e3, 2),
        "per_s": round(examples / seconds, 2),
        "gflop_per_step": round(flops / 1e9, 2),
        "achieved_tflops": round(flops / seconds / 1e12, 4),
    }
    if device.type == "cuda":
        out["cuda_max_memory_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return out


def bench_segan(preset: str, batch: int, window: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    cfg = load_config(
        None,
        [
            f"model.preset={preset}",
            f"data.window={window}",
            f"train.batch_size={batch}",
            "data.train_dir=unused",
            "train.skip_nonfinite=false",
        ],
        task="enhancement",
    )
    trainer = _trainer(
        get_task("enhancement")(cfg), tmp / f"se_{preset}_{batch}", args.device, args.amp, args.compile
    )
    _build(trainer)
    g = torch.Generator().manual_seed(0)
    batch_data = {
        k: (0.1 * torch.randn(batch, 1, window, generator=g)).to(trainer.device) for k in ("noisy", "clean")
    }
    result = {"model": preset, "batch": batch, "window": window}
    result.update(_measure(trainer, batch_data, batch, args.iters, args.warmup))
    result["windows_per_s"] = result.pop("per_s")
    return result


def bench_loader(window: int, batch: int, workers: int, tmp: Path, seconds: float) -> dict[str, Any]:
    """Windows per second that SEWindows + DataLoader deliver from a generated 16 kHz data dir."""
    from torch.utils.data import DataLoader

    from seqgan.data.se_dataset import SEWindows
    from seqgan.train.sampler import InfiniteBatchSampler

    data = tmp / "data"
    wavs = tmp / "wav"
    wavs.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    noisy_lines, clean_lines = [], []
    for i in range(40):
        for kind, lines in (("noisy", noisy_lines), ("clean", clean_lines)):
            path = wavs / f"{kind}_{i:03d}.wav"
            sf.write(path, (0.1 * rng.standard_normal(16000 * 4)).astype(np.float32), 16000, subtype="PCM_16")
            lines.append(f"utt{i:03d} {path}")
    (data / "wav.scp").write_text("\n".join(noisy_lines) + "\n")
    (data / "spk1.scp").write_text("\n".join(clean_lines) + "\n")
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


def bench_frames(preset: str, batch: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    cfg = load_config(
        None,
        [
            f"model.preset={preset}",
            "data.patch_size=32",
            f"train.batch_size={batch}",
            "data.train_scp=unused",
            "train.skip_nonfinite=false",
        ],
        task="next_frame",
    )
    task = get_task("next_frame")(cfg)
    task._geometry = (3, 32, 32)  # RGB patches; no dataset needed
    trainer = _trainer(task, tmp / f"vp_{preset}_{batch}", args.device, args.amp, args.compile)
    _build(trainer)
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
    p.add_argument("--no-amp", dest="amp", action="store_false", help="fp32 instead of bf16 autocast on CUDA")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D")
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
    device = torch.device(args.device)
    if gpu:
        torch.backends.cudnn.benchmark = True

    from seqgan.models.segan import PRESETS

    result: dict[str, Any] = {
        "benchmark": "train_throughput",
        "machine": machine(device),
        "amp_bf16": bool(args.amp and gpu),
        "compile": args.compile,
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
        window = PRESETS[args.se_presets[0]].get("window", 16384) if args.se_presets else 16384
        loader = bench_loader(window, max(args.batch_sizes), args.workers, tmp, seconds=3.0)
        result["data_loader"] = loader
        if result["segan"]:
            model_rate = max(r["windows_per_s"] for r in result["segan"])
            best = max(loader["in_memory_windows_per_s"], loader["streaming_windows_per_s"])
            result["bottleneck"] = "data_loader" if best < model_rate else "model"
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
