"""Episode files for next-frame prediction: one compressed ``.npz`` per episode, listed in ``episodes.scp``.

File layout (``np.savez_compressed``-compatible, read with ``allow_pickle=False``):

* ``frames``: uint8 ``(T, H, W, C)``;
* ``actions`` (optional): int64 ``(T,)``. ``actions[t]`` is the action taken *after observing frame t*;
  it leads to frame ``t + 1``. No action follows the last frame of an episode (or a terminal frame),
  so those entries are ``-1``;
* ``rewards`` (optional): float32 ``(T,)``. ``rewards[t]`` is the reward received for the transition
  ``t -> t + 1`` (the reward for ``actions[t]``); ``0`` where no action followed;
* ``terminated``: bool ``(T,)``. ``terminated[t]`` marks frame ``t`` as terminal: no transition leads
  out of it, so a training window never spans ``t -> t + 1``;
* ``branches`` (optional): uint8 ``(T, A, S, H, W, C)``. ``branches[t, a, s]`` is the frame after
  holding action ``a`` for ``s + 1`` steps from frame ``t`` (recorded from the emulator's state,
  ``seqgan data atari --branches``), so the outcome of every action is known, not only of the one
  taken; zeros where no transition follows;
* ``meta``: a JSON object stored as a 0-d unicode array (source, game, frameskip, sticky-action
  probability, seed, versions, ``num_actions``, ``action_meanings``, ...).

A data directory ``data/<set>/`` holds ``episodes.scp`` (``<episode-id> <path>`` lines, sorted by id)
and ``stats.json`` (frame shape, counts, per-channel mean and std, number of actions), written by
:func:`split_episodes`.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqgan.atomic import AtomicFile, write_text
from seqgan.data.scp import DataDirError, read_scp, write_scp

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
ACTION_NONE = -1  # "no action followed this frame" (last or terminal frame)
_KEYS = ("frames", "actions", "rewards", "terminated", "branches", "meta")
# A fixed timestamp inside the zip makes identical episodes byte-identical files.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class EpisodeError(ValueError):
    """An episode file or an episode list is broken; the message names the file and what to do."""


@dataclass
class Episode:
    """One episode in memory.

    Attributes:
        frames: uint8 ``(T, H, W, C)``.
        actions: int64 ``(T,)`` or ``None``; ``actions[t]`` leads from frame ``t`` to ``t + 1``,
            ``-1`` where no action followed.
        rewards: float32 ``(T,)`` or ``None``; reward of the transition ``t -> t + 1``.
        terminated: bool ``(T,)``; frame ``t`` is terminal.
        meta: the metadata dictionary.
        branches: uint8 ``(T, A, S, H, W, C)`` or ``None``; ``branches[t, a, s]`` is the frame after
            holding action ``a`` for ``s + 1`` steps from frame ``t``.
    """

    frames: np.ndarray
    actions: np.ndarray | None = None
    rewards: np.ndarray | None = None
    terminated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    meta: dict[str, Any] = field(default_factory=dict)
    branches: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)``."""
        return tuple(int(s) for s in self.frames.shape[1:])  # type: ignore[return-value]

    @property
    def num_actions(self) -> int | None:
        """The size of the action set (from the metadata, else ``max(actions) + 1``); None without actions."""
        if self.actions is None:
            return None
        if "num_actions" in self.meta:
            return int(self.meta["num_actions"])
        return int(self.actions.max()) + 1 if self.actions.size else 0


def _versions() -> dict[str, str]:
    from seqgan import __version__

    return {"seqgan": __version__, "numpy": np.__version__}


def _check_arrays(
    where: str,
    frames: np.ndarray,
    actions: np.ndarray | None,
    rewards: np.ndarray | None,
    terminated: np.ndarray,
) -> None:
    """Raises :class:`EpisodeError` when shapes, dtypes or the action convention are violated."""
    if frames.dtype != np.uint8 or frames.ndim != 4:
        raise EpisodeError(f"{where}: 'frames' must be uint8 (T, H, W, C); got {frames.dtype} {frames.shape}")
    t = frames.shape[0]
    if t == 0:
        raise EpisodeError(f"{where}: the episode has no frames")
    for name, arr in (("actions", actions), ("rewards", rewards), ("terminated", terminated)):
        if arr is not None and arr.shape != (t,):
            raise EpisodeError(f"{where}: '{name}' must have shape ({t},) like the frames; got {arr.shape}")
    if actions is not None:
        if actions.dtype != np.int64:
            raise EpisodeError(f"{where}: 'actions' must be int64; got {actions.dtype}")
        if actions.size and actions.min() < ACTION_NONE:
            raise EpisodeError(f"{where}: 'actions' holds {actions.min()}; actions are >= 0 or -1 (none)")
        # -1 only where no transition follows: the last frame or a terminal one.
        missing = actions == ACTION_NONE
        missing[-1] = False
        if np.any(missing & ~terminated):
            bad = int(np.flatnonzero(missing & ~terminated)[0])
            raise EpisodeError(
                f"{where}: action -1 (none) at frame {bad}, which is neither last nor terminal"
            )
    if rewards is not None and rewards.dtype != np.float32:
        raise EpisodeError(f"{where}: 'rewards' must be float32; got {rewards.dtype}")
    if terminated.dtype != np.bool_:
        raise EpisodeError(f"{where}: 'terminated' must be bool; got {terminated.dtype}")


def _check_branches(
    where: str, branches: np.ndarray, frames_shape: tuple[int, ...], num_actions: int | None
) -> None:
    """Raises :class:`EpisodeError` unless ``branches`` is uint8 ``(T, A, S, H, W, C)`` matching the frames."""
    t, rest = frames_shape[0], tuple(frames_shape[1:])
    if (
        branches.dtype != np.uint8
        or branches.ndim != 6
        or branches.shape[0] != t
        or branches.shape[3:] != rest
    ):
        raise EpisodeError(
            f"{where}: 'branches' must be uint8 (T, A, S, H, W, C) = ({t}, A, S, "
            f"{', '.join(map(str, rest))}); "
            f"got {branches.dtype} {branches.shape}"
        )
    if num_actions is not None and branches.shape[1] != num_actions:
        raise EpisodeError(
            f"{where}: 'branches' holds {branches.shape[1]} actions, the episode has {num_actions}"
        )


def write_episode(
    path: str | os.PathLike,
    frames: np.ndarray,
    actions: np.ndarray | Sequence[int] | None = None,
    rewards: np.ndarray | Sequence[float] | None = None,
    terminated: np.ndarray | Sequence[bool] | None = None,
    meta: Mapping[str, Any] | None = None,
    branches: np.ndarray | None = None,
) -> None:
    """Writes one episode atomically (a temporary file beside ``path``, then a rename).

    Args:
        path: the ``.npz`` file to write.
        frames: uint8 ``(T, H, W, C)``, or ``(T, H, W)`` for one channel.
        actions: ints ``(T,)``; ``actions[t]`` is the action taken after observing frame ``t``
            (leading to frame ``t + 1``), ``-1`` for the last / terminal frames.
        rewards: ``(T,)`` reward of the transition ``t -> t + 1``.
        terminated: bools ``(T,)``; all False when omitted.
        meta: JSON-serialisable metadata; ``format`` and ``versions`` (seqgan, numpy) are added.
        branches: uint8 ``(T, A, S, H, W, C)``: the frames each action held for 1..S steps leads to.

    Raises:
        EpisodeError: the arrays do not follow the layout above.
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[..., None]
    if actions is not None:
        actions = np.asarray(actions)
        if not np.issubdtype(actions.dtype, np.integer):
            raise EpisodeError(f"{path}: 'actions' must be integers; got {actions.dtype}")
        actions = actions.astype(np.int64)
    if rewards is not None:
        rewards = np.asarray(rewards, dtype=np.float32)
    term = np.zeros(frames.shape[0], dtype=bool) if terminated is None else np.asarray(terminated, dtype=bool)
    _check_arrays(str(path), frames, actions, rewards, term)
    if branches is not None:
        if actions is None:
            raise EpisodeError(f"{path}: 'branches' needs 'actions'")
        _check_branches(str(path), np.asarray(branches), frames.shape, None)

    full_meta = {"format": FORMAT_VERSION, **dict(meta or {})}
    full_meta["versions"] = {**_versions(), **dict(full_meta.get("versions", {}))}
    try:
        meta_json = json.dumps(full_meta, sort_keys=True)
    except TypeError as e:
        raise EpisodeError(f"{path}: metadata is not JSON-serialisable ({e})") from e

    arrays: dict[str, np.ndarray] = {"frames": np.ascontiguousarray(frames), "terminated": term}
    if actions is not None:
        arrays["actions"] = actions
    if rewards is not None:
        arrays["rewards"] = rewards
    if branches is not None:
        arrays["branches"] = np.ascontiguousarray(branches)
    arrays["meta"] = np.array(meta_json)  # 0-d unicode array: loads without pickle

    path.parent.mkdir(parents=True, exist_ok=True)
    with AtomicFile(path) as out, zipfile.ZipFile(out.tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def read_episode(
    path: str | os.PathLike, *, load_frames: bool = True, load_branches: bool = False
) -> Episode:
    """Reads and checks one episode file.

    Args:
        path: an episode ``.npz``.
        load_frames: False reads everything but the frames (``frames`` is then an empty
            ``(0, H, W, C)`` array with the right frame shape) — cheap for metadata and statistics.
        load_branches: also read ``branches`` (A x S times the size of the frames); with False, or when
            the file has none, ``branches`` is None.

    Raises:
        EpisodeError: the file is missing, not an npz archive, lacks ``frames`` or ``meta``, or its
            arrays do not follow the layout; the message names the file.
    """
    path = Path(path)
    hint = "regenerate it (seqgan data ...) or remove it from episodes.scp"
    if not path.is_file():
        raise EpisodeError(f"{path}: episode file not found; {hint}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            missing = {"frames", "meta"} - names
            if missing:
                raise EpisodeError(f"{path}: missing array(s) {sorted(missing)}; {hint}")
            unknown = names - set(_KEYS)
            if unknown:
                log.debug("%s: ignoring unknown arrays %s", path, sorted(unknown))
            if load_frames:
                frames = npz["frames"]
            else:
                # The .npy header gives the shape without decompressing the data.
                with npz.zip.open("frames.npy") as f:
                    major, _ = np.lib.format.read_magic(f)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if major == 1
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(f)
                frames = np.zeros((0, *shape[1:]), dtype=dtype)
                num_frames = shape[0]
            actions = npz["actions"] if "actions" in names else None
            rewards = npz["rewards"] if "rewards" in names else None
            terminated = npz["terminated"] if "terminated" in names else None
            branches = npz["branches"] if load_branches and "branches" in names else None
            meta_arr = npz["meta"]
    except EpisodeError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError, zlib.error) as e:
        raise EpisodeError(f"{path}: not a readable episode file ({type(e).__name__}: {e}); {hint}") from e

    if meta_arr.shape != () or meta_arr.dtype.kind != "U":
        raise EpisodeError(f"{path}: 'meta' must be a 0-d unicode array holding JSON; {hint}")
    try:
        meta = json.loads(str(meta_arr))
    except json.JSONDecodeError as e:
        raise EpisodeError(f"{path}: 'meta' is not valid JSON ({e}); {hint}") from e
    if not isinstance(meta, dict):
        raise EpisodeError(f"{path}: 'meta' must be a JSON object; {hint}")

    t = frames.shape[0] if load_frames else num_frames
    if terminated is None:
        terminated = np.zeros(t, dtype=bool)
    if load_frames:
        _check_arrays(str(path), frames, actions, rewards, terminated)
    else:
        _check_arrays(str(path), np.zeros((t, 1, 1, 1), np.uint8), actions, rewards, terminated)
    if branches is not None:
        if actions is None:
            raise EpisodeError(f"{path}: 'branches' needs 'actions'; {hint}")
        shape = frames.shape if load_frames else (t, *frames.shape[1:])
        num = int(meta["num_actions"]) if "num_actions" in meta else None
        _check_branches(str(path), branches, shape, num)
    return Episode(
        frames=frames, actions=actions, rewards=rewards, terminated=terminated, meta=meta, branches=branches
    )


def episode_length(path: str | os.PathLike) -> int:
    """The number of frames of an episode file, read from its header (no decompression)."""
    ep = read_episode(path, load_frames=False)
    return int(ep.terminated.shape[0])


# -- episodes.scp ---------------------------------------------------------------------------------------


def read_episodes_scp(path: str | os.PathLike) -> dict[str, str]:
    """Reads ``episodes.scp`` into ``{episode_id: path}`` (file order). Relative paths stay as written.

    Raises:
        EpisodeError: the file is missing or malformed (pipes are refused).
    """
    path = Path(path)
    if not path.is_file():
        raise EpisodeError(f"{path}: episode list not found; generate the corpus first (seqgan data ...)")
    try:
        return dict(read_scp(path))
    except DataDirError as e:
        raise EpisodeError(str(e)) from e


def write_episodes_scp(path: str | os.PathLike, entries: Mapping[str, str | os.PathLike]) -> None:
    """Writes ``<episode-id> <path>`` lines sorted by id, atomically (:func:`seqgan.data.scp.write_scp`).

    Raises:
        EpisodeError: an id that is empty or holds whitespace, or a path that is not a plain file path.
    """
    path = Path(path)
    for key, value in entries.items():
        if not key or any(c.isspace() for c in key):
            raise EpisodeError(f"{path}: episode id {key!r} is empty or contains whitespace")
        if str(value).endswith("|") or "\n" in str(value):
            raise EpisodeError(f"{path}: episode path {str(value)!r} for {key!r} is not a plain file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_scp(path, entries)
    except DataDirError as e:
        raise EpisodeError(str(e)) from e


def _as_entries(episodes: str | os.PathLike | Mapping[str, Any] | Sequence[Any]) -> dict[str, str]:
    if isinstance(episodes, (str, os.PathLike)):
        return read_episodes_scp(episodes)
    if isinstance(episodes, Mapping):
        return {str(k): str(v) for k, v in episodes.items()}
    entries: dict[str, str] = {}
    for p in episodes:
        key = Path(p).stem
        if key in entries:
            raise EpisodeError(f"two episode files share the id {key!r}: {entries[key]} and {p}")
        entries[key] = str(p)
    return entries


# -- splits and statistics ----------------------------------------------------------------------------


def _split_counts(n: int, sizes: Sequence[float | int]) -> list[int]:
    """Turns fractions (floats summing to 1) or counts (ints, sum <= n) into counts."""
    if all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
        counts = [int(s) for s in sizes]
        if any(c < 0 for c in counts) or sum(counts) > n:
            raise EpisodeError(f"split counts {counts} do not fit {n} episodes")
        return counts
    fracs = [float(s) for s in sizes]
    if any(f < 0 for f in fracs) or not math.isclose(sum(fracs), 1.0, abs_tol=1e-6):
        raise EpisodeError(f"split fractions {fracs} must be >= 0 and sum to 1 (or give integer counts)")
    # Every non-empty fraction gets at least one episode when there are enough; the first set
    # (train) takes the rounding remainder.
    counts = [0] * len(fracs)
    for i in range(1, len(fracs)):
        if fracs[i] > 0:
            counts[i] = max(1, round(fracs[i] * n)) if n >= len(fracs) else round(fracs[i] * n)
    counts[0] = n - sum(counts[1:])
    if counts[0] < 0:
        raise EpisodeError(f"split fractions {fracs} do not fit {n} episodes")
    return counts


def episode_stats(paths: Sequence[str | os.PathLike]) -> dict[str, Any]:
    """Statistics of a set of episodes (one pass, float64 accumulation).

    Returns:
        ``frame_shape`` [H, W, C]; ``num_episodes``; ``num_frames``; ``min_length`` / ``max_length``;
        ``mean`` / ``std`` per channel in uint8 units (0..255) and ``mean_pm1`` / ``std_pm1`` in the
        model's [-1, 1] units; ``has_actions``; ``num_actions`` (None without actions); ``action_counts``;
        ``num_terminated``.

    Raises:
        EpisodeError: an episode is broken, or frame shapes differ between episodes.
    """
    if not paths:
        raise EpisodeError("cannot compute statistics of an empty episode set")
    shape: tuple[int, ...] | None = None
    total = 0
    lengths: list[int] = []
    s1 = s2 = None
    num_actions: int | None = None
    has_actions = None
    action_counts: np.ndarray | None = None
    num_term = 0
    for p in paths:
        ep = read_episode(p)
        if shape is None:
            shape = ep.frame_shape
            s1 = np.zeros(shape[2], np.float64)
            s2 = np.zeros(shape[2], np.float64)
        elif ep.frame_shape != shape:
            raise EpisodeError(f"{p}: frame shape {ep.frame_shape} differs from {shape} in the same set")
        if has_actions is None:
            has_actions = ep.actions is not None
        elif has_actions != (ep.actions is not None):
            raise EpisodeError(f"{p}: some episodes of this set have actions and some do not")
        x = ep.frames.reshape(-1, shape[2]).astype(np.float64)
        s1 += x.sum(0)
        s2 += (x * x).sum(0)
        total += ep.num_frames
        lengths.append(ep.num_frames)
        num_term += int(ep.terminated.sum())
        if ep.actions is not None:
            n = ep.num_actions or 0
            valid = ep.actions[ep.actions >= 0]
            n = max(n, int(valid.max()) + 1 if valid.size else 0)
            num_actions = max(num_actions or 0, n)
            counts = np.bincount(valid, minlength=num_actions)
            if action_counts is None or action_counts.size < counts.size:
                grown = np.zeros(counts.size, np.int64)
                if action_counts is not None:
                    grown[: action_counts.size] = action_counts
                action_counts = grown
            action_counts[: counts.size] += counts
    assert shape is not None and s1 is not None and s2 is not None
    pixels = total * shape[0] * shape[1]
    mean = s1 / pixels
    std = np.sqrt(np.maximum(s2 / pixels - mean**2, 0.0))
    return {
        "frame_shape": list(shape),
        "num_episodes": len(paths),
        "num_frames": total,
        "min_length": min(lengths),
        "max_length": max(lengths),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "mean_pm1": (mean / 127.5 - 1.0).tolist(),
        "std_pm1": (std / 127.5).tolist(),
        "has_actions": bool(has_actions),
        "num_actions": num_actions,
        "action_counts": None if action_counts is None else action_counts.tolist(),
        "num_terminated": num_term,
    }


def _write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def split_episodes(
    episodes: str | os.PathLike | Mapping[str, Any] | Sequence[Any],
    out_dir: str | os.PathLike,
    sizes: Sequence[float | int] = (0.8, 0.1, 0.1),
    seed: int = 0,
    names: Sequence[str] = ("train", "dev", "test"),
) -> dict[str, list[str]]:
    """Splits episodes at random into data directories ``out_dir/<name>/`` (episodes.scp + stats.json).

    Args:
        episodes: an ``episodes.scp`` path, a ``{id: path}`` mapping, or a list of paths (id = file stem).
        out_dir: the parent of the data directories (e.g. ``data``).
        sizes: fractions summing to 1 (each non-zero set gets at least one episode when there are
            enough), or integer counts (episodes beyond their sum are left out).
        seed: the shuffle seed; the same seed and episode ids give the same split.
        names: the set names, one per size.

    Returns:
        ``{name: [episode ids, sorted]}``.
    """
    if len(sizes) != len(names):
        raise EpisodeError(f"{len(sizes)} split sizes for {len(names)} sets {list(names)}")
    entries = _as_entries(episodes)
    ids = sorted(entries)
    counts = _split_counts(len(ids), sizes)
    order = np.random.default_rng(seed).permutation(len(ids))
    out_dir = Path(out_dir)
    result: dict[str, list[str]] = {}
    start = 0
    for name, count in zip(names, counts):
        chosen = sorted(ids[i] for i in order[start : start + count])
        start += count
        result[name] = chosen
        set_dir = out_dir / name
        set_dir.mkdir(parents=True, exist_ok=True)
        write_episodes_scp(set_dir / "episodes.scp", {k: entries[k] for k in chosen})
        if chosen:
            stats = episode_stats([entries[k] for k in chosen])
        else:
            stats = {"num_episodes": 0, "num_frames": 0}
            log.warning("split %r is empty (%d episodes, sizes %s)", name, len(ids), list(sizes))
        stats["split_seed"] = seed
        _write_json(set_dir / "stats.json", stats)
    return result
