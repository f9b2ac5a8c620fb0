"""Exported models (.safetensors, no pickle): save/load, checkpoint export, `seqgan export` / `info`."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import seqgan
from seqgan.cli import main
from seqgan.export import ModelFileError, export_checkpoint, load_model, save_model
from seqgan.models.base import register_model


@register_model()
class ExportTestConv(nn.Module):
    """A tiny registered generator: conv -> PReLU -> conv, with a buffer."""

    def __init__(self, channels: int = 4, kernel_size: int = 5, tags: list[str] | None = None) -> None:
        super().__init__()
        self.inp = nn.Conv1d(1, channels, kernel_size, padding=kernel_size // 2)
        self.act = nn.PReLU(channels)
        self.out = nn.Conv1d(channels, 1, kernel_size, padding=kernel_size // 2)
        self.register_buffer("scale", torch.tensor(0.5))
        self.length_multiple = 1

    def forward(self, noisy: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        return torch.tanh(self.out(self.act(self.inp(noisy)))) * self.scale


META = {
    "sample_rate": 16000,
    "preemphasis": 0.95,
    "window": 512,
    "step": 1200,
    "task": "enhancement",
    "note": "123",
    "bands": [1, 2.5],
    "flag": True,
}


def _model(seed: int = 0, **kw) -> ExportTestConv:
    torch.manual_seed(seed)
    return ExportTestConv(**kw)


def test_round_trip_gives_identical_outputs_and_metadata(tmp_path):
    model = _model(channels=6, tags=["a", "b"]).eval()
    path = tmp_path / "m.safetensors"
    save_model(model, path, **META)
    loaded = load_model(path)
    assert type(loaded) is ExportTestConv and not loaded.training
    assert loaded.hparams == {"channels": 6, "kernel_size": 5, "tags": ["a", "b"]}
    x = torch.randn(3, 1, 700)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    md = loaded.metadata
    assert md["architecture"] == "ExportTestConv" and md["seqgan_version"] == seqgan.__version__
    assert md["hparams"] == model.hparams
    for key, value in META.items():  # types survive: "123" stays a string, 16000 an int
        assert md[key] == value and type(md[key]) is type(value), key
    # the package-level functions forward to seqgan.export
    seqgan.save_model(model, tmp_path / "n.safetensors", sample_rate=8000)
    assert seqgan.load_model(tmp_path / "n.safetensors").metadata["sample_rate"] == 8000


def test_file_is_plain_safetensors_without_pickle(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(_model(), path, **META)
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    meta = header.pop("__metadata__")
    assert all(isinstance(v, str) for v in meta.values())  # string -> string
    assert meta["architecture"] == "ExportTestConv" and json.loads(meta["hparams"])["channels"] == 4
    assert meta["sample_rate"] == "16000" and meta["note"] == "123"
    assert set(header) == set(_model().state_dict())
    # the tensors fill the rest of the file exactly: nothing else (no pickle) is stored
    end = max(t["data_offsets"][1] for t in header.values())
    assert len(data) == 8 + size + end
    assert b"\x80\x02" not in data[: 8 + size] and not data.startswith(b"PK")


def test_clear_errors(tmp_path):
    (tmp_path / "text.safetensors").write_text("hello, not a model")
    with pytest.raises(ModelFileError, match="not a safetensors file"):
        load_model(tmp_path / "text.safetensors")
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "missing.safetensors")
    torch.save({"a": torch.zeros(2)}, tmp_path / "ckpt.pt")
    with pytest.raises(ModelFileError, match="seqgan export"):
        load_model(tmp_path / "ckpt.pt")
    state = {k: v.contiguous() for k, v in _model().state_dict().items()}
    save_file(state, tmp_path / "plain.safetensors")
    with pytest.raises(ModelFileError, match="metadata 'architecture' is missing"):
        load_model(tmp_path / "plain.safetensors")
    save_file(
        state, tmp_path / "unknown.safetensors", metadata={"architecture": "NoSuchNet", "hparams": "{}"}
    )
    with pytest.raises(ModelFileError, match="unknown architecture 'NoSuchNet'.*ExportTestConv"):
        load_model(tmp_path / "unknown.safetensors")
    meta = {"architecture": "ExportTestConv", "hparams": json.dumps({"channels": 8})}
    save_file(state, tmp_path / "shape.safetensors", metadata=meta)
    with pytest.raises(
        ModelFileError, match=r"shape mismatch: inp.weight \(4, 1, 5\) \(model expects \(8, 1, 5\)\)"
    ):
        load_model(tmp_path / "shape.safetensors")
    save_file(
        {k: v for k, v in state.items() if k != "scale"},
        tmp_path / "miss.safetensors",
        metadata={"architecture": "ExportTestConv", "hparams": "{}"},
    )
    with pytest.raises(ModelFileError, match="missing tensors: scale"):
        load_model(tmp_path / "miss.safetensors")
    good = tmp_path / "good.safetensors"
    save_model(_model(), good)
    (tmp_path / "cut.safetensors").write_bytes(good.read_bytes()[:-20])
    with pytest.raises(ModelFileError, match="cut.safetensors"):
        load_model(tmp_path / "cut.safetensors")
    with pytest.raises(ValueError, match="reserved"):
        save_model(_model(), tmp_path / "r.safetensors", architecture="x")


def _checkpoint(tmp_path, with_ema: bool = True):
    gen, ema = _model(1), _model(2)
    ckpt = {
        "format_version": 1,
        "step": 4321,
        "task": "enhancement",
        "config": {"task": "enhancement"},
        "models": {"generator": gen.state_dict(), "discriminator": {"w": torch.zeros(3)}},
        "optimizers": {},
        "schedulers": {},
        "rng": {},
        "export": {
            "architecture": "ExportTestConv",
            "hparams": gen.hparams,
            "metadata": {"sample_rate": 16000, "preemphasis": 0.95, "window": 512},
        },
    }
    if with_ema:
        ckpt["models"]["generator_ema"] = ema.state_dict()
    path = tmp_path / "exp" / "checkpoints" / "last.pt"
    path.parent.mkdir(parents=True)
    torch.save(ckpt, path)
    return path, gen, ema


def test_export_checkpoint_prefers_ema_weights(tmp_path):
    path, gen, ema = _checkpoint(tmp_path)
    md = export_checkpoint(tmp_path / "exp", tmp_path / "m.safetensors")  # an experiment folder
    assert md["step"] == 4321 and md["weights"] == "generator_ema"
    loaded = load_model(tmp_path / "m.safetensors")
    x = torch.randn(2, 1, 100)
    torch.testing.assert_close(loaded(x), ema.eval()(x), rtol=0, atol=0)
    assert loaded.metadata["step"] == 4321 and loaded.metadata["sample_rate"] == 16000
    assert loaded.metadata["task"] == "enhancement"


def test_export_checkpoint_without_ema_uses_generator(tmp_path):
    path, gen, _ = _checkpoint(tmp_path, with_ema=False)
    export_checkpoint(path, tmp_path / "g.safetensors")
    x = torch.randn(1, 1, 64)
    torch.testing.assert_close(load_model(tmp_path / "g.safetensors")(x), gen.eval()(x), rtol=0, atol=0)


def test_export_reads_checkpoints_through_the_checkpoint_module(tmp_path, capsys):
    """A truncated checkpoint is one ModelFileError line naming it, from the API and the CLI."""
    path, _, _ = _checkpoint(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="last.pt: cannot read the checkpoint") as e:
        export_checkpoint(tmp_path / "exp", tmp_path / "m.safetensors")
    assert "\n" not in str(e.value)
    assert main(["export", str(tmp_path / "exp"), "-o", str(tmp_path / "m.safetensors")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(path) in line and not (tmp_path / "m.safetensors").exists()


def test_cli_export_and_info(tmp_path, capsys):
    path, _, _ = _checkpoint(tmp_path)
    out = tmp_path / "model.safetensors"
    assert main(["export", str(path), "-o", str(out)]) == 0
    assert "step 4321" in capsys.readouterr().out
    assert main(["export", str(path), "-o", str(out)]) == 1  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    n_params = sum(p.numel() for p in _model().parameters())
    lines = dict(line.split(None, 1) for line in text.strip().splitlines())
    assert lines["architecture"] == "ExportTestConv"
    assert lines["parameters"].startswith(f"{n_params:,} ")
    assert lines["sample_rate"] == "16000" and lines["window"] == "512" and lines["preemphasis"] == "0.95"
    assert lines["step"] == "4321" and lines["seqgan_version"] == seqgan.__version__
    assert lines["weights"] == "generator_ema" and '"channels": 4' in lines["hparams"]
    # a checkpoint works too
    assert main(["info", str(tmp_path / "exp"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "ExportTestConv" and info["step"] == 4321
    assert info["parameters"] == n_params and info["sample_rate"] == 16000
    # errors
    (tmp_path / "junk.bin").write_text("junk")
    assert main(["info", str(tmp_path / "junk.bin")]) == 1
    assert "junk.bin" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.safetensors")]) == 1
    assert "nowhere" in capsys.readouterr().err


def test_train_export_enhance_end_to_end(tmp_path, capsys):
    """A two-step enhancement training -> `seqgan export` -> `seqgan enhance` with the exported file."""
    import numpy as np
    import soundfile as sf

    from seqgan.config import load_config
    from seqgan.data.scp import write_scp
    from seqgan.tasks.enhancement import EnhancementTask
    from seqgan.train.trainer import Trainer

    rng = np.random.default_rng(0)
    wav, spk = {}, {}
    for i in range(3):
        t = np.arange(1200) / 16000
        clean = (0.2 * np.sin(2 * np.pi * rng.uniform(100, 300) * t)).astype(np.float32)
        noisy = clean + (0.05 * rng.standard_normal(1200)).astype(np.float32)
        for table, x, kind in ((wav, noisy, "noisy"), (spk, clean, "clean")):
            sf.write(tmp_path / f"u{i}_{kind}.wav", x, 16000, subtype="FLOAT")
            table[f"u{i}"] = str(tmp_path / f"u{i}_{kind}.wav")
    (tmp_path / "train").mkdir()
    write_scp(tmp_path / "train" / "wav.scp", wav)
    write_scp(tmp_path / "train" / "spk1.scp", spk)
    overrides = [
        "model.preset=segan_small",
        "model.generator={channels: [4, 8, 8], kernel_size: 5, latent_channels: 4}",
        "model.discriminator={channels: [4, 8, 8], kernel_size: 5}",
        "data.window=256",
        f"data.train_dir={tmp_path / 'train'}",
        "train.batch_size=2",
        "train.max_steps=2",
        "train.eval_interval=0",
        "train.sample_interval=0",
        "train.progress=lines",
    ]
    Trainer(EnhancementTask(load_config(None, overrides, task="enhancement")), tmp_path / "exp").fit()
    model = tmp_path / "segan.safetensors"
    assert main(["export", str(tmp_path / "exp"), "-o", str(model)]) == 0
    md = load_model(model).metadata
    assert md["architecture"] == "SEGANGenerator" and md["step"] == 2
    assert (md["sample_rate"], md["preemphasis"], md["window"]) == (16000, 0.95, 256)
    assert (
        main(["enhance", "-m", str(model), str(tmp_path / "u0_noisy.wav"), "-o", str(tmp_path / "enh")]) == 0
    )
    out = sf.info(str(tmp_path / "enh" / "u0_noisy.wav"))
    assert (out.frames, out.samplerate, out.subtype) == (1200, 16000, "FLOAT")
