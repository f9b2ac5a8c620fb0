"""Pipes (`seqgan enhance --stream`), their WAV / raw codecs, and the live callback (`seqgan live`)."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from seqgan.cli import main
from seqgan.enhance import Enhancer
from seqgan.export import save_model
from seqgan.live import LiveProcessor
from seqgan.models.causal import CausalMetricGANGenerator
from seqgan.stream_io import (
    StreamFormatError,
    decode,
    encode,
    read_wav_header,
    stream_audio,
    wav_header,
)
from seqgan.streaming import StreamingEnhancer

_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def causal_model(tmp_path_factory) -> str:
    torch.manual_seed(0)
    g = CausalMetricGANGenerator(hidden_size=16, fc_size=8).eval()
    path = tmp_path_factory.mktemp("model") / "causal.safetensors"
    save_model(g, path, sample_rate=16000, preemphasis=0.0, window=16000)
    return str(path)


def _offline(model: str, x: np.ndarray, rate: int) -> np.ndarray:
    """Offline enhancement of ``(frames, channels)`` float audio."""
    e = Enhancer.from_pretrained(model, device="cpu")
    return e.enhance(x.T.copy(), rate).T


def _noise(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((frames, channels)) * 0.1).astype(np.float32)


def _run(args: list[str], data: bytes) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "seqgan", "enhance", "--stream", *args]
    return subprocess.run(cmd, input=data, capture_output=True, env=_ENV, timeout=120)


# -- codecs -----------------------------------------------------------------------------------------------


def test_wav_header_round_trip_and_unknown_size():
    for frames in (None, 123):
        head = wav_header(48000, 2, "s16le", frames)
        assert len(head) == 44
        h = read_wav_header(io.BytesIO(head))
        assert (h.sample_rate, h.channels, h.format) == (48000, 2, "s16le")
        assert h.data_bytes == (None if frames is None else 123 * 4)
    assert read_wav_header(io.BytesIO(wav_header(16000, 1, "f32le"))).format == "f32le"


def test_wav_header_skips_chunks_and_reads_extensible():
    fmt = struct.pack("<HHIIHH", 0xFFFE, 1, 16000, 64000, 4, 32) + struct.pack("<HHI", 22, 32, 0)
    fmt += struct.pack("<H", 3) + b"\x00" * 14  # the sub-format GUID: IEEE float
    body = b"WAVE" + b"LIST" + struct.pack("<I", 3) + b"abc\x00" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", 0)
    h = read_wav_header(io.BytesIO(b"RIFF" + struct.pack("<I", 0) + body))
    assert (h.format, h.sample_rate, h.data_bytes) == ("f32le", 16000, None)


def test_wav_header_errors_say_what_to_do():
    with pytest.raises(StreamFormatError, match="--format s16le"):
        read_wav_header(io.BytesIO(b"\x00" * 64))
    eight_bit = wav_header(8000, 1, "s16le")[:34] + struct.pack("<H", 8) + wav_header(8000, 1, "s16le")[36:]
    with pytest.raises(StreamFormatError, match="8-bit PCM WAV is not supported"):
        read_wav_header(io.BytesIO(eight_bit))
    with pytest.raises(StreamFormatError, match="truncated"):
        read_wav_header(io.BytesIO(wav_header(8000, 1, "s16le")[:30]))


def test_encode_decode_round_trip_and_clipping():
    x = np.array([[0.5, -0.25], [1.5, -2.0]], np.float32)
    assert np.allclose(decode(encode(x, "f32le"), "f32le", 2), x)
    y = decode(encode(x, "s16le"), "s16le", 2)
    assert np.allclose(y[0], x[0], atol=1 / 32768) and y[1, 0] == 32767 / 32768 and y[1, 1] == -1.0


def test_stream_audio_writes_each_chunk_and_reports_truncation():
    chunks: list[bytes] = []
    data = encode(_noise(1000, 1), "s16le") + b"\x01"  # an incomplete last frame
    stats = stream_audio(
        lambda x: x * 0.5,
        lambda: np.zeros((0, 1), np.float32),
        io.BytesIO(data),
        chunks.append,
        "s16le",
        1,
        160,
    )
    assert stats.truncated and not stats.broken_pipe
    assert stats.frames_in == stats.frames_out == 1000 and len(chunks) == stats.chunks == 7
    assert max(len(c) for c in chunks) == 320


def test_stream_audio_stops_at_the_announced_size_and_on_a_broken_pipe():
    data = encode(_noise(500, 1), "s16le")
    x_end = np.zeros((0, 1), np.float32)
    seen: list[bytes] = []
    stats = stream_audio(
        lambda x: x, lambda: x_end, io.BytesIO(data + b"junk"), seen.append, "s16le", 1, 64, 800
    )
    assert stats.frames_in == 400 and not stats.truncated

    def closed(_: bytes) -> None:
        raise BrokenPipeError

    stats = stream_audio(lambda x: x, lambda: x_end, io.BytesIO(data), closed, "s16le", 1, 64)
    assert stats.broken_pipe and stats.frames_out == 0


# -- seqgan enhance --stream through real pipes ------------------------------------------------------------


def test_wav_pipe_equals_offline_enhancement(causal_model):
    x = _noise(8000, 1)
    buf = io.BytesIO()
    sf.write(buf, x, 16000, subtype="PCM_16", format="WAV")
    res = _run(["-m", causal_model, "-", "-o", "-", "--chunk-ms", "10"], buf.getvalue())
    assert res.returncode == 0, res.stderr.decode()
    assert b"algorithmic latency 32 ms" in res.stderr
    y, rate = sf.read(io.BytesIO(res.stdout), dtype="float32")
    assert rate == 16000 and y.shape == (8000,)
    ref = _offline(causal_model, sf.read(io.BytesIO(buf.getvalue()), dtype="float32")[0][:, None], 16000)[
        :, 0
    ]
    assert np.abs(y - ref).max() <= 1.5 / 32768  # the same samples, up to 16-bit rounding


def test_raw_stdin_stereo_48k_equals_offline(causal_model, monkeypatch):
    """In-process, standard input and output replaced by byte buffers."""
    x = _noise(4800, 2, seed=1)
    stdin, stdout = io.BytesIO(encode(x, "f32le")), io.BytesIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(stdout))
    args = ["-m", causal_model, "--format", "f32le", "--rate", "48000", "--channels", "2", "-", "-o", "-"]
    assert main(["enhance", "--stream", *args]) == 0
    y = decode(stdout.getvalue(), "f32le", 2)
    np.testing.assert_allclose(y, _offline(causal_model, x, 48000), atol=2e-5)


def test_truncated_input_ends_cleanly_with_what_was_processed(causal_model, tmp_path, caplog):
    x = _noise(4000, 1, seed=2)
    src = tmp_path / "in.wav"  # the header says 8000 frames; 4000 and one byte follow
    src.write_bytes(wav_header(16000, 1, "s16le", 8000) + encode(x, "s16le") + b"\x07")
    out = tmp_path / "out.wav"
    assert main(["enhance", "--stream", "-m", causal_model, str(src), "-o", str(out)]) == 0
    assert "ended early" in caplog.text
    y, _ = sf.read(out, dtype="float32")
    assert y.shape == (4000,) and sf.info(out).frames == 4000  # the header was fixed on the seekable file


def test_broken_pipe_ends_cleanly(causal_model):
    cmd = [sys.executable, "-m", "seqgan", "enhance", "--stream", "-m", causal_model, "-", "-o", "-"]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_ENV
    )
    proc.stdin.write(wav_header(16000, 1, "s16le") + encode(_noise(4000, 1), "s16le"))
    proc.stdin.flush()
    assert len(proc.stdout.read(44 + 512)) == 44 + 512  # the header and the first output
    proc.stdout.close()  # the reader goes away
    try:
        proc.stdin.write(encode(_noise(16000, 1), "s16le"))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    assert proc.wait(timeout=120) == 0
    err = proc.stderr.read()
    assert b"Traceback" not in err and b"output closed early" in err


def test_stream_refuses_an_offline_model_and_raw_without_header(causal_model, tmp_path):
    from seqgan.models.metricgan import MetricGANGenerator

    offline = tmp_path / "offline.safetensors"
    save_model(MetricGANGenerator(hidden_size=4, fc_size=4), offline, sample_rate=16000, preemphasis=0.0)
    assert main(["enhance", "--stream", "-m", str(offline), "-", "-o", "-"]) == 2
    raw = tmp_path / "in.raw"
    raw.write_bytes(encode(_noise(100, 1), "s16le"))
    assert main(["enhance", "--stream", "-m", causal_model, str(raw), "-o", str(tmp_path / "o.raw")]) == 2
    assert main(["enhance", "--stream", "-m", causal_model, "a", "b", "-o", "-"]) == 2


# -- seqgan live with a fake sound device ------------------------------------------------------------------


class FakeStream:
    """Stands in for ``sounddevice.Stream``: on start, feeds ``signal`` block by block to the callback."""

    signal: np.ndarray = np.zeros((0, 1), np.float32)
    made: list[FakeStream] = []

    def __init__(self, *, samplerate, blocksize, channels, callback, **kwargs) -> None:
        self.rate, self.block, self.channels, self.callback = samplerate, blocksize, channels, callback
        self.kwargs, self.out, self.active = kwargs, [], False
        self.latency, self.cpu_load = (0.01, 0.02), 0.05
        FakeStream.made.append(self)

    def __enter__(self) -> FakeStream:
        x = FakeStream.signal
        for i in range(0, x.shape[0] - self.block + 1, self.block):
            outdata = np.full((self.block, self.channels), np.nan, np.float32)
            self.callback(x[i : i + self.block], outdata, self.block, None, None)
            self.out.append(outdata)
        return self

    def __exit__(self, *exc) -> None:
        self.active = False


def test_live_callback_plays_offline_enhancement_delayed(causal_model, monkeypatch, capsys):
    import seqgan.cli.live as live

    FakeStream.signal, FakeStream.made = _noise(16000, 1, seed=3), []
    monkeypatch.setattr(live, "open_device_stream", FakeStream)
    assert main(["live", "-m", causal_model, "--block-ms", "10", "--output-device", "3"]) == 0
    stream = FakeStream.made[0]
    assert stream.block == 160 and stream.kwargs["device"] == (None, 3)
    y = np.concatenate(stream.out)[:, 0]
    ref = _offline(causal_model, FakeStream.signal, 16000)[:, 0]
    delay = 511  # the model's frame minus one sample, at 16 kHz
    assert np.all(y[:delay] == 0)
    np.testing.assert_allclose(y[delay:], ref[: y.shape[0] - delay], atol=1e-5)
    err = capsys.readouterr().err
    assert "algorithmic latency 32.0 ms" in err and "underruns 0" in err and "latency 61.9 ms" in err


def test_live_processor_at_another_rate_never_runs_dry(causal_model):
    e = Enhancer.from_pretrained(causal_model, device="cpu")
    proc = LiveProcessor(StreamingEnhancer(e, 48000, 2))
    x = _noise(48000 // 2, 2, seed=4)
    out = []
    for i in range(0, x.shape[0], 441):
        block = x[i : i + 441]
        o = np.zeros_like(block)
        proc.callback(block, o, block.shape[0], None, None)
        out.append(o)
    report = proc.report()
    assert report.underruns == 0 and report.blocks == len(out) and report.cpu_load > 0
    ref = e.enhance(x.T.copy(), 48000).T
    y = np.concatenate(out)
    np.testing.assert_allclose(y[proc.delay :], ref[: y.shape[0] - proc.delay], atol=2e-5)


def test_live_says_how_to_get_sounddevice(monkeypatch, capsys):
    import seqgan.cli.live as live
    from seqgan._optional import MissingExtraError

    def missing():
        raise MissingExtraError("sounddevice is not installed: pip install 'seqgan[live]'")

    monkeypatch.setattr(live, "_sounddevice", missing)
    assert main(["live", "--list-devices"]) == 1
    assert "seqgan[live]" in capsys.readouterr().err


def test_live_without_a_sound_device_says_so(causal_model, monkeypatch, capsys):
    import seqgan.cli.live as live

    def no_device(**kwargs):
        raise OSError("Error querying device -1")

    monkeypatch.setattr(live, "open_device_stream", no_device)
    assert main(["live", "-m", causal_model]) == 1
    assert "--list-devices" in capsys.readouterr().err
    assert main(["live"]) == 1  # without -m: the shipped causal model, then the same device error
    assert "--list-devices" in capsys.readouterr().err


def test_stream_mix_zero_returns_the_input(causal_model, monkeypatch):
    x = _noise(3000, 1, seed=5)
    stdin, stdout = io.BytesIO(encode(x, "f32le")), io.BytesIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(stdout))
    args = ["-m", causal_model, "--format", "f32le", "--mix", "0", "-", "-o", "-"]
    assert main(["enhance", "--stream", *args]) == 0
    np.testing.assert_allclose(decode(stdout.getvalue(), "f32le", 1), x, atol=1e-6)
