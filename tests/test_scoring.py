"""Scoring sets of files (seqgan/scoring.py) and the `seqgan score` command."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf

from seqgan.cli import main
from seqgan.scoring import ScoringInputError, list_audio, score_sets

SR = 16000
CHEAP = "si_sdr,ssnr"  # fast metrics for the plumbing tests


def _signal(seed: int, seconds: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return 0.3 * np.sin(2 * np.pi * (150 + 10 * seed) * t) + 0.05 * rng.standard_normal(t.size)


@pytest.fixture
def sets(tmp_path):
    """ref/ with a, b, sub/c; est/ with a (10 dB orthogonal-ish noise), b (0.5 x ref), sub/c, extra."""
    ref, est = tmp_path / "ref", tmp_path / "est"
    (ref / "sub").mkdir(parents=True)
    (est / "sub").mkdir(parents=True)
    rng = np.random.default_rng(100)  # not a seed _signal uses: the noise must be independent
    for i, utt in enumerate(["a", "b", "sub/c"]):
        x = _signal(i)
        sf.write(ref / f"{utt}.wav", x, SR)
        if utt == "b":
            y = 0.5 * x  # SI-SDR is scale invariant: very high
        else:
            n = rng.standard_normal(x.size)
            y = x + n * np.sqrt(np.mean(x**2) / np.mean(n**2) / 10)
        sf.write(est / f"{utt}.flac", y, SR)  # other extension, same id
    sf.write(ref / "only_ref.wav", _signal(9), SR)
    sf.write(est / "only_est.wav", _signal(8), SR)
    (est / "notes.txt").write_text("not audio\n")
    return ref, est


def test_list_audio_directory_ids(sets):
    ref, est = sets
    assert sorted(list_audio(ref)) == ["a", "b", "only_ref", "sub/c"]
    assert sorted(list_audio(est)) == ["a", "b", "only_est", "sub/c"]  # notes.txt ignored


def test_list_audio_duplicate_ids_and_empty_dir(tmp_path):
    sf.write(tmp_path / "x.wav", np.zeros(10), SR)
    sf.write(tmp_path / "x.flac", np.zeros(10), SR)
    with pytest.raises(ScoringInputError, match="two files have the utterance id 'x'"):
        list_audio(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "wav.scp").write_text("")
    with pytest.raises(ScoringInputError, match="no audio files found.*pass the table itself"):
        list_audio(empty)
    with pytest.raises(ScoringInputError, match="no such file or directory"):
        list_audio(tmp_path / "nope")


def test_scp_with_pipe_is_refused(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("u1 /data/u1.wav\nu2 sox /data/u2.wav -t wav - |\n")
    with pytest.raises(ScoringInputError, match=r"wav\.scp: line 2 is a command pipe"):
        list_audio(scp)


def test_score_sets_matches_ids_and_reports_unmatched(sets):
    ref, est = sets
    report = score_sets(ref, est, ["si_sdr", "ssnr"])
    assert [u.utt_id for u in report.utterances] == ["a", "b", "sub/c"]
    assert report.ref_only == ["only_ref"] and report.est_only == ["only_est"]
    by_id = {u.utt_id: u for u in report.utterances}
    assert by_id["a"].scores["si_sdr"] == pytest.approx(10.0, abs=0.3)
    assert by_id["b"].scores["si_sdr"] > 60  # only 16-bit quantisation separates them
    summary = report.summary()
    assert summary["si_sdr"]["count"] == 3 and summary["si_sdr"]["unscorable"] == 0
    mean = np.mean([u.scores["ssnr"] for u in report.utterances])
    assert summary["ssnr"]["mean"] == pytest.approx(mean)


def test_score_sets_parallel_equals_serial(sets):
    ref, est = sets
    serial = score_sets(ref, est, ["si_sdr", "ssnr"], nj=1)
    parallel = score_sets(ref, est, ["si_sdr", "ssnr"], nj=2)
    assert serial.to_dict() == parallel.to_dict()


def test_scp_sets_with_missing_file_and_rate_mismatch(sets, tmp_path):
    ref, est = sets
    sf.write(tmp_path / "a48.wav", np.repeat(sf.read(est / "a.flac")[0], 3), 48000)  # same audio at 48 kHz
    scp_ref = tmp_path / "ref.scp"
    scp_ref.write_text(f"a {ref / 'a.wav'}\nb {ref / 'b.wav'}\nm {tmp_path / 'missing.wav'}\n")
    scp_est = tmp_path / "est.scp"
    scp_est.write_text(f"a {tmp_path / 'a48.wav'}\nb {est / 'b.flac'}\nm {est / 'b.flac'}\n")
    report = score_sets(scp_ref, scp_est, ["si_sdr"])
    by_id = {u.utt_id: u for u in report.utterances}
    assert "missing.wav: no such file" in by_id["m"].input_error
    assert by_id["m"].errors["si_sdr"].startswith("input not readable")
    assert report.input_errors == {"m": by_id["m"].input_error}
    assert any("resampled to 16000 Hz" in n for n in by_id["a"].notes)
    assert by_id["a"].sample_rate == SR and by_id["a"].scores["si_sdr"] > 5


def test_no_common_ids_is_an_input_error(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "e").mkdir()
    sf.write(tmp_path / "r" / "x.wav", _signal(0), SR)
    sf.write(tmp_path / "e" / "y.wav", _signal(0), SR)
    with pytest.raises(ScoringInputError, match="share no utterance id"):
        score_sets(tmp_path / "r", tmp_path / "e", ["ssnr"])


def test_report_write_failure_keeps_the_old_files_and_leaves_no_temporary(sets, tmp_path, monkeypatch):
    import seqgan.atomic

    ref, est = sets
    out = tmp_path / "out"
    score_sets(ref, est, ["si_sdr"]).write(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    report = score_sets(ref, est, ["si_sdr", "ssnr"])

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(seqgan.atomic.os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        report.write(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old files only, no temporaries


def test_cli_writes_json_and_csv(sets, tmp_path, capsys):
    ref, est = sets
    out = tmp_path / "out"
    rc = main(["score", "--ref", str(ref), "--est", str(est), "--metrics", CHEAP, "-o", str(out)])
    assert rc == 0
    captured = capsys.readouterr()
    assert "SI-SDR (dB)" in captured.out and "zero-mean" in captured.out
    assert "only in" in captured.err and "only_ref" in captured.err
    data = json.loads((out / "scores.json").read_text())
    assert data["metrics"] == ["si_sdr", "ssnr"]
    assert data["summary"]["si_sdr"]["count"] == 3
    assert "zero-mean" in data["notes"]["si_sdr"]
    assert data["unmatched"] == {"ref_only": ["only_ref"], "est_only": ["only_est"]}
    assert set(data["utterances"]) == {"a", "b", "sub/c"}
    rows = list(csv.DictReader((out / "scores.csv").open()))
    assert [r["utt_id"] for r in rows] == ["a", "b", "sub/c"]
    assert float(rows[0]["si_sdr"]) == pytest.approx(data["utterances"]["a"]["scores"]["si_sdr"])
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())


def test_cli_reports_unscorable_utterances(tmp_path, capsys):
    ref, est = tmp_path / "ref", tmp_path / "est"
    ref.mkdir()
    est.mkdir()
    sf.write(ref / "short.wav", _signal(0, 0.1), SR)  # too short for PESQ
    sf.write(est / "short.wav", _signal(0, 0.1), SR)
    out = tmp_path / "out"
    rc = main(["score", "--ref", str(ref), "--est", str(est), "--metrics", "pesq", "-o", str(out)])
    assert rc == 1  # nothing could be scored
    assert "unscorable PESQ-WB: 1 utterance(s)" in capsys.readouterr().err
    data = json.loads((out / "scores.json").read_text())
    assert data["summary"]["pesq_wb"] == {"mean": None, "count": 0, "unscorable": 1}
    assert "0.25 s" in data["utterances"]["short"]["errors"]["pesq_wb"]
    assert list(csv.reader((out / "scores.csv").open()))[1][1] == ""  # empty cell, not a number


def test_cli_exit_codes_for_bad_inputs(sets, tmp_path, capsys):
    ref, est = sets
    pipe = tmp_path / "wav.scp"
    pipe.write_text("a sox a.wav -t wav - |\n")
    assert main(["score", "--ref", str(ref), "--est", str(pipe), "--metrics", CHEAP]) == 2
    assert "command pipe" in capsys.readouterr().err
    assert main(["score", "--ref", str(ref), "--est", str(est), "--metrics", "pesqq"]) == 2
    assert "unknown metric 'pesqq'" in capsys.readouterr().err
    assert main(["score", "--ref", str(ref), "--est", str(tmp_path / "nope")]) == 2
    assert main(["score", "--ref", str(ref), "--est", str(est), "--nj", "0"]) == 2
    missing = tmp_path / "est.scp"
    missing.write_text(f"a {est / 'a.flac'}\nb {tmp_path / 'gone.wav'}\n")
    assert main(["score", "--ref", str(ref), "--est", str(missing), "--metrics", CHEAP]) == 1
    err = capsys.readouterr().err
    assert "gone.wav: no such file" in err and "could not be read" in err


def test_without_references_every_estimate_gets_dnsmos_only(sets, tmp_path, capsys):
    _, est = sets
    report = score_sets(None, est)
    assert report.ref is None and report.metrics == ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"]
    assert [u.utt_id for u in report.utterances] == ["a", "b", "only_est", "sub/c"]
    assert all(1.0 <= v <= 5.0 for u in report.utterances for v in u.scores.values())
    with pytest.raises(ValueError, match="si_sdr need.*clean references"):
        score_sets(None, est, ["si_sdr", "dnsmos"])
    out = tmp_path / "out"
    assert main(["score", "--est", str(est), "--metrics", "dnsmos_bak", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert (
        "4 utterances" in captured.out and "(no reference)" in captured.out and "DNSMOS BAK" in captured.out
    )
    data = json.loads((out / "scores.json").read_text())
    assert data["ref"] is None and data["summary"]["dnsmos_bak"]["count"] == 4
    assert data["utterances"]["b"]["scores"]["dnsmos_bak"] == pytest.approx(
        report.utterances[1].scores["dnsmos_bak"], abs=1e-9
    )
    assert main(["score", "--est", str(est), "--metrics", "pesq"]) == 2
    assert "need(s) clean references" in capsys.readouterr().err


def test_without_references_and_without_speechmos_says_which_extra(sets, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_speechmos(name, *args, **kwargs):
        if name.startswith("speechmos"):
            raise ImportError("No module named 'speechmos'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_speechmos)
    _, est = sets
    assert main(["score", "--est", str(est)]) == 2
    assert "pip install 'seqgan[dnsmos]'" in capsys.readouterr().err
