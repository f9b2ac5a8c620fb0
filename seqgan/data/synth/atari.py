"""Atari game play recorded through the bare ``ale_py.ALEInterface`` (the ale-py wheel ships the ROMs).

Each episode runs a fresh emulator seeded from ``(seed, episode)``, so any episode can be re-recorded
alone and recordings are deterministic. Per agent step the chosen action is repeated ``frameskip``
times (rewards summed, stopping early at game over) and the last emulator frame is recorded (no
max-pooling), like ``gymnasium.make("ALE/<Game>-v5")``. Sticky actions are the emulator's
``repeat_action_probability`` (0.25 in v5), applied per emulator frame.

Actions are indices into the game's *minimal* action set; their names are in the metadata
(``action_meanings``). ``actions[t]`` is the action chosen after observing frame ``t``; the last
frame has ``-1``. Policies: ``random`` (uniform each step) or ``sticky`` (repeat the previous choice
with probability ``repeat_prob``, else uniform) — the latter gives longer runs of one action, which
makes the effect of actions easier to learn.

With ``branches`` the emulator also shows what *every* action does at every step: before each step
its state is cloned (``ALEInterface.cloneState``) into a second emulator with sticky actions off, where
each action of the minimal set is held for ``branch_steps`` steps (``frameskip`` frames each, the last
one kept); the converted screens are the episode's ``branches`` array, ``branches[t, a, s]`` the frame
after holding action ``a`` for ``s + 1`` steps from frame ``t``. The recording itself is unchanged
(the second emulator never touches the first), so a corpus with branches has the same frames and
actions as one without. A policy's actions are
correlated with what the frames already show (a sticky policy keeps moving the paddle the way it
moved), so a model trained on the recorded transitions alone can predict well while ignoring the
action; the branches show it the outcome of every action from the same state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from seqgan._optional import require
from seqgan.data.frames import crop_frames, resize_frames, to_grayscale

POLICIES = ("random", "sticky")


@dataclass
class AtariConfig:
    """Recording parameters."""

    game: str = "pong"
    frameskip: int = 4
    sticky_actions: float = 0.25  # the emulator's repeat_action_probability
    policy: str = "random"
    repeat_prob: float = 0.75  # policy "sticky": probability of repeating the previous action
    max_frames: int = 1000  # recorded frames per episode (the episode is cut there)
    grayscale: bool = False
    resize: tuple[int, int] | None = None  # (H, W), after cropping
    crop: tuple[int, int, int, int] = (0, 0, 0, 0)  # rows/columns removed: top, bottom, left, right
    branches: bool = False  # also record the frames every action leads to from every state
    branch_steps: int = 1  # with branches: each action is held for this many steps

    def check(self) -> None:
        if self.frameskip < 1 or self.max_frames < 1:
            raise ValueError(
                f"atari: frameskip and max_frames must be >= 1; got {self.frameskip}, {self.max_frames}"
            )
        if not 0 <= self.sticky_actions <= 1 or not 0 <= self.repeat_prob <= 1:
            raise ValueError("atari: sticky-action and repeat probabilities must lie in [0, 1]")
        if self.branch_steps < 1:
            raise ValueError(f"atari: branch_steps must be >= 1; got {self.branch_steps}")
        if self.policy not in POLICIES:
            raise ValueError(f"atari: unknown policy {self.policy!r}; choose from: {', '.join(POLICIES)}")


def available_games() -> list[str]:
    """ROM ids the installed ale-py ships (``pong``, ``space_invaders``, ...)."""
    roms = require("ale_py.roms", "frames")

    return sorted(roms.get_all_rom_ids())


def rom_id(game: str) -> str:
    """Normalises a game name: ``Pong``, ``ALE/Pong-v5``, ``SpaceInvaders`` -> ``pong``, ``space_invaders``.

    Raises:
        ValueError: the installed ale-py has no such ROM; the message lists the ones it has.
    """
    name = re.sub(r"-v\d+$", "", game.strip().split("/")[-1])
    if not name.islower():
        name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    name = name.lower().replace("-", "_")
    games = available_games()
    if name not in games:
        raise ValueError(f"unknown Atari game {game!r}; the installed ale-py ships: {', '.join(games)}")
    return name


def _make_ale(game: str, seed: int, sticky: float) -> Any:
    ale_py = require("ale_py", "frames")
    roms = require("ale_py.roms", "frames")

    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    ale = ale_py.ALEInterface()
    ale.setInt("random_seed", seed)  # before loadROM
    ale.setFloat("repeat_action_probability", float(sticky))
    ale.setInt("frame_skip", 1)  # frame skipping is done here, with per-frame rewards and game-over checks
    ale.loadROM(str(roms.get_rom_path(game)))
    return ale


def make_emulator(game: str, seed: int, sticky: float) -> Any:
    """A fresh ``ALEInterface`` for ROM id ``game``, set up as the recordings are (seeded before loading,
    repeat_action_probability ``sticky``, no emulator frame skipping)."""
    return _make_ale(game, seed, sticky)


def convert_screens(screens: Sequence[np.ndarray], cfg: AtariConfig) -> np.ndarray:
    """Raw ALE screens ``[(210, 160, 3)]`` -> the recorded frames uint8 ``(T, H, W, C)``: the crop,
    grey and resize of ``cfg``, exactly as :func:`record_atari_episode` converts them."""
    return _convert(screens, cfg)


def _convert(frames: Sequence[np.ndarray], cfg: AtariConfig) -> np.ndarray:
    x = np.stack(frames)
    if any(cfg.crop):
        x = crop_frames(x, *cfg.crop)
    if cfg.grayscale:
        x = to_grayscale(x)
    if cfg.resize is not None:
        x = resize_frames(x, cfg.resize)
    return x


def play_step(ale: Any, action: Any, frameskip: int) -> np.ndarray:
    """One recorded step: ``action`` for ``frameskip`` emulator frames (fewer at game over); the screen."""
    for _ in range(frameskip):
        ale.act(action)
        if ale.game_over(with_truncation=False):
            break
    return ale.getScreenRGB()


def branch_screens(
    branch: Any, state: Any, action_set: Sequence[Any], frameskip: int, steps: int
) -> list[np.ndarray]:
    """The screens of each action held for ``steps`` steps (:func:`play_step`) from ``state``, restored
    on the ``branch`` emulator; action-major."""
    screens = []
    for a in action_set:
        branch.restoreState(state)
        screens += [play_step(branch, a, frameskip) for _ in range(steps)]
    return screens


def record_atari_episode(cfg: AtariConfig, seed: int, index: int) -> dict[str, Any]:
    """Plays one episode with the configured policy and records it.

    Args:
        cfg: the recording parameters.
        seed: the corpus seed.
        index: the episode number; the emulator and the policy are seeded from ``(seed, index)``.

    Returns:
        ``{"frames": uint8 (T, H, W, C), "actions": int64 (T,), "rewards": float32 (T,),
        "terminated": bool (T,), "meta": dict}`` for :func:`seqgan.data.episodes.write_episode`, and
        with ``cfg.branches`` ``"branches"``: uint8 ``(T, A, S, H, W, C)``, S = ``cfg.branch_steps``
        (zeros after the last frame).
    """
    ale_py = require("ale_py", "frames")

    cfg.check()
    game = rom_id(cfg.game)
    ss = np.random.SeedSequence((seed, index))
    ale_seed = int(ss.generate_state(1)[0] & 0x7FFFFFFF)
    rng = np.random.default_rng(ss.spawn(1)[0])
    ale = _make_ale(game, ale_seed, cfg.sticky_actions)
    action_set = list(ale.getMinimalActionSet())
    n = len(action_set)
    raw_shape = ale.getScreenRGB().shape
    branch = _make_ale(game, ale_seed, 0.0) if cfg.branches else None
    branch_chunks: list[np.ndarray] = []
    branch_pending: list[np.ndarray] = []

    converted: list[np.ndarray] = []
    pending = [ale.getScreenRGB()]
    actions: list[int] = []
    rewards: list[float] = []
    emulator_frames = 0
    prev = int(rng.integers(n))
    while len(actions) + 1 < cfg.max_frames and not ale.game_over(with_truncation=False):
        if cfg.policy == "sticky" and actions and rng.random() < cfg.repeat_prob:
            a = prev
        else:
            a = int(rng.integers(n))
        prev = a
        if branch is not None:
            branch_pending += branch_screens(
                branch, ale.cloneState(), action_set, cfg.frameskip, cfg.branch_steps
            )
            if len(branch_pending) >= 256:
                branch_chunks.append(_convert(branch_pending, cfg))
                branch_pending = []
        total = 0.0
        for _ in range(cfg.frameskip):
            total += ale.act(action_set[a])
            emulator_frames += 1
            if ale.game_over(with_truncation=False):
                break
        actions.append(a)
        rewards.append(total)
        pending.append(ale.getScreenRGB())
        if len(pending) >= 256:  # convert in chunks to bound the memory of raw 210x160 frames
            converted.append(_convert(pending, cfg))
            pending = []
    if pending:
        converted.append(_convert(pending, cfg))
    frames = np.concatenate(converted)
    branches = None
    if branch is not None:
        if branch_pending:
            branch_chunks.append(_convert(branch_pending, cfg))
        after = np.concatenate(branch_chunks) if branch_chunks else np.zeros((0, *frames.shape[1:]), np.uint8)
        shape = (n, cfg.branch_steps, *frames.shape[1:])
        branches = np.zeros((len(frames), *shape), np.uint8)  # none after the last frame
        branches[: len(frames) - 1] = after.reshape(len(frames) - 1, *shape)
    game_over = bool(ale.game_over(with_truncation=False))
    terminated = np.zeros(len(frames), bool)
    terminated[-1] = game_over
    meta = {
        "source": "ale",
        "game": game,
        "params": {**asdict(cfg), "game": game},
        "frameskip": cfg.frameskip,
        "sticky_action_probability": cfg.sticky_actions,
        "policy": cfg.policy,
        "policy_repeat_prob": cfg.repeat_prob if cfg.policy == "sticky" else 0.0,
        "seed": seed,
        "index": index,
        "ale_seed": ale_seed,
        "num_actions": n,
        "action_meanings": [a.name for a in action_set],
        "action_ids": [int(a.value) for a in action_set],
        "raw_frame_shape": list(raw_shape),
        "emulator_frames": emulator_frames,
        "episode_return": float(sum(rewards)),
        "game_over": game_over,
        "truncated": not game_over,
        "recorded_frame": "last emulator frame of each frameskip group (no max-pooling)",
        "actions_convention": "actions[t] is chosen after frame t and leads to frame t+1; -1 after the last frame",
        "versions": {"ale_py": ale_py.__version__},
    }
    episode = {
        "frames": frames,
        "actions": np.asarray([*actions, -1], np.int64),
        "rewards": np.asarray([*rewards, 0.0], np.float32),
        "terminated": terminated,
        "meta": meta,
    }
    if branches is not None:
        meta["branches"] = (
            "branches[t, a, s]: the frame after holding action a for s + 1 steps from frame t "
            "(sticky actions off)"
        )
        episode["branches"] = branches
    return episode
