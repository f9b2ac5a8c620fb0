"""The GPU check (bench/gpu_check.sh + bench/gpu_check.py): its step table, its parsing, and its CPU dry run."""

from __future__ import annotations

import argparse
import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu_check.sh"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gpu_check = _module()


def test_the_gpu_steps_fit_in_eight_minutes_and_cover_the_measurements():
    steps = {s.name: s for s in gpu_check.STEPS}
    assert len(steps) == len(gpu_check.STEPS)  # unique names: the results are keyed by them
    assert sum(s.limit_s for s in steps.values()) <= gpu_check.DEFAULT_BUDGET_S <= 8 * 60 - 10
    assert steps["pytest_gpu"].group == "pytest"
    segan = [s for s in steps.values() if "--se-presets" in s.gpu and "segan" in s.gpu]
    assert {("--compile" in s.gpu, "adam" in s.gpu) for s in segan} == {
        (c, a) for c in (0, 1) for a in (0, 1)
    }
    for s in segan:
        i = s.gpu.index("--batch-sizes")
        assert s.gpu[i + 1 : i + 3] == ("100", "400") and "bf16" in s.gpu and "true" in s.gpu
    enhance = [s for s in steps.values() if s.group == "enhance_rtf"]
    assert all("256" in s.gpu and "--bf16" in s.gpu for s in enhance)
    preset = {s.name: s.gpu[s.gpu.index("--preset") + 1] for s in enhance}
    assert sorted("--compile" in s.gpu for s in enhance if preset[s.name] == "segan") == [False, True]
    assert {"metricgan_plus", "cmgan"} <= set(preset.values())  # the spectral presets beside SEGAN
    (cmgan,) = [s for s in enhance if preset[s.name] == "cmgan"]
    assert float(cmgan.gpu[cmgan.gpu.index("--minutes") + 1]) <= 2  # a short input: ~65 GFLOP per second
    assert [s.dry[s.dry.index("--preset") + 1] for s in enhance] == [
        {"segan": "segan_small", "metricgan_plus": "metricgan_small", "cmgan": "cmgan_small"}[preset[s.name]]
        for s in enhance
    ]
    profile = steps["profile_segan"]
    assert profile.script == "bench/gpu_profile.py" and profile.writes == ("profile.txt",)
    assert profile.gpu[profile.gpu.index("--preset") + 1] == "segan" and "bf16" in profile.gpu
    assert profile.gpu[profile.gpu.index("--batch-size") + 1] == "100"
    assert "{out}/profile.txt" in profile.gpu and "{out}/profile.txt" in profile.dry
    assert "mathieu2016" in steps["train_mathieu2016"].gpu
    ddp = steps["ddp_world_1"].gpu
    assert ddp[ddp.index("--world-sizes") + 1] == "1"
    for s in steps.values():  # the dry run runs on the CPU, the real run on the GPU
        assert ("cpu" in s.dry and "cuda" in s.gpu) or s.group == "pytest"
        assert s.compiles == ("--compile" in s.gpu)
    # at most 8 files: one JSON per script, the junit report, the summary, the log and what scripts write
    writes = {f for s in steps.values() for f in s.writes}
    assert len({s.group for s in steps.values()}) + 2 + len(writes) <= 8
    assert not writes & ({f"{s.group}.json" for s in steps.values()} | {"summary.json", "gpu_check.log"})


def test_a_step_gets_the_results_folder_for_out_and_its_json_becomes_its_record(tmp_path):
    script = tmp_path / "echo.py"
    script.write_text("import json, sys\nprint('a log line')\nprint(json.dumps({'argv': sys.argv[1:]}))\n")
    step = gpu_check.Step(
        "echo",
        "echo",
        str(script),
        ("--text", "{out}/x.txt"),
        ("--dry",),
        30,
        lambda r: {"n": len(r["argv"])},
    )
    args = argparse.Namespace(dry_run=False, dry_compile=False, out=tmp_path / "out")
    with open(tmp_path / "log", "w") as log:
        record = gpu_check.run_step(step, args, time.monotonic() + 60, log)
    assert record["status"] == "ok" and record["figures"] == {"n": 2}
    assert record["result"] == {"argv": ["--text", f"{tmp_path / 'out'}/x.txt"]}
    with open(tmp_path / "log", "w") as log:  # too little of the budget left: skipped, not run
        assert gpu_check.run_step(step, args, time.monotonic() + 1, log)["status"] == "skipped"


def test_parse_json_takes_the_object_printed_last():
    assert gpu_check._parse_json('note\n{"a": 1,\n "b": [2]}\n') == {"a": 1, "b": [2]}
    assert gpu_check._parse_json("Traceback ...\nKeyError: 'x'\n") is None
    assert gpu_check._parse_json('{"a": 1}\n{"b": 2\n') == {"a": 1}  # a cut-off object is not taken


def test_junit_counts_and_outcomes(tmp_path):
    xml = tmp_path / "pytest.xml"
    xml.write_text(
        '<testsuites><testsuite tests="3" failures="1" errors="0" skipped="1">'
        '<testcase classname="tests.a" name="t1"/>'
        '<testcase classname="tests.a" name="t2"><failure message="x"/></testcase>'
        '<testcase classname="tests.b" name="t3"><skipped message="needs a CUDA device"/></testcase>'
        "</testsuite></testsuites>"
    )
    got = gpu_check._junit(xml)
    assert (got["tests"], got["passed"], got["failures"], got["skipped"]) == (3, 1, 1, 1)
    assert got["outcomes"] == {"tests.a::t1": "passed", "tests.a::t2": "failure", "tests.b::t3": "skipped"}


def test_targets_take_the_best_paper_figures():
    records = [
        {"step": "a", "group": "train_throughput", "figures": {"segan_b100_windows_per_s": 4000.0}},
        {
            "step": "b",
            "group": "train_throughput",
            "figures": {"segan_b400_windows_per_s": 6000.0, "segan_end_to_end_b400_windows_per_s": 5500.0},
        },
        {"step": "c", "group": "train_throughput", "figures": {"segan_small_b400_windows_per_s": 9e9}},
        {"step": "d", "group": "enhance_rtf", "figures": {"preset": "segan", "x_realtime": 1500.0}},
        {"step": "e", "group": "enhance_rtf", "status": "timeout"},
    ]
    got = gpu_check.targets(records, dry_run=False)
    train = got["training_windows_per_s"]
    assert (train["value"], train["at"], train["met"], train["moonshot_met"]) == (
        6000.0,
        "b: segan_b400_windows_per_s",
        True,
        False,
    )
    assert got["training_end_to_end_windows_per_s"]["value"] == 5500.0
    assert got["enhancement_x_realtime"] == {"value": 1500.0, "at": "d", "target": 2000.0, "met": False}
    assert got["enhancement_model_only_x_realtime"]["met"] is None  # not measured


def test_the_image_environment_lacks_what_the_image_lacks():
    keep = gpu_check.image_distributions()
    assert {"torch", "torchaudio", "numpy", "scipy", "pytest", "pip", "onnxruntime", "tensorboard"} <= keep
    assert {"filelock", "sympy", "pluggy", "markupsafe"} <= keep  # what those need comes along
    assert not keep & {"soundfile", "cffi", "pycparser", "librosa", "numba", "pesq", "pystoi", "ale-py"}
    assert not keep & {"speechmos", "torchmetrics", "gymnasium", "seqgan", "pytest-timeout"}


def test_the_wheel_list_is_pinned_and_needs_nothing_outside_the_image():
    from importlib.metadata import distribution

    from packaging.requirements import Requirement

    lines = [ln.split("#")[0].strip() for ln in (ROOT / "bench" / "gpu_wheels.txt").read_text().splitlines()]
    reqs = [Requirement(ln) for ln in lines if ln]
    assert {r.name for r in reqs} == {"soundfile", "cffi", "pycparser"}
    assert all(str(r.specifier).startswith("==") for r in reqs)
    have = gpu_check.image_distributions() | {r.name for r in reqs}
    for r in reqs:  # --no-deps: every requirement of a wheel is in the image or in the list
        for line in distribution(r.name).requires or []:
            need = Requirement(line)
            if need.marker is None or need.marker.evaluate({"extra": ""}):
                assert need.name.lower() in have, f"{r.name} needs {need.name}"


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_dry_run_runs_every_step_and_writes_the_results_folder(tmp_path):
    if not list((ROOT / ".whl").glob("*.whl")):
        if not _pypi_reachable():
            pytest.skip(".whl/ is empty and PyPI is unreachable: run `make gpu-wheels` where it is reachable")
        made = subprocess.run(["make", "gpu-wheels"], cwd=ROOT, capture_output=True, text=True, check=False)
        assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    out = tmp_path / "out"
    run = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8, files
    assert {"summary.json", "gpu_check.log", "pytest.xml", "profile.json", "profile.txt"} <= set(files)
    assert "self CPU time" in (out / "profile.txt").read_text()
    for name in files:
        if name.endswith(".json"):
            json.loads((out / name).read_text())  # valid JSON
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dry_run"] is True
    assert [s["step"] for s in summary["steps"]] == [s.name for s in gpu_check.STEPS]
    not_ok = {s["step"]: s["status"] for s in summary["steps"] if s["status"] != "ok"}
    log = (out / "gpu_check.log").read_text()
    assert run.returncode == 0 and not not_ok, f"{not_ok}\n{run.stdout[-1500:]}\n{log[-3000:]}"
    for group in {s.group for s in gpu_check.STEPS} - {"pytest"}:
        runs = json.loads((out / f"{group}.json").read_text())
        assert runs and all(r["status"] == "ok" and r["figures"] and "result" in r for r in runs)
    # the pytest step found the gpu tests (they skip on the CPU)
    pytest_step = summary["steps"][0]["figures"]
    assert pytest_step["tests"] >= 3 and pytest_step["errors"] == 0
    assert summary["targets"]["training_windows_per_s"]["value"] > 0
    assert summary["targets"]["enhancement_x_realtime"]["value"] > 0
    assert "soundfile" in log and sys.executable not in log  # the image-like interpreter ran the steps
