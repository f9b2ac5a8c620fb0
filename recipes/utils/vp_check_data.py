#!/usr/bin/env python3
"""Checks the frame data directories of a next-frame recipe (stage 1 of recipes/vp.sh).

    python utils/vp_check_data.py data/train data/dev data/test

For every ``DIR/episodes.scp`` (already validated as a table by ``utils/validate_data_dir.sh``):

* every episode file is readable (its header: frames, actions, terminal flags) — a broken one is named
  with the reason, and the check goes on to report every problem before failing;
* all episodes of all the directories have one frame shape, and either all have actions or none;
* no episode id or file is in two directories (train / dev / test must be disjoint);
* ``DIR/utt2num_frames`` (episode id -> number of frames, Kaldi's name) is written;
* ``DIR/stats.json`` (``seqgan.data.episodes.episode_stats``) is recomputed when it is missing or older
  than ``episodes.scp``.

A summary line per directory is printed. Files are written to a temporary name and renamed; nothing is
written when a problem is found. Exit code 0 when everything is fine, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seqgan.atomic import write_text


def _atomic_write(path: Path, text: str) -> None:
    write_text(path, text)


def check_dirs(dirs: list[Path]) -> int:
    """Checks ``dirs`` (see the module docstring); returns the number of problems found."""
    from seqgan.data.episodes import EpisodeError, episode_stats, read_episode, read_episodes_scp

    problems: list[str] = []
    lengths: dict[Path, dict[str, int]] = {}
    owner: dict[str, Path] = {}  # episode id and resolved file -> the directory listing it
    shape = has_actions = None
    first = ""
    for d in dirs:
        scp = d / "episodes.scp"
        try:
            entries = read_episodes_scp(scp)
        except EpisodeError as e:
            problems.append(str(e))
            continue
        if not entries:
            problems.append(f"{scp}: lists no episode")
            continue
        lengths[d] = {}
        for key, path in entries.items():
            for name in (f"id {key}", f"file {Path(path).resolve()}"):
                if name in owner and owner[name] != d:
                    problems.append(
                        f"{scp}: {name} is also in {owner[name]}/episodes.scp; sets must be disjoint"
                    )
                owner[name] = d
            try:
                ep = read_episode(path, load_frames=False)
            except (EpisodeError, OSError, ValueError) as e:
                problems.append(f"{scp}: episode {key}: {e}")
                continue
            if shape is None:
                shape, has_actions, first = ep.frame_shape, ep.actions is not None, f"{scp} ({key})"
            elif ep.frame_shape != shape:
                problems.append(
                    f"{scp}: episode {key} ({path}) has frames {ep.frame_shape}, {first} has {shape}; "
                    "every set must have one frame shape (regenerate the corpus with one --size/--resize)"
                )
            elif (ep.actions is not None) != has_actions:
                problems.append(
                    f"{scp}: episode {key} ({path}) {'has' if ep.actions is not None else 'has no'} actions "
                    f"unlike {first}; do not mix recordings with and without actions"
                )
            lengths[d][key] = int(ep.terminated.shape[0])
    if problems:
        for p in problems:
            print(f"vp_check_data.py: {p}", file=sys.stderr)
        return len(problems)

    for d in dirs:
        scp = d / "episodes.scp"
        _atomic_write(d / "utt2num_frames", "".join(f"{k} {n}\n" for k, n in sorted(lengths[d].items())))
        stats_path = d / "stats.json"
        if not stats_path.is_file() or stats_path.stat().st_mtime < scp.stat().st_mtime:
            stats = episode_stats(list(read_episodes_scp(scp).values()))
            _atomic_write(stats_path, json.dumps(stats, indent=2, sort_keys=True) + "\n")
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
        h, w, c = stats["frame_shape"]
        actions = f", {stats['num_actions']} actions" if stats.get("has_actions") else ", no actions"
        n = list(lengths[d].values())
        print(
            f"  {d}: {stats['num_episodes']} episodes, {stats['num_frames']} frames ({min(n)}-{max(n)} per "
            f"episode), {h}x{w}x{c}{actions}, mean {', '.join(f'{m:.1f}' for m in stats['mean'])}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="data directories holding episodes.scp")
    args = parser.parse_args(argv)
    return 1 if check_dirs(args.dirs) else 0


if __name__ == "__main__":
    sys.exit(main())
