"""`seqgan predict`: roll a next-frame model out on recorded episodes."""

from __future__ import annotations

import argparse
import sys

HELP = "predict future frames of episodes with a next-frame model (npz + GIF + PNG per episode)"

DESCRIPTION = """\
Rolls a next-frame model out on episodes: from K context frames starting at --start it predicts --steps
frames, feeding each prediction back as context. For every episode it writes, under OUTDIR:

  <id>.npz   prediction (uint8, steps x H x W x C), ground_truth (the frames that exist after the
             context), context, actions used, start, psnr (dB per step with ground truth, uint8 range,
             capped at --psnr-cap)
  <id>.gif   ground truth (left) and prediction (right), context frames first
  <id>.png   a strip: ground truth on top, prediction below

Action-conditioned models take the episode's recorded actions (--actions recorded, the default) or a
file of integers, one per predicted step (.npy or whitespace/comma separated text): the action leading
to each predicted frame. A broken episode is reported and skipped; the exit code is then 1.

examples:
  seqgan predict -m exp/model.safetensors --episodes data/test/episodes.scp --steps 20 -o exp/rollouts
  seqgan predict -m exp/train_tiny --episode ep0007.npz --start 10 --steps 8 --actions plan.txt -o out
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-m",
        "--model",
        required=True,
        help="exported model (.safetensors) or training checkpoint / experiment folder",
    )
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--episodes", metavar="SCP", help="episodes.scp listing '<id> <file.npz>' lines")
    src.add_argument("--episode", metavar="FILE", nargs="+", help="episode .npz file(s); id = file name stem")
    parser.add_argument("-o", "--out-dir", required=True, help="output folder (created)")
    parser.add_argument(
        "--context", type=int, default=None, help="context frames K (default: the model's; must match it)"
    )
    parser.add_argument("--steps", type=int, default=10, help="frames to predict (default: 10)")
    parser.add_argument(
        "--start", type=int, default=0, help="first context frame in each episode (default: 0)"
    )
    parser.add_argument(
        "--actions",
        default="recorded",
        help="'recorded' (default) or a file of actions, one per predicted step",
    )
    parser.add_argument("--max-episodes", type=int, default=0, help="stop after this many episodes (0: all)")
    parser.add_argument("--fps", type=float, default=4.0, help="GIF frame rate (default: 4)")
    parser.add_argument(
        "--psnr-cap",
        type=float,
        default=100.0,
        help="per-step PSNR is capped at this many dB (identical frames); 0: no cap (default: 100)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")


def _fail(message: str) -> int:
    print(f"seqgan predict: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from seqgan.data.episodes import EpisodeError
    from seqgan.export import ModelFileError
    from seqgan.predict import Predictor, collect_episodes, read_action_file

    if args.steps < 1:
        return _fail(f"--steps must be >= 1, got {args.steps}")
    if args.start < 0:
        return _fail(f"--start must be >= 0, got {args.start}")
    try:
        predictor = Predictor.from_pretrained(args.model, device=args.device)
    except (ModelFileError, OSError, RuntimeError) as e:
        return _fail(str(e))
    k = predictor.context
    if args.context is not None and args.context != k:
        return _fail(f"--context {args.context}: the model was trained with {k} context frames")

    plan = None
    if args.actions != "recorded":
        if predictor.num_actions == 0:
            print("seqgan predict: the model is not action-conditioned; ignoring --actions", file=sys.stderr)
        else:
            try:
                plan = read_action_file(args.actions)
            except ValueError as e:
                return _fail(str(e))
            if len(plan) < args.steps:
                return _fail(f"{args.actions}: {len(plan)} actions for {args.steps} steps; give one per step")

    try:
        entries = collect_episodes(args.episodes, args.episode or (), args.max_episodes)
    except EpisodeError as e:
        return _fail(str(e))

    def show(outcome) -> None:
        if outcome.error is not None:
            print(f"seqgan predict: {outcome.name}: {outcome.error}", file=sys.stderr)
            return
        psnr = outcome.psnr
        summary = f"PSNR {psnr.mean():.2f} dB over {len(psnr)} step(s)" if len(psnr) else "no ground truth"
        print(f"{outcome.name}: {args.steps} frames predicted from frame {args.start + k}; {summary}")

    report = predictor.predict_paths(
        entries,
        args.out_dir,
        steps=args.steps,
        start=args.start,
        actions=plan,
        fps=args.fps,
        psnr_cap=args.psnr_cap or None,
        progress=show,
    )
    print(report.summary())
    return 1 if report.failed else 0
