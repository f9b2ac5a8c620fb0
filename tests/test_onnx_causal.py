"""ONNX export of the causal enhancer (seqgan.onnx_causal): the streaming step graph and its state."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from seqgan.cli import main
from seqgan.enhance import Enhancer
from seqgan.export import save_model
from seqgan.models.causal import CausalMetricGANGenerator, build_causal_metricgan
from seqgan.onnx_backend import OnnxFrameStream, OnnxGenerator
from seqgan.onnx_causal import export_causal_onnx
from seqgan.onnx_export import OnnxExportError, export_onnx, onnx_graph
from seqgan.stream_io import decode, encode
from seqgan.streaming import CausalFrameStream, StreamingEnhancer, is_streamable

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

RATE, HOP, PAD = 16000, 256, 256  # the preset's front end: n_fft 512, hop 256


def _generator(seed: int = 0) -> CausalMetricGANGenerator:
    """metricgan_causal_small, narrowed (every layer kind and both LSTM layers stay), random weights."""
    torch.manual_seed(seed)
    generator, _ = build_causal_metricgan("metricgan_causal_small", {"hidden_size": 16, "fc_size": 24})
    return generator.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[CausalMetricGANGenerator, str, str, dict]:
    """The generator, its .safetensors and .onnx exports, and the metadata the ONNX export wrote."""
    generator = _generator()
    root = tmp_path_factory.mktemp("causal")
    save_model(generator, root / "c.safetensors", sample_rate=RATE, preemphasis=0.9, window=4000)
    meta = export_onnx(generator, root / "c.onnx", window=4000, sample_rate=RATE, preemphasis=0.9, step=3)
    return generator, str(root / "c.safetensors"), str(root / "c.onnx"), meta


def _noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def test_the_graph_declares_its_state_and_metadata(exported):
    generator, _, path, meta = exported
    assert meta["max_abs_diff"] <= 1e-4
    runner = OnnxGenerator(path, threads=1)
    md = runner.metadata
    assert md["architecture"] == "CausalMetricGANGenerator" and md["hparams"] == generator.hparams
    assert (md["sample_rate"], md["preemphasis"], md["step"], md["length_multiple"]) == (RATE, 0.9, 3, HOP)
    names = ["frame", "overlap", "h0", "h1", "c0", "c1"]
    assert runner.state_names == names and runner.streamable and is_streamable(runner)
    assert md["inputs"] == ["noisy", *(f"state_in_{n}" for n in names)]
    assert md["outputs"] == ["enhanced", *(f"state_out_{n}" for n in names)]
    stream = md["stream"]
    assert (stream["hop"], stream["n_fft"], stream["latency"], stream["delay"]) == (HOP, 512, 512, PAD)
    assert stream["state"]["frame"] == ["batch", PAD] and stream["state"]["c1"] == ["batch", 16]
    shapes = {k: v.shape for k, v in runner.initial_state(3).items()}
    assert shapes == {"frame": (3, PAD), "overlap": (3, PAD), **{n: (3, 16) for n in names[2:]}}


def test_graph_stepped_by_hand_equals_the_pytorch_stream(exported):
    """Blocks of 1, 3, 2 and 7 hops, the state fed back: the same samples as CausalFrameStream."""
    generator, _, path, _ = exported
    runner = OnnxGenerator(path, threads=1)
    x = _noise((2, 40 * HOP), seed=1)
    torch_stream, state, ours, theirs, i = CausalFrameStream(generator), None, [], [], 0
    for k in (1, 3, 2, 7) * 3:
        block = x[:, i : i + k * HOP]
        y, state = runner.run(block[:, None], state)
        assert y.shape == (2, 1, k * HOP) and set(state) == set(runner.state_names)
        ours.append(y[:, 0])
        theirs.append(torch_stream.push(torch.from_numpy(block)).numpy())
        i += k * HOP
    ours_all = np.concatenate(ours, axis=-1)[:, PAD:]  # the first P outputs lie before the signal
    theirs_all = np.concatenate(theirs, axis=-1)
    assert ours_all.shape == theirs_all.shape == (2, 39 * HOP - PAD)
    diff = np.abs(ours_all - theirs_all).max()
    assert diff <= 1e-4, diff
    with torch.no_grad():  # and PyTorch's offline enhancement of the same samples
        offline = generator(torch.from_numpy(x[:, : 39 * HOP]).unsqueeze(1))[:, 0].numpy()
    assert np.abs(ours_all - offline[:, : ours_all.shape[-1]]).max() <= 1e-4


@pytest.mark.parametrize("sizes", [[1000], [1, 255, 257], [HOP], [37, 4096, 3]])
def test_onnx_stream_equals_offline_pytorch_for_any_chunk_size(exported, sizes):
    generator, _, path, _ = exported
    x = _noise((2, 5000), seed=2)
    stream = OnnxFrameStream(OnnxGenerator(path, threads=1))
    outs, i, k = [], 0, 0
    while i < x.shape[-1]:
        n = sizes[k % len(sizes)]
        outs.append(stream.push(x[:, i : i + n]))
        i, k = i + n, k + 1
    out = np.concatenate([*outs, stream.flush()], axis=-1)
    with torch.no_grad():
        ref = generator(torch.from_numpy(x).unsqueeze(1))[:, 0].numpy()
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() <= 1e-4


def test_enhancer_streams_and_enhances_with_onnxruntime_only(exported, monkeypatch):
    """Resampling, pre-emphasis and two channels around the graph; no torch module runs."""
    _, weights, path, _ = exported
    x = torch.from_numpy(_noise((2, 7000), seed=3))  # (channels, samples)
    ref_engine = StreamingEnhancer(Enhancer.from_pretrained(weights, device="cpu"), 22050, 2)
    ref = torch.cat([ref_engine.push(x[:, :3001]), ref_engine.push(x[:, 3001:]), ref_engine.flush()], -1)
    offline_ref = Enhancer.from_pretrained(weights, device="cpu").enhance(x, 22050)
    onnx = Enhancer.from_pretrained(path, device="cpu")  # onnxruntime by the suffix
    assert onnx.backend == "onnxruntime" and is_streamable(onnx.generator)

    call = nn.Module.__call__

    def no_torch_model(self, *args, **kwargs):  # the resamplers (torchaudio) are not the model
        if type(self).__module__.startswith("torchaudio"):
            return call(self, *args, **kwargs)
        raise AssertionError(f"{type(self).__name__} (torch) ran in the onnxruntime model path")

    monkeypatch.setattr(nn.Module, "__call__", no_torch_model)
    engine = StreamingEnhancer(onnx, 22050, 2)
    assert engine.latency_seconds == 512 / RATE and engine.max_delay() == ref_engine.max_delay()
    parts = [engine.push(x[:, i : i + 441]) for i in range(0, 7000, 441)]
    out = torch.cat([*parts, engine.flush()], dim=-1)
    assert out.shape == ref.shape == (2, 7000)
    assert (out - ref).abs().max() <= 1e-4
    assert (onnx.enhance(x, 22050) - offline_ref).abs().max() <= 1e-4


def test_cli_export_then_stream_with_onnxruntime(exported, tmp_path, monkeypatch, capsys):
    _, weights, _, _ = exported
    model = tmp_path / "c.onnx"
    assert main(["export", weights, "--format", "onnx", "-o", str(model)]) == 0
    assert "CausalMetricGANGenerator" in capsys.readouterr().out
    # raw float32 from standard input to standard output
    x = _noise((3000, 1), seed=4)
    stdin, stdout = io.BytesIO(encode(x, "f32le")), io.BytesIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(stdout))
    args = ["--backend", "onnxruntime", "-m", str(model), "--format", "f32le", "--rate", "16000"]
    assert main(["enhance", "--stream", *args, "--chunk-ms", "10", "-", "-o", "-"]) == 0
    y = decode(stdout.getvalue(), "f32le", 1)
    ref = Enhancer.from_pretrained(weights, device="cpu").enhance(x.T.copy(), RATE).T
    assert y.shape == (3000, 1) and np.abs(y - ref).max() <= 1e-4
    # a WAV file, and the same file enhanced offline through the graph
    (tmp_path / "in").mkdir()
    wav = tmp_path / "in" / "a.wav"
    sf.write(wav, x[:, 0], RATE, subtype="FLOAT")
    stream_out, file_out = tmp_path / "s.wav", tmp_path / "f"
    assert main(["enhance", "--stream", "-m", str(model), str(wav), "-o", str(stream_out)]) == 0
    assert "real-time factor" in capsys.readouterr().err
    args = ["--backend", "onnxruntime", "-m", str(model), "--device", "cpu"]
    assert main(["enhance", *args, str(tmp_path / "in"), "-o", str(file_out)]) == 0
    a, _ = sf.read(stream_out, dtype="float32")
    b, _ = sf.read(file_out / "a.wav", dtype="float32")
    assert a.shape == b.shape == (3000,)
    assert np.abs(a - ref[:, 0]).max() <= 1e-4 and np.abs(b - ref[:, 0]).max() <= 1e-4


def test_what_the_export_cannot_do_is_refused_in_one_line(exported, tmp_path):
    _, _, path, _ = exported
    g = CausalMetricGANGenerator(
        n_fft=64, hop_length=64, win_length=64, window="rect", hidden_size=4, fc_size=4
    )
    with pytest.raises(OnnxExportError, match="hop_length 64 = n_fft 64 carries no frame overlap") as e:
        export_onnx(g, tmp_path / "r.onnx", window=640)
    assert "\n" not in str(e.value) and not (tmp_path / "r.onnx").exists()
    with pytest.raises(OnnxExportError, match="is causal: export it with seqgan.onnx_causal"):
        onnx_graph(_generator())
    with pytest.raises(OnnxExportError, match="MetricGANGenerator is not a causal model"):
        from seqgan.models.metricgan import MetricGANGenerator

        export_causal_onnx(MetricGANGenerator(hidden_size=4, fc_size=4), tmp_path / "m.onnx", window=640)
    with pytest.raises(ValueError, match="atten_lim_db needs a windowed model"):
        Enhancer.from_pretrained(path, device="cpu", atten_lim_db=12.0)


def test_stream_refuses_an_offline_graph_naming_its_architecture(tmp_path, capsys):
    from seqgan.models.metricgan import MetricGANGenerator

    torch.manual_seed(0)
    g = MetricGANGenerator(n_fft=64, hop_length=32, win_length=64, hidden_size=4, fc_size=4).eval()
    export_onnx(g, tmp_path / "m.onnx", window=640, sample_rate=RATE, preemphasis=0.0)
    with pytest.raises(RuntimeError, match="m.onnx is not a streaming graph"):
        OnnxGenerator(tmp_path / "m.onnx").open_frame_stream()
    assert main(["enhance", "--stream", "-m", str(tmp_path / "m.onnx"), "-", "-o", "-"]) == 2
    assert "holds MetricGANGenerator, which is not causal" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["metricgan_causal", "metricgan_causal_small"])
def test_full_causal_presets_stream_within_1e4(tmp_path, preset):
    torch.manual_seed(0)
    generator, _ = build_causal_metricgan(preset)
    generator.eval()
    meta = export_onnx(generator, tmp_path / "c.onnx", window=16000, sample_rate=RATE, preemphasis=0.0)
    assert meta["max_abs_diff"] <= 1e-4
    x = _noise((1, 16000), seed=6)
    onnx, torch_stream = (
        OnnxFrameStream(OnnxGenerator(tmp_path / "c.onnx", threads=1)),
        CausalFrameStream(generator),
    )
    ours, theirs = [], []
    for i in range(0, 16000, 320):  # 20 ms chunks
        ours.append(onnx.push(x[:, i : i + 320]))
        theirs.append(torch_stream.push(torch.from_numpy(x[:, i : i + 320])).numpy())
    a = np.concatenate([*ours, onnx.flush()], axis=-1)
    b = np.concatenate([*theirs, torch_stream.flush().numpy()], axis=-1)
    assert a.shape == b.shape == (1, 16000) and np.abs(a - b).max() <= 1e-4


def test_info_shows_the_graph_its_state_and_metadata(exported, capsys):
    assert main(["info", exported[2], "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "CausalMetricGANGenerator" and info["step"] == 3
    assert info["format"] == "seqgan-onnx-1" and info["stream"]["hop"] == info["length_multiple"]
    assert "state_in_h0" in info["inputs"] and "state_out_overlap" in info["outputs"]
    assert main(["info", exported[2]]) == 0
    assert "state_in_frame" in capsys.readouterr().out
