"""`seqgan play`: play inside a learned game (a world model fed its own predictions)."""

from __future__ import annotations

import argparse
import sys

HELP = "play inside a learned game: the keyboard picks the action, the world model draws the next frame"

DESCRIPTION = """\
Opens a window (pygame-ce: pip install 'seqgan[play]') where the keyboard picks the action and an
action-conditioned next-frame model predicts the next frame from its own previous predictions. The game
starts from the real game's first frames (ale-py), or from a recorded episode (--start). --compare shows
the real game (left) under the same actions beside the dream (right).

keys: arrows or W/A/S/D move (Pong: up / down move the paddle), space fires, P pauses, R starts again,
      F12 saves a screenshot (--screenshot), Esc or Q quits

GAME is an ALE game (pong, breakout, ...). Without -m the world model shipped for it is played
(seqgan play pong); -m MODEL plays an exported model (seqgan export), checked against the game: it must
have been trained on this game's frames (as egs/atari/vp1 records them unless its metadata says otherwise:
crop 34,16,0,0, grey, 80x80, frameskip 4) and know its actions.

--actions FILE plays a scripted session: action names of the game (NOOP, FIRE, RIGHT, ...) or their
indices, separated by spaces, commas or lines, each optionally repeated (RIGHT*10); '#' starts a comment.
With --headless no window opens (no display or pygame needed): the session is recorded (--record) and its
last image saved (--screenshot).

examples:
  seqgan play pong
  seqgan play pong --compare --record session.gif
  seqgan play pong --headless --actions plan.txt --compare --screenshot last.png --record plan.gif
  seqgan play pong -m egs/atari/vp1/exp/train_pong_tiny/model.safetensors
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "game", nargs="?", default=None, help="the ALE game (default: the shipped model's, pong)"
    )
    parser.add_argument("-m", "--model", help="an exported world model (.safetensors) or a pretrained name")
    parser.add_argument(
        "--compare", action="store_true", help="show the real game under the same actions beside the dream"
    )
    parser.add_argument(
        "--record",
        metavar="OUT",
        help="save the session as a GIF (.gif) or video (.mp4, needs ffmpeg on PATH)",
    )
    parser.add_argument(
        "--actions", metavar="FILE", help="play this scripted session instead of the keyboard"
    )
    parser.add_argument("--headless", action="store_true", help="no window (needs --actions)")
    parser.add_argument("--screenshot", metavar="PNG", help="save the last displayed image (and F12's) here")
    parser.add_argument("--start", metavar="EPISODE", help="start from a recorded episode's frames (.npz)")
    parser.add_argument(
        "--start-frame", type=int, default=0, help="first start frame in --start (default: 0)"
    )
    parser.add_argument(
        "--fps",
        type=float,
        default=15.0,
        help="frames per second of the window and the recording (default: 15)",
    )
    parser.add_argument("--scale", type=int, default=4, help="pixels per model pixel on screen (default: 4)")
    parser.add_argument(
        "--steps", type=int, default=0, help="stop after this many steps (default: 0, no limit)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the emulator's seed (default: 0)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on the CPU (default: 1)")


def _fail(message: str) -> int:
    print(f"seqgan play: error: {message}", file=sys.stderr)
    return 2


def _model_path(game: str | None, model: str | None) -> str:
    """The model file: -m, the pretrained model of GAME, or the default pretrained world model."""
    from seqgan import pretrained
    from seqgan.play import PlayError, game_actions

    if model is not None:
        return str(pretrained.resolve(model, "next_frame"))
    if game is None:
        return str(pretrained.default_model("next_frame").path)
    if game.lower() in pretrained.PRETRAINED:
        return str(pretrained.get(game.lower(), "next_frame").path)
    rid, _ = game_actions(game)  # an unknown game: the error lists ale-py's games
    if rid in pretrained.PRETRAINED:
        return str(pretrained.get(rid, "next_frame").path)
    raise PlayError(
        f"no world model for {rid} ships with seqgan (there is: {', '.join(pretrained.names('next_frame'))}); "
        f"give one with -m MODEL (train it with egs/atari/vp1: ./run.sh --game {game})"
    )


def run(args: argparse.Namespace) -> int:
    import torch

    if args.headless and args.actions is None:
        return _fail("--headless needs --actions FILE (there is no keyboard without a window)")
    if args.start is not None and args.compare:
        return _fail("--compare starts the dream from the real game's first frames; drop --start")
    if args.fps <= 0 or args.scale < 1 or args.steps < 0 or args.threads < 1:
        return _fail("--fps must be > 0, --scale and --threads >= 1, --steps >= 0")
    previous = torch.get_num_threads()
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    try:
        return _play(args)
    finally:
        torch.set_num_threads(previous)  # the caller's setting (main() may run inside a larger program)


def _play(args: argparse.Namespace) -> int:
    from seqgan.export import ModelFileError
    from seqgan.play import (
        Dream,
        Emulator,
        KeyMap,
        PlayError,
        Recorder,
        Session,
        parse_actions,
        play_scripted,
        resolve_spec,
        start_frames,
    )
    from seqgan.predict import Predictor

    try:
        path = _model_path(args.game, args.model)
        try:
            predictor = Predictor.from_pretrained(path, device=args.device)
        except (ModelFileError, OSError, RuntimeError) as e:
            return _fail(str(e))
        spec = resolve_spec(predictor.metadata, args.game, source=path)
        emulator = None
        if args.compare or args.start is None:
            emulator = Emulator(spec, seed=args.seed)
        frames, acts = start_frames(predictor.context, emulator, args.start, args.start_frame, predictor)
        if tuple(frames.shape[1:3]) != spec.size:
            raise PlayError(
                f"{args.start}: its frames are {frames.shape[1]}x{frames.shape[2]} but the model plays "
                f"{spec.size[0]}x{spec.size[1]}"
            )
        actions = parse_actions(args.actions, spec) if args.actions is not None else None
        if actions is not None and args.steps:
            actions = actions[: args.steps]
        recorder = Recorder(args.record, args.fps) if args.record else None
        session = Session(Dream(predictor, frames, acts), emulator if args.compare else None, args.scale)
        if args.compare:
            session.real = frames[-1]
        if args.headless:
            play_scripted(session, actions, recorder, args.screenshot)
            played = len(actions)
        else:
            from seqgan.play_window import run_window

            result = run_window(
                session, KeyMap(spec), args.fps, actions, recorder, args.screenshot, args.steps
            )
            played = int(result["steps"])
            print(f"played {played} steps at {result['fps']:.1f} frames/s")
    except PlayError as e:
        return _fail(str(e))
    except ValueError as e:  # pretrained registry and frame conversion errors are one line too
        return _fail(str(e))
    if args.headless:
        print(f"played {played} steps of {spec.game}")
    if args.record:
        print(f"recorded {args.record}")
    if args.screenshot:
        print(f"screenshot {args.screenshot}")
    return 0
