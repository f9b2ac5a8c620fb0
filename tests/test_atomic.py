"""Atomic outputs: ordinary file permissions (not mkstemp's private 0600), nothing left by a failed write."""

import os
import stat

import pytest

from seqgan.atomic import AtomicFile, atomic_open, temp_beside, write_bytes, write_text
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


def test_a_failing_write_leaves_no_temporary_file_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "scores.json"
    write_text(target, "old\n")
    with pytest.raises(RuntimeError, match="disk full"), atomic_open(target) as f:
        f.write("half of the new")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.json"]
    # a writer that takes a file name, failing after it wrote
    with pytest.raises(OSError), AtomicFile(tmp_path / "model.bin", ".part") as out:
        out.tmp.write_bytes(b"partial")
        raise OSError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.json"]


def test_a_failing_rename_removes_the_temporary_file(tmp_path):
    (tmp_path / "taken").mkdir()  # a folder where the file should go: os.replace fails
    (tmp_path / "taken" / "x").write_text("keep")
    with pytest.raises(OSError):
        write_bytes(tmp_path / "taken", b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert (tmp_path / "taken" / "x").read_text() == "keep"


def test_whole_writes_replace_and_commit_by_hand(tmp_path):
    target = tmp_path / "t.txt"
    write_text(target, "première\n")
    write_text(target, "seconde\n")
    assert target.read_text(encoding="utf-8") == "seconde\n"
    with atomic_open(tmp_path / "b.bin", "wb", fsync=True) as f:
        f.write(b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    out = AtomicFile(tmp_path / "late.txt")
    assert out.pending and out.tmp.parent == tmp_path and out.tmp.name.startswith(".late.txt.")
    out.tmp.write_text("done")
    assert not (tmp_path / "late.txt").exists()  # nothing visible before the commit
    out.commit()
    assert not out.pending and (tmp_path / "late.txt").read_text() == "done"
    out = AtomicFile(tmp_path / "dropped.txt")
    out.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "late.txt", "t.txt"]
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"), atomic_open(tmp_path / "a", "a"):
        pass
