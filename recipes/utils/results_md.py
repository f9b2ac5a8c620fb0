"""Pieces shared by the recipes' results writers (se_results.py, vp_results.py, train_progress.py)."""

from __future__ import annotations

import json
from pathlib import Path

from seqgan.atomic import write_bytes


def atomic_write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, data)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table: the first column left-aligned, the others right-aligned (numbers)."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def read_metrics_jsonl(path: Path) -> list[dict]:
    """The rows of a training run's ``metrics.jsonl`` in order (none when it is missing).

    The trainer writes one JSON object per report: ``{"step", "kind" ("train" / "eval"), "time" (seconds
    since the run started; a resumed run starts again at 0), <statistic>: value, ...}``. A line cut
    short by an interruption is skipped.
    """
    rows = []
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "step" in row:
            rows.append(row)
    return rows
