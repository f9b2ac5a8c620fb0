#!/usr/bin/env python3
"""The latest training report of an experiment, read from its ``metrics.jsonl`` (recipe stage 2).

    python utils/train_progress.py exp/train_small                  the last report, of any kind
    python utils/train_progress.py exp/train_small --each-kind      the last train and the last eval report
    python utils/train_progress.py exp/train_small --keys 'd_loss|g_l1|eval/.*'

prints, for example, ``step 500/1500 train: d_loss=0.693 g_l1=0.0412 (eta 8:02)``: the step, the total
from the experiment's ``config.yaml`` (``train.max_steps``), the statistics (those whose names match
``--keys`` entirely, when given) and the time left at the current run's pace. Prints nothing while
the trainer has reported nothing yet. Exit code 0.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import read_metrics_jsonl  # noqa: E402

_NOT_VALUES = ("step", "kind", "time")


def max_steps(exp: Path) -> int | None:
    """``train.max_steps`` of the experiment's resolved ``config.yaml``; None when it cannot be read."""
    import yaml

    try:
        value = yaml.safe_load((exp / "config.yaml").read_text(encoding="utf-8"))["train"]["max_steps"]
        return int(value)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return None


def steps_per_second(rows: list[dict]) -> float | None:
    """The pace of the current run: steps per second over its train reports (a resumed run restarts
    ``time`` at 0 and is a new run); None with fewer than two reports."""
    run: list[dict] = []
    for row in rows:
        if row.get("kind", "train") != "train":
            continue
        if run and (row["step"] <= run[-1]["step"] or row.get("time", 0.0) < run[-1].get("time", 0.0)):
            run = []
        run.append(row)
    if len(run) < 2:
        return None
    seconds = run[-1].get("time", 0.0) - run[0].get("time", 0.0)
    return (run[-1]["step"] - run[0]["step"]) / seconds if seconds > 0 else None


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _fmt_time(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def describe(row: dict, total: int | None, pace: float | None, keys: str | None = None) -> str:
    """One report as ``step S[/TOTAL] KIND: key=value ... [(eta M:SS)]``."""
    kind = row.get("kind", "train")
    step = f"{row['step']}/{total}" if total else str(row["step"])
    values = [
        f"{k}={_fmt(v)}"
        for k, v in row.items()
        if k not in _NOT_VALUES and (keys is None or re.fullmatch(keys, k))
    ]
    line = f"step {step} {kind}: {' '.join(values)}".rstrip()
    if kind == "train" and total and pace and math.isfinite(pace) and total > row["step"]:
        line += f" (eta {_fmt_time((total - row['step']) / pace)})"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("exp", type=Path, help="experiment directory (holds metrics.jsonl, config.yaml)")
    parser.add_argument("--keys", help="show only the statistics whose names match this regular expression")
    parser.add_argument("--each-kind", action="store_true", help="the last report of each kind (train, eval)")
    parser.add_argument("--width", type=int, default=0, help="cut lines to this many characters (0: no cut)")
    args = parser.parse_args(argv)

    rows = read_metrics_jsonl(args.exp / "metrics.jsonl")
    if not rows:
        return 0
    if args.each_kind:
        latest = {row.get("kind", "train"): row for row in rows}
        chosen = [latest[k] for k in sorted(latest, key=lambda k: (k != "train", k))]
    else:
        chosen = rows[-1:]
    total, pace = max_steps(args.exp), steps_per_second(rows)
    for row in chosen:
        line = describe(row, total, pace, args.keys)
        print(line[: args.width] if args.width > 0 else line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
