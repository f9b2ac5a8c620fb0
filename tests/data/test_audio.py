"""Audio I/O (soundfile), streaming resampling and pre-/de-emphasis."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
import torch

from seqgan.data.audio import (
    AudioFileError,
    AudioReader,
    AudioWriter,
    StreamingResampler,
    audio_info,
    choose_subtype,
    deemphasis,
    is_integer_subtype,
    preemphasis,
    read_audio,
    resample,
    write_audio,
)


def _noise(channels: int, frames: int, seed: int = 0, scale: float = 0.3) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((channels, frames)) * scale).astype(np.float32)


# -- reading and writing ---------------------------------------------------------------------------


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_write_read_round_trip_channels_first(tmp_path, subtype):
    x = np.clip(_noise(2, 1000), -1, 1)
    path = tmp_path / "a.wav"
    write_audio(path, x, 22050, subtype=subtype)
    y, sr = read_audio(path)
    assert sr == 22050 and y.shape == (2, 1000) and y.dtype == np.float32
    tol = {"PCM_16": 2**-15, "PCM_24": 2**-23, "FLOAT": 0}[subtype]
    np.testing.assert_allclose(y, x, atol=tol)
    info = audio_info(path)
    assert (info.channels, info.frames, info.subtype, info.format) == (2, 1000, subtype, "WAV")
    assert info.duration == pytest.approx(1000 / 22050)
    # soundfile sees the file as frames x channels
    raw, _ = sf.read(path, dtype="float32")
    np.testing.assert_allclose(raw.T, y)


def test_write_mono_from_tensor_and_flac(tmp_path):
    x = torch.linspace(-0.5, 0.5, 800)
    write_audio(tmp_path / "m.flac", x, 16000)
    y, sr = read_audio(tmp_path / "m.flac")
    assert sr == 16000 and y.shape == (1, 800)
    np.testing.assert_allclose(y[0], x.numpy(), atol=2**-15)


def test_reader_blocks_cover_file_in_order(tmp_path):
    x = _noise(2, 1234)
    write_audio(tmp_path / "b.wav", x, 8000, subtype="FLOAT")
    with AudioReader(tmp_path / "b.wav") as reader:
        blocks = list(reader.blocks(500))
    assert [b.shape for b in blocks] == [(2, 500), (2, 500), (2, 234)]
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), x)


def test_bad_files_raise_audio_file_error_naming_the_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio at all\n" * 20)
    write_audio(tmp_path / "ok.wav", _noise(1, 4000), 16000, subtype="PCM_16")
    data = (tmp_path / "ok.wav").read_bytes()
    (tmp_path / "trunc.wav").write_bytes(data[: len(data) // 2])
    (tmp_path / "header_only.wav").write_bytes(data[:30])
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    cases = {
        "empty.wav": "empty",
        "text.wav": "not a readable audio file",
        "trunc.wav": "truncated",
        "header_only.wav": "not a readable audio file",
        "zero.wav": "no audio samples",
        "missing.wav": "no such file",
    }
    for name, cause in cases.items():
        with pytest.raises(AudioFileError) as e:
            read_audio(tmp_path / name)
        assert str(tmp_path / name) in str(e.value) and cause in e.value.cause, (name, e.value)
    with pytest.raises(AudioFileError, match="directory"):
        audio_info(tmp_path)


def test_non_finite_samples_are_reported_with_their_position(tmp_path):
    x = _noise(2, 3000)
    x[1, 2500] = np.nan
    write_audio(tmp_path / "nan.wav", x, 1000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"NaN or Inf\) at frame 2500 \(2\.500 s\)"):
        read_audio(tmp_path / "nan.wav")


def test_truncated_flac_is_an_error(tmp_path):
    write_audio(tmp_path / "a.flac", _noise(1, 48000, scale=0.1), 16000)
    data = (tmp_path / "a.flac").read_bytes()
    (tmp_path / "t.flac").write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError, match="t.flac"):
        read_audio(tmp_path / "t.flac")


def test_writer_leaves_nothing_behind_without_commit(tmp_path):
    dst = tmp_path / "out" / "x.wav"
    with pytest.raises(RuntimeError), AudioWriter(dst, 16000, 1, subtype="PCM_16") as w:
        w.write(np.zeros((1, 100), np.float32))
        raise RuntimeError("interrupted")
    assert not dst.exists() and os.listdir(dst.parent) == []
    # an existing file is untouched by a failed rewrite
    write_audio(dst, np.full((1, 10), 0.5, np.float32), 16000, subtype="FLOAT")
    with pytest.raises(RuntimeError), AudioWriter(dst, 16000, 1) as w:
        raise RuntimeError("interrupted")
    assert read_audio(dst)[0][0, 0] == 0.5 and sorted(os.listdir(dst.parent)) == ["x.wav"]


def test_writer_error_for_unwritable_folder(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(AudioFileError, match="cannot write"):
        write_audio(tmp_path / "blocker" / "x.wav", np.zeros(10, np.float32), 16000)


def test_choose_subtype():
    assert choose_subtype("WAV", None, fallback="PCM_24") == "PCM_24"
    assert choose_subtype("WAV", None, fallback="VORBIS") == "PCM_16"  # not valid in WAV: default
    assert choose_subtype("FLAC", "pcm_24") == "PCM_24"
    with pytest.raises(ValueError, match="choose from: .*PCM_16"):
        choose_subtype("FLAC", "FLOAT")
    assert is_integer_subtype("PCM_16") and is_integer_subtype("ULAW")
    assert not is_integer_subtype("FLOAT") and not is_integer_subtype("DOUBLE")


# -- resampling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rates", [(44100, 16000), (16000, 44100), (48000, 16000), (22050, 16000), (16000, 16000)]
)
@pytest.mark.parametrize("block", [1, 37, 1000, 10**6])
def test_streaming_resampler_equals_one_piece(rates, block):
    orig, new = rates
    x = torch.from_numpy(_noise(2, 5003, seed=1))
    ref = resample(x, orig, new)
    r = StreamingResampler(orig, new)
    y = torch.cat([r.push(x[:, i : i + block]) for i in range(0, x.shape[1], block)] + [r.flush()], dim=-1)
    assert y.shape == ref.shape == (2, -(-5003 * new // orig))
    torch.testing.assert_close(y, ref, atol=2e-5 * float(ref.abs().max()), rtol=0)


def test_resample_keeps_a_band_limited_tone():
    t = torch.arange(44100) / 44100
    x = torch.sin(2 * torch.pi * 1000 * t)
    y = resample(x, 44100, 16000)
    t16 = torch.arange(y.shape[-1]) / 16000
    err = (y - torch.sin(2 * torch.pi * 1000 * t16))[200:-200].abs().max()
    assert err < 1e-3


# -- pre-emphasis ----------------------------------------------------------------------------------


def test_preemphasis_known_values_and_inverse():
    x = torch.tensor([1.0, 1.0, 1.0, 0.0])
    torch.testing.assert_close(preemphasis(x, 0.5), torch.tensor([1.0, 0.5, 0.5, -0.5]))
    torch.testing.assert_close(deemphasis(torch.tensor([1.0, 0.0, 0.0]), 0.5), torch.tensor([1.0, 0.5, 0.25]))
    w = torch.from_numpy(_noise(3, 2000))
    torch.testing.assert_close(deemphasis(preemphasis(w, 0.95), 0.95), w, atol=1e-5, rtol=0)
    assert preemphasis(w, 0.0) is w and deemphasis(w, 0.0) is w


def test_emphasis_in_blocks_equals_one_piece():
    w = torch.from_numpy(_noise(2, 3000))
    cut = 1234
    pre = torch.cat([preemphasis(w[:, :cut], 0.95), preemphasis(w[:, cut:], 0.95, w[:, cut - 1 : cut])], -1)
    torch.testing.assert_close(pre, preemphasis(w, 0.95))
    first = deemphasis(pre[:, :cut], 0.95)
    de = torch.cat([first, deemphasis(pre[:, cut:], 0.95, first[:, -1:])], -1)
    torch.testing.assert_close(de, deemphasis(pre, 0.95), atol=1e-6, rtol=0)
