"""Next-frame prediction examples: (K context frames [+ actions], S target frames) windows of episodes.

The episode file format, ``episodes.scp`` and splits live in :mod:`seqgan.data.episodes` (re-exported
here). This module turns a data directory's episodes into map-style datasets:

* :class:`FrameWindows` — training windows, optionally random patches (the same location in every
  frame of a window) preferring patches with motion, as Mathieu et al. trained on 32x32 patches;
* :class:`FrameSequences` — whole-frame test sequences (context + ground-truth future of length H)
  for rollouts, non-overlapping by default.

Frames come out as float32 ``(C, H, W)`` in [-1, 1] (``x / 127.5 - 1``).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from seqgan.data.episodes import (
    ACTION_NONE,
    Episode,
    EpisodeError,
    episode_stats,
    read_episode,
    read_episodes_scp,
    split_episodes,
    write_episode,
    write_episodes_scp,
)

log = logging.getLogger(__name__)

__all__ = [
    "Episode",
    "EpisodeError",
    "FrameSequences",
    "FrameWindows",
    "crop_frames",
    "episode_stats",
    "read_episode",
    "read_episodes_scp",
    "resize_frames",
    "split_episodes",
    "to_grayscale",
    "to_pm1",
    "write_episode",
    "write_episodes_scp",
]

# ITU-R BT.601 luma weights (what most video-prediction code uses for "grayscale").
_LUMA = np.array([0.299, 0.587, 0.114])


# -- frame transforms on uint8 (T, H, W, C) arrays ------------------------------------------------------


def to_grayscale(frames: np.ndarray) -> np.ndarray:
    """RGB uint8 ``(T, H, W, 3)`` -> luma uint8 ``(T, H, W, 1)`` (BT.601); one channel is returned as is."""
    if frames.shape[-1] == 1:
        return frames
    if frames.shape[-1] != 3:
        raise ValueError(f"grayscale needs 1 or 3 channels; got {frames.shape[-1]}")
    y = frames.astype(np.float32) @ _LUMA.astype(np.float32)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)[..., None]


def resize_frames(frames: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Resizes uint8 ``(T, H, W, C)`` frames to ``size = (H', W')`` (bilinear, antialiased when shrinking)."""
    h, w = int(size[0]), int(size[1])
    if frames.shape[1:3] == (h, w):
        return frames
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    y = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return y.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def crop_frames(
    frames: np.ndarray, top: int = 0, bottom: int = 0, left: int = 0, right: int = 0
) -> np.ndarray:
    """Removes ``top`` / ``bottom`` rows and ``left`` / ``right`` columns from ``(T, H, W, C)`` frames."""
    h, w = frames.shape[1:3]
    if min(top, bottom, left, right) < 0 or top + bottom >= h or left + right >= w:
        raise ValueError(
            f"crop {top, bottom, left, right} (top, bottom, left, right) does not fit {h}x{w} frames"
        )
    return frames[:, top : h - bottom, left : w - right]


def to_pm1(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``(T, H, W, C)`` -> float32 ``(T, C, H, W)`` in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return x.float().div_(127.5).sub_(1.0)


# -- datasets --------------------------------------------------------------------------------------------


class FrameWindows(Dataset):
    """Training windows of ``context + horizon`` consecutive frames from the episodes of a data set.

    ``dataset[(index, seed)]`` (a plain ``index`` means seed 0) returns a dict:

    * ``"context"``: float32 ``(K, C, H, W)`` in [-1, 1], frames ``t0 .. t0+K-1``;
    * ``"target"``: float32 ``(S, C, H, W)``, frames ``t0+K .. t0+K+S-1`` (S = ``horizon``);
    * ``"actions"`` (only when the episodes have actions): int64 ``(K+S,)``; ``actions[j]`` is the
      action taken after frame ``t0+j`` of the window. So ``actions[K-1+s]`` leads from frame
      ``K-1+s`` to frame ``K+s`` (window positions): step ``s`` of a rollout uses ``actions[K-1+s]``,
      ``actions[:K-1]`` are the actions between context frames, and the last slot ``actions[K+S-1]``
      (after the last target) predicts nothing — where the episode recorded none there (its last
      frame) it reads 0 instead of -1, so that embedding lookups never fail;
    * ``"episode"``: the episode's index in the (sorted) episode list; ``"start"``: ``t0``.

    Windows never cross an episode end or a terminal frame (no window spans ``t -> t+1`` with
    ``terminated[t]``).

    With ``patch_size > 0`` a random square patch (the same location in every frame of the window)
    is cut, its position drawn from ``(seed, index)``. With ``min_motion > 0`` the patch is redrawn up
    to ``motion_tries`` times until the mean squared difference (in [-1, 1] units) between the last
    context frame and the first target frame inside the patch exceeds ``min_motion``; when no draw
    does, the draw with the most motion is kept. (Mathieu et al. trained on 32x32 patches chosen to
    contain enough motion; the threshold is this toolkit's choice, e.g. 1e-3.)

    With ``branch_prob > 0`` (episodes recorded with ``seqgan data atari --branches``, whose branches
    hold at least ``horizon`` steps) a window's targets are, with that probability, replaced by the
    frames of a uniformly drawn action held for ``horizon`` steps from the last context frame (the
    episode's ``branches``), and its actions from the last context frame on by that one (the draw from
    ``(seed, index)``). The recorded policy's action is predictable from the context (a sticky policy
    keeps moving the way it moved); a drawn action is not, so only a model that reads the action predicts
    its outcome. With ``action_masks`` (same episodes) every item also holds ``"action_mask"``: float32
    ``(S, 1, H, W)``, 1 where the branches of the last context frame differ between actions at step
    ``s`` — the pixels the action decides, which a loss can weigh (``loss.action_weight``).

    Args:
        scp_path: ``data/<set>/episodes.scp``.
        context: K, the number of context frames.
        horizon: S, the number of target frames (S > 1 for multi-step training and rollouts).
        patch_size: side of the random square patch; 0 keeps the full frame.
        grayscale: convert RGB episodes to one luma channel.
        resize: ``(H, W)`` to resize frames to when loading (before cropping patches).
        in_memory: keep every (converted) episode in memory; False reads episodes on demand with a
            small cache per worker.
        stride: distance between the starts of consecutive windows of an episode.
        max_per_episode: keep at most this many windows per episode (the first ones).
        min_motion: patch motion threshold (see above); 0 disables the motion preference.
        motion_tries: at most this many patch draws per example.
        branch_prob: the probability of a drawn action's branch as the target (see above).
        action_masks: add each window's ``"action_mask"`` (see above; needs the branches).

    Raises:
        EpisodeError: the episode list or an episode is broken, frame shapes differ, some episodes
            have actions and others not, or ``branch_prob > 0`` and an episode has no branches.
    """

    def __init__(
        self,
        scp_path: str | os.PathLike,
        context: int = 4,
        horizon: int = 1,
        patch_size: int = 0,
        grayscale: bool = False,
        resize: Sequence[int] | None = None,
        in_memory: bool = True,
        stride: int = 1,
        max_per_episode: int | None = None,
        min_motion: float = 0.0,
        motion_tries: int = 10,
        branch_prob: float = 0.0,
        action_masks: bool = False,
    ) -> None:
        if not 0.0 <= branch_prob <= 1.0:
            raise ValueError(f"branch_prob must lie in [0, 1], got {branch_prob}")
        if (branch_prob > 0 or action_masks) and not in_memory:
            raise ValueError("branch_prob > 0 and action_masks need the episodes in memory (in_memory)")
        if context < 1 or horizon < 1 or stride < 1 or motion_tries < 1:
            raise ValueError(
                f"context ({context}), horizon ({horizon}), stride ({stride}) and motion_tries ({motion_tries}) "
                "must be >= 1"
            )
        self.scp_path = Path(scp_path)
        self.context = int(context)
        self.horizon = int(horizon)
        self.patch_size = int(patch_size)
        self.grayscale = bool(grayscale)
        self.resize = None if resize is None else (int(resize[0]), int(resize[1]))
        self.in_memory = bool(in_memory)
        self.min_motion = float(min_motion)
        self.motion_tries = int(motion_tries)
        self.branch_prob = float(branch_prob)
        self.action_masks = bool(action_masks)
        use_branches = self.branch_prob > 0 or self.action_masks

        entries = read_episodes_scp(self.scp_path)
        if not entries:
            raise EpisodeError(f"{self.scp_path}: no episodes listed")
        self.episode_ids = sorted(entries)
        self.episode_paths = [entries[k] for k in self.episode_ids]
        self._frames: list[np.ndarray] | None = [] if self.in_memory else None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._actions: list[np.ndarray | None] = []
        self._branches: list[np.ndarray] = []
        self.episode_meta: list[dict[str, Any]] = []

        starts: list[np.ndarray] = []
        shape: tuple[int, ...] | None = None
        num_actions = 0
        length = self.context + self.horizon
        for i, path in enumerate(self.episode_paths):
            ep = read_episode(path, load_frames=self.in_memory, load_branches=use_branches)
            if use_branches:
                if ep.branches is None:
                    raise EpisodeError(
                        f"{path}: no 'branches' array, which branch_prob > 0 and action_masks need; "
                        "record the episodes with seqgan data atari --branches"
                    )
                t, a, steps = ep.branches.shape[:3]
                if steps < self.horizon:
                    raise EpisodeError(
                        f"{path}: its branches hold {steps} step(s), fewer than the windows' {self.horizon}; "
                        f"record the episodes with --branch-steps {self.horizon}"
                    )
                flat = ep.branches[:, :, : self.horizon].reshape(t * a * self.horizon, *ep.branches.shape[3:])
                converted = self._convert(flat)
                self._branches.append(converted.reshape(t, a, self.horizon, *converted.shape[1:]))
            if self.in_memory:
                frames = self._convert(ep.frames)
                ep_shape = frames.shape[1:]
                self._frames.append(frames)  # type: ignore[union-attr]
            else:
                ep_shape = self._converted_shape(ep.frame_shape)
            if shape is None:
                shape = ep_shape
            elif ep_shape != shape:
                raise EpisodeError(
                    f"{path}: frame shape {ep_shape} differs from {shape} of the other episodes"
                )
            if i and (ep.actions is None) != (self._actions[0] is None):
                raise EpisodeError(f"{path}: some episodes of {self.scp_path} have actions and some do not")
            self._actions.append(ep.actions)
            if ep.actions is not None:
                num_actions = max(num_actions, ep.num_actions or 0)
            self.episode_meta.append(ep.meta)
            starts.append(self._window_starts(ep.terminated, length, stride, max_per_episode))

        assert shape is not None
        self.frame_shape = (int(shape[2]), int(shape[0]), int(shape[1]))  # (C, H, W)
        self.has_actions = self._actions[0] is not None
        self.num_actions = num_actions if self.has_actions else None
        if self.patch_size > min(self.frame_shape[1:]):
            raise ValueError(f"patch_size {self.patch_size} exceeds the frame size {self.frame_shape[1:]}")
        self._episode_of = np.concatenate([np.full(len(s), i, np.int64) for i, s in enumerate(starts)])
        self._start = np.concatenate(starts).astype(np.int64)
        if len(self._start) == 0:
            log.warning(
                "%s: no episode is long enough for %d+%d-frame windows", self.scp_path, context, horizon
            )

    # -- preparation --
    def _convert(self, frames: np.ndarray) -> np.ndarray:
        if self.grayscale:
            frames = to_grayscale(frames)
        if self.resize is not None:
            frames = resize_frames(frames, self.resize)
        return frames

    def _converted_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        h, w, c = shape
        if self.grayscale:
            c = 1
        if self.resize is not None:
            h, w = self.resize
        return (h, w, c)

    @staticmethod
    def _window_starts(
        terminated: np.ndarray, length: int, stride: int, max_per_episode: int | None
    ) -> np.ndarray:
        t = terminated.shape[0]
        if t < length:
            return np.zeros(0, np.int64)
        # A window starting at t0 is valid when no frame t0 .. t0+length-2 is terminal.
        cum = np.concatenate([[0], np.cumsum(terminated[:-1].astype(np.int64))])
        cand = np.arange(t - length + 1)
        valid = cand[(cum[cand + length - 1] - cum[cand]) == 0]
        kept: list[int] = []
        for t0 in valid:
            if not kept or t0 >= kept[-1] + stride:
                kept.append(int(t0))
                if max_per_episode is not None and len(kept) >= max_per_episode:
                    break
        return np.asarray(kept, np.int64)

    def _episode_frames(self, i: int) -> np.ndarray:
        if self._frames is not None:
            return self._frames[i]
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        frames = self._convert(read_episode(self.episode_paths[i]).frames)
        self._cache[i] = frames
        while len(self._cache) > 4:
            self._cache.popitem(last=False)
        return frames

    # -- Dataset API --
    def __len__(self) -> int:
        return int(self._start.shape[0])

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, seed = (key, 0) if isinstance(key, (int, np.integer)) else (int(key[0]), int(key[1]))
        if not 0 <= index < len(self):
            raise IndexError(f"window {index} out of range ({len(self)} windows)")
        ep, t0 = int(self._episode_of[index]), int(self._start[index])
        k, s = self.context, self.horizon
        window = self._episode_frames(ep)[t0 : t0 + k + s]  # (K+S, H, W, C) uint8
        branch_action = None
        if self.branch_prob > 0:
            rng = np.random.default_rng((abs(seed), index, 1))
            if rng.random() < self.branch_prob:
                branches = self._branches[ep][t0 + k - 1]  # (A, S, H, W, C): every action, held
                branch_action = int(rng.integers(branches.shape[0]))
                window = np.concatenate([window[:k], branches[branch_action]])
        if self.action_masks:
            branches = self._branches[ep][t0 + k - 1]
            differs = (branches != branches[:1]).any(axis=(0, 4))  # (S, H, W)
            mask = np.broadcast_to((differs * 255).astype(np.uint8)[..., None], (s, *window.shape[1:]))
            window = np.concatenate([window, mask])  # cut with the frames, split off below
        if self.patch_size > 0:
            window = self._patch(window, np.random.default_rng((abs(seed), index)))
        x = to_pm1(window)
        item: dict[str, Any] = {"context": x[:k], "target": x[k : k + s], "episode": ep, "start": t0}
        if self.action_masks:
            item["action_mask"] = x[k + s :, :1].add(1.0).div_(2.0)
        actions = self._actions[ep]
        if actions is not None:
            a = actions[t0 : t0 + k + s].copy()
            if a[-1] == ACTION_NONE:
                a[-1] = 0  # the slot after the last target predicts nothing; keep indices valid
            if branch_action is not None:
                a[k - 1 :] = branch_action  # held from the last context frame on
            item["actions"] = torch.from_numpy(a)
        return item

    def _patch(self, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        p = self.patch_size
        h, w = window.shape[1:3]
        tries = self.motion_tries if self.min_motion > 0 else 1
        best, best_motion = (0, 0), -1.0
        if tries > 1:
            last = window[self.context - 1].astype(np.float32) / 127.5
            nxt = window[self.context].astype(np.float32) / 127.5
            sq = (nxt - last) ** 2
        for _ in range(tries):
            top, left = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
            if tries == 1:
                best = (top, left)
                break
            motion = float(sq[top : top + p, left : left + p].mean())
            if motion > best_motion:
                best, best_motion = (top, left), motion
            if motion > self.min_motion:
                break
        top, left = best
        return window[:, top : top + p, left : left + p]


class FrameSequences(FrameWindows):
    """Full-frame test sequences for rollouts: K context frames and the ground-truth future of length H.

    The same items as :class:`FrameWindows` (``"target"`` holds the H future frames, ``"actions"``
    ``(K+H,)`` with ``actions[K-1+s]`` driving rollout step ``s``), without patches, and by default
    non-overlapping (``stride = K + H``).

    Args:
        scp_path: ``data/<set>/episodes.scp``.
        context: K.
        horizon: H, the rollout length.
        grayscale: as in :class:`FrameWindows`.
        resize: as in :class:`FrameWindows`.
        stride: distance between sequence starts; default ``K + H``.
        max_per_episode: at most this many sequences per episode (the first ones).
        in_memory: as in :class:`FrameWindows`.
    """

    def __init__(
        self,
        scp_path: str | os.PathLike,
        context: int = 4,
        horizon: int = 1,
        grayscale: bool = False,
        resize: Sequence[int] | None = None,
        stride: int | None = None,
        max_per_episode: int | None = None,
        in_memory: bool = True,
    ) -> None:
        super().__init__(
            scp_path,
            context=context,
            horizon=horizon,
            patch_size=0,
            grayscale=grayscale,
            resize=resize,
            in_memory=in_memory,
            stride=stride if stride is not None else context + horizon,
            max_per_episode=max_per_episode,
        )
