"""Data-parallel scaling of SEGAN training: windows per second with 1, 2, 4 ... processes.

Each world size is spawned as ``torchrun -m seqgan train`` would run it: one process per GPU (NCCL), or
per CPU share (gloo), with ``WORLD_SIZE`` / ``RANK`` / ``LOCAL_RANK`` in the environment, so the trainer
joins the process group and wraps each network for DistributedDataParallel in its own turn. Every
process times full steps (``Trainer.train_step``: one discriminator turn + one generator turn) on its
own batch of ``--batch-size`` windows already on its device; rank 0 reports. The JSON holds, per world
size, the step time, the windows per second of the whole job and the scaling efficiency
``rate(N) / (N * rate(1))``.

Usage::

    python bench/ddp_scaling.py                                   # CPU: segan_small, 1 and 2 processes
    python bench/ddp_scaling.py --device cuda --preset segan --batch-size 100 --world-sizes 1 2 4 8
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, timed, train_step, window_batch  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, args: argparse.Namespace, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(world),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    if args.device == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    from seqgan.config import load_config
    from seqgan.tasks import get_task
    from seqgan.train.distributed import cleanup
    from seqgan.train.trainer import Trainer

    window = args.window
    cfg = load_config(
        None,
        [
            f"model.preset={args.preset}",
            f"data.window={window}",
            f"train.batch_size={args.batch_size}",
            "data.train_dir=unused",
            f"train.device={args.device}",
            f"train.amp={'auto' if args.precision == 'auto' else str(args.precision == 'bf16').lower()}",
            "train.skip_nonfinite=false",
        ],
        task="enhancement",
    )
    task = get_task("enhancement")(cfg)
    task.train_dataset = lambda: [None]  # batches below are made on the device
    trainer = Trainer(task, Path(out).parent / f"exp_{world}_{rank}").setup()
    batch = window_batch(args.batch_size, window, trainer.device, seed=rank)
    seconds = timed(lambda: train_step(trainer, batch), trainer.device, args.iters, args.warmup)
    if rank == 0:
        Path(out).write_text(json.dumps({"step_ms": seconds * 1e3}))
    cleanup(trainer.dist)


def main(argv: list[str] | None = None) -> int:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if cuda else "cpu")
    p.add_argument("--preset", default=None, help="SEGAN preset (default: segan on CUDA, segan_small on CPU)")
    p.add_argument("--batch-size", type=int, default=None, help="windows per process (default 100 / 4)")
    p.add_argument("--window", type=int, default=None, help="default: 16384 on CUDA, 4096 on CPU")
    p.add_argument(
        "--world-sizes", nargs="*", type=int, default=None, help="default: 1 2 4 ... up to the GPUs"
    )
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--warmup", type=int, default=None)
    args = p.parse_args(argv)
    gpu = args.device == "cuda"
    if gpu and not cuda:
        print("no CUDA device available", file=sys.stderr)
        return 2
    args.preset = args.preset or ("segan" if gpu else "segan_small")
    args.batch_size = args.batch_size or (100 if gpu else 4)
    args.window = args.window or (16384 if gpu else 4096)
    args.iters = args.iters or (20 if gpu else 3)
    args.warmup = args.warmup if args.warmup is not None else (5 if gpu else 1)
    if args.world_sizes is None:
        most = torch.cuda.device_count() if gpu else min(2, os.cpu_count() or 1)
        args.world_sizes = [n for n in (1, 2, 4, 8, 16) if n <= most]
    if gpu and max(args.world_sizes) > torch.cuda.device_count():
        print(
            f"--world-sizes asks for {max(args.world_sizes)} GPUs; {torch.cuda.device_count()} visible",
            file=sys.stderr,
        )
        return 2
    result: dict[str, Any] = {
        "benchmark": "ddp_scaling",
        "machine": machine(torch.device(args.device)),
        "backend": "nccl" if gpu else "gloo",
        "preset": args.preset,
        "window": args.window,
        "batch_per_process": args.batch_size,
        # on CPU the processes share the machine's cores (threads = cores / processes): the figures check
        # the DDP path, they do not measure scaling
        "cores_shared": not gpu,
        "runs": [],
    }
    base = None
    with tempfile.TemporaryDirectory(prefix="seqgan_ddp_") as tmp:
        for world in args.world_sizes:
            out = str(Path(tmp) / f"world_{world}.json")
            mp.spawn(_worker, args=(world, _free_port(), args, out), nprocs=world, join=True)
            step_ms = json.loads(Path(out).read_text())["step_ms"]
            rate = world * args.batch_size / (step_ms / 1e3)
            base = base or rate / world
            result["runs"].append(
                {
                    "processes": world,
                    "step_ms": round(step_ms, 2),
                    "windows_per_s": round(rate, 2),
                    "scaling_efficiency": round(rate / (world * base), 3),
                }
            )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
