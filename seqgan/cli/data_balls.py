"""`seqgan data bouncing-balls`: the bouncing-balls corpus (Sutskever et al. 2008 setting by default)."""

from __future__ import annotations

import argparse
import sys

from seqgan.cli._frame_corpus import LAYOUT, add_common_arguments, run_corpus

HELP = "generate bouncing-balls videos (30x30, 3 balls, 100 frames by default)"
DESCRIPTION = f"""\
Bouncing balls: soft discs moving at constant speed in a square box, colliding elastically with the
walls and with each other. Defaults follow Sutskever et al. 2008 (30x30 grayscale, 3 balls, 100 frames).
Deterministic: episode i depends only on --seed and i.

Example:
  seqgan data bouncing-balls --out corpora/balls --num-episodes 1000

{LAYOUT}"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, default_episodes=1000)
    g = parser.add_argument_group("bouncing balls")
    g.add_argument("--size", type=int, default=30, help="frame side in pixels (default: 30)")
    g.add_argument("--num-balls", type=int, default=3, help="balls per video (default: 3)")
    g.add_argument("--num-frames", type=int, default=100, help="frames per video (default: 100)")
    g.add_argument(
        "--radius", type=float, default=1.2, help="ball radius in box units, box = 10 (default: 1.2)"
    )
    g.add_argument("--speed", type=float, default=0.5, help="box units per frame (default: 0.5)")


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from seqgan.data.synth.balls import BallsConfig, bouncing_balls_episode

    cfg = BallsConfig(
        size=args.size,
        num_balls=args.num_balls,
        num_frames=args.num_frames,
        radius=args.radius,
        speed=args.speed,
    )
    try:
        cfg.check()
    except ValueError as e:
        print(f"seqgan data bouncing-balls: {e}", file=sys.stderr)
        return 2
    return run_corpus(
        args,
        "bouncing-balls",
        "balls",
        lambda i: bouncing_balls_episode(cfg, args.seed, i),
        {"params": asdict(cfg), "seed": args.seed},
        args.num_episodes,
    )
