"""Atomic file output: write beside the target, then rename over it.

A reader never sees a half-written file, and a write that fails (an error, an interrupt) leaves no
temporary file and keeps the previous file as it was. Every file seqgan writes whole goes through here:

* :func:`write_text` / :func:`write_bytes` for contents held in memory;
* :func:`atomic_open` for a file object to write into (``json.dump``, ``torch.save``, ...);
* :class:`AtomicFile` for a writer that takes a file name (``soundfile``, ``safetensors``, ``zipfile``)
  or that writes over more than one call (:class:`seqgan.data.audio.AudioWriter`).

The temporary file is hidden (``.<name>.<random><suffix>``) in the target's folder, so the rename never
crosses file systems. It gets the permissions a plain ``open()`` would give (``0o666`` less the umask),
not ``tempfile.mkstemp``'s private ``0o600``, so results can be shared like any other file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # read once at import: os.umask cannot be read without setting it


def temp_beside(path: str | Path, suffix: str = ".tmp") -> tuple[int, str]:
    """Opens a new hidden temporary file in ``path``'s folder: ``(fd, name)``, as ``mkstemp`` returns.

    The low-level step under :class:`AtomicFile`; the caller owns the file: it writes it, then
    ``os.replace(name, path)``, or unlinks it on failure.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
    except BaseException:
        os.close(fd)
        os.unlink(name)
        raise
    return fd, name


class AtomicFile:
    """``path``, written through a temporary file beside it.

    As a context manager it commits when the block ends normally and discards when it raises::

        with AtomicFile("model.safetensors", ".part") as out:
            save_file(tensors, out.tmp)      # written under the temporary name
        # here model.safetensors is the new file; after an exception it is the old one (or absent)

    :meth:`commit` and :meth:`discard` do the same by hand, for writers that live across calls.

    Args:
        path: the destination; its folder must exist.
        suffix: ending of the temporary name (``".part"`` for files a user may watch appear).

    Attributes:
        path: the destination.
        tmp: the temporary file (created empty, closed), to be written in full by the caller.
    """

    def __init__(self, path: str | os.PathLike, suffix: str = ".tmp") -> None:
        self.path = Path(path)
        fd, name = temp_beside(self.path, suffix)
        os.close(fd)
        self.tmp = Path(name)

    @property
    def pending(self) -> bool:
        """True until the file is committed or discarded."""
        return self.tmp.exists()

    def commit(self) -> None:
        """Renames the temporary file over ``path`` (removing it instead if the rename fails)."""
        try:
            os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Removes the temporary file; ``path`` stays as it was."""
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


@contextmanager
def atomic_open(
    path: str | os.PathLike,
    mode: str = "w",
    *,
    encoding: str | None = None,
    newline: str | None = None,
    suffix: str = ".tmp",
    fsync: bool = False,
) -> Iterator[IO[Any]]:
    """Opens ``path`` for writing through a temporary file, renamed over it when the block ends normally.

    Args:
        path: the destination; its folder must exist.
        mode: ``"w"`` (text) or ``"wb"`` (binary).
        encoding: text encoding (``"utf-8"`` when ``None`` in text mode); ``None`` in binary mode.
        newline: as for :func:`open`.
        suffix: ending of the temporary name.
        fsync: flush the data to the disk before the rename (checkpoints: the rename must not
            reach the disk before the data does).

    Yields:
        The open file. An exception in the block removes the temporary file and keeps ``path``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with AtomicFile(path, suffix) as out, open(out.tmp, mode, encoding=encoding, newline=newline) as f:
        yield f
        if fsync:
            f.flush()
            os.fsync(f.fileno())


def write_text(
    path: str | os.PathLike, text: str, encoding: str = "utf-8", newline: str | None = None
) -> None:
    """Writes ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "w", encoding=encoding, newline=newline) as f:
        f.write(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "wb") as f:
        f.write(data)
