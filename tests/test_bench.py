"""The benchmarks run on CPU and print one JSON object with the fields their documentation promises."""

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run(script: str, *args: str) -> dict:
    r = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def _bench_module(name: str):
    sys.path.insert(0, str(BENCH))  # the scripts import benchlib beside them
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


rtf = _bench_module("enhance_rtf")
benchlib = _bench_module("benchlib")


def test_enhance_rtf_knows_every_enhancer_preset_and_thread_lists():
    assert rtf.preset_names() == [
        "segan",
        "segan_plus",
        "segan_small",
        "metricgan_plus",
        "metricgan_small",
        "cmgan",
        "cmgan_small",
    ]
    assert rtf.parse_presets("all") == rtf.preset_names()
    assert rtf.parse_presets("cmgan, segan_small") == ["cmgan", "segan_small"]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown segam; choose from: all, segan"):
        rtf.parse_presets("segam")
    cores = len(os.sched_getaffinity(0))
    assert rtf.parse_threads("1,all") == ([1] if cores == 1 else [1, cores])
    assert rtf.parse_threads("2") == [2] and rtf.parse_threads("all,all") == [cores]
    with pytest.raises(argparse.ArgumentTypeError, match="'0' is not a positive count"):
        rtf.parse_threads("1,0")


def test_enhance_rtf_caps_only_the_slow_presets_input():
    assert rtf.input_minutes("cmgan", 1.0, 4.0) == (4.0 / 60, True)
    assert rtf.input_minutes("cmgan", 0.05, 4.0) == (0.05, False)  # already shorter than the cap
    assert rtf.input_minutes("cmgan", 1.0, 0.0) == (1.0, False)  # 0: no cap
    assert rtf.input_minutes("cmgan_small", 1.0, 4.0) == (1.0, False)
    assert rtf.input_minutes("metricgan_plus", 60.0, 4.0) == (60.0, False)


def test_build_generator_gives_each_family_its_window_and_preemphasis():
    from seqgan.models import cmgan, metricgan, segan

    for name in ("segan_small", "metricgan_small", "cmgan_small"):  # one per family: the paper sizes are slow
        family = next(f for f in (segan, metricgan, cmgan) if name in f.PRESETS)
        generator, window, coef = rtf.build_generator(name)
        assert not generator.training and window == family.PRESETS[name].get("window", 16384)
        assert coef == (0.95 if family is segan else 0.0)


def test_forward_flops_counts_lstm_layers_from_their_shapes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True))
    flops, note = benchlib.forward_flops(model, torch.zeros(1, 5, 3))
    # per frame and direction 2 * 4 gates * H * (input + H): layer 1 input 3, layer 2 input 2 * 4
    assert flops == 2 * 4 * 4 * (3 + 4) * 5 * 2 + 2 * 4 * 4 * (8 + 4) * 5 * 2
    assert "LSTM" in note
    linear = torch.nn.Linear(6, 2)
    assert benchlib.forward_flops(linear, torch.zeros(3, 6))[0] == 2 * 3 * 6 * 2  # counted by torch


def _tiny_run(tmp_path, **kwargs):
    wav = tmp_path / "noisy.wav"
    rtf.write_synthetic(wav, 0.01, 16000)
    options = {"wav": str(wav), "minutes": 0.01, "requested_minutes": 0.01, "rate": 16000, "threads": 1}
    options |= {"batch_size": 2, "matmul_size": 64, "matmul_seconds": 0.01, "model_seconds": 0.0}
    threads = torch.get_num_threads()
    try:
        return rtf.measure(rtf.Run(**(options | kwargs)))
    finally:
        torch.set_num_threads(threads)


def test_measure_times_the_file_path_and_the_model_alone(tmp_path):
    out = _tiny_run(tmp_path, preset="segan_small")
    assert out["preset"] == "segan_small" and out["threads"] == 1 and out["audio_seconds"] == 0.6
    # 9600 samples in hops of 4096 with window - hop samples of lead-in: 4 windows
    assert out["windows"] == 4 and out["file_mean_windows_per_pass"] > 0
    assert out["rtf"] > 0 and math.isclose(out["x_realtime"], 1 / out["rtf"], rel_tol=0.01)
    assert out["model_only_x_realtime"] > 0 and out["model_only_batch"] == 2
    assert out["peak_rss_mb"] >= out["rss_at_start_mb"] > 0 and out["peak_rss_above_start_mb"] >= 0
    assert out["generator_gflop_per_window"] > 0 and "matmul_fp32_tflops" in out
    assert "input_capped" not in out


def test_measure_benches_an_exported_model(tmp_path):
    from seqgan.export import save_model
    from seqgan.models import metricgan

    generator = metricgan.build_metricgan("metricgan_small")[0]
    path = tmp_path / "mg.safetensors"
    save_model(generator, path, sample_rate=16000, preemphasis=0.0, window=16000)
    out = _tiny_run(tmp_path, model=str(path), capped=True, batch_size=4)
    assert (out["preset"], out["architecture"], out["window"]) == ("mg", "MetricGANGenerator", 16000)
    assert out["generator_parameters"] == sum(p.numel() for p in generator.parameters())
    assert "LSTM" in out["flops_counted"] and out["x_realtime"] > 0
    # 9600 samples in hops of 8000: 3 windows, and a capped input's model-only batch holds no more
    assert out["windows"] == 3 and out["input_capped"] is True and out["model_only_batch"] == 3


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
def test_enhance_rtf_runs_each_preset_on_each_thread_count_in_its_own_process():
    r = subprocess.run(
        [sys.executable, str(BENCH / "enhance_rtf.py"), "--preset", "segan_small,cmgan_small"]
        + ["--threads", "1,2", "--minutes", "0.02", "--model-seconds", "0", "--matmul-size", "128"]
        + ["--matmul-seconds", "0.1"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    runs = [json.loads(line) for line in r.stdout.splitlines()]  # one object per line and run
    assert [(o["preset"], o["threads"]) for o in runs] == [
        (p, t) for p in ("segan_small", "cmgan_small") for t in (1, 2)
    ]
    assert all(o["x_realtime"] > 0 and o["peak_rss_mb"] > o["rss_at_start_mb"] for o in runs)


@pytest.mark.slow
def test_ddp_scaling_spawns_processes_and_reports_efficiency():
    out = _run("ddp_scaling.py", "--world-sizes", "1", "2", "--window", "1024", "--batch-size", "2")
    assert [r["processes"] for r in out["runs"]] == [1, 2]
    assert out["runs"][0]["scaling_efficiency"] == 1.0 and out["runs"][1]["windows_per_s"] > 0


def test_profiled_keeps_the_top_operators_by_self_cpu_time():
    profile = _bench_module("gpu_profile")
    a = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    summary, table = profile.profiled(lambda: (a @ a).relu(), 3, torch.device("cpu"), rows=3)
    rows = summary["rows"]
    assert summary["sort_by"] == "self CPU time" and summary["repeats"] == 3 and len(rows) == 3
    assert [r["self_cpu_ms"] for r in rows] == sorted((r["self_cpu_ms"] for r in rows), reverse=True)
    assert 0 < sum(r["self_percent"] for r in rows) <= 100.01 and "self_cuda_ms" not in rows[0]
    assert {r["name"] for r in rows} & {"aten::mm", "aten::relu", "aten::clamp_min"}
    assert "Self CPU" in table and rows[0]["name"] in table
