"""Atomic outputs get ordinary file permissions, not mkstemp's private 0600."""

import os
import stat

from seqgan.atomic import temp_beside
from seqgan.data.scp import write_scp


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_temp_files_and_written_tables_get_the_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        import importlib

        import seqgan.atomic

        importlib.reload(seqgan.atomic)  # the mode is read from the umask at import
        fd, name = seqgan.atomic.temp_beside(tmp_path / "x.txt")
        os.close(fd)
        assert _mode(name) == 0o644
        assert os.path.basename(name).startswith(".x.txt.")
    finally:
        os.umask(old)
        importlib.reload(seqgan.atomic)
    write_scp(tmp_path / "wav.scp", {"a": "/x.wav"})
    assert _mode(tmp_path / "wav.scp") == 0o666 & ~old
    fd, name = temp_beside(tmp_path / "y")
    os.close(fd)
    assert _mode(name) == 0o666 & ~old
