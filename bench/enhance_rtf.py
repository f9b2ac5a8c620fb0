"""Real-time factor and peak memory of enhancing a long file, beside the machine's matmul throughput.

Writes a synthetic noisy file (default 10 minutes at 16 kHz, written block by block), enhances it with
:meth:`seqgan.enhance.Enhancer.enhance_file` (the streaming path ``seqgan enhance`` uses) and a freshly
initialised generator of a SEGAN preset (the paper model by default; weights do not change the cost),
and prints one JSON object:

* ``rtf``: wall time / audio duration of the whole file path (read, resample, window, generator,
  overlap-add, write), and ``x_realtime`` = 1 / rtf; ``model_only_rtf`` / ``model_only_x_realtime``: the
  same for the generator's forward passes alone, on full batches already on the device;
* ``peak_rss_mb`` (``ru_maxrss``), ``rss_before_enhance_mb`` (model loaded, before enhancing), and on
  CUDA ``cuda_max_memory_allocated_mb``;
* ``matmul_tflops``: timed square matmuls in the same run (fp32; bf16 too on CUDA or with ``--bf16``);
* ``generator_gflop_per_window`` and ``achieved_tflops`` (windows run × FLOPs per window / wall time),
  and ``fraction_of_matmul_*`` = achieved / matmul throughput.

Usage::

    python bench/enhance_rtf.py --minutes 1 --threads 2
    python bench/enhance_rtf.py --device cuda --batch-size 256 --bf16 --compile
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import matmul_tflops, peak_rss_mb, rss_mb, sync  # noqa: E402


def conv_flops(model: nn.Module, window: int) -> int:
    """FLOPs (2 x multiply-accumulates) of the (transposed) 1-D convolutions on one window, from shapes."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        k = module.kernel_size[0]
        per_group_in = module.in_channels // module.groups
        if isinstance(module, nn.ConvTranspose1d):
            total += 2 * inputs[0].shape[-1] * module.in_channels * (module.out_channels // module.groups) * k
        else:
            total += 2 * output.shape[-1] * module.out_channels * per_group_in * k

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.Conv1d | nn.ConvTranspose1d)
    ]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 1, window))
    finally:
        for h in handles:
            h.remove()
    return total


def build_generator(preset: str) -> tuple[nn.Module, int, int]:
    """``(generator, window, flops per window)`` for a SEGAN preset."""
    from seqgan.models import segan

    generator, discriminator = segan.build_segan(preset)
    del discriminator
    window = int(segan.PRESETS[preset].get("window", 16384))
    generator.eval()
    if hasattr(segan, "segan_generator_flops"):
        flops = int(segan.segan_generator_flops(generator, window))
    else:
        flops = conv_flops(generator, window)
    return generator, window, flops


def write_synthetic(path: Path, minutes: float, rate: int, seed: int = 0) -> int:
    """Speech-band tones with amplitude modulation plus white noise, written in 10 s blocks."""
    frames = int(round(minutes * 60 * rate))
    rng = np.random.default_rng(seed)
    block = 10 * rate
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as f:
        for start in range(0, frames, block):
            t = np.arange(start, min(frames, start + block)) / rate
            x = 0.2 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
            x += 0.1 * np.sin(2 * np.pi * 1250 * t) + 0.05 * rng.standard_normal(t.shape)
            f.write(x.astype(np.float32))
    return frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the synthetic file")
    parser.add_argument("--rate", type=int, default=16000, help="sample rate of the synthetic file")
    parser.add_argument("--preset", default="segan", help="SEGAN preset (segan, segan_plus, segan_small)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    parser.add_argument("--matmul-size", type=int, default=None, help="default 2048 (CPU) / 8192 (CUDA)")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (Enhancer(bf16=True))")
    parser.add_argument("--compile", action="store_true", help="torch.compile the generator")
    args = parser.parse_args(argv)

    from seqgan.enhance import Enhancer

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device available", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    generator, window, flops = build_generator(args.preset)
    enhancer = Enhancer(
        generator,
        sample_rate=16000,
        preemphasis=0.95,
        window=window,
        batch_size=args.batch_size,
        device=device,
        bf16=args.bf16,
        compile=args.compile,
    )

    result: dict[str, object] = {
        "benchmark": "enhance_rtf",
        "preset": args.preset,
        "device": str(device),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "bf16": args.bf16,
        "compile": args.compile,
        "window": window,
        "hop": enhancer.hop,
        "minutes": args.minutes,
        "rate": args.rate,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "generator_parameters": sum(p.numel() for p in generator.parameters()),
        "generator_gflop_per_window": flops / 1e9,
    }
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)

    # the generator alone, on full batches (a few passes after a warm-up)
    batch = torch.randn(args.batch_size, 1, window, device=device) * 0.1
    for _ in range(3 if args.compile else 1):  # compilation and cuDNN autotuning happen here
        enhancer.run_batch(batch)
    sync(device)
    reps, start = 0, time.perf_counter()
    while reps < 2 or time.perf_counter() - start < 3.0:
        enhancer.run_batch(batch)
        reps += 1
    sync(device)
    per_window = (time.perf_counter() - start) / (reps * args.batch_size)
    result["model_only_rtf"] = per_window / (enhancer.hop / 16000)  # one window per hop of audio
    result["model_only_x_realtime"] = round(1 / result["model_only_rtf"], 1)

    with tempfile.TemporaryDirectory(prefix="seqgan_bench_") as tmp:
        src, dst = Path(tmp) / "noisy.wav", Path(tmp) / "enhanced.wav"
        frames = write_synthetic(src, args.minutes, args.rate)
        seconds = frames / args.rate
        model_samples = math.ceil(frames * 16000 / args.rate)
        n_windows = (model_samples - 1 + window - enhancer.hop) // enhancer.hop + 1
        result["rss_before_enhance_mb"] = round(rss_mb(), 1)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        enhancer.enhance_file(src, dst)
        sync(device)
        wall = time.perf_counter() - start
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if device.type == "cuda":
        result["cuda_max_memory_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    achieved = n_windows * flops / wall / 1e12
    result.update(
        {
            "audio_seconds": seconds,
            "wall_seconds": round(wall, 2),
            "rtf": wall / seconds,
            "x_realtime": round(seconds / wall, 1),
            "windows": n_windows,
            "achieved_tflops": achieved,
        }
    )

    size = args.matmul_size or (8192 if device.type == "cuda" else 2048)
    dtypes = {"fp32": torch.float32}
    if device.type == "cuda" or args.bf16:
        dtypes["bf16"] = torch.bfloat16
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # a true fp32 figure
    for name, dtype in dtypes.items():
        tflops = matmul_tflops(device, dtype, size)
        result[f"matmul_{name}_tflops"] = tflops
        result[f"fraction_of_matmul_{name}"] = achieved / tflops
    result["matmul_size"] = size
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
