"""Writes a frame corpus directory from an episode generator (shared by balls, digits and Atari).

Layout::

    OUT/episodes/<prefix>-000000.npz ...     one file per episode
    OUT/episodes.scp                          every episode
    OUT/data/{train,dev,test}/episodes.scp    the split, with stats.json beside each list
    OUT/.done                                 JSON: the settings and a summary; written last

Generation is deterministic (episode ``i`` depends only on the seed and ``i``) and idempotent: when
``.done`` exists with the same settings nothing is redone; with other settings the call is refused
unless ``force`` is set. An interrupted run leaves no ``.done`` and is simply redone.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seqgan.atomic import write_text
from seqgan.data.episodes import split_episodes, write_episode, write_episodes_scp

log = logging.getLogger(__name__)

DONE = ".done"


class CorpusError(RuntimeError):
    """The output directory holds a different corpus, or generation failed; the message says what to do."""


def build_frame_corpus(
    out_dir: str | os.PathLike,
    make_episode: Callable[[int], dict[str, Any]],
    num_episodes: int,
    prefix: str,
    settings: dict[str, Any],
    split_sizes: Sequence[float | int] = (0.8, 0.1, 0.1),
    split_seed: int = 0,
    force: bool = False,
    on_episode: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Generates ``num_episodes`` episodes and the train/dev/test data directories.

    Args:
        out_dir: the corpus directory.
        make_episode: ``i -> {"frames", optional "actions", "rewards", "terminated", "meta"}``.
        num_episodes: how many episodes.
        prefix: episode ids are ``<prefix>-<i:06d>``.
        settings: everything that determines the content (compared with an existing ``.done``).
        split_sizes: fractions or counts for train, dev, test (see :func:`split_episodes`).
        split_seed: the split's shuffle seed.
        force: regenerate even when ``.done`` exists with other settings.
        on_episode: called with ``i`` after each episode (progress display).

    Returns:
        The ``.done`` summary: settings, split sizes, frame count and timings (``seconds_per_episode``);
        ``"skipped": True`` when the corpus was already complete.
    """
    if num_episodes < 1:
        raise CorpusError(f"{out_dir}: --num-episodes must be >= 1; got {num_episodes}")
    out = Path(out_dir)
    done = out / DONE
    settings = json.loads(
        json.dumps(
            {
                **settings,
                "num_episodes": num_episodes,
                "prefix": prefix,
                "split_sizes": list(split_sizes),
                "split_seed": split_seed,
            }
        )
    )
    if done.is_file():
        try:
            previous = json.loads(done.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            previous = {}
        if previous.get("settings") == settings:
            log.info("%s: corpus already complete (%s exists); nothing to do", out, DONE)
            return {**previous, "skipped": True}
        if not force:
            raise CorpusError(
                f"{out} already holds a corpus made with other settings (see {done}); "
                "choose another --out directory or pass --force to regenerate it"
            )
        log.info("%s: settings changed, regenerating (--force)", out)
    done.unlink(missing_ok=True)

    ep_dir = out / "episodes"
    ep_dir.mkdir(parents=True, exist_ok=True)
    entries: dict[str, str] = {}
    num_frames = 0
    t_start = time.perf_counter()
    for i in range(num_episodes):
        ep = make_episode(i)
        key = f"{prefix}-{i:06d}"
        path = (ep_dir / f"{key}.npz").resolve()
        write_episode(
            path,
            ep["frames"],
            actions=ep.get("actions"),
            rewards=ep.get("rewards"),
            terminated=ep.get("terminated"),
            meta=ep.get("meta"),
            branches=ep.get("branches"),
        )
        entries[key] = str(path)
        num_frames += int(ep["frames"].shape[0])
        if on_episode is not None:
            on_episode(i)
    gen_seconds = time.perf_counter() - t_start
    # Episodes of an earlier run (more episodes, another game) would linger unlisted: remove them.
    for stale in ep_dir.glob("*.npz"):
        if stale.stem not in entries:
            stale.unlink()

    write_episodes_scp(out / "episodes.scp", entries)
    splits = split_episodes(out / "episodes.scp", out / "data", sizes=split_sizes, seed=split_seed)
    summary = {
        "settings": settings,
        "splits": {name: len(ids) for name, ids in splits.items()},
        "num_frames": num_frames,
        "generation_seconds": round(gen_seconds, 3),
        "seconds_per_episode": round(gen_seconds / num_episodes, 5),
        "frames_per_second": round(num_frames / max(gen_seconds, 1e-9), 1),
    }
    write_text(done, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return {**summary, "skipped": False}
