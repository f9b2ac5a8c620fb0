"""Kaldi / ESPnet data directories: ``wav.scp``-style tables and their validation.

A data directory holds plain-text tables keyed by utterance id, one ``<id> <value>`` line each:

* ``wav.scp``   — utt-id → noisy (input) audio file
* ``spk1.scp``  — utt-id → clean (reference) audio file (the ESPnet enhancement convention)
* ``noise1.scp`` — utt-id → noise file (optional, for on-the-fly remixing)
* ``utt2spk``   — utt-id → speaker id; ``utt2dur`` — utt-id → duration in seconds;
  ``utt2num_samples``, ``text`` — other per-utterance tables (``spk2utt`` is keyed by speaker)

Values are file paths; everything after the first run of whitespace is the path, so paths may hold
spaces. Relative paths are resolved against the current working directory, as in Kaldi (recipes run
from their ``egs/<corpus>/<task>`` directory). Kaldi's command pipes (``sox in.wav -t wav - |``) are
refused: seqgan never runs shell commands taken from data files. Ids must be unique and sorted in byte
order (``LC_ALL=C sort``), which is what Python's ``sorted`` gives for str.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from seqgan.atomic import write_text

# Tables keyed by utterance id (so their ids must match wav.scp's); values that name files end in .scp
UTT_TABLES = ("wav.scp", "spk1.scp", "noise1.scp", "utt2spk", "utt2dur", "utt2num_samples", "text")


class DataDirError(ValueError):
    """A data directory or one of its tables is wrong; the message names the file and the problem."""


def _parse_table(path: str | Path, kind: str, files: bool) -> dict[str, str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataDirError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise DataDirError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise DataDirError(f"{path}: cannot read it ({e.strerror})") from None
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.split(maxsplit=1)
        if len(parts) < 2:
            raise DataDirError(f"{path}: line {number} has an id ('{parts[0]}') but no {kind}")
        key, value = parts
        if files and value.endswith("|"):
            raise DataDirError(
                f"{path}: line {number} is a command pipe ('... |'); seqgan reads only file paths; "
                "convert the audio to files first"
            )
        if key in table:
            raise DataDirError(f"{path}: line {number} repeats the id '{key}'; ids must be unique")
        table[key] = value
    return table


def read_scp(path: str | Path) -> dict[str, str]:
    """Reads an ``<id> <file path>`` table (``wav.scp``, ``spk1.scp``, ...).

    Args:
        path: the table.

    Returns:
        id → path, in file order. Blank lines are skipped.

    Raises:
        DataDirError: unreadable file, a line without a path, a repeated id, or a command pipe.
    """
    return _parse_table(path, "path", files=True)


def read_kv(path: str | Path) -> dict[str, str]:
    """Reads an ``<id> <value>`` table such as ``utt2spk`` or ``utt2dur`` (value: rest of the line).

    Raises:
        DataDirError: unreadable file, a line without a value, or a repeated id.
    """
    return _parse_table(path, "value", files=False)


def write_scp(path: str | Path, mapping: Mapping[str, object]) -> None:
    """Writes an ``<id> <value>`` table sorted by id, atomically: the one writer of every Kaldi table.

    ``wav.scp``, ``spk1.scp``, ``episodes.scp``, ``utt2spk``, ``spk2utt`` (value: the utterance ids
    joined by spaces), ``utt2dur``, ``text`` ... all go through here, so every table seqgan writes is in
    the order :func:`validate_data_dir` checks, and is written whole or not at all.

    Args:
        path: destination; its directory must exist. A failed write keeps the old file.
        mapping: id → value (converted with ``str``). Ids must not be empty or contain whitespace.

    Raises:
        DataDirError: an id that is empty or contains whitespace, a value with a line break, or (in a
            ``*.scp`` table of paths) a command pipe ending in ``|``.
    """
    path = Path(path)
    paths = path.name.endswith(".scp")
    lines = []
    for key in sorted(mapping):
        value = str(mapping[key])
        if not key or key.split() != [key]:
            raise DataDirError(f"{path}: id {key!r} is empty or contains whitespace")
        if "\n" in value or "\r" in value:
            raise DataDirError(f"{path}: the value of '{key}' contains a line break")
        if paths and value.rstrip().endswith("|"):
            raise DataDirError(f"{path}: the path of '{key}' is a command pipe ('... |'); write file paths")
        lines.append(f"{key} {value}\n")
    write_text(path, "".join(lines))


@dataclass
class DataDir:
    """A validated data directory.

    Attributes:
        path: the directory.
        ids: utterance ids in sorted order (those of the first required table).
        tables: file name (``"wav.scp"``, ``"utt2spk"``, ...) → its id → value map, for every table
            that was asked for and present.
    """

    path: Path
    ids: list[str]
    tables: dict[str, dict[str, str]] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def __getitem__(self, name: str) -> dict[str, str]:
        try:
            return self.tables[name]
        except KeyError:
            raise DataDirError(f"{self.path}: has no {name}") from None

    def get(self, name: str) -> dict[str, str] | None:
        """The table ``name``, or ``None`` when the directory has none."""
        return self.tables.get(name)

    def __len__(self) -> int:
        return len(self.ids)


def _first(items: Iterable[str], n: int = 5) -> str:
    items = list(items)
    shown = ", ".join(items[:n])
    return shown + (", ..." if len(items) > n else "")


def _check_same_ids(path: Path, ref_name: str, ref: dict[str, str], name: str, table: dict[str, str]) -> None:
    if table.keys() == ref.keys():
        return
    extra = sorted(set(table) - set(ref))
    missing = sorted(set(ref) - set(table))
    parts = []
    if missing:
        parts.append(f"lacks {len(missing)} id(s) of {ref_name} ({_first(missing)})")
    if extra:
        parts.append(f"has {len(extra)} id(s) not in {ref_name} ({_first(extra)})")
    raise DataDirError(
        f"{path / name}: ids do not match {ref_name}: {name} "
        + " and ".join(parts)
        + f"; {ref_name} has {len(ref)} ids, {name} has {len(table)}. "
        "Regenerate the tables together (or filter them to the common ids)"
    )


def validate_data_dir(
    dir: str | Path,
    required: Iterable[str] = ("wav.scp",),
    optional: Iterable[str] = ("spk1.scp", "noise1.scp", "utt2spk", "utt2dur"),
    check_files: bool = True,
) -> DataDir:
    """Loads and checks a data directory.

    Every table is read (``*.scp`` with :func:`read_scp`, others with :func:`read_kv`) and checked:
    ids unique and sorted; every utterance-keyed table (see ``UTT_TABLES``, plus any other ``*.scp``)
    has exactly the ids of the first required table; ``utt2dur`` values are non-negative numbers;
    with ``check_files``, every path of a ``*.scp`` table names an existing file.

    Args:
        dir: the data directory.
        required: tables that must exist (the first one defines the utterance ids).
        optional: tables that are loaded and checked when present.
        check_files: check that the files named in ``*.scp`` tables exist.

    Returns:
        The loaded :class:`DataDir`.

    Raises:
        DataDirError: naming the file and what is wrong with it.
    """
    path = Path(dir)
    required = list(required)
    if not required:
        raise ValueError("validate_data_dir needs at least one required table")
    if not path.is_dir():
        raise DataDirError(f"{path}: not a directory (expected a data directory with {', '.join(required)})")
    for name in required:
        if not (path / name).is_file():
            raise DataDirError(f"{path}: {name} is missing (required: {', '.join(required)})")

    tables: dict[str, dict[str, str]] = {}
    for name in [*required, *(n for n in optional if n not in required)]:
        file = path / name
        if not file.is_file():
            continue
        table = read_scp(file) if name.endswith(".scp") else read_kv(file)
        if not table:
            raise DataDirError(f"{file}: is empty")
        keys = list(table)
        for a, b in zip(keys, keys[1:]):
            if b < a:
                raise DataDirError(
                    f"{file}: not sorted by id ('{b}' comes after '{a}'); "
                    f"sort it with: LC_ALL=C sort -k1,1 -o {file} {file}"
                )
        tables[name] = table

    ref_name = required[0]
    ref = tables[ref_name]
    for name, table in tables.items():
        if name != ref_name and (name in UTT_TABLES or name.endswith(".scp")):
            _check_same_ids(path, ref_name, ref, name, table)

    if "utt2dur" in tables:
        for key, value in tables["utt2dur"].items():
            try:
                ok = float(value) >= 0
            except ValueError:
                ok = False
            if not ok:
                raise DataDirError(
                    f"{path / 'utt2dur'}: the duration of '{key}' is not a number >= 0: {value!r}"
                )

    if check_files:
        for name, table in tables.items():
            if not name.endswith(".scp"):
                continue
            missing = [(k, v) for k, v in table.items() if not os.path.isfile(v)]
            if missing:
                shown = "; ".join(f"{k}: {v}" for k, v in missing[:3])
                raise DataDirError(
                    f"{path / name}: {len(missing)} of {len(table)} files do not exist ({shown}"
                    + ("; ..." if len(missing) > 3 else "")
                    + f"). Relative paths are read from the current directory ({os.getcwd()})"
                )
    return DataDir(path=path, ids=list(ref), tables=tables)
