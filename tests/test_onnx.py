"""ONNX export (seqgan.onnx_export) and the onnxruntime backend (seqgan.onnx_backend, Enhancer)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from seqgan.cli import main
from seqgan.enhance import Enhancer
from seqgan.export import ModelFileError, save_model
from seqgan.models.stft import STFT
from seqgan.onnx_backend import OnnxGenerator
from seqgan.onnx_export import ConvSTFT, OnnxExportError, export_onnx
from seqgan.tasks.enhancement.networks import family_of

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

# each family's small preset, narrowed further where it keeps the test fast (every layer kind stays)
TINY = {
    "segan_small": ({"channels": [4, 8, 8], "kernel_size": 5, "latent_channels": 4}, 1024),
    "metricgan_small": ({"hidden_size": 16, "fc_size": 24}, 2048),
    "cmgan_small": ({"channels": 8, "num_blocks": 1, "kernel_size": 5, "dense_depth": 1}, 1600),
}


def _generator(preset: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    overrides, _ = TINY[preset]
    generator, _ = family_of(preset).build(preset, overrides, {})
    return generator.eval()


@pytest.mark.parametrize(
    ("n_fft", "hop", "win", "window"),
    [(512, 256, 512, "hamming"), (400, 100, 400, "hamming"), (64, 16, 48, "hann")],
)
def test_conv_stft_equals_torch_stft_and_istft(n_fft, hop, win, window):
    stft = STFT(n_fft, hop, win, window)
    conv = ConvSTFT(stft)
    x = torch.randn(3, 1, 2000, generator=torch.Generator().manual_seed(1))
    spec = stft(x)
    re, im = conv(x)
    torch.testing.assert_close(re, spec.real, atol=1e-4, rtol=0)
    torch.testing.assert_close(im, spec.imag, atol=1e-4, rtol=0)
    # a spectrum that is not an STFT's (the inverse is a least-squares one; both compute the same)
    other = torch.complex(torch.randn_like(spec.real), torch.randn_like(spec.real))
    ref = stft.inverse(other, 2000)
    torch.testing.assert_close(conv.inverse(other.real, other.imag, 2000), ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(conv.inverse(re, im, 2000), x, atol=1e-5, rtol=0)


@pytest.mark.parametrize("preset", sorted(TINY))
def test_every_family_exports_and_onnxruntime_agrees_with_pytorch(tmp_path, preset):
    generator = _generator(preset)
    window = TINY[preset][1]
    path = tmp_path / "g.onnx"
    meta = export_onnx(generator, path, window=window, sample_rate=16000, preemphasis=0.5, step=7)
    assert meta["max_abs_diff"] <= 1e-4
    runner = OnnxGenerator(path, threads=1)
    md = runner.metadata
    assert md["architecture"] == type(generator).__name__ and md["hparams"] == generator.hparams
    assert (md["sample_rate"], md["preemphasis"], md["window"], md["step"]) == (16000, 0.5, window, 7)
    assert md["format"] == "seqgan-onnx-1" and md["inputs"] == ["noisy"] and md["outputs"] == ["enhanced"]
    assert ("stft" in md) == (preset != "segan_small")
    # batch and length are dynamic: other batches and a longer input agree too
    rng = np.random.default_rng(3)
    for shape in ((1, 1, window), (3, 1, window), (2, 1, 2 * window)):
        x = (0.3 * rng.standard_normal(shape)).astype(np.float32)
        with torch.no_grad():
            ref = generator(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(runner(x), ref, atol=1e-4, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "preset",
    ["segan", "segan_plus", "segan_small", "metricgan_plus", "metricgan_small", "cmgan", "cmgan_small"],
)
def test_full_presets_export_within_1e4(tmp_path, preset):
    torch.manual_seed(0)
    generator, _ = family_of(preset).build(preset, {}, {})
    window = 16384 if preset.startswith("segan") else 16000
    meta = export_onnx(
        generator.eval(), tmp_path / "g.onnx", window=window, sample_rate=16000, preemphasis=0.0
    )
    assert meta["max_abs_diff"] <= 1e-4


def test_enhancer_onnxruntime_backend_matches_torch_without_calling_torch_modules(tmp_path, monkeypatch):
    generator = _generator("metricgan_small")
    save_model(generator, tmp_path / "g.safetensors", sample_rate=16000, preemphasis=0.9, window=2048)
    export_onnx(generator, tmp_path / "g.onnx", window=2048, sample_rate=16000, preemphasis=0.9)
    x = 0.2 * torch.randn(2, 5000, generator=torch.Generator().manual_seed(2))
    ref = Enhancer.from_pretrained(tmp_path / "g.safetensors", device="cpu").enhance(x, 16000)
    onnx = Enhancer.from_pretrained(tmp_path / "g.onnx", device="cpu")  # backend by the suffix
    assert onnx.backend == "onnxruntime" and isinstance(onnx.generator, OnnxGenerator)
    assert (onnx.sample_rate, onnx.preemphasis, onnx.window) == (16000, 0.9, 2048)

    def no_torch(*args, **kwargs):
        raise AssertionError("a torch module ran in the onnxruntime model path")

    monkeypatch.setattr(nn.Module, "__call__", no_torch)
    out = onnx.enhance(x, 16000)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=0)


def test_backend_errors(tmp_path):
    generator = _generator("segan_small")
    export_onnx(generator, tmp_path / "g.onnx", window=1024, sample_rate=16000, preemphasis=0.95)
    with pytest.raises(ValueError, match="onnxruntime takes neither"):
        Enhancer.from_pretrained(tmp_path / "g.onnx", device="cpu", bf16=True)
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        Enhancer.from_pretrained(tmp_path / "g.onnx", backend="tensorrt")
    with pytest.raises(ModelFileError, match="nowhere.onnx: no such model file"):
        OnnxGenerator(tmp_path / "nowhere.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a graph")
    with pytest.raises(ModelFileError, match="junk.onnx: not a loadable ONNX model"):
        OnnxGenerator(tmp_path / "junk.onnx")
    # an ONNX graph that seqgan did not write (no metadata)
    torch.onnx.export(nn.Identity(), (torch.zeros(1, 1, 8),), str(tmp_path / "bare.onnx"), dynamo=False)
    with pytest.raises(ModelFileError, match="bare.onnx: metadata 'architecture' is missing"):
        OnnxGenerator(tmp_path / "bare.onnx")


class _Unexportable(nn.Module):
    def forward(self, x):
        return x


def test_an_architecture_without_a_graph_is_refused(tmp_path):
    from seqgan.models.base import register_model

    cls = register_model()(type("OnnxTestUnexportable", (_Unexportable,), {}))
    with pytest.raises(
        OnnxExportError, match="OnnxTestUnexportable cannot be exported to ONNX; exportable: "
    ):
        export_onnx(cls(), tmp_path / "u.onnx", window=64)
    assert not (tmp_path / "u.onnx").exists()


def test_the_complex_mask_option_is_refused_in_one_line(tmp_path):
    from seqgan.models.metricgan import MetricGANGenerator

    g = MetricGANGenerator(
        n_fft=64, hop_length=32, win_length=64, hidden_size=4, fc_size=4, mask_type="complex"
    )
    with pytest.raises(OnnxExportError, match="mask_type 'complex' cannot be exported"):
        export_onnx(g, tmp_path / "c.onnx", window=640)
    assert not (tmp_path / "c.onnx").exists()


class _Stateful(nn.Module):
    """A running sum over calls: ``enhanced = noisy + state``, the next state the last sample."""

    def forward(self, noisy, state_in_h):
        out = noisy + state_in_h
        return out, out[..., -1:]


def test_a_stateful_graph_carries_its_state(tmp_path):
    from seqgan.export import encode_metadata

    onnx = pytest.importorskip("onnx")
    path = tmp_path / "s.onnx"
    torch.onnx.export(
        _Stateful(),
        (torch.zeros(1, 1, 4), torch.zeros(1, 1, 1)),
        str(path),
        input_names=["noisy", "state_in_h"],
        output_names=["enhanced", "state_out_h"],
        dynamic_axes={"noisy": {0: "batch"}, "state_in_h": {0: "batch"}},
        dynamo=False,
    )
    model = onnx.load(str(path))
    for key, value in encode_metadata({"architecture": "Stateful", "sample_rate": 16000}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    runner = OnnxGenerator(path)
    assert runner.state_names == ["h"]
    assert runner.initial_state(batch=2)["h"].shape == (2, 1, 1)
    x = np.ones((2, 1, 4), np.float32)
    y, state = runner.run(x)
    y, state = runner.run(x, state)
    np.testing.assert_array_equal(y, 2 * x)
    with pytest.raises(RuntimeError, match=r"carries state \(h\); run it with run"):
        runner(x)


def _checkpoint(tmp_path, generator: nn.Module, window: int):
    from seqgan.export import architecture_name

    ckpt = {
        "format_version": 1,
        "step": 12,
        "task": "enhancement",
        "config": {"task": "enhancement"},
        "models": {"generator": generator.state_dict()},
        "optimizers": {},
        "schedulers": {},
        "rng": {},
        "export": {
            "architecture": architecture_name(generator),
            "hparams": generator.hparams,
            "metadata": {"sample_rate": 16000, "preemphasis": 0.0, "window": window},
        },
    }
    path = tmp_path / "exp" / "checkpoints" / "last.pt"
    path.parent.mkdir(parents=True)
    torch.save(ckpt, path)
    return path


def test_cli_export_onnx_then_enhance_with_onnxruntime(tmp_path, capsys):
    generator = _generator("metricgan_small")
    _checkpoint(tmp_path, generator, 2048)
    out = tmp_path / "model.onnx"
    assert main(["export", str(tmp_path / "exp"), "-o", str(out)]) == 0  # onnx by the suffix
    line = capsys.readouterr().out
    assert "MetricGANGenerator" in line and "step 12" in line and "agrees with PyTorch within" in line
    assert main(["export", str(tmp_path / "exp"), "-o", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    # from an exported .safetensors model too
    assert main(["export", str(tmp_path / "exp"), "-o", str(tmp_path / "m.safetensors")]) == 0
    assert (
        main(["export", str(tmp_path / "m.safetensors"), "--format", "onnx", "-o", str(tmp_path / "m2.onnx")])
        == 0
    )
    capsys.readouterr()

    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "a.wav", (0.2 * rng.standard_normal(7000)).astype(np.float32), 16000, "FLOAT")
    args = ["enhance", str(tmp_path / "in"), "--device", "cpu"]
    assert main([*args, "--backend", "onnxruntime", "-m", str(out), "-o", str(tmp_path / "onnx")]) == 0
    assert main([*args, "-m", str(tmp_path / "m.safetensors"), "-o", str(tmp_path / "torch")]) == 0
    a, _ = sf.read(tmp_path / "onnx" / "a.wav", dtype="float32")
    b, _ = sf.read(tmp_path / "torch" / "a.wav", dtype="float32")
    assert a.shape == (7000,) and np.abs(a - b).max() < 1e-4
