"""Frames per second of ``seqgan play``: the dream alone, with the real game beside it, and the window loop.

Plays ``--steps`` steps of a scripted session (the paddle up and down, firing now and then) with the
shipped world model (or ``--model``) and prints one JSON object:

``dream_fps``    model steps per second (:meth:`seqgan.play.Dream.step`: one prediction fed back)
``compare_fps``  steps of a ``--compare`` session: the dream, the emulator and the composed image
``window_fps``   the whole window loop (events, keys, the session, drawing), unthrottled, through SDL's
                 dummy video driver; ``null`` when pygame-ce is not installed

and the same per second of this process's CPU time (``*_cpu_fps``: what one core would give the
process to itself, on a busy machine too), beside ``threads``, ``device``, the frame geometry, the model's parameter count, the CPU and the load
average at the start (the figures are only comparable on an idle machine). ``seqgan play`` needs 15.

Usage::

    OMP_NUM_THREADS=1 python bench/play_fps.py                 # one CPU core, the shipped Pong model
    python bench/play_fps.py --model exp/model.safetensors --game pong --steps 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

import torch


def _script(n: int, num_actions: int) -> list[int]:
    """Runs of 8 steps cycling through the actions."""
    return [(i // 8) % num_actions for i in range(n)]


def _rate(step, actions: list[int], warmup: int = 5) -> tuple[float, float]:
    """Steps per second of wall time and of this process's CPU time."""
    for a in actions[:warmup]:
        step(a)
    wall, cpu = time.perf_counter(), time.process_time()
    for a in actions:
        step(a)
    return len(actions) / (time.perf_counter() - wall), len(actions) / (time.process_time() - cpu)


def measure(model: str | None, game: str | None, steps: int, device: str, threads: int) -> dict[str, Any]:
    from seqgan.play import Dream, Emulator, KeyMap, Session, resolve_spec, start_frames
    from seqgan.predict import Predictor

    torch.set_num_threads(threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    predictor = Predictor.from_pretrained(model, device=device)
    spec = resolve_spec(predictor.metadata, game)
    emulator = Emulator(spec)
    frames, acts = start_frames(predictor.context, emulator=emulator)
    actions = _script(steps, spec.num_actions)

    dream = Dream(predictor, frames, acts)
    dream_fps = _rate(dream.step, actions)
    session = Session(Dream(predictor, frames, acts), emulator, real=frames[-1])
    compare_fps = _rate(session.step, actions)

    window_fps = window_cpu_fps = None
    try:
        import pygame  # noqa: F401
    except ImportError:
        pass
    else:
        from seqgan.play_window import run_window

        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        session = Session(Dream(predictor, frames, acts), emulator, real=frames[-1])
        cpu = time.process_time()
        window_fps = run_window(session, KeyMap(spec), fps=0, actions=actions)["fps"]
        window_cpu_fps = len(actions) / (time.process_time() - cpu)
    return {
        "model": str(model or "pretrained default"),
        "game": spec.game,
        "frame": [*spec.size, 1 if spec.grayscale else 3],
        "context": predictor.context,
        "parameters": sum(p.numel() for p in predictor.generator.parameters()),
        "device": device,
        "threads": torch.get_num_threads(),
        "steps": steps,
        "dream_fps": round(dream_fps[0], 1),
        "compare_fps": round(compare_fps[0], 1),
        "window_fps": None if window_fps is None else round(window_fps, 1),
        "dream_cpu_fps": round(dream_fps[1], 1),
        "compare_cpu_fps": round(compare_fps[1], 1),
        "window_cpu_fps": None if window_cpu_fps is None else round(window_cpu_fps, 1),
        "target_fps": 15,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": load,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="an exported world model (default: the shipped one)")
    parser.add_argument("--game", default=None, help="the game, when the model does not store it")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per measurement (default: 300)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = parser.parse_args(argv)
    previous = torch.get_num_threads()
    try:
        print(json.dumps(measure(args.model, args.game, args.steps, args.device, args.threads), indent=2))
    finally:
        torch.set_num_threads(previous)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
