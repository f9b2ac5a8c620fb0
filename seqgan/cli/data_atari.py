"""`seqgan data atari`: record Atari game play with actions through ale-py (its wheel ships the ROMs)."""

from __future__ import annotations

import argparse

from seqgan._optional import require
from seqgan.cli._frame_corpus import LAYOUT, add_common_arguments, run_corpus

HELP = "record Atari game play (frames, actions, rewards) through ale-py"
DESCRIPTION = f"""\
Records episodes of an Atari game played by a random policy through the bare ale_py.ALEInterface. The
ROMs come with the ale-py wheel; nothing is downloaded. Each episode runs a fresh emulator seeded from
(--seed, episode number): recordings are deterministic. Per step the action is repeated --frameskip
times and the last emulator frame is kept (like gymnasium's ALE/<Game>-v5); sticky actions are the
emulator's repeat_action_probability. Actions are indices into the game's minimal action set; their
names are stored in each episode's metadata. actions[t] is chosen after frame t and leads to t+1.

Examples:
  seqgan data atari --out corpora/pong --game Pong --num-episodes 20 --max-frames 2000 --resize 84 84
  seqgan data atari --out corpora/breakout --game Breakout --policy sticky --repeat-prob 0.75

{LAYOUT}"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, default_episodes=10)
    g = parser.add_argument_group("atari")
    g.add_argument(
        "--game", default="Pong", help="game name: Pong, SpaceInvaders, breakout, ... (default: Pong)"
    )
    g.add_argument(
        "--policy",
        choices=["random", "sticky"],
        default="random",
        help="random: uniform each step; sticky: repeat the previous action with --repeat-prob",
    )
    g.add_argument("--repeat-prob", type=float, default=0.75, help="sticky policy repeat probability (0.75)")
    g.add_argument("--frameskip", type=int, default=4, help="emulator frames per step (default: 4)")
    g.add_argument(
        "--sticky-actions",
        type=float,
        default=0.25,
        help="emulator repeat_action_probability (default: 0.25, as ALE v5)",
    )
    g.add_argument("--max-frames", type=int, default=1000, help="recorded frames per episode at most (1000)")
    g.add_argument("--resize", type=int, nargs=2, metavar=("H", "W"), help="resize frames (after cropping)")
    g.add_argument("--grayscale", action="store_true", help="record one luma channel (BT.601)")
    g.add_argument(
        "--crop",
        type=int,
        nargs=4,
        default=[0, 0, 0, 0],
        metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"),
        help="rows / columns to remove from each side of the 210x160 screen",
    )
    g.add_argument(
        "--branches",
        action="store_true",
        help="also record the frames every action leads to from every state (emulator branches; "
        "a training target that shows the effect of every action, data.branch_prob)",
    )
    g.add_argument(
        "--branch-steps", type=int, default=1, help="with --branches: steps each action is held for (1)"
    )
    g.add_argument(
        "--list-games", action="store_true", help="print the games the installed ale-py ships and exit"
    )


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from seqgan.data.synth import atari as A

    if args.list_games:
        print(" ".join(A.available_games()))
        return 0
    try:
        cfg = A.AtariConfig(
            game=A.rom_id(args.game),
            frameskip=args.frameskip,
            sticky_actions=args.sticky_actions,
            policy=args.policy,
            repeat_prob=args.repeat_prob,
            max_frames=args.max_frames,
            grayscale=args.grayscale,
            resize=tuple(args.resize) if args.resize else None,
            crop=tuple(args.crop),
            branches=args.branches,
            branch_steps=args.branch_steps,
        )
        cfg.check()
    except ValueError as e:
        print(f"seqgan data atari: {e}")
        return 2
    ale_py = require("ale_py", "frames")

    params = asdict(cfg)
    if not cfg.branches:  # the settings of corpora recorded before branches existed
        del params["branches"], params["branch_steps"]
    settings = {"params": params, "seed": args.seed, "ale_py": ale_py.__version__}
    return run_corpus(
        args,
        "atari",
        cfg.game,
        lambda i: A.record_atari_episode(cfg, args.seed, i),
        settings,
        args.num_episodes,
    )
