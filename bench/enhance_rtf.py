"""Real-time factor and peak memory of enhancing a long file, for every enhancer preset or an exported model.

Writes a synthetic noisy file (default 10 minutes at 16 kHz, written block by block), and for each
(model, threads) run enhances it with :meth:`seqgan.enhance.Enhancer.enhance_file` (the streaming path
``seqgan enhance`` uses) in a process of its own, so that its peak memory is the enhancing process's
alone. The model is a freshly initialised generator of a preset (``--preset``: one name, a comma list or
``all`` — the SEGAN, MetricGAN+ and CMGAN presets; weights do not change the cost) or an exported
``.safetensors`` file (``--model``). ``--threads 1,all`` runs each model on one thread and on every core.
Each run prints one JSON object on one line:

* ``rtf``: wall time / audio duration of the whole file path (read, resample, window, generator,
  overlap-add, write), and ``x_realtime`` = 1 / rtf; ``model_only_rtf`` / ``model_only_x_realtime``: the
  same for the generator's forward passes alone, on full batches already on the device;
  ``file_mean_windows_per_pass``: how full the file path's batches were (it runs the generator block by
  block, ``--block-seconds`` of input at a time);
* ``peak_rss_mb`` (the run's process: ``VmHWM``, model loading and enhancing included),
  ``rss_at_start_mb`` (the process with torch imported, before the model: the floor of any run) and
  ``peak_rss_above_start_mb``, ``rss_before_enhance_mb`` (model loaded, before enhancing), and on CUDA
  ``cuda_max_memory_allocated_mb``;
* ``matmul_tflops``: timed square matmuls in the same run (fp32; bf16 too on CUDA or with ``--bf16``);
* ``generator_gflop_per_window`` and ``achieved_tflops`` (windows run x FLOPs per window / wall time),
  and ``fraction_of_matmul_*`` = achieved / matmul throughput.

The paper CMGAN runs at a few hundredths of real time on a CPU: its input is cut to
``--max-seconds-slow`` seconds (``input_capped``, ``requested_minutes`` and ``note`` in its JSON say so),
and its model-only figure runs batches of at most the windows of that input.

Usage::

    python bench/enhance_rtf.py --minutes 1 --threads 2
    python bench/enhance_rtf.py --preset all --threads 1,all --minutes 1
    python bench/enhance_rtf.py --model exp/model.safetensors --minutes 60 --threads 1
    python bench/enhance_rtf.py --device cuda --batch-size 256 --bf16 --compile
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import forward_flops, matmul_tflops, peak_rss_mb, rss_mb, sync  # noqa: E402

SLOW_PRESETS = ("cmgan",)  # far below real time on a CPU: their input is capped (--max-seconds-slow)


def preset_names() -> list[str]:
    """Every enhancer preset: SEGAN, then MetricGAN+, then CMGAN (each family's own order)."""
    from seqgan.models import cmgan, metricgan, segan

    # the 16 kHz presets: the benchmark runs every model at 16 kHz (the _48k ones are full band)
    full_band = {p for p, spec in metricgan.PRESETS.items() if spec.get("sample_rate", 16000) != 16000}
    return [*segan.PRESETS, *(p for p in metricgan.PRESETS if p not in full_band), *cmgan.PRESETS]


def build_generator(preset: str) -> tuple[nn.Module, int, float]:
    """``(generator in eval mode, window, pre-emphasis)`` of a preset of any enhancer family."""
    from seqgan.models import cmgan, metricgan, segan

    if preset in segan.PRESETS:
        generator = segan.build_segan(preset)[0]
        return generator.eval(), int(segan.PRESETS[preset].get("window", 16384)), 0.95
    for family, build in ((metricgan, metricgan.build_metricgan), (cmgan, cmgan.build_cmgan)):
        if preset in family.PRESETS:
            generator = build(preset)[0]
            return generator.eval(), int(family.PRESETS[preset]["window"]), 0.0
    raise SystemExit(
        f"enhance_rtf.py: unknown --preset '{preset}'; choose from: all, {', '.join(preset_names())}"
    )


def generator_flops(generator: nn.Module, window: int) -> tuple[int, str]:
    """FLOPs of one forward on one window: SEGAN's analytic count, else counted (see ``forward_flops``)."""
    from seqgan.models import segan

    if isinstance(generator, segan.SEGANGenerator):
        return int(segan.segan_generator_flops(generator, window)), "convolutions (analytic)"
    device = next(generator.parameters()).device
    return forward_flops(generator, torch.zeros(1, 1, window, device=device))


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


def parse_threads(text: str) -> list[int]:
    """``"1,all"`` -> ``[1, cores]``; ``"2"`` -> ``[2]`` (``all``: the cores this process may run on)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        n = cores if part == "all" else int(part) if part.isdigit() else 0
        if n < 1:
            raise argparse.ArgumentTypeError(f"--threads: '{part}' is not a positive count or 'all'")
        if n not in out:
            out.append(n)
    return out


def parse_presets(text: str) -> list[str]:
    """``"all"`` or a comma list of preset names, checked."""
    names = preset_names()
    chosen = names if text == "all" else [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in names]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"--preset: unknown {', '.join(unknown) or 'empty list'}; choose from: all, {', '.join(names)}"
        )
    return chosen


@dataclass
class Run:
    """One measurement: a model (``preset`` or ``model`` file) at ``threads`` on a written ``wav``."""

    wav: str
    minutes: float  # of the written file
    requested_minutes: float
    rate: int
    threads: int
    device: str = "cpu"
    preset: str = ""
    model: str = ""
    batch_size: int = 8
    bf16: bool = False
    compile: bool = False
    matmul_size: int | None = None
    matmul_seconds: float = 2.0
    model_seconds: float = 3.0
    block_seconds: float | None = None  # None: the Enhancer's default
    window: int | None = None  # None: the model's trained window
    hop: int | None = None  # None: half the window
    capped: bool = False


def input_minutes(preset: str, minutes: float, max_seconds_slow: float) -> tuple[float, bool]:
    """``(minutes of input, capped)``: a slow preset's input is cut to ``max_seconds_slow`` (0: never)."""
    if preset in SLOW_PRESETS and 0 < max_seconds_slow < minutes * 60:
        return max_seconds_slow / 60, True
    return minutes, False


def _load(run: Run, device: torch.device) -> tuple[Any, dict[str, Any]]:
    """The :class:`Enhancer` of the run and the facts about its model."""
    from seqgan.enhance import Enhancer

    options: dict[str, Any] = {"batch_size": run.batch_size, "bf16": run.bf16, "compile": run.compile}
    if run.block_seconds:
        options["block_seconds"] = run.block_seconds
    if run.hop:
        options["hop"] = run.hop
    if run.model:
        if run.window:
            options["window"] = run.window
        enhancer = Enhancer.from_pretrained(run.model, device=device, **options)
        about = {"preset": enhancer.metadata.get("preset") or Path(run.model).stem, "model": run.model}
        about["architecture"] = enhancer.metadata.get("architecture")
    else:
        generator, window, coef = build_generator(run.preset)
        window = run.window or window
        enhancer = Enhancer(generator, 16000, preemphasis=coef, window=window, device=device, **options)
        about = {"preset": run.preset, "architecture": type(generator).__name__}
    about["generator_parameters"] = sum(p.numel() for p in enhancer.generator.parameters())
    return enhancer, about


def measure(run: Run) -> dict[str, Any]:
    """Times one run in this process (``torch`` threads set to ``run.threads``); returns its JSON object."""
    torch.set_num_threads(run.threads)
    device = torch.device(run.device)
    torch.manual_seed(0)
    rss_start = rss_mb()  # torch imported: the floor of any enhancing process
    enhancer, about = _load(run, device)
    window, hop = enhancer.window, enhancer.hop
    frames = sf.info(run.wav).frames
    seconds = frames / run.rate
    model_samples = math.ceil(frames * enhancer.sample_rate / run.rate)
    n_windows = (model_samples - 1 + window - hop) // hop + 1
    result: dict[str, Any] = {
        "benchmark": "enhance_rtf",
        "preset": about.pop("preset"),
        "device": str(device),
        "threads": run.threads,
        "batch_size": run.batch_size,
        "bf16": run.bf16,
        "compile": run.compile,
        "window": window,
        "hop": hop,
        "minutes": run.minutes,
        "rate": run.rate,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        **about,
    }
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)
    if run.capped:
        result |= {
            "input_capped": True,
            "requested_minutes": run.requested_minutes,
            "note": f"{result['preset']} is slow on this device: input cut to {seconds:g} s (--max-seconds-slow)",
        }
    # full batches of the model-only figure (at most the file's windows when the input is capped)
    model_batch = min(run.batch_size, n_windows) if run.capped else run.batch_size
    batch = torch.randn(model_batch, 1, window, device=device) * 0.1
    # warm-up: compilation and cuDNN autotuning see the real batch shape; a CPU needs one window only
    warm = batch if run.compile or device.type == "cuda" else batch[:1]
    for _ in range(3 if run.compile else 1):
        enhancer.run_batch(warm)
    sync(device)

    with tempfile.TemporaryDirectory(prefix="seqgan_bench_") as tmp:
        result["rss_before_enhance_mb"] = round(rss_mb(), 1)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        passes: list[int] = []  # windows per generator pass: the file's blocks may not fill a batch
        # (not counted when compiled: a hook added after compilation would make it compile again)
        count = None if run.compile else lambda module, inputs: passes.append(len(inputs[0]))
        hook = enhancer.generator.register_forward_pre_hook(count) if count else None
        try:
            start = time.perf_counter()
            enhancer.enhance_file(run.wav, Path(tmp) / "enhanced.wav")
            sync(device)
            wall = time.perf_counter() - start
        finally:
            if hook is not None:
                hook.remove()
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["rss_at_start_mb"] = round(rss_start, 1)
    result["peak_rss_above_start_mb"] = round(result["peak_rss_mb"] - rss_start, 1)
    flops, result["flops_counted"] = generator_flops(enhancer.generator, window)  # after the peak
    result["generator_gflop_per_window"] = flops / 1e9
    if device.type == "cuda":
        result["cuda_max_memory_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    achieved = n_windows * flops / wall / 1e12
    result |= {
        "audio_seconds": seconds,
        "wall_seconds": round(wall, 2),
        "rtf": wall / seconds,
        "x_realtime": round(seconds / wall, 2),
        "windows": n_windows,
        "block_seconds": enhancer.block_seconds,
        "file_mean_windows_per_pass": round(sum(passes) / len(passes), 1) if passes else None,
        "achieved_tflops": achieved,
    }

    # the generator alone, on full batches already on the device
    reps, start = 0, time.perf_counter()
    while reps < (1 if run.capped else 2) or time.perf_counter() - start < run.model_seconds:
        enhancer.run_batch(batch)
        reps += 1
        sync(device)
    per_window = (time.perf_counter() - start) / (reps * model_batch)
    result["model_only_batch"] = model_batch
    result["model_only_rtf"] = per_window / (hop / enhancer.sample_rate)  # one window per hop of audio
    result["model_only_x_realtime"] = round(1 / result["model_only_rtf"], 2)

    size = run.matmul_size or (8192 if device.type == "cuda" else 2048)
    dtypes = {"fp32": torch.float32}
    if device.type == "cuda" or run.bf16:
        dtypes["bf16"] = torch.bfloat16
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # a true fp32 figure
    for name, dtype in dtypes.items():
        tflops = matmul_tflops(device, dtype, size, run.matmul_seconds)
        result[f"matmul_{name}_tflops"] = tflops
        result[f"fraction_of_matmul_{name}"] = achieved / tflops
    result["matmul_size"] = size
    return result


def _in_child(run: Run) -> dict[str, Any]:
    """:func:`measure` in a fresh process (its own peak RSS, its own thread pools)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(run.threads), MKL_NUM_THREADS=str(run.threads))
    argv = [sys.executable, str(Path(__file__).resolve()), "--run-one", json.dumps(asdict(run))]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode == 0 and lines:
        return json.loads(lines[-1])
    return {
        "benchmark": "enhance_rtf",
        "preset": run.preset or run.model,
        "threads": run.threads,
        "error": f"exit status {proc.returncode}: {proc.stderr.strip()[-1500:]}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the synthetic file")
    parser.add_argument("--rate", type=int, default=16000, help="sample rate of the synthetic file")
    parser.add_argument(
        "--preset", type=parse_presets, default=["segan"], help="a preset, a comma list, or 'all'"
    )
    parser.add_argument("--model", type=Path, default=None, help="an exported .safetensors model instead")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--threads", type=parse_threads, default=[2], help="torch CPU threads: N, 'all', or a list '1,all'"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    parser.add_argument("--matmul-size", type=int, default=None, help="default 2048 (CPU) / 8192 (CUDA)")
    parser.add_argument("--matmul-seconds", type=float, default=2.0, help="seconds per matmul figure")
    parser.add_argument("--model-seconds", type=float, default=3.0, help="seconds of model-only passes")
    parser.add_argument(
        "--max-seconds-slow",
        type=float,
        default=4.0,
        help=f"cap the input of {', '.join(SLOW_PRESETS)} to this many seconds (0: no cap)",
    )
    parser.add_argument(
        "--block-seconds", type=float, default=None, help="Enhancer(block_seconds=...): input per block"
    )
    parser.add_argument(
        "--window", type=int, default=None, help="Enhancer window in model samples (default: the trained one)"
    )
    parser.add_argument(
        "--hop", type=int, default=None, help="Enhancer hop in model samples (default: window / 2)"
    )
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (Enhancer(bf16=True))")
    parser.add_argument("--compile", action="store_true", help="torch.compile the generator")
    parser.add_argument(
        "--in-process", action="store_true", help="measure in this process (peak RSS then includes the rest)"
    )
    parser.add_argument("--run-one", default=None, help=argparse.SUPPRESS)  # a child's Run, as JSON
    args = parser.parse_args(argv)

    if args.run_one is not None:
        print(json.dumps(measure(Run(**json.loads(args.run_one)))), flush=True)
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device available", file=sys.stderr)
        return 2
    if args.model is not None and not args.model.is_file():
        print(
            f"enhance_rtf.py: --model {args.model} is not a file; pass an exported .safetensors",
            file=sys.stderr,
        )
        return 2
    models = [("", str(args.model.resolve()))] if args.model else [(p, "") for p in args.preset]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="seqgan_bench_in_") as tmp:
        files: dict[float, str] = {}
        for preset, model in models:
            minutes, capped = input_minutes(preset, args.minutes, args.max_seconds_slow)
            if minutes not in files:
                files[minutes] = str(Path(tmp) / f"noisy_{len(files)}.wav")
                write_synthetic(Path(files[minutes]), minutes, args.rate)
            for threads in args.threads:
                run = Run(
                    wav=files[minutes],
                    minutes=minutes,
                    requested_minutes=args.minutes,
                    rate=args.rate,
                    threads=threads,
                    device=args.device,
                    preset=preset,
                    model=model,
                    batch_size=args.batch_size,
                    bf16=args.bf16,
                    compile=args.compile,
                    matmul_size=args.matmul_size,
                    matmul_seconds=args.matmul_seconds,
                    model_seconds=args.model_seconds,
                    block_seconds=args.block_seconds,
                    window=args.window,
                    hop=args.hop,
                    capped=capped,
                )
                result = measure(run) if args.in_process else _in_child(run)
                failed += "error" in result
                print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
