"""Where the time goes: a few SEGAN training steps and enhancement batches under ``torch.profiler``.

Runs ``--train-steps`` training steps of a SEGAN preset (the paper ``segan`` on CUDA by default, bf16,
batch 100, batches gathered from a generated corpus held on the device: the trainer's own path) and
``--enhance-batches`` calls of :meth:`seqgan.enhance.Enhancer.enhance` on an in-memory signal of one
batch of windows (windowing, generator and overlap-add; batch 256 in bf16 on CUDA), each after a warm-up, under
``torch.profiler`` with CPU and (when present) CUDA activities. For each part it keeps the top
``--rows`` operators of ``key_averages()``, sorted by self CUDA time on a GPU and by self CPU time
otherwise, and prints one JSON object::

    {"benchmark": "gpu_profile", "machine": {...}, "train": {"sort_by", "ms_per_step", "rows": [...]},
     "enhance": {"sort_by", "ms_per_call", "mean_windows_per_pass", "x_realtime", "rows": [...]}}

where each row has ``name``, ``calls``, ``self_cpu_ms``, ``cpu_total_ms`` (and ``self_cuda_ms``,
``cuda_total_ms`` on a GPU) and ``self_percent`` (share of the part's total self time of the sort key).
``--text FILE`` also writes the two profiler tables as text.

Usage::

    python bench/gpu_profile.py --device cuda --text bench/out/profile.txt
    python bench/gpu_profile.py --device cpu --preset segan_small --batch-size 2 --train-steps 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, sync  # noqa: E402
from train_throughput import _se_trainer, make_corpus  # noqa: E402


def _row(event: Any, cuda: bool, total: float, key: str) -> dict[str, Any]:
    row = {
        "name": event.key,
        "calls": event.count,
        "self_cpu_ms": round(event.self_cpu_time_total / 1e3, 3),
        "cpu_total_ms": round(event.cpu_time_total / 1e3, 3),
    }
    if cuda:
        row["self_cuda_ms"] = round(event.self_device_time_total / 1e3, 3)
        row["cuda_total_ms"] = round(event.device_time_total / 1e3, 3)
    row["self_percent"] = round(100 * getattr(event, key) / total, 2) if total else 0.0
    return row


def profiled(
    fn: Callable[[], Any], repeats: int, device: torch.device, rows: int
) -> tuple[dict[str, Any], str]:
    """``fn`` run ``repeats`` times under the profiler: ``(summary with the top rows, table text)``."""
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    with profile(activities=activities, acc_events=True) as prof:
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        sync(device)
        wall = time.perf_counter() - start
    averages = prof.key_averages()
    total = float(sum(getattr(e, key) for e in averages))
    top = sorted(averages, key=lambda e: getattr(e, key), reverse=True)[:rows]
    summary = {
        "sort_by": "self CUDA time" if cuda else "self CPU time",
        "repeats": repeats,
        "profiled_wall_ms": round(wall * 1e3, 2),
        "total_self_ms": round(total / 1e3, 3),
        "rows": [_row(e, cuda, total, key) for e in top],
    }
    sort = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    try:
        table = averages.table(sort_by=sort, row_limit=rows)
    except (AttributeError, KeyError, ValueError):  # a torch that knows only the device spelling
        table = averages.table(sort_by=key, row_limit=rows)
    return summary, table


def profile_training(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, Any], str]:
    """Training steps from the corpus held on the device, as ``seqgan train`` runs them."""
    from seqgan.models.segan import PRESETS

    window = int(PRESETS[args.preset].get("window", 16384))
    data = make_corpus(tmp, utterances=args.utterances)
    options = argparse.Namespace(
        device=args.device,
        precision=args.precision,
        compile=False,
        compile_mode="default",
        guard=False,
        optimizer="rmsprop",
    )
    trainer = _se_trainer(args.preset, args.batch_size, window, options, tmp / "exp", str(data))
    trainer.tc.num_workers = 0
    trainer.tc.data_on_device = True
    batches = trainer.setup().batches()
    for _ in range(args.warmup):
        trainer.train_step(batches)
    sync(trainer.device)
    summary, table = profiled(
        lambda: trainer.train_step(batches), args.train_steps, trainer.device, args.rows
    )
    summary |= {
        "preset": args.preset,
        "batch": args.batch_size,
        "window": window,
        "data_on_device": trainer.data_on_device,
        "bf16": args.precision == "bf16",
        "ms_per_step": round(summary["profiled_wall_ms"] / args.train_steps, 2),
    }
    return summary, table


def profile_enhancement(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """:meth:`Enhancer.enhance` of a signal of ``batch`` windows, once per profiled repeat.

    The enhancer runs the generator block by block (``block_seconds``), so a call may take several
    passes of fewer windows than ``batch``: ``mean_windows_per_pass`` says how full they were.
    """
    from seqgan.enhance import Enhancer
    from seqgan.models.segan import PRESETS, build_segan

    generator = build_segan(args.preset)[0]
    window = int(PRESETS[args.preset].get("window", 16384))
    enhancer = Enhancer(
        generator,
        16000,
        window=window,
        batch_size=args.enhance_batch_size,
        device=args.device,
        bf16=args.precision == "bf16",
    )
    # one forward pass of a full batch per call: batch x hop samples (and the window's lead-in)
    samples = args.enhance_batch_size * enhancer.hop - (window - enhancer.hop)
    wave = 0.1 * torch.randn(max(samples, enhancer.hop), generator=torch.Generator().manual_seed(0))
    for _ in range(max(args.warmup, 1)):
        enhancer.enhance(wave, 16000)
    device = enhancer.device
    sync(device)
    passes: list[int] = []  # windows per generator pass: the blocks of Enhancer.enhance may not fill one
    hook = generator.register_forward_pre_hook(lambda module, inputs: passes.append(inputs[0].shape[0]))
    try:
        summary, table = profiled(
            lambda: enhancer.enhance(wave, 16000), args.enhance_batches, device, args.rows
        )
    finally:
        hook.remove()
    per_call = summary["profiled_wall_ms"] / args.enhance_batches / 1e3
    summary |= {
        "preset": args.preset,
        "batch": args.enhance_batch_size,
        "window": window,
        "bf16": args.precision == "bf16",
        "seconds_per_call": round(wave.numel() / 16000, 2),
        "ms_per_call": round(per_call * 1e3, 2),
        "generator_passes_per_call": len(passes) / args.enhance_batches,
        "mean_windows_per_pass": round(sum(passes) / max(len(passes), 1), 1),
        "x_realtime": round(wave.numel() / 16000 / per_call, 1),  # under the profiler's overhead
    }
    return summary, table


def main(argv: list[str] | None = None) -> int:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if cuda else "cpu")
    p.add_argument("--preset", default=None, help="SEGAN preset (default: segan on CUDA, segan_small on CPU)")
    p.add_argument("--batch-size", type=int, default=None, help="training batch (default: 100 on CUDA, 4)")
    p.add_argument("--enhance-batch-size", type=int, default=None, help="default: 256 on CUDA, 8")
    p.add_argument("--precision", choices=("bf16", "fp32"), default=None, help="default: bf16 on CUDA")
    p.add_argument("--train-steps", type=int, default=5, help="profiled training steps")
    p.add_argument("--enhance-batches", type=int, default=5, help="profiled enhancement batches")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 3 on CUDA, 1)")
    p.add_argument("--rows", type=int, default=30, help="operators kept per table")
    p.add_argument("--utterances", type=int, default=40, help="four-second utterances of the corpus")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--text", type=Path, default=None, help="also write the profiler tables to this file")
    args = p.parse_args(argv)
    gpu = args.device.startswith("cuda")
    if gpu and not cuda:
        print("gpu_profile.py: no CUDA device available; pass --device cpu", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    args.preset = args.preset or ("segan" if gpu else "segan_small")
    args.batch_size = args.batch_size or (100 if gpu else 4)
    args.enhance_batch_size = args.enhance_batch_size or (256 if gpu else 8)
    args.precision = args.precision or ("bf16" if gpu else "fp32")
    args.warmup = args.warmup if args.warmup is not None else (3 if gpu else 1)
    if gpu:
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    result: dict[str, Any] = {"benchmark": "gpu_profile", "machine": machine(torch.device(args.device))}
    with tempfile.TemporaryDirectory(prefix="seqgan_profile_") as tmp:
        result["train"], train_table = profile_training(args, Path(tmp))
    result["enhance"], enhance_table = profile_enhancement(args)
    if args.text is not None:
        args.text.parent.mkdir(parents=True, exist_ok=True)
        head = f"{result['machine']}\n"
        parts = [
            f"=== training: {args.train_steps} steps of {args.preset}, batch {args.batch_size}, "
            f"{args.precision}, corpus on the device; {result['train']['ms_per_step']} ms/step; "
            f"sorted by {result['train']['sort_by']}\n{train_table}",
            f"=== enhancement: {args.enhance_batches} calls of {args.enhance_batch_size} windows, "
            f"{args.precision}; {result['enhance']['ms_per_call']} ms/call, "
            f"{result['enhance']['mean_windows_per_pass']} windows per generator pass; "
            f"sorted by {result['enhance']['sort_by']}\n{enhance_table}",
        ]
        args.text.write_text(head + "\n".join(parts))
        result["text"] = str(args.text)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
