"""`seqgan predict`: roll a next-frame model out on recorded episodes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "predict future frames of episodes with a next-frame model (npz + GIF + PNG per episode)"

DESCRIPTION = """\
Rolls a next-frame model out on episodes: from K context frames starting at --start it predicts --steps
frames, feeding each prediction back as context. For every episode it writes, under OUTDIR:

  <id>.npz   prediction (uint8, steps x H x W x C), ground_truth (the frames that exist after the
             context), context, actions used, start, psnr (dB per step with ground truth, uint8 range)
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
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")


def _fail(message: str) -> int:
    print(f"seqgan predict: error: {message}", file=sys.stderr)
    return 2


def _read_action_file(path: str):  # -> np.ndarray
    import numpy as np

    p = Path(path)
    try:
        if p.suffix == ".npy":
            actions = np.load(p, allow_pickle=False)
        else:
            text = p.read_text(encoding="utf-8").replace(",", " ").split()
            actions = np.array([int(t) for t in text], dtype=np.int64)
    except FileNotFoundError:
        raise ValueError(f"{p}: no such action file") from None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{p}: not a list of integer actions ({e})") from None
    if actions.ndim != 1 or not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(f"{p}: expected a 1-D array of integer actions, got {actions.dtype} {actions.shape}")
    return actions.astype(np.int64)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from seqgan.data.episodes import EpisodeError, read_episode, read_episodes_scp
    from seqgan.export import ModelFileError
    from seqgan.predict import Predictor, write_prediction

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
                plan = _read_action_file(args.actions)
            except ValueError as e:
                return _fail(str(e))
            if len(plan) < args.steps:
                return _fail(f"{args.actions}: {len(plan)} actions for {args.steps} steps; give one per step")

    try:
        if args.episodes:
            entries = read_episodes_scp(args.episodes)
        else:
            entries = {}
            for f in args.episode:
                if Path(f).stem in entries:
                    return _fail(
                        f"two episode files share the id '{Path(f).stem}': {entries[Path(f).stem]} and {f}"
                    )
                entries[Path(f).stem] = f
    except EpisodeError as e:
        return _fail(str(e))
    if args.max_episodes > 0:
        entries = dict(list(entries.items())[: args.max_episodes])
    if not entries:
        return _fail("no episodes to predict")

    out_dir = Path(args.out_dir)
    inputs = {Path(p).resolve() for p in entries.values()}
    failed = 0
    for name, path in entries.items():
        target = (out_dir / f"{name}.npz").resolve()
        if target in inputs:
            print(
                f"seqgan predict: {name}: the output {target} would overwrite an input episode; "
                "choose another --out-dir",
                file=sys.stderr,
            )
            failed += 1
            continue
        try:
            episode = read_episode(path)
            actions = None
            if predictor.num_actions > 0:
                if plan is not None:
                    actions = np.zeros(args.start + k + args.steps - 1, np.int64)
                    actions[args.start + k - 1 :] = plan[: args.steps]
                elif episode.actions is None:
                    raise ValueError(
                        "the model is action-conditioned but the episode has no recorded actions; "
                        "give --actions FILE"
                    )
                else:
                    actions = episode.actions
                    used = actions[args.start + k - 1 : args.start + k - 1 + args.steps]
                    missing = np.flatnonzero(used < 0)
                    have = int(missing[0]) if missing.size else len(used)
                    if have < args.steps:
                        raise ValueError(
                            f"the recorded actions cover {have} step(s) after the context; "
                            f"use --steps {max(have, 1)}, an earlier --start or --actions FILE"
                        )
            result = predictor.predict_episode(episode.frames, args.steps, actions, start=args.start)
            truth, pred = result["truth"].astype(np.float64), result["prediction"][: len(result["truth"])]
            mse = ((pred.astype(np.float64) - truth) ** 2).reshape(len(truth), -1).mean(1)
            psnr = (10 * np.log10(255.0**2 / np.maximum(mse, 1e-10))).astype(np.float32)
            write_prediction(
                out_dir, name, result, fps=args.fps, extra={"start": np.array(args.start), "psnr": psnr}
            )
        except (EpisodeError, ValueError, OSError) as e:
            print(f"seqgan predict: {name}: {e}", file=sys.stderr)
            failed += 1
            continue
        summary = f"PSNR {psnr.mean():.2f} dB over {len(psnr)} step(s)" if len(psnr) else "no ground truth"
        print(f"{name}: {args.steps} frames predicted from frame {args.start + k}; {summary}")
    done = len(entries) - failed
    print(f"wrote {done} of {len(entries)} episode(s) to {out_dir}")
    return 1 if failed else 0
