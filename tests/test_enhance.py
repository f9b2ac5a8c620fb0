"""Enhancer (chunked overlap-add, resampling, emphasis, files) and the `seqgan enhance` command."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from seqgan.cli import main
from seqgan.enhance import EnhanceError, Enhancer
from seqgan.export import ModelFileError, save_model
from seqgan.models.base import register_model


@register_model()
class EnhTestIdentity(nn.Module):
    """Returns its input times ``gain``; records the batch size of every call."""

    def __init__(self, gain: float = 1.0) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(float(gain)))
        self.calls: list[int] = []

    def forward(self, noisy: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        self.calls.append(noisy.shape[0])
        return noisy * self.gain


@register_model()
class EnhTestConv(nn.Module):
    """A deterministic non-trivial model: two convolutions (receptive field 17) and a tanh."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.a = nn.Conv1d(1, 4, 9, padding=4, bias=False)
        self.b = nn.Conv1d(4, 1, 9, padding=4, bias=False)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        self.length_multiple = 4
        self.sample_latent_at_eval = False

    def forward(self, noisy: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        return torch.tanh(self.b(torch.tanh(self.a(noisy)))) + 0.5 * noisy


def _tones(channels: int, frames: int, rate: int, seed: int = 0) -> np.ndarray:
    """Band-limited test signal (tones between 100 Hz and 3 kHz) of shape (channels, frames)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / rate
    out = np.zeros((channels, frames))
    for c in range(channels):
        for f in rng.uniform(100, 3000, size=4):
            out[c] += 0.1 * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return out.astype(np.float32)


def _noise(channels: int, frames: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((channels, frames)) * 0.2).astype(np.float32)


def _enhancer(model: nn.Module | None = None, rate: int = 16000, **kw) -> Enhancer:
    kw = {"preemphasis": 0.95, "window": 256, "batch_size": 4, "device": "cpu", **kw}
    return Enhancer(model if model is not None else EnhTestIdentity(), rate, **kw)


def _save(tmp_path: Path, model: nn.Module, name: str = "model.safetensors", **meta) -> Path:
    meta = {"sample_rate": 16000, "preemphasis": 0.95, "window": 256, "step": 7, **meta}
    path = tmp_path / name
    save_model(model, path, **meta)
    return path


# -- the signal path -------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 44100])
@pytest.mark.parametrize("shape", [(3001,), (2, 3001)])
def test_identity_model_returns_input(rate, shape):
    x = _noise(1, int(np.prod(shape)), seed=1).reshape(shape)
    enh = _enhancer(rate=rate, hop=100)
    y = enh.enhance(x, rate)
    assert type(y) is np.ndarray and y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=2e-6)
    # torch in, torch out, dtype kept
    yt = enh.enhance(torch.from_numpy(x).double(), rate)
    assert yt.dtype == torch.float64 and yt.shape == shape
    np.testing.assert_allclose(yt.numpy(), x, atol=2e-6)


def test_identity_model_int16_returns_input_exactly():
    x = (_noise(2, 2000) * 32767).clip(-32768, 32767).astype(np.int16)
    y = _enhancer(preemphasis=0.0).enhance(x, 16000)
    assert y.dtype == np.int16
    np.testing.assert_array_equal(y, x)


def test_identity_model_through_resampling():
    """A 44.1 kHz signal enhanced by a 16 kHz model comes back at 44.1 kHz, unchanged in its band."""
    x = _tones(2, 44100 // 4, 44100)
    y = _enhancer().enhance(x, 44100)
    assert y.shape == x.shape
    inner = slice(300, -300)  # the resampler's zero padding at the ends
    assert np.abs(y[:, inner] - x[:, inner]).max() < 2e-3


def _reference_overlap_add(model: nn.Module, x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """Straightforward (non-streaming) weighted overlap-add of one channel."""
    pad = window - hop
    n = (len(x) + pad - 1) // hop + 1
    padded = np.zeros(pad + (n - 1) * hop + window, np.float64)
    padded[pad : pad + len(x)] = x
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)  # periodic Hann
    acc, wsum = np.zeros_like(padded), np.zeros_like(padded)
    with torch.no_grad():
        for i in range(n):
            seg = torch.tensor(padded[i * hop : i * hop + window], dtype=torch.float32)[None, None]
            acc[i * hop : i * hop + window] += w * model(seg)[0, 0].double().numpy()
            wsum[i * hop : i * hop + window] += w
    keep = slice(pad, pad + len(x))
    return acc[keep] / wsum[keep]


@pytest.mark.parametrize("window,hop", [(256, 128), (128, 40)])
def test_overlap_add_matches_reference(window, hop):
    model = EnhTestConv().eval()
    x = _noise(1, 1000, seed=2)
    y = _enhancer(model, window=window, hop=hop, preemphasis=0.0).enhance(x[0], 16000)
    np.testing.assert_allclose(y, _reference_overlap_add(model, x[0], window, hop), atol=1e-5)


def test_batch_size_is_used():
    model = EnhTestIdentity()
    _enhancer(model, batch_size=6, hop=128).enhance(_noise(2, 5000), 16000)
    assert max(model.calls) == 6 and model.calls.count(6) >= len(model.calls) - 1
    model.calls.clear()
    _enhancer(model, batch_size=1).enhance(_noise(1, 1000), 16000)
    assert set(model.calls) == {1}


def test_chunk_and_batch_sizes_agree_away_from_edges():
    x = _noise(2, 8000, seed=4)
    a = _enhancer(EnhTestConv(), window=256, hop=128, batch_size=2).enhance(x, 16000)
    b = _enhancer(EnhTestConv(), window=512, hop=128, batch_size=5).enhance(x, 16000)
    c = _enhancer(EnhTestConv(), window=1024, hop=256, batch_size=8).enhance(x, 16000)
    inner = slice(100, -100)
    scale = np.abs(a).max()
    assert np.abs(a - b)[:, inner].max() < 1e-2 * scale
    assert np.abs(a - c)[:, inner].max() < 1e-2 * scale
    assert np.abs(a - x).max() > 0.1  # the model really changes the signal


def test_bf16_autocast_stays_close_to_fp32():
    x = _noise(2, 6000, seed=5)
    fp32 = _enhancer(EnhTestConv(), hop=128).enhance(x, 16000)
    bf16 = _enhancer(EnhTestConv(), hop=128, bf16=True).enhance(x, 16000)
    assert bf16.shape == fp32.shape and bf16.dtype == np.float32
    err = np.sqrt(np.mean((bf16 - fp32) ** 2)) / np.sqrt(np.mean(fp32**2))
    assert 0 < err < 3e-2  # really computed in bf16, and within bf16's few percent


@pytest.mark.slow
def test_compiled_generator_matches_eager_and_pads_the_last_batch():
    x = _noise(1, 3000, seed=6)
    eager = _enhancer(EnhTestConv(), hop=128, batch_size=4).enhance(x, 16000)
    model = EnhTestConv()
    compiled = _enhancer(model, hop=128, batch_size=4, compile=True).enhance(x, 16000)
    np.testing.assert_allclose(compiled, eager, atol=1e-5)


def test_enhance_rejects_bad_input():
    enh = _enhancer()
    with pytest.raises(ValueError, match="channels-last"):
        enh.enhance(np.zeros((1000, 2), np.float32), 16000)
    with pytest.raises(ValueError, match="NaN"):
        enh.enhance(np.full(100, np.nan, np.float32), 16000)
    with pytest.raises(ValueError, match="empty"):
        enh.enhance(np.zeros(0, np.float32), 16000)
    with pytest.raises(ValueError, match="shape"):
        enh.enhance(np.zeros((1, 2, 300), np.float32), 16000)
    with pytest.raises(ValueError, match="multiple"):
        _enhancer(EnhTestConv(), window=250)


# -- files -----------------------------------------------------------------------------------------


def test_stereo_44k_file_keeps_rate_channels_subtype_and_length(tmp_path):
    x = _tones(2, 44100 // 3, 44100)
    sf.write(tmp_path / "in.wav", x.T, 44100, subtype="PCM_24")
    enh = _enhancer(EnhTestConv())
    result = enh.enhance_file(tmp_path / "in.wav", tmp_path / "out.wav")
    info = sf.info(str(tmp_path / "out.wav"))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (44100, 2, x.shape[1], "PCM_24")
    assert result.duration == pytest.approx(1 / 3, abs=1e-4) and result.sample_rate == 44100
    # the same as enhancing the array read from the file
    read, _ = sf.read(tmp_path / "in.wav", dtype="float32", always_2d=True)
    out, _ = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    np.testing.assert_allclose(out.T, enh.enhance(read.T, 44100), atol=2**-22)


@pytest.mark.parametrize("rate,subtype", [(16000, "FLOAT"), (44100, "PCM_16")])
def test_identity_model_file_round_trip(tmp_path, rate, subtype):
    x = _tones(1, rate // 4, rate, seed=5) if rate != 16000 else _noise(1, 4000, seed=5)
    sf.write(tmp_path / "in.wav", x.T, rate, subtype=subtype)
    enh = _enhancer(rate=rate, hop=96)
    enh.enhance_file(tmp_path / "in.wav", tmp_path / "out.wav")
    a, _ = sf.read(tmp_path / "in.wav", dtype="float32")
    b, sr = sf.read(tmp_path / "out.wav", dtype="float32")
    assert sr == rate and sf.info(str(tmp_path / "out.wav")).subtype == subtype
    np.testing.assert_allclose(b, a, atol=1e-5 if subtype == "FLOAT" else 2**-15 + 1e-6)


def test_long_file_in_blocks_matches_in_memory(tmp_path):
    x = _tones(2, 44100, 44100, seed=6) + 0.05 * _noise(2, 44100, seed=6)
    sf.write(tmp_path / "long.wav", x.T, 44100, subtype="FLOAT")
    enh = _enhancer(EnhTestConv(), window=512, batch_size=3, block_seconds=0.037)
    consumed: list[int] = []
    enh.enhance_file(tmp_path / "long.wav", tmp_path / "out.wav", progress=consumed.append)
    assert len(consumed) > 20 and sum(consumed) == x.shape[1]  # really read in blocks
    out, _ = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    whole = _enhancer(EnhTestConv(), window=512, batch_size=3, block_seconds=1e6)  # one piece
    ref = whole.enhance(x, 44100)
    np.testing.assert_allclose(out.T, ref, atol=1e-4 * np.abs(ref).max())
    np.testing.assert_allclose(enh.enhance(x, 44100), ref, atol=1e-4 * np.abs(ref).max())


def test_output_at_model_rate_and_chosen_subtype(tmp_path):
    sf.write(tmp_path / "in.flac", _tones(1, 12000, 48000).T, 48000)
    r = _enhancer().enhance_file(
        tmp_path / "in.flac", tmp_path / "out.wav", subtype="FLOAT", output_rate="model"
    )
    info = sf.info(str(tmp_path / "out.wav"))
    assert (info.samplerate, info.frames, info.subtype, r.subtype) == (16000, 4000, "FLOAT", "FLOAT")


def test_clipping_is_clamped_and_counted(tmp_path, caplog):
    sf.write(tmp_path / "in.wav", _noise(1, 3000).T, 16000, subtype="PCM_16")
    enh = _enhancer(EnhTestIdentity(gain=8.0), preemphasis=0.0)
    with caplog.at_level(logging.WARNING, logger="seqgan.enhance"):
        r = enh.enhance_file(tmp_path / "in.wav", tmp_path / "out.wav")
    out, _ = sf.read(tmp_path / "out.wav")
    assert r.clipped > 100 and np.abs(out).max() <= 1.0
    assert f"{r.clipped} samples were outside [-1, 1]" in caplog.text
    r = enh.enhance_file(tmp_path / "in.wav", tmp_path / "out_f.wav", subtype="FLOAT")
    assert r.clipped == 0 and np.abs(sf.read(tmp_path / "out_f.wav")[0]).max() > 1.5


def test_enhance_file_never_overwrites_input(tmp_path):
    sf.write(tmp_path / "in.wav", _noise(1, 1000).T, 16000, subtype="FLOAT")
    before = (tmp_path / "in.wav").read_bytes()
    enh = _enhancer(EnhTestIdentity(gain=0.5))
    with pytest.raises(EnhanceError, match="overwrite the input"):
        enh.enhance_file(tmp_path / "in.wav", tmp_path / "in.wav", overwrite=True)
    with pytest.raises(EnhanceError, match="overwrite the input"):
        enh.enhance_file(tmp_path / "in.wav", tmp_path / "." / "in.wav", overwrite=True)
    os.symlink(tmp_path / "in.wav", tmp_path / "link.wav")
    with pytest.raises(EnhanceError, match="overwrite the input"):
        enh.enhance_file(tmp_path / "in.wav", tmp_path / "link.wav", overwrite=True)
    enh.enhance_file(tmp_path / "in.wav", tmp_path / "out.wav")
    with pytest.raises(EnhanceError, match="output exists"):
        enh.enhance_file(tmp_path / "in.wav", tmp_path / "out.wav")
    assert (tmp_path / "in.wav").read_bytes() == before


def test_from_pretrained_uses_metadata(tmp_path):
    path = _save(tmp_path, EnhTestConv(seed=3), sample_rate=8000, preemphasis=0.5, window=128)
    enh = Enhancer.from_pretrained(path, device="cpu", batch_size=3, sample_latent=True)
    assert (enh.sample_rate, enh.preemphasis, enh.window, enh.hop, enh.batch_size) == (8000, 0.5, 128, 64, 3)
    assert enh.generator.sample_latent_at_eval is True and enh.metadata["step"] == 7
    x = _noise(1, 500)
    ref = Enhancer(EnhTestConv(seed=3), 8000, preemphasis=0.5, window=128, batch_size=3, device="cpu")
    np.testing.assert_array_equal(enh.enhance(x, 8000), ref.enhance(x, 8000))
    save_model(EnhTestConv(), tmp_path / "bare.safetensors", window=256)
    with pytest.raises(ModelFileError, match="sample_rate, preemphasis missing"):
        Enhancer.from_pretrained(tmp_path / "bare.safetensors")


# -- the command -----------------------------------------------------------------------------------


def _tree(tmp_path: Path) -> Path:
    """noisy/a.wav (mono 16 kHz), noisy/sub/b.flac (stereo 44.1 kHz), noisy/sub/c.wav (8 kHz int16)."""
    src = tmp_path / "noisy"
    (src / "sub").mkdir(parents=True)
    sf.write(src / "a.wav", _noise(1, 3000).T, 16000, subtype="FLOAT")
    sf.write(src / "sub" / "b.flac", _tones(2, 11025, 44100).T, 44100, subtype="PCM_24")
    sf.write(src / "sub" / "c.wav", _tones(1, 2000, 8000).T, 8000, subtype="PCM_16")
    (src / "notes.txt").write_text("ignored: not an audio extension")
    return src


def _bad_files(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    x = _noise(1, 2000)
    x[0, 1500] = np.nan
    sf.write(folder / "nan.wav", x.T, 16000, subtype="FLOAT")
    (folder / "empty.wav").write_bytes(b"")
    (folder / "text.wav").write_text("this is not audio\n" * 30)
    sf.write(folder / "full.wav", _noise(1, 8000).T, 16000, subtype="PCM_16")
    data = (folder / "full.wav").read_bytes()
    (folder / "trunc.wav").write_bytes(data[: len(data) // 2])
    (folder / "full.wav").unlink()
    return ["nan.wav", "empty.wav", "text.wav", "trunc.wav"]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_cli_prints_each_file_the_skips_and_the_summary(tmp_path, capsys):
    model = _save(tmp_path, EnhTestConv())
    src = _tree(tmp_path)
    out = tmp_path / "enhanced"
    assert main(["enhance", "-m", str(model), str(src), "-o", str(out), "--batch-size", "3"]) == 0
    assert _files(out) == ["a.wav", "sub/b.flac", "sub/c.wav"]
    captured = capsys.readouterr()
    assert "enhanced 3 file(s), skipped 0 (output exists), failed 0" in captured.out
    assert "real-time factor" in captured.out
    assert "enhanced " + str(src / "a.wav") in captured.err  # plain log lines without a terminal
    # outputs exist: skipped unless --overwrite
    stamp = (out / "a.wav").stat().st_mtime_ns
    assert main(["enhance", "-m", str(model), str(src), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "enhanced 0 file(s), skipped 3" in captured.out and "--overwrite" in captured.err
    assert (out / "a.wav").stat().st_mtime_ns == stamp
    argv = ["enhance", "-m", str(model), str(src / "a.wav"), "-o", str(out), "--overwrite"]
    assert main([*argv, "--output-rate", "model", "--subtype", "PCM_16"]) == 0
    assert sf.info(str(out / "a.wav")).subtype == "PCM_16"


def test_cli_bad_files_print_one_error_line_each_and_exit_1(tmp_path, capsys):
    model = _save(tmp_path, EnhTestIdentity())
    src = _tree(tmp_path)
    bad = _bad_files(src / "bad")
    out = tmp_path / "out"
    (out / "blocked").parent.mkdir(parents=True)
    (out / "blocked").write_text("a file where the output folder should be")
    blocked_src = tmp_path / "other" / "blocked"
    blocked_src.mkdir(parents=True)
    sf.write(blocked_src / "x.wav", _noise(1, 1000).T, 16000)
    missing = tmp_path / "missing.wav"
    code = main(
        ["enhance", "-m", str(model), str(src), str(tmp_path / "other"), str(missing), "-o", str(out)]
    )
    assert code == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad) + 2
    for name, cause in zip(bad, ["NaN", "empty", "not a readable audio file", "truncated"]):
        assert any(str(src / "bad" / name) in e and cause in e for e in errors), (name, errors)
    assert any(str(out / "blocked" / "x.wav") in e and "cannot write" in e for e in errors), errors
    assert f"error: {missing}: no such file or folder" in errors
    assert "enhanced 3 file(s), skipped 0 (output exists), failed 6" in captured.out
    assert _files(out) == ["a.wav", "blocked", "sub/b.flac", "sub/c.wav"]


def test_cli_progress_bars_on_a_terminal(tmp_path, capsys, monkeypatch):
    import sys

    import seqgan.cli.enhance

    model = _save(tmp_path, EnhTestIdentity())
    src = _tree(tmp_path)
    _bad_files(src / "bad")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(seqgan.cli.enhance, "_LONG_FILE_SECONDS", 0.0)  # every file gets its own bar
    assert main(["enhance", "-m", str(model), str(src), "-o", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert "enhanced 3 file(s), skipped 0 (output exists), failed 4" in captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4  # written above the bar; no per-file lines for the good files
    assert "enhanced " + str(src / "a.wav") not in captured.err and "7/7" in captured.err


def test_cli_refuses_to_write_over_inputs(tmp_path, capsys):
    model = _save(tmp_path, EnhTestIdentity(gain=0.5))
    src = _tree(tmp_path)
    before = {rel: (src / rel).read_bytes() for rel in _files(src)}
    for argv in (
        [str(src), "-o", str(src)],
        [str(src), "-o", str(src / "sub")],
        [str(src / "a.wav"), "-o", str(src)],
    ):
        assert main(["enhance", "-m", str(model), *argv, "--overwrite"]) == 2
        assert "refusing" in capsys.readouterr().err
    assert {rel: (src / rel).read_bytes() for rel in _files(src)} == before


def test_cli_scp(tmp_path, capsys):
    model = _save(tmp_path, EnhTestIdentity())
    src = _tree(tmp_path)
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt1 {src / 'a.wav'}\nutt2 {src / 'sub' / 'b.flac'}\n")
    out = tmp_path / "out"
    assert main(["enhance", "-m", str(model), "--scp", str(scp), "-o", str(out)]) == 0
    assert _files(out) == ["utt1.wav", "utt2.wav"]
    capsys.readouterr()
    scp.write_text(f"utt1 {src / 'a.wav'}\nutt3 sox {src / 'a.wav'} -t wav - |\n")
    assert main(["enhance", "-m", str(model), "--scp", str(scp), "-o", str(tmp_path / "o2")]) == 1
    err = capsys.readouterr().err
    assert "error: " in err and "pipe" in err and not (tmp_path / "o2").exists()


def test_cli_model_errors(tmp_path, capsys):
    sf.write(tmp_path / "a.wav", _noise(1, 1000).T, 16000)
    (tmp_path / "bad.safetensors").write_text("not a model")
    assert (
        main(
            [
                "enhance",
                "-m",
                str(tmp_path / "bad.safetensors"),
                str(tmp_path / "a.wav"),
                "-o",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "cannot load the model" in capsys.readouterr().err
    assert main(["enhance", "-m", "x.safetensors", "-o", str(tmp_path / "o")]) == 2
    assert (
        main(
            [
                "enhance",
                "-m",
                "x.safetensors",
                str(tmp_path / "a.wav"),
                "-o",
                str(tmp_path / "o"),
                "--batch-size",
                "0",
            ]
        )
        == 2
    )


@pytest.mark.slow  # starts two Python processes that import torch (about 10 s on a small machine)
def test_cli_jobs_use_worker_processes(tmp_path, capsys):
    segan = pytest.importorskip("seqgan.models.segan")
    generator = segan.SEGANGenerator(channels=[4, 8], kernel_size=5, latent_channels=4).eval()
    model = _save(tmp_path, generator)
    src = _tree(tmp_path)
    _bad_files(src / "bad")
    out = tmp_path / "out"
    argv = ["enhance", "-m", str(model), str(src), "-o", str(out), "--jobs", "2", "--threads", "1"]
    assert main([*argv, "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert "enhanced 3 file(s), skipped 0 (output exists), failed 4" in captured.out
    assert _files(out) == ["a.wav", "sub/b.flac", "sub/c.wav"]


def test_long_files_fill_every_batch_whatever_the_block_length(tmp_path):
    model = EnhTestIdentity()
    src, dst = tmp_path / "long.wav", tmp_path / "out.wav"
    sf.write(src, _tones(1, 16000 * 12, 16000)[0], 16000, subtype="FLOAT")
    # 64 windows of 2048 at hop 1024 span 4 s: more than the 1 s block asked for
    enh = _enhancer(model, window=2048, batch_size=64, block_seconds=1.0)
    enh.enhance_file(src, dst)
    assert model.calls[:-1] and all(n == 64 for n in model.calls[:-1]), model.calls
    whole = _enhancer(EnhTestIdentity(), window=2048, batch_size=64, block_seconds=1e6)
    np.testing.assert_allclose(sf.read(dst)[0], whole.enhance(sf.read(src)[0], 16000), atol=1e-6)
