"""Playing inside a learned game: the engine behind ``seqgan play``.

An action-conditioned next-frame model (a "world model") is fed its own predictions: from ``K`` start
frames it predicts the next frame under the action the player chose, appends it to its context and
goes on (a *dream*). Optionally the real game runs beside it under the same actions (ale-py, the
emulator the training data were recorded from, with the recording's frameskip, crop, grey and resize),
so that one sees where the dream drifts away from the game.

Pieces, each usable alone:

* :class:`GameSpec` — the game and the recording's geometry (from the model's metadata, or the recipe's
  defaults), and :func:`resolve_spec`, which checks that a model fits a game;
* :class:`Emulator` — the real game under those settings (ale-py);
* :class:`Dream` — the model's rollout, one step per action;
* :class:`KeyMap` and :func:`parse_actions` — the keyboard and scripted action files;
* :func:`compose` and :class:`Recorder` — what is shown and saved (GIF with Pillow, mp4 with imageio);
* :func:`play_scripted` — a session with no window (``--headless``), which is how the tests drive it;
  the window loop is :func:`seqgan.play_window.run_window`.

Frames are uint8 ``(H, W, C)`` here (``C`` = 1 grey or 3 RGB), as in episodes; the model sees float
``(1, K, C, H, W)`` in [-1, 1] (:func:`seqgan.predict.from_uint8`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqgan._optional import require
from seqgan.predict import Predictor, from_uint8, rollout, to_uint8

log = logging.getLogger(__name__)

__all__ = [
    "Dream",
    "Emulator",
    "GameSpec",
    "KeyMap",
    "PlayError",
    "Recorder",
    "compose",
    "parse_actions",
    "play_scripted",
    "resolve_spec",
    "start_frames",
]

# The recipe's recording settings (egs/atari/vp1/local/data.sh), used for models whose metadata lacks them
RECIPE_CROP = (34, 16, 0, 0)
RECIPE_RESIZE = (80, 80)
RECIPE_FRAMESKIP = 4


class PlayError(ValueError):
    """A bad game, model, start episode or action: the message is one line saying what to do."""


# --------------------------------------------------------------------------------------------------
# The game and its geometry


@dataclass(frozen=True)
class GameSpec:
    """A game as the model saw it.

    Attributes:
        game: the ale-py ROM id (``pong``).
        action_meanings: the game's minimal action set, in index order (``NOOP``, ``FIRE``, ...).
        frameskip: emulator frames per step.
        crop: rows/columns removed from the 210x160 screen: top, bottom, left, right.
        grayscale: one luma channel.
        size: ``(H, W)`` of the model's frames (the recording's resize).
    """

    game: str
    action_meanings: tuple[str, ...]
    frameskip: int = RECIPE_FRAMESKIP
    crop: tuple[int, int, int, int] = RECIPE_CROP
    grayscale: bool = True
    size: tuple[int, int] = RECIPE_RESIZE

    @property
    def num_actions(self) -> int:
        return len(self.action_meanings)

    def game_metadata(self) -> dict[str, Any]:
        """The metadata keys :func:`resolve_spec` reads back (what ``seqgan.pretrained.make`` stores)."""
        return {
            "game": self.game,
            "action_meanings": list(self.action_meanings),
            "frameskip": self.frameskip,
            "crop": list(self.crop),
            "game_grayscale": self.grayscale,
            "game_size": list(self.size),
        }


def game_actions(game: str) -> tuple[str, tuple[str, ...]]:
    """``(rom id, minimal action names)`` of an ALE game.

    Raises:
        PlayError: ale-py has no such game.
    """
    from seqgan.data.synth.atari import rom_id

    try:
        rid = rom_id(game)
    except ValueError as e:
        raise PlayError(str(e)) from None
    ale_py = require("ale_py", "play")
    roms = require("ale_py.roms", "play")
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    ale = ale_py.ALEInterface()
    ale.loadROM(str(roms.get_rom_path(rid)))
    return rid, tuple(a.name for a in ale.getMinimalActionSet())


def resolve_spec(metadata: dict[str, Any], game: str | None, source: str = "the model") -> GameSpec:
    """The game a model plays, checked against ``game`` when both are known.

    The model's metadata gives the game and its recording settings when they were stored
    (``seqgan.pretrained.make``); otherwise ``game`` names it and the recipe's settings are assumed
    (crop 34,16,0,0, grey, 80x80, frameskip 4).

    Raises:
        PlayError: no game known, an unknown game, a model trained on another game, a model without
            actions, or one whose frames or actions do not fit the game.
    """
    trained_on = metadata.get("game")
    if game is None and trained_on is None:
        raise PlayError(
            f"{source} does not say which game it was trained on; name it: seqgan play GAME -m ..."
        )
    rid, meanings = game_actions(str(game if game is not None else trained_on))
    if trained_on is not None and str(trained_on) != rid:
        raise PlayError(
            f"{source} was trained on {trained_on}, not {rid}; play {trained_on} or give a {rid} model"
        )
    stored = metadata.get("action_meanings")
    if stored is not None and tuple(stored) != meanings:
        raise PlayError(
            f"{source} was trained with the actions {', '.join(stored)} but this ale-py's {rid} has "
            f"{', '.join(meanings)}"
        )
    model_actions = int(metadata.get("num_actions") or 0)
    if model_actions == 0:
        raise PlayError(f"{source} is not action-conditioned (num_actions 0): there is nothing to play")
    if model_actions < len(meanings):
        raise PlayError(
            f"{source} knows {model_actions} actions but {rid} has {len(meanings)} ({', '.join(meanings)})"
        )
    size = tuple(int(v) for v in metadata.get("game_size") or RECIPE_RESIZE)
    model_size = (int(metadata.get("frame_height", size[0])), int(metadata.get("frame_width", size[1])))
    spec = GameSpec(
        game=rid,
        action_meanings=meanings,
        frameskip=int(metadata.get("frameskip", RECIPE_FRAMESKIP)),
        crop=tuple(int(v) for v in metadata.get("crop") or RECIPE_CROP),  # type: ignore[arg-type]
        grayscale=bool(metadata.get("game_grayscale", int(metadata.get("num_channels", 1)) == 1)),
        size=size,  # type: ignore[arg-type]
    )
    if model_size != spec.size:
        raise PlayError(
            f"{source} predicts {model_size[0]}x{model_size[1]} frames but {rid} is recorded at "
            f"{spec.size[0]}x{spec.size[1]} (crop {','.join(map(str, spec.crop))}); give a model trained "
            "on this game's frames"
        )
    channels = int(metadata.get("num_channels", 1 if spec.grayscale else 3))
    if channels != (1 if spec.grayscale else 3):
        raise PlayError(
            f"{source} predicts {channels}-channel frames but the game is recorded with "
            f"{1 if spec.grayscale else 3}"
        )
    return spec


# --------------------------------------------------------------------------------------------------
# The real game


class Emulator:
    """The real game, stepped as the training data were recorded (``seqgan.data.synth.atari``).

    Args:
        spec: the game and its geometry.
        seed: the emulator's seed.
        sticky_actions: the emulator's ``repeat_action_probability``; 0 (default) makes it follow the
            given actions exactly, as the dream does.
    """

    def __init__(self, spec: GameSpec, seed: int = 0, sticky_actions: float = 0.0) -> None:
        ale_py = require("ale_py", "play")
        roms = require("ale_py.roms", "play")
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
        self.spec = spec
        self.ale = ale_py.ALEInterface()
        self.ale.setInt("random_seed", int(seed))
        self.ale.setFloat("repeat_action_probability", float(sticky_actions))
        self.ale.setInt("frame_skip", 1)
        self.ale.loadROM(str(roms.get_rom_path(spec.game)))
        self._actions = list(self.ale.getMinimalActionSet())

    def observe(self) -> np.ndarray:
        """The current screen converted as the recording: uint8 ``(H, W, C)``."""
        from seqgan.data.frames import crop_frames, resize_frames, to_grayscale

        x = self.ale.getScreenRGB()[None]
        if any(self.spec.crop):
            x = crop_frames(x, *self.spec.crop)
        if self.spec.grayscale:
            x = to_grayscale(x)
        return resize_frames(x, self.spec.size)[0]

    def reset(self) -> np.ndarray:
        """Starts a new game; returns its first frame."""
        self.ale.reset_game()
        return self.observe()

    def step(self, action: int) -> np.ndarray:
        """Repeats ``action`` (an index into the minimal action set) for ``frameskip`` frames (stopping
        at game over, which restarts the game); returns the last frame."""
        if self.ale.game_over():
            self.ale.reset_game()
        for _ in range(self.spec.frameskip):
            self.ale.act(self._actions[action])
            if self.ale.game_over():
                break
        return self.observe()


def start_frames(
    context: int,
    emulator: Emulator | None = None,
    episode: str | os.PathLike | None = None,
    at: int = 0,
    predictor: Predictor | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The frames a dream starts from: ``(K, H, W, C)`` uint8 and the ``K - 1`` actions between them.

    From the emulator: a new game and ``K - 1`` NOOP steps. From a recorded episode: its frames
    ``at .. at + K - 1`` and their actions (converted as the model's training data by ``predictor``).

    Raises:
        PlayError: neither source given, or an episode too short or without actions.
    """
    if episode is not None:
        from seqgan.data.episodes import EpisodeError, read_episode

        try:
            ep = read_episode(episode)
        except (EpisodeError, OSError) as e:
            raise PlayError(f"{episode}: {e}") from None
        frames = predictor.prepare(ep.frames, where=str(episode)) if predictor is not None else ep.frames
        if at < 0 or at + context > len(frames):
            raise PlayError(f"{episode}: {len(frames)} frames, cannot start {context} frames at {at}")
        if ep.actions is None:
            raise PlayError(
                f"{episode}: no recorded actions; the dream needs the actions between its start frames"
            )
        return frames[at : at + context], ep.actions[at : at + context - 1].clip(0).astype(np.int64)
    if emulator is None:
        raise PlayError("no start frames: give an emulator or a recorded episode")
    frames = [emulator.reset()]
    for _ in range(context - 1):
        frames.append(emulator.step(0))
    return np.stack(frames), np.zeros(context - 1, np.int64)


# --------------------------------------------------------------------------------------------------
# The dream


class Dream:
    """A world model fed its own predictions, one frame per action.

    Args:
        predictor: an action-conditioned next-frame model.
        frames: uint8 ``(K, H, W, C)`` start frames (converted as the model's data).
        actions: the ``K - 1`` actions between them (``actions[t]`` leads from frame ``t`` to ``t + 1``).

    A recurrent model's state (``self.state``) is carried from one ``step`` to the next, as in a rollout,
    and cleared by ``reset``.
    """

    def __init__(self, predictor: Predictor, frames: np.ndarray, actions: Sequence[int]) -> None:
        k = predictor.context
        if frames.shape[0] != k or len(actions) != k - 1:
            raise PlayError(
                f"the model needs {k} start frames and {k - 1} actions, got {frames.shape[0]} and {len(actions)}"
            )
        self.predictor = predictor
        self.reset(frames, actions)

    def reset(self, frames: np.ndarray | None = None, actions: Sequence[int] | None = None) -> np.ndarray:
        """Back to the start frames, or to new ones; returns the last of them."""
        if frames is not None and actions is not None:
            self._start = (frames.copy(), np.asarray(actions, np.int64).copy())
        frames, actions = self._start
        self.context = from_uint8(frames).unsqueeze(0).to(self.predictor.device)  # (1, K, C, H, W)
        # the window of K actions aligned with the context frames; its last slot is the next action
        self.actions = torch.zeros(1, self.predictor.context, dtype=torch.long, device=self.predictor.device)
        self.actions[0, :-1] = torch.from_numpy(actions)
        self.frame = frames[-1]
        self.steps = 0
        self.state = None  # a recurrent model's state: zero at the start frames, then carried by step
        return self.frame

    @torch.no_grad()
    def step(self, action: int) -> np.ndarray:
        """Predicts the frame that ``action`` leads to from the current context; returns uint8 ``(H, W, C)``."""
        n = self.predictor.num_actions
        if not 0 <= action < n:
            raise PlayError(f"action {action} is outside the model's {n} actions (0-{n - 1})")
        self.actions[0, -1] = action
        frames, self.state = rollout(
            self.predictor.generator, self.context, 1, self.actions, self.state, return_state=True
        )
        nxt = frames[:, 0].clamp(-1, 1)
        self.context = torch.cat([self.context[:, 1:], nxt.unsqueeze(1)], dim=1)
        self.actions = torch.roll(self.actions, -1, dims=1)
        self.frame = to_uint8(nxt[0])
        self.steps += 1
        return self.frame


# --------------------------------------------------------------------------------------------------
# Actions: the keyboard and scripted files

# Keys a game means differently from their names: Pong's paddle moves up with RIGHT and down with LEFT
KEY_REMAP: dict[str, dict[str, str]] = {"pong": {"up": "right", "down": "left"}}


@dataclass
class KeyMap:
    """Held keys -> an index into the game's minimal action set.

    The held directions and fire make an ALE name (``UP`` / ``DOWN``, then ``RIGHT`` / ``LEFT``, then
    ``FIRE``: ``UPRIGHTFIRE``); when the game lacks it, the nearest it has (fire dropped first, then the
    horizontal, then the vertical direction) — NOOP at worst.

    Args:
        spec: the game.
    """

    spec: GameSpec
    remap: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.remap = KEY_REMAP.get(self.spec.game, {})

    def action(self, held: Iterable[str]) -> int:
        """``held``: names among ``up``, ``down``, ``left``, ``right``, ``fire``."""
        keys = {self.remap.get(k, k) for k in held}
        vert = (
            "UP"
            if "up" in keys and "down" not in keys
            else "DOWN"
            if "down" in keys and "up" not in keys
            else ""
        )
        horiz = (
            "RIGHT"
            if "right" in keys and "left" not in keys
            else "LEFT"
            if "left" in keys and "right" not in keys
            else ""
        )
        fire = "FIRE" if "fire" in keys else ""
        index = {name: i for i, name in enumerate(self.spec.action_meanings)}
        for v, h, f in (
            (vert, horiz, fire),
            (vert, horiz, ""),
            (vert, "", fire),
            ("", horiz, fire),
            (vert, "", ""),
            ("", horiz, ""),
            ("", "", fire),
        ):
            name = f"{v}{h}{f}"
            if name and name in index:
                return index[name]
        return index.get("NOOP", 0)


_TOKEN = re.compile(r"^(?P<what>[A-Za-z]+|\d+)(?:\*(?P<times>\d+))?$")


def parse_actions(path: str | os.PathLike, spec: GameSpec) -> list[int]:
    """Reads a scripted session: action names of the game (``NOOP``, ``RIGHT``, any case) or indices,
    separated by spaces, commas or lines, each optionally repeated (``RIGHT*10``); ``#`` starts a comment.

    Returns:
        One action index per step.

    Raises:
        PlayError: a missing file, an unknown name or an index outside the game's actions (the message
            names the file, the line and the choices).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlayError(f"{p}: no such action file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise PlayError(f"{p}: cannot read the action file ({e})") from None
    index = {name: i for i, name in enumerate(spec.action_meanings)}
    choices = ", ".join(f"{i} {n}" for i, n in enumerate(spec.action_meanings))
    actions: list[int] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for token in line.split("#", 1)[0].replace(",", " ").split():
            m = _TOKEN.match(token)
            if m is None:
                raise PlayError(f"{p}:{lineno}: cannot read '{token}'; write ACTION or ACTION*N")
            what = m["what"]
            if what.isdigit():
                a = int(what)
                if a >= spec.num_actions:
                    raise PlayError(
                        f"{p}:{lineno}: action {a} is not one of {spec.game}'s actions: {choices}"
                    )
            elif what.upper() in index:
                a = index[what.upper()]
            else:
                raise PlayError(
                    f"{p}:{lineno}: action '{what}' is not one of {spec.game}'s actions: {choices}"
                )
            actions.extend([a] * int(m["times"] or 1))
    if not actions:
        raise PlayError(f"{p}: no actions in the file")
    return actions


# --------------------------------------------------------------------------------------------------
# What is shown and saved


def _rgb(frame: np.ndarray) -> np.ndarray:
    return np.repeat(frame, 3, axis=-1) if frame.shape[-1] == 1 else frame[..., :3]


def compose(dream: np.ndarray, real: np.ndarray | None = None, scale: int = 4, gap: int = 4) -> np.ndarray:
    """The displayed image: the dream (and the real game on its left), upscaled ``scale`` times (nearest).

    Args:
        dream: uint8 ``(H, W, C)``.
        real: uint8 ``(H, W, C)`` or ``None``.

    Returns:
        uint8 ``(H * scale, W * scale [* 2 + gap], 3)``.
    """
    panels = [_rgb(dream)] if real is None else [_rgb(real), _rgb(dream)]
    big = [p.repeat(scale, axis=0).repeat(scale, axis=1) for p in panels]
    if len(big) == 1:
        return np.ascontiguousarray(big[0])
    spacer = np.full((big[0].shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([big[0], spacer, big[1]], axis=1)


class Recorder:
    """Collects displayed frames and writes them as an animated GIF (Pillow) or, for ``.mp4``, an H.264
    video through the ``ffmpeg`` program when it is on PATH.

    Args:
        path: ``*.gif`` or ``*.mp4``.
        fps: frame rate of the file.

    Raises:
        PlayError: another extension, or mp4 without ffmpeg.
    """

    def __init__(self, path: str | os.PathLike, fps: float) -> None:
        self.path = Path(path)
        self.fps = float(fps)
        self.frames: list[np.ndarray] = []
        suffix = self.path.suffix.lower()
        if suffix not in (".gif", ".mp4"):
            raise PlayError(f"--record {self.path}: write a .gif (or an .mp4 where ffmpeg is installed)")
        if suffix == ".mp4" and shutil.which("ffmpeg") is None:
            raise PlayError(
                f"--record {self.path}: writing mp4 needs the ffmpeg program on PATH; record a .gif"
            )

    def add(self, image: np.ndarray) -> None:
        """``image``: uint8 ``(H, W, 3)``, every one the same size."""
        self.frames.append(image)

    def close(self) -> Path:
        """Writes the file (atomically); returns its path."""
        if not self.frames:
            raise PlayError(f"--record {self.path}: nothing was played, nothing to write")
        if self.path.suffix.lower() == ".gif":
            from seqgan.predict import save_gif

            save_gif(self.path, self.frames, fps=self.fps)
        else:
            self._write_mp4()
        log.info("recorded %d frames to %s", len(self.frames), self.path)
        return self.path

    def _write_mp4(self) -> None:
        from seqgan.atomic import AtomicFile

        h, w = self.frames[0].shape[:2]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with AtomicFile(self.path, ".part.mp4") as out:
            cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                   "-r", f"{self.fps:g}", "-i", "-", "-pix_fmt", "yuv420p", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                   str(out.tmp)]  # fmt: skip
            done = subprocess.run(cmd, input=b"".join(f.tobytes() for f in self.frames), capture_output=True)
            if done.returncode != 0:
                raise PlayError(
                    f"--record {self.path}: ffmpeg failed: {done.stderr.decode(errors='replace').strip()}"
                )


@dataclass
class Session:
    """A dream, optionally with the real game beside it, stepped by one action at a time."""

    dream: Dream
    emulator: Emulator | None = None
    scale: int = 4
    real: np.ndarray | None = None

    def image(self) -> np.ndarray:
        return compose(self.dream.frame, self.real, self.scale)

    def step(self, action: int) -> np.ndarray:
        self.dream.step(action)
        if self.emulator is not None:
            self.real = self.emulator.step(action)
        return self.image()

    def reset(self) -> np.ndarray:
        """Starts again: a new game on the emulator, whose frames the dream starts from; without one,
        the dream's start frames."""
        if self.emulator is None:
            self.dream.reset()
        else:
            frames, actions = start_frames(self.dream.predictor.context, emulator=self.emulator)
            self.dream.reset(frames, actions)
            self.real = frames[-1]
        return self.image()


def play_scripted(
    session: Session,
    actions: Sequence[int],
    recorder: Recorder | None = None,
    screenshot: str | os.PathLike | None = None,
) -> np.ndarray:
    """Plays ``actions`` with no window; records every displayed image (the start frame first) and saves
    the last one as a PNG ``screenshot``.

    Returns:
        The last displayed image, uint8 ``(H', W', 3)``.
    """
    from seqgan.predict import save_png

    image = session.image()
    if recorder is not None:
        recorder.add(image)
    for a in actions:
        image = session.step(a)
        if recorder is not None:
            recorder.add(image)
    if screenshot is not None:
        save_png(screenshot, image)
    if recorder is not None:
        recorder.close()
    return image
