"""Streaming enhancement with a causal model: per-chunk processing time, real-time factor, latency.

Pushes ``--seconds`` of noise through :class:`seqgan.streaming.StreamingEnhancer` in chunks of each
``--chunks-ms`` size (10, 20, 40 ms by default) on ``--threads`` torch threads (1: the live use case)
and prints one JSON object:

* ``algorithmic_latency_ms``: the model's frame (``n_fft`` samples at its rate; 32 ms for the
  ``metricgan_causal*`` presets at 16 kHz);
* per chunk size: ``process_ms`` (``mean``, ``p50``, ``p95``, ``max`` of the time one ``push`` takes;
  with chunks shorter than the 16 ms hop some pushes run no frame), ``rtf`` (processing time / audio
  time, on one thread: under 1 is real time), ``cpu_ms`` / ``rtf_cpu`` the same in CPU time of the
  thread (what the chunk costs where other jobs share the cores), and ``end_to_end_latency_ms`` = algorithmic latency +
  chunk + the p95 processing time (what a live loop adds on top of the sound device's own latency).

Weights are random (the time does not depend on them) unless ``--model`` names an exported file.

    OMP_NUM_THREADS=1 python bench/stream_latency.py
    python bench/stream_latency.py --preset metricgan_causal --chunks-ms 10,20,40 --seconds 20
    python bench/stream_latency.py --model exp/train_causal_small/model.safetensors --rate 48000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine  # noqa: E402


def parse_chunks(text: str) -> list[float]:
    """``"10,20,40"`` -> ``[10.0, 20.0, 40.0]`` (milliseconds, each > 0)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated milliseconds, got '{text}'") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"chunk sizes must be positive milliseconds, got '{text}'")
    return values


def build_enhancer(preset: str, model: str | None):
    """An :class:`~seqgan.enhance.Enhancer` on the CPU of an exported model or of a preset (random weights)."""
    from seqgan.enhance import Enhancer
    from seqgan.models.causal import build_causal_metricgan

    if model:
        return Enhancer.from_pretrained(model, device="cpu")
    torch.manual_seed(0)
    generator = build_causal_metricgan(preset)[0]
    return Enhancer(generator, 16000, preemphasis=0.0, window=16000, device="cpu")


def measure(enhancer, rate: int, chunk_ms: float, seconds: float, seed: int = 0) -> dict:
    """Times every ``push`` of ``seconds`` of noise in ``chunk_ms`` chunks; the figures of one chunk size."""
    from seqgan.streaming import StreamingEnhancer

    chunk = max(1, round(chunk_ms * rate / 1000))
    x = (np.random.default_rng(seed).standard_normal((round(seconds * rate), 1)) * 0.1).astype(np.float32)
    engine = StreamingEnhancer(enhancer, rate, 1)
    for i in range(0, 20 * chunk, chunk):  # warm-up (first calls allocate)
        engine.push(x[i : i + chunk])
    engine = StreamingEnhancer(enhancer, rate, 1)
    times, cpu = [], []
    for i in range(0, x.shape[0] - chunk + 1, chunk):
        t0, c0 = time.perf_counter(), time.thread_time()
        engine.push(x[i : i + chunk])
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    t, c = np.array(times) * 1000.0, np.array(cpu) * 1000.0
    audio_ms = len(times) * chunk * 1000.0 / rate
    algorithmic = 1000.0 * engine.latency_seconds
    return {
        "chunk_ms": 1000.0 * chunk / rate,
        "chunk_samples": chunk,
        "chunks": len(times),
        "process_ms": {
            "mean": float(t.mean()),
            "p50": float(np.percentile(t, 50)),
            "p95": float(np.percentile(t, 95)),
            "max": float(t.max()),
        },
        "cpu_ms": {"mean": float(c.mean()), "p95": float(np.percentile(c, 95)), "max": float(c.max())},
        "rtf": float(t.sum() / audio_ms),
        "rtf_cpu": float(c.sum() / audio_ms),
        "end_to_end_latency_ms": algorithmic + 1000.0 * chunk / rate + float(np.percentile(t, 95)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="metricgan_causal_small", help="a causal preset (random weights)")
    parser.add_argument("--model", default=None, help="an exported causal model instead of --preset")
    parser.add_argument("--chunks-ms", type=parse_chunks, default=[10.0, 20.0, 40.0], help="default 10,20,40")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per chunk size (default 10)")
    parser.add_argument("--rate", type=int, default=16000, help="rate of the pushed audio (default 16000)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    enhancer = build_enhancer(args.preset, args.model)
    from seqgan.models import count_parameters

    result = {
        "benchmark": "stream_latency",
        "model": args.model or args.preset,
        "backend": enhancer.backend,
        # an ONNX graph's weights are initializers, not module parameters
        "parameters": count_parameters(enhancer.generator) if enhancer.backend == "torch" else None,
        "model_rate": enhancer.sample_rate,
        "rate": args.rate,
        "threads": torch.get_num_threads(),
        "algorithmic_latency_ms": 1000.0 * enhancer.generator.latency / enhancer.sample_rate,
        "chunks": [measure(enhancer, args.rate, ms, args.seconds) for ms in args.chunks_ms],
        "machine": machine(torch.device("cpu")),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
