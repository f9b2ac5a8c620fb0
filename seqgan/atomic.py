"""Atomic file output: write beside the target, then rename over it.

A reader never sees a half-written file and an interrupted write leaves no partial output. The
temporary file gets the permissions a plain ``open()`` would give (``0o666`` less the umask), not
``tempfile.mkstemp``'s private ``0o600``, so results can be shared like any other file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def temp_beside(path: str | Path, suffix: str = ".tmp") -> tuple[int, str]:
    """Opens a new hidden temporary file in ``path``'s folder: ``(fd, name)``, as ``mkstemp`` returns.

    The caller writes it, then ``os.replace(name, path)`` (or unlinks it on failure).
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.fchmod(fd, _FILE_MODE)
    return fd, name
