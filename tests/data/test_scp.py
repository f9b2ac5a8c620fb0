"""Kaldi tables and data-directory validation."""

from __future__ import annotations

import pytest

from seqgan.data.scp import DataDirError, read_kv, read_scp, validate_data_dir, write_scp


def _touch(path):
    path.write_bytes(b"")
    return str(path)


def test_read_scp_keeps_order_skips_blank_lines_and_keeps_spaces(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("b /x/b.wav\n\n  a   /x/my file.wav  \n")
    table = read_scp(scp)
    assert list(table) == ["b", "a"]
    assert table["a"] == "/x/my file.wav"


def test_read_scp_refuses_command_pipe_naming_file_and_line(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("a /x/a.wav\n\nc sox /x/c.wav -t wav - |\n")
    with pytest.raises(DataDirError) as e:
        read_scp(scp)
    msg = str(e.value)
    assert str(scp) in msg and "line 3" in msg and "command pipe" in msg and "convert the audio" in msg


def test_read_scp_duplicate_and_missing_path(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("a /x/a.wav\na /x/b.wav\n")
    with pytest.raises(DataDirError, match=r"line 2 repeats the id 'a'"):
        read_scp(scp)
    scp.write_text("a /x/a.wav\nb\n")
    with pytest.raises(DataDirError, match=r"line 2 has an id \('b'\) but no path"):
        read_scp(scp)
    with pytest.raises(DataDirError, match="no such file"):
        read_scp(tmp_path / "absent.scp")


def test_read_kv_takes_rest_of_line_and_allows_pipes(tmp_path):
    f = tmp_path / "text"
    f.write_text("u1 hello world |\nu2 x\n")
    assert read_kv(f) == {"u1": "hello world |", "u2": "x"}


def test_write_scp_sorted_atomic_round_trip(tmp_path):
    path = tmp_path / "wav.scp"
    write_scp(path, {"b": "/p/b.wav", "a": "/p/a b.wav", "C": 3})
    assert path.read_text() == "C 3\na /p/a b.wav\nb /p/b.wav\n"
    assert read_scp(path) == {"C": "3", "a": "/p/a b.wav", "b": "/p/b.wav"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wav.scp"]  # no temporary file left
    with pytest.raises(DataDirError, match="whitespace"):
        write_scp(path, {"a b": "x"})
    assert read_scp(path)["b"] == "/p/b.wav"  # a failed write leaves the old table


def _data_dir(tmp_path, ids=("u1", "u2", "u3")):
    d = tmp_path / "data"
    d.mkdir()
    wav = {u: _touch(tmp_path / f"{u}_noisy.wav") for u in ids}
    spk = {u: _touch(tmp_path / f"{u}_clean.wav") for u in ids}
    write_scp(d / "wav.scp", wav)
    write_scp(d / "spk1.scp", spk)
    write_scp(d / "utt2spk", {u: "s1" for u in ids})
    write_scp(d / "utt2dur", {u: 1.5 for u in ids})
    return d


def test_validate_data_dir_loads_tables(tmp_path):
    d = _data_dir(tmp_path)
    dd = validate_data_dir(d, required=("wav.scp", "spk1.scp"))
    assert dd.ids == ["u1", "u2", "u3"] and len(dd) == 3
    assert set(dd.tables) == {"wav.scp", "spk1.scp", "utt2spk", "utt2dur"}
    assert "noise1.scp" not in dd and dd.get("noise1.scp") is None
    assert dd["utt2spk"]["u2"] == "s1"
    with pytest.raises(DataDirError, match="has no noise1.scp"):
        dd["noise1.scp"]


def test_validate_missing_required_and_not_a_dir(tmp_path):
    d = _data_dir(tmp_path)
    with pytest.raises(DataDirError, match="noise1.scp is missing"):
        validate_data_dir(d, required=("wav.scp", "noise1.scp"))
    with pytest.raises(DataDirError, match="not a directory"):
        validate_data_dir(tmp_path / "nope")


def test_validate_unsorted(tmp_path):
    d = _data_dir(tmp_path)
    (d / "utt2spk").write_text("u2 s\nu1 s\nu3 s\n")
    with pytest.raises(
        DataDirError, match=r"utt2spk: not sorted by id \('u1' comes after 'u2'\).*LC_ALL=C sort"
    ):
        validate_data_dir(d)


def test_validate_missing_audio_files(tmp_path):
    d = _data_dir(tmp_path)
    (tmp_path / "u2_clean.wav").unlink()
    with pytest.raises(DataDirError) as e:
        validate_data_dir(d)
    assert "spk1.scp: 1 of 3 files do not exist (u2: " in str(e.value)
    validate_data_dir(d, check_files=False)  # the check can be skipped


def test_validate_mismatched_ids_reports_ids_and_counts(tmp_path):
    d = _data_dir(tmp_path, ids=[f"u{i}" for i in range(1, 10)])
    spk = read_scp(d / "spk1.scp")
    for u in ("u2", "u3", "u4", "u5", "u6", "u7"):
        del spk[u]
    spk["x9"] = spk["u1"]
    write_scp(d / "spk1.scp", spk)
    with pytest.raises(DataDirError) as e:
        validate_data_dir(d)
    msg = str(e.value)
    assert "spk1.scp" in msg and "lacks 6 id(s) of wav.scp (u2, u3, u4, u5, u6, ...)" in msg
    assert "has 1 id(s) not in wav.scp (x9)" in msg
    assert "wav.scp has 9 ids, spk1.scp has 4" in msg


def test_validate_bad_duration_and_empty_table(tmp_path):
    d = _data_dir(tmp_path)
    (d / "utt2dur").write_text("u1 1.0\nu2 abc\nu3 2\n")
    with pytest.raises(DataDirError, match="duration of 'u2' is not a number"):
        validate_data_dir(d)
    (d / "utt2dur").unlink()
    (d / "wav.scp").write_text("\n")
    with pytest.raises(DataDirError, match="wav.scp: is empty"):
        validate_data_dir(d)


def test_write_scp_refuses_pipes_in_path_tables_and_keeps_values_with_spaces(tmp_path):
    write_scp(tmp_path / "spk2utt", {"s2": "u3", "s1": "u1 u2"})
    assert (tmp_path / "spk2utt").read_text() == "s1 u1 u2\ns2 u3\n"
    assert read_kv(tmp_path / "spk2utt") == {"s1": "u1 u2", "s2": "u3"}
    write_scp(tmp_path / "text", {"u1": "a | b |"})  # not a table of paths: a pipe is only text
    with pytest.raises(DataDirError, match=r"wav.scp: the path of 'u1' is a command pipe"):
        write_scp(tmp_path / "wav.scp", {"u1": "sox a.wav -t wav - |"})
    with pytest.raises(DataDirError, match="line break"):
        write_scp(tmp_path / "utt2spk", {"u1": "s1\nu2 s2"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spk2utt", "text"]
