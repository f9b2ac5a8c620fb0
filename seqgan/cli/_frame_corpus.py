"""Options and the run wrapper shared by the frame-corpus commands (bouncing-balls, moving-digits, atari)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

LAYOUT = """\
Output layout:
  OUT/episodes/*.npz                     one compressed episode per file (frames uint8 [T,H,W,C], meta JSON)
  OUT/episodes.scp                       every episode
  OUT/data/{train,dev,test}/episodes.scp the split, each with stats.json
  OUT/.done                              written last; a second run with the same settings does nothing
"""


def add_common_arguments(parser: argparse.ArgumentParser, default_episodes: int | None) -> None:
    """--out, --num-episodes, --seed, --split, --split-seed, --force."""
    parser.add_argument("--out", type=Path, required=True, help="corpus directory to write")
    parser.add_argument(
        "--num-episodes",
        "--episodes",
        dest="num_episodes",
        type=int,
        default=default_episodes,
        help=f"number of episodes (default: {default_episodes if default_episodes else 'all'})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="corpus seed; episode i depends on (seed, i) only"
    )
    parser.add_argument(
        "--split",
        nargs=3,
        default=["0.8", "0.1", "0.1"],
        metavar=("TRAIN", "DEV", "TEST"),
        help="train/dev/test fractions (summing to 1) or episode counts (default: 0.8 0.1 0.1)",
    )
    parser.add_argument(
        "--split-seed", type=int, default=None, help="seed of the split shuffle (default: --seed)"
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate even if OUT holds a corpus made with other settings"
    )


def parse_split(values: list[str]) -> list[float | int]:
    """Three integers are counts; anything else is read as fractions."""
    try:
        if all(v.strip().isdigit() for v in values):
            return [int(v) for v in values]
        return [float(v) for v in values]
    except ValueError as e:
        raise ValueError(f"--split takes three fractions or three counts; got {values}") from e


def run_corpus(
    args: argparse.Namespace,
    command: str,
    prefix: str,
    make_episode: Callable[[int], dict[str, Any]],
    settings: dict[str, Any],
    num_episodes: int,
) -> int:
    """Builds the corpus, shows progress and prints a summary; returns the exit code."""
    from tqdm import tqdm

    from seqgan.data.episodes import EpisodeError
    from seqgan.data.synth.frame_corpus import CorpusError, build_frame_corpus

    bar = tqdm(total=num_episodes, unit="ep", desc=command, disable=not sys.stderr.isatty())
    try:
        summary = build_frame_corpus(
            args.out,
            make_episode,
            num_episodes=num_episodes,
            prefix=prefix,
            settings={"command": command, **settings},
            split_sizes=parse_split(args.split),
            split_seed=args.seed if args.split_seed is None else args.split_seed,
            force=args.force,
            on_episode=lambda i: bar.update(1),
        )
    except (CorpusError, EpisodeError, ValueError, OSError) as e:
        print(f"seqgan data {command}: {e}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    if summary.get("skipped"):
        print(f"{args.out}: already complete (delete {args.out}/.done or pass --force to redo)")
        return 0
    splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
    print(
        f"{args.out}: {num_episodes} episodes, {summary['num_frames']} frames ({splits}); "
        f"{summary['seconds_per_episode'] * 1000:.1f} ms/episode, {summary['frames_per_second']:.0f} frames/s"
    )
    print(f"data directories: {args.out}/data/{{train,dev,test}}")
    return 0
