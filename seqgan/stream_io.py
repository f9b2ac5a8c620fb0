"""Audio through pipes: raw PCM or WAV read and written chunk by chunk (``seqgan enhance --stream``).

A pipe cannot seek, so WAV here is parsed and written by hand: :func:`read_wav_header` reads the RIFF
chunks up to ``data`` (PCM 16 / 32 bit, IEEE float 32 bit, plain or ``WAVE_FORMAT_EXTENSIBLE``; a data
size of 0 or ``0xFFFFFFFF`` means "until the end", as ``arecord``, ``sox`` and ``ffmpeg`` write to a
pipe) and :func:`wav_header` writes one whose sizes are ``0xFFFFFFFF`` when the length is not known.

:func:`stream_audio` is the loop: read what the pipe holds (at most one chunk), enhance it, write the
output and flush, so a pipeline such as ``arecord | seqgan enhance --stream ... | aplay`` hears each
chunk as soon as the model has it. A truncated input (EOF inside a sample frame or before the size the
WAV header announced) and a closed output (broken pipe) end the loop cleanly with everything processed
so far written; the returned :class:`StreamStats` says which happened.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "SAMPLE_FORMATS",
    "StreamFormatError",
    "StreamStats",
    "WavHeader",
    "decode",
    "encode",
    "read_wav_header",
    "stream_audio",
    "wav_header",
]

#: raw sample formats: name -> (numpy dtype, full scale or None for float)
SAMPLE_FORMATS: dict[str, tuple[str, float | None]] = {
    "s16le": ("<i2", 32768.0),
    "s32le": ("<i4", 2147483648.0),
    "f32le": ("<f4", None),
}
_UNKNOWN = 0xFFFFFFFF
_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


class StreamFormatError(ValueError):
    """The input is not audio this reader understands; the message says what to pass instead."""


@dataclass(frozen=True)
class WavHeader:
    """What a WAV header says: rate, channels, sample format, and the data bytes (None: until EOF)."""

    sample_rate: int
    channels: int
    format: str
    data_bytes: int | None


@dataclass
class StreamStats:
    """What :func:`stream_audio` did."""

    frames_in: int = 0
    frames_out: int = 0
    chunks: int = 0
    seconds: float = 0.0  # wall time of the loop, reading and writing included
    process_seconds: float = 0.0  # time in the enhancer
    truncated: bool = False  # the input ended inside a frame or before the announced size
    broken_pipe: bool = False  # the output was closed by its reader


def read_exact(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at the end of the stream."""
    parts, got = [], 0
    while got < n:
        b = stream.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def read_some(stream: BinaryIO, n: int) -> bytes:
    """What the stream holds now, at most ``n`` bytes (waits for at least one; ``b""`` at the end)."""
    read1 = getattr(stream, "read1", None)
    return read1(n) if read1 is not None else stream.read(n)


def read_wav_header(stream: BinaryIO, name: str = "stdin", head: bytes = b"") -> WavHeader:
    """Reads a WAV header up to the start of its samples.

    Args:
        stream: the input, positioned at the header (or after ``head``).
        name: the input's name for error messages.
        head: bytes of the header already read (e.g. the 4 bytes sniffed for ``RIFF``).

    Raises:
        StreamFormatError: not RIFF/WAVE, a sample format other than 16/32-bit PCM or 32-bit float, or a
            header that ends early.
    """
    riff = head + read_exact(stream, 12 - len(head))
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise StreamFormatError(
            f"{name}: not a WAV stream (no RIFF/WAVE header); for raw audio pass --format s16le or f32le "
            "with --rate and --channels"
        )
    fmt: tuple[int, int, int, int] | None = None
    while True:
        chunk = read_exact(stream, 8)
        if len(chunk) < 8:
            raise StreamFormatError(f"{name}: the WAV header ends before its data chunk (truncated input?)")
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"data":
            break
        body = read_exact(stream, size + (size & 1))
        if len(body) < size:
            raise StreamFormatError(f"{name}: the WAV header's {cid!r} chunk is truncated")
        if cid == b"fmt ":
            if size < 16:
                raise StreamFormatError(f"{name}: the WAV fmt chunk is {size} bytes; expected at least 16")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE and size >= 26:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
    if fmt is None:
        raise StreamFormatError(f"{name}: the WAV stream has no fmt chunk before its data")
    tag, channels, rate, bits = fmt
    kinds = {(_PCM, 16): "s16le", (_PCM, 32): "s32le", (_FLOAT, 32): "f32le"}
    if (tag, bits) not in kinds:
        kind = "float" if tag == _FLOAT else "PCM" if tag == _PCM else f"format {tag}"
        raise StreamFormatError(
            f"{name}: {bits}-bit {kind} WAV is not supported; send 16-bit or 32-bit PCM or 32-bit float "
            "(e.g. sox ... -b 16 -t wav -, ffmpeg ... -f wav -acodec pcm_s16le -)"
        )
    if channels < 1 or rate < 1:
        raise StreamFormatError(f"{name}: the WAV header says {channels} channels at {rate} Hz")
    return WavHeader(rate, channels, kinds[(tag, bits)], None if size in (0, _UNKNOWN) else size)


def wav_header(sample_rate: int, channels: int, format: str, frames: int | None = None) -> bytes:
    """A 44-byte WAV header; ``frames=None`` writes the sizes as ``0xFFFFFFFF`` (length unknown)."""
    dtype, scale = SAMPLE_FORMATS[format]
    width = np.dtype(dtype).itemsize
    data = _UNKNOWN if frames is None else frames * channels * width
    riff = _UNKNOWN if frames is None else min(_UNKNOWN, 36 + data)
    tag = _PCM if scale is not None else _FLOAT
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack(
            "<IHHIIHH",
            16,
            tag,
            channels,
            sample_rate,
            sample_rate * channels * width,
            channels * width,
            8 * width,
        )
        + b"data"
        + struct.pack("<I", data)
    )


def decode(data: bytes, format: str, channels: int) -> np.ndarray:
    """Interleaved samples -> float32 ``(frames, channels)`` (full scale 1.0); ``data`` holds whole frames."""
    dtype, scale = SAMPLE_FORMATS[format]
    x = np.frombuffer(data, dtype=dtype).reshape(-1, channels).astype(np.float32)
    return x / np.float32(scale) if scale is not None else x


def encode(wave: np.ndarray, format: str) -> bytes:
    """float ``(frames, channels)`` -> interleaved bytes; integer formats are rounded and clipped."""
    dtype, scale = SAMPLE_FORMATS[format]
    if scale is None:
        return np.ascontiguousarray(wave, dtype=dtype).tobytes()
    y = np.clip(np.round(wave * scale), -scale, scale - 1)
    return np.ascontiguousarray(y).astype(dtype).tobytes()


def stream_audio(
    process: Callable[[np.ndarray], np.ndarray],
    finish: Callable[[], np.ndarray],
    src: BinaryIO,
    write: Callable[[bytes], None],
    format: str,
    channels: int,
    chunk_frames: int,
    data_bytes: int | None = None,
    pending: bytes = b"",
) -> StreamStats:
    """Reads ``src`` chunk by chunk, enhances and writes each chunk, then the rest at the end.

    Args:
        process: ``(n, channels)`` float32 -> the output now final, ``(m, channels)``.
        finish: the rest of the output once the input has ended.
        src: the sample bytes (after any header).
        write: writes and flushes output bytes (raises ``BrokenPipeError`` when the reader has gone).
        format: sample format of input and output (a key of :data:`SAMPLE_FORMATS`).
        channels: interleaved channels.
        chunk_frames: the most frames read per chunk.
        data_bytes: the input's announced size (a WAV header's), None for "until the end".
        pending: sample bytes already read (e.g. sniffed while looking for a header).

    Returns:
        A :class:`StreamStats`.
    """
    frame = np.dtype(SAMPLE_FORMATS[format][0]).itemsize * channels
    stats = StreamStats()
    start = time.perf_counter()
    left = data_bytes
    buf = pending
    try:
        while True:
            want = chunk_frames * frame - len(buf)
            if left is not None:
                want = min(want, left - len(buf))
            more = read_some(src, want) if want > 0 else b""
            buf += more
            whole = len(buf) // frame * frame
            if whole == 0 and not more:
                break
            if whole:
                data, buf = buf[:whole], buf[whole:]
                if left is not None:
                    left -= whole
                x = decode(data, format, channels)
                t0 = time.perf_counter()
                y = process(x)
                stats.process_seconds += time.perf_counter() - t0
                stats.frames_in += x.shape[0]
                stats.chunks += 1
                if y.shape[0]:
                    write(encode(y, format))
                    stats.frames_out += y.shape[0]
            if left is not None and left <= 0:
                break
        if buf or (left is not None and left > 0):
            stats.truncated = True
            logger.warning(
                "the input ended early (%s); writing what was processed",
                f"{len(buf)} bytes of an incomplete frame"
                if buf
                else f"{left} bytes short of its header's size",
            )
        t0 = time.perf_counter()
        y = finish()
        stats.process_seconds += time.perf_counter() - t0
        if y.shape[0]:
            write(encode(y, format))
            stats.frames_out += y.shape[0]
    except BrokenPipeError:
        stats.broken_pipe = True
        logger.info("the output was closed after %d frames; stopping", stats.frames_out)
    stats.seconds = time.perf_counter() - start
    return stats
