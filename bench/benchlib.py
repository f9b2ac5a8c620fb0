"""Helpers shared by the benchmarks: device timing, matmul throughput, memory, FLOP counting."""

from __future__ import annotations

import itertools
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rss_mb() -> float:
    """Current resident set size (from /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process: ``VmHWM`` from /proc, else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except (OSError, ValueError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def matmul_tflops(device: torch.device, dtype: torch.dtype, size: int, seconds: float = 2.0) -> float:
    """Throughput of ``size x size`` matmuls, timed for about ``seconds``."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    sync(device)
    reps, elapsed = 0, 0.0
    start = time.perf_counter()
    while elapsed < seconds or reps < 3:
        a @ b
        reps += 1
        if reps % 4 == 0 or device.type == "cpu":
            sync(device)
            elapsed = time.perf_counter() - start
    sync(device)
    elapsed = time.perf_counter() - start
    return 2 * size**3 * reps / elapsed / 1e12


def matmul_reference(device: torch.device, seconds: float = 2.0) -> dict[str, float]:
    """The device's measured matmul TFLOP/s: fp32 on CPU; bf16 and fp32 (TF32 off) on CUDA."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        out = {
            "bf16": matmul_tflops(device, torch.bfloat16, 8192, seconds),
            "fp32": matmul_tflops(device, torch.float32, 8192, seconds),
        }
        torch.backends.cuda.matmul.allow_tf32 = True
        return out
    return {"fp32": matmul_tflops(device, torch.float32, 2048, seconds)}


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs ``fn`` executes (forward and backward), counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def forward_flops(model: torch.nn.Module, x: torch.Tensor) -> tuple[int, str]:
    """FLOPs of one inference forward ``model(x)``, and what the count covers.

    Convolutions and matmuls are counted by torch's FlopCounterMode; ``nn.LSTM`` layers, which it does
    not see through, are added from their shapes (``2 * 4 * H * (input + H)`` per frame and direction,
    gates' element-wise work left out). FFTs and element-wise operations are not counted.
    """
    from torch.utils.flop_counter import FlopCounterMode

    lstm = 0

    def hook(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: Any) -> None:
        nonlocal lstm
        x = inputs[0]
        frames = x.shape[0] * x.shape[1] if x.ndim == 3 else x.shape[0]
        directions = 2 if module.bidirectional else 1
        size = module.input_size
        for _ in range(module.num_layers):
            lstm += 2 * 4 * module.hidden_size * (size + module.hidden_size) * frames * directions
            size = module.hidden_size * directions

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.LSTM)]
    try:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        for h in handles:
            h.remove()
    counted = {str(op) for op in counter.get_flop_counts().get("Global", {})}
    if any("lstm" in op for op in counted):
        lstm = 0  # a torch that counts LSTMs itself
    note = "convolutions and matmuls (FlopCounterMode)" + (" + LSTM from shapes" if lstm else "")
    return int(counter.get_total_flops()) + lstm, note


def timed(fn: Callable[[], Any], device: torch.device, iters: int, warmup: int) -> float:
    """Seconds per call of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def train_step(trainer: Any, batch: Any) -> None:
    """One training step as the trainer runs it (``Trainer.train_step``), every turn on ``batch``."""
    trainer.train_step(itertools.repeat(batch))


def window_batch(batch: int, window: int, device: torch.device, seed: int = 0) -> dict[str, torch.Tensor]:
    """A speech-enhancement batch of random (noisy, clean) windows on ``device``."""
    g = torch.Generator().manual_seed(seed)
    return {k: (0.1 * torch.randn(batch, 1, window, generator=g)).to(device) for k in ("noisy", "clean")}


def machine(device: torch.device) -> dict[str, Any]:
    info = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
