"""The benchmarks run on CPU and print one JSON object with the fields their documentation promises."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run(script: str, *args: str) -> dict:
    r = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


@pytest.mark.slow
def test_train_throughput_reports_model_data_path_and_bottleneck():
    out = _run(
        "train_throughput.py",
        *("--threads", "2", "--batch-sizes", "2", "--frame-presets", "tiny", "--frame-batch", "2"),
        *("--iters", "1", "--warmup", "0"),
    )
    (segan,) = out["segan"]
    assert segan["windows_per_s"] > 0 and 0 < segan["fraction_of_matmul"] < 5
    assert out["data_path"]["device_windows_per_s"] > 0 and out["data_path"]["in_memory_windows_per_s"] > 0
    assert out["end_to_end"]["data_path"].startswith("loader") and out["end_to_end"]["windows_per_s"] > 0
    assert out["bottleneck"] in ("model", "data_path") and out["frame_gan"][0]["frames_per_s"] > 0


@pytest.mark.slow
def test_enhance_rtf_reports_realtime_factors():
    out = _run(
        "enhance_rtf.py", "--preset", "segan_small", "--minutes", "0.05", "--bf16", "--matmul-size", "256"
    )
    assert out["rtf"] > 0 and out["x_realtime"] > 0 and out["model_only_x_realtime"] > 0
    assert out["bf16"] is True and "matmul_bf16_tflops" in out


@pytest.mark.slow
def test_ddp_scaling_spawns_processes_and_reports_efficiency():
    out = _run("ddp_scaling.py", "--world-sizes", "1", "2", "--window", "1024", "--batch-size", "2")
    assert [r["processes"] for r in out["runs"]] == [1, 2]
    assert out["runs"][0]["scaling_efficiency"] == 1.0 and out["runs"][1]["windows_per_s"] > 0
