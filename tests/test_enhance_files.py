"""Sets of files (seqgan/enhance_files.py): inputs, output rules, worker processes, progress, summary."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from test_enhance import EnhTestConv, EnhTestIdentity, _bad_files, _files, _noise, _save, _tree

from seqgan.enhance import Enhancer, OutputConflictError, plan_enhancement
from seqgan.enhance_files import FileJob, run_plan


def _loaded(tmp_path, model=None, **kw) -> Enhancer:
    path = _save(tmp_path, model if model is not None else EnhTestIdentity())
    return Enhancer.from_pretrained(path, device="cpu", **kw)


def test_enhance_paths_mirrors_structure_keeps_formats_and_skips_existing(tmp_path):
    enh = _loaded(tmp_path, EnhTestConv(), batch_size=3)
    src = _tree(tmp_path)
    out = tmp_path / "enhanced"
    seen = []
    report = enh.enhance_paths([src], out, progress=seen.append)
    assert _files(out) == ["a.wav", "sub/b.flac", "sub/c.wav"]
    for rel in _files(out):
        a, b = sf.info(str(src / rel)), sf.info(str(out / rel))
        assert (a.samplerate, a.channels, a.frames, a.subtype) == (
            b.samplerate,
            b.channels,
            b.frames,
            b.subtype,
        )
    assert (report.done, report.skipped, report.failed, report.errors) == (3, 0, 0, [])
    assert seen == report.outcomes and [o.job.src for o in seen] == [src / r for r in _files(out)]
    durations = [sf.info(str(src / rel)).duration for rel in _files(out)]
    assert report.audio_seconds == pytest.approx(sum(durations), rel=1e-4)
    assert report.real_time_factor == pytest.approx(report.wall_seconds / report.audio_seconds)
    assert report.summary().startswith("enhanced 3 file(s), skipped 0 (output exists), failed 0; ")
    assert "real-time factor" in report.summary()
    # outputs exist: skipped unless overwrite
    stamp = (out / "a.wav").stat().st_mtime_ns
    again = enh.enhance_paths([src], out)
    assert (again.done, again.skipped, again.failed, again.real_time_factor) == (0, 3, 0, None)
    assert again.summary().startswith("enhanced 0 file(s), skipped 3") and "(real-time factor n/a)" in (
        again.summary()
    )
    assert (out / "a.wav").stat().st_mtime_ns == stamp
    third = enh.enhance_paths([src / "a.wav"], out, overwrite=True, output_rate="model", subtype="PCM_16")
    assert third.done == 1 and sf.info(str(out / "a.wav")).subtype == "PCM_16"
    assert third.results[0].sample_rate == 16000


def test_enhance_paths_reports_bad_files_and_does_the_others(tmp_path):
    enh = _loaded(tmp_path)
    src = _tree(tmp_path)
    bad = _bad_files(src / "bad")
    out = tmp_path / "out"
    out.mkdir()
    (out / "blocked").write_text("a file where the output folder should be")
    blocked_src = tmp_path / "other" / "blocked"
    blocked_src.mkdir(parents=True)
    sf.write(blocked_src / "x.wav", _noise(1, 1000).T, 16000)
    report = enh.enhance_paths([src, tmp_path / "other"], out)
    assert (report.done, report.failed) == (3, len(bad) + 1)
    for name, cause in zip(bad, ["NaN", "empty", "not a readable audio file", "truncated"]):
        assert any(str(src / "bad" / name) in e and cause in e for e in report.errors), (name, report.errors)
    assert any(str(out / "blocked" / "x.wav") in e and "cannot write" in e for e in report.errors)
    failed = [o for o in report.outcomes if not o.ok]
    assert all(o.result is None and o.error for o in failed) and len(failed) == report.failed
    # the good files were written; nothing partial, no temporary files left
    assert _files(out) == ["a.wav", "blocked", "sub/b.flac", "sub/c.wav"]


def test_plan_refuses_outputs_over_inputs(tmp_path):
    src = _tree(tmp_path)
    before = {rel: (src / rel).read_bytes() for rel in _files(src)}
    enh = _loaded(tmp_path, EnhTestIdentity(gain=0.5))
    for inputs, out, match in (
        ([src], src, "inside the input folder"),
        ([src], src / "sub", "inside the input folder"),
        ([src / "a.wav"], src, "would overwrite an input file"),
        ([src / "a.wav", tmp_path / "x" / "a.wav"], tmp_path / "o", "would both be written"),
    ):
        (tmp_path / "x").mkdir(exist_ok=True)
        sf.write(tmp_path / "x" / "a.wav", _noise(1, 500).T, 16000)
        with pytest.raises(OutputConflictError, match=match):
            plan_enhancement(inputs, out, overwrite=True)
        with pytest.raises(OutputConflictError, match=match):
            enh.enhance_paths(inputs, out, overwrite=True)
    assert {rel: (src / rel).read_bytes() for rel in _files(src)} == before
    assert not (tmp_path / "o").exists()


def test_plan_collects_files_folders_and_scp(tmp_path):
    src = _tree(tmp_path)
    (src / ".hidden.wav").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt1 {src / 'a.wav'}\nutt2 {src / 'sub' / 'b.flac'}\n../up {src / 'a.wav'}\n")
    out = tmp_path / "out"
    plan = plan_enhancement([src / "sub", tmp_path / "nope.wav", tmp_path / "empty"], out, scp=scp)
    assert plan.jobs == [
        FileJob(src / "sub" / "b.flac", out / "b.flac"),
        FileJob(src / "sub" / "c.wav", out / "c.wav"),
        FileJob(src / "a.wav", out / "utt1.wav"),
        FileJob(src / "sub" / "b.flac", out / "utt2.wav"),
    ]
    assert len(plan.errors) == 3 and plan.skipped == []
    assert "nope.wav: no such file or folder" in plan.errors[0]
    assert "empty: no audio files" in plan.errors[1]
    assert "utterance id '../up' cannot name a file" in plan.errors[2]
    # a command pipe in the scp: an error line, the other lines still planned
    scp.write_text(f"utt1 {src / 'a.wav'}\nutt3 sox {src / 'a.wav'} -t wav - |\n")
    plan = plan_enhancement([], out, scp=scp)
    assert plan.jobs == [] and len(plan.errors) == 1 and "pipe" in plan.errors[0]


def test_scp_outputs_keep_channels(tmp_path):
    src = _tree(tmp_path)
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt1 {src / 'a.wav'}\nutt2 {src / 'sub' / 'b.flac'}\n")
    report = _loaded(tmp_path).enhance_paths([], tmp_path / "out", scp=scp)
    assert report.done == 2 and _files(tmp_path / "out") == ["utt1.wav", "utt2.wav"]
    assert sf.info(str(tmp_path / "out" / "utt2.wav")).channels == 2


def test_file_progress_gets_the_frames_of_each_file(tmp_path):
    enh = _loaded(tmp_path, block_seconds=0.05)
    src = _tree(tmp_path)
    plan = plan_enhancement([src / "a.wav", src / "sub" / "c.wav"], tmp_path / "out")
    frames: dict[str, list[int]] = {}
    report = enh.enhance_plan(plan, file_progress=lambda job: frames.setdefault(job.src.name, []).append)
    assert report.done == 2
    assert sum(frames["a.wav"]) == 3000 and sum(frames["c.wav"]) == 2000 and len(frames["a.wav"]) > 1


def test_jobs_need_a_model_file_and_the_cpu(tmp_path):
    src = _tree(tmp_path)
    plan = plan_enhancement([src], tmp_path / "out")
    plain = Enhancer(EnhTestIdentity(), 16000, window=256, device="cpu")
    with pytest.raises(ValueError, match="from_pretrained"):
        run_plan(plain, plan, jobs=2)
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        plain.enhance_plan(plan, jobs=0)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # starts two Python processes that import torch (about 10 s on a small machine)
def test_jobs_use_worker_processes(tmp_path):
    segan = pytest.importorskip("seqgan.models.segan")
    generator = segan.SEGANGenerator(channels=[4, 8], kernel_size=5, latent_channels=4).eval()
    enh = Enhancer.from_pretrained(_save(tmp_path, generator), device="cpu")
    src = _tree(tmp_path)
    _bad_files(src / "bad")
    out = tmp_path / "out"
    seen = []
    report = enh.enhance_paths([src], out, jobs=2, threads=1, progress=seen.append)
    assert report.summary().startswith("enhanced 3 file(s), skipped 0 (output exists), failed 4")
    assert sorted(o.job.src for o in seen) == sorted(o.job.src for o in report.outcomes)
    assert _files(out) == ["a.wav", "sub/b.flac", "sub/c.wav"]
    # the workers give what one process gives
    one = tmp_path / "one"
    assert enh.enhance_paths([src / "sub"], one).done == 2
    for rel in ("b.flac", "c.wav"):
        np.testing.assert_array_equal(sf.read(one / rel)[0], sf.read(out / "sub" / rel)[0])
