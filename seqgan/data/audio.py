"""Audio I/O through soundfile, resampling, and pre-/de-emphasis.

Arrays are channels-first: a file with ``C`` channels and ``T`` frames is read as ``(C, T)`` (soundfile
itself returns ``(T, C)``). Every write goes to a temporary file in the destination folder and is
renamed into place, so an interrupted or failed write never leaves a partial file behind.

Resampling uses ``torchaudio.functional.resample`` (windowed-sinc). :class:`StreamingResampler`
resamples a signal pushed in blocks and gives the same samples as resampling it in one piece.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF
from torchaudio.transforms import Resample

from seqgan.atomic import AtomicFile

# file extensions read by default when a folder is scanned (those libsndfile can decode)
AUDIO_EXTENSIONS: tuple[str, ...] = tuple(
    ext
    for ext, fmt in ((".wav", "WAV"), (".flac", "FLAC"), (".ogg", "OGG"), (".mp3", "MP3"))
    if fmt in sf.available_formats()
)

_FLOAT_SUBTYPES = {"FLOAT", "DOUBLE", "VORBIS", "OPUS"}
# WAV data sizes that mean "unknown length" (written by streaming encoders), not truncation
_UNKNOWN_DATA_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF}


class AudioFileError(Exception):
    """An audio file cannot be read or written. ``str(error)`` names the file and the cause.

    Attributes:
        path: the file concerned.
        cause: what was wrong, without the path.
    """

    def __init__(self, path: str | os.PathLike, cause: str) -> None:
        self.path = str(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")


@dataclass(frozen=True)
class AudioInfo:
    """What the header of an audio file says."""

    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def is_integer_subtype(subtype: str | None) -> bool:
    """Whether samples of ``subtype`` are stored with a fixed range (PCM, A-law, ADPCM, MP3...).

    Samples outside [-1, 1] are clipped by such subtypes; float subtypes keep them.
    """
    return subtype is not None and subtype.upper() not in _FLOAT_SUBTYPES


def _header_truncation(extra_info: str) -> str | None:
    """Finds libsndfile's note that a WAV data chunk is shorter than its header says."""
    match = re.search(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", extra_info, flags=re.MULTILINE)
    if match is None:
        return None
    declared, present = int(match.group(1)), int(match.group(2))
    if declared in _UNKNOWN_DATA_SIZES or declared <= present:
        return None
    return f"file is truncated: the header announces {declared} bytes of audio, the file holds {present}"


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Reads and checks the header of an audio file.

    Raises:
        AudioFileError: the path is missing or unreadable, the file is empty, not audio (in a format
            libsndfile reads), or a WAV file whose data is shorter than its header says.
    """
    p = Path(path)
    if not p.exists():
        raise AudioFileError(p, "no such file")
    if p.is_dir():
        raise AudioFileError(p, "is a directory, not an audio file")
    if not os.access(p, os.R_OK):
        raise AudioFileError(p, "permission denied (cannot read)")
    if p.stat().st_size == 0:
        raise AudioFileError(p, "file is empty (0 bytes)")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioFileError(p, f"not a readable audio file ({_libsndfile_cause(e)})") from None
    truncated = _header_truncation(info.extra_info)
    if truncated is not None:
        raise AudioFileError(p, truncated)
    if info.frames <= 0:
        raise AudioFileError(p, "holds no audio samples")
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioFileError(p, f"invalid header ({info.samplerate} Hz, {info.channels} channels)")
    return AudioInfo(
        str(p), int(info.samplerate), int(info.channels), int(info.frames), info.format, info.subtype
    )


def _libsndfile_cause(e: Exception) -> str:
    text = str(e)
    # "Error opening 'x.wav': Format not recognised." -> "Format not recognised"
    if ": " in text and text.startswith("Error opening"):
        text = text.split(": ", 1)[1]
    return text.strip().rstrip(".")


def read_audio(path: str | os.PathLike, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """Reads a whole audio file.

    Args:
        path: any file libsndfile reads (wav, flac, ogg, mp3, aiff, ...).
        dtype: ``float32``/``float64`` (full scale = 1.0) or ``int16``/``int32``.

    Returns:
        ``(wave, sample_rate)`` with ``wave`` of shape ``(channels, frames)``.

    Raises:
        AudioFileError: see :func:`audio_info`; also for corrupt data and non-finite samples.
    """
    with AudioReader(path) as reader:
        blocks = list(reader.blocks(reader.info.frames, dtype=dtype))
        return np.concatenate(blocks, axis=1), reader.info.sample_rate


class AudioReader:
    """Reads an audio file in blocks, checking that the data is complete and finite.

    Use as a context manager::

        with AudioReader("long.flac") as reader:
            for block in reader.blocks(160000):   # (channels, <=160000) float32
                ...
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.info = audio_info(path)
        self.path = self.info.path
        try:
            self._file = sf.SoundFile(self.path)
        except (sf.LibsndfileError, RuntimeError) as e:
            raise AudioFileError(self.path, f"not a readable audio file ({_libsndfile_cause(e)})") from None

    def blocks(self, block_frames: int, dtype: str = "float32"):
        """Yields ``(channels, n)`` arrays of at most ``block_frames`` frames, in order.

        Raises:
            AudioFileError: corrupt or truncated data, or NaN/Inf samples.
        """
        done = 0
        while True:
            try:
                block = self._file.read(block_frames, dtype=dtype, always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as e:
                raise AudioFileError(
                    self.path, f"corrupt audio data after {done} frames ({_libsndfile_cause(e)})"
                ) from None
            if block.shape[0] == 0:
                break
            if block.dtype.kind == "f" and not np.isfinite(block).all():
                bad = int(np.argmax(~np.isfinite(block).all(axis=1)))
                raise AudioFileError(
                    self.path,
                    f"non-finite sample (NaN or Inf) at frame {done + bad} "
                    f"({(done + bad) / self.info.sample_rate:.3f} s)",
                )
            done += block.shape[0]
            yield np.ascontiguousarray(block.T)
        if done < self.info.frames:
            raise AudioFileError(self.path, f"file is truncated: read {done} of {self.info.frames} frames")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def output_format(path: str | os.PathLike, format: str | None = None) -> str:
    """The libsndfile format for writing ``path`` (from its extension unless ``format`` is given)."""
    if format is not None:
        return format.upper()
    ext = Path(path).suffix.lower().lstrip(".")
    formats = {
        "wav": "WAV",
        "flac": "FLAC",
        "ogg": "OGG",
        "oga": "OGG",
        "mp3": "MP3",
        "aiff": "AIFF",
        "aif": "AIFF",
        "au": "AU",
        "caf": "CAF",
        "w64": "W64",
        "rf64": "RF64",
    }
    if ext not in formats:
        raise AudioFileError(path, f"unknown audio file extension '.{ext}'; use .wav, .flac, .ogg or .mp3")
    return formats[ext]


def choose_subtype(format: str, wanted: str | None, fallback: str | None = None) -> str:
    """Picks the subtype to write: ``wanted`` (checked), else ``fallback`` if valid, else the default.

    Raises:
        ValueError: ``wanted`` is not a subtype ``format`` can hold (the message lists the choices).
    """
    if wanted is not None:
        wanted = wanted.upper()
        if not sf.check_format(format, wanted):
            choices = ", ".join(sorted(sf.available_subtypes(format)))
            raise ValueError(f"subtype {wanted} cannot be written to {format} files; choose from: {choices}")
        return wanted
    if fallback is not None and sf.check_format(format, fallback):
        return fallback
    return sf.default_subtype(format)


class AudioWriter:
    """Writes an audio file in blocks to a temporary file renamed into place by :meth:`commit`.

    If the writer is closed without :meth:`commit` (an error, an interrupt), the temporary file is
    removed and ``path`` is left untouched.

    Args:
        path: destination file. Its folder is created if needed.
        sample_rate: in Hz.
        channels: number of channels.
        subtype: libsndfile subtype (``PCM_16``, ``FLOAT``...); ``None`` for the format's default.
        format: libsndfile format; ``None`` to take it from the extension.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        sample_rate: int,
        channels: int,
        subtype: str | None = None,
        format: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.format = output_format(self.path, format)
        self.subtype = choose_subtype(self.format, subtype)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out = AtomicFile(self.path, ".part")
        except OSError as e:
            raise AudioFileError(self.path, f"cannot write to {self.path.parent} ({e.strerror})") from None
        try:
            self._file = sf.SoundFile(
                self._out.tmp,
                "w",
                samplerate=int(sample_rate),
                channels=int(channels),
                subtype=self.subtype,
                format=self.format,
            )
        except (sf.LibsndfileError, RuntimeError, ValueError) as e:
            self._out.discard()
            raise AudioFileError(
                self.path, f"cannot write {self.format}/{self.subtype} audio ({e})"
            ) from None
        self.frames = 0

    def write(self, block: np.ndarray) -> None:
        """Appends ``block`` of shape ``(channels, n)`` (float, full scale 1.0)."""
        try:
            self._file.write(np.ascontiguousarray(block.T))
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            raise AudioFileError(self.path, f"write failed ({e})") from None
        self.frames += block.shape[1]

    def commit(self) -> None:
        """Closes the file and renames it to its destination."""
        try:
            self._file.close()
            self._out.commit()
        except OSError as e:
            self._discard()
            raise AudioFileError(self.path, f"cannot write ({e.strerror})") from None

    def _discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._out.discard()

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._out.pending:  # not committed
            self._discard()


def write_audio(
    path: str | os.PathLike,
    wave: np.ndarray | torch.Tensor,
    sample_rate: int,
    subtype: str | None = None,
    format: str | None = None,
) -> None:
    """Writes ``wave`` of shape ``(frames,)`` or ``(channels, frames)`` atomically.

    Float samples are full scale at 1.0; with an integer ``subtype`` values beyond [-1, 1] clip.
    """
    if isinstance(wave, torch.Tensor):
        wave = wave.detach().cpu().numpy()
    wave = np.asarray(wave)
    if wave.ndim == 1:
        wave = wave[None]
    if wave.ndim != 2:
        raise ValueError(f"wave must be (frames,) or (channels, frames), got shape {wave.shape}")
    with AudioWriter(path, sample_rate, wave.shape[0], subtype=subtype, format=format) as writer:
        writer.write(wave)
        writer.commit()


# -- signal processing ---------------------------------------------------------------------------


def resample(wave: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Band-limited resampling of ``wave`` ``(..., T)`` from ``orig_sr`` to ``new_sr`` Hz.

    Returns ``(..., ceil(T * new_sr / orig_sr))``.
    """
    return AF.resample(wave, int(orig_sr), int(new_sr))


class StreamingResampler:
    """Resamples a signal pushed block by block; the concatenated outputs equal :func:`resample` of the
    whole signal (up to float rounding), with no seams.

    The windowed-sinc resampler computes ``new`` output samples from each stretch of ``orig`` input
    samples (rates divided by their gcd) plus ``width`` samples of context on either side. Each call
    runs the same filter on the buffered input, starting at a multiple of ``orig`` so that the filter
    phases line up with those of the one-piece computation, and keeps the context for the next call.

    Args:
        orig_sr: input rate in Hz.
        new_sr: output rate in Hz.
    """

    def __init__(self, orig_sr: int, new_sr: int) -> None:
        self.orig_sr, self.new_sr = int(orig_sr), int(new_sr)
        g = math.gcd(self.orig_sr, self.new_sr)
        self._o, self._n = self.orig_sr // g, self.new_sr // g
        self._identity = self.orig_sr == self.new_sr
        if not self._identity:
            self._resample = Resample(self.orig_sr, self.new_sr)
            self._width = int(self._resample.width)
            self._context = -(-self._width // self._o)  # frames of left context, ceil
        self._buf: torch.Tensor | None = None  # input from global index self._buf_start
        self._buf_start = 0
        self._next_frame = 0  # next group of `new` output samples to emit
        self._total = 0  # input samples pushed
        self._empty: torch.Tensor | None = None

    def push(self, block: torch.Tensor) -> torch.Tensor:
        """Takes ``(C, n)`` input; returns the ``(C, m)`` output samples that are now final."""
        if self._empty is None:
            self._empty = block[..., :0]
        if self._identity:
            return block
        self._buf = block if self._buf is None else torch.cat([self._buf, block], dim=-1)
        self._total += block.shape[-1]
        # output group k needs inputs up to (k + 1) * orig + width
        ready = (self._total - self._width) // self._o if self._total >= self._width else 0
        if ready <= self._next_frame:
            return block[..., :0]
        end = ready * self._o + self._width - self._buf_start
        return self._emit(self._buf[..., :end], ready)

    def flush(self) -> torch.Tensor:
        """Returns the remaining output (the signal's end is zero-padded, as in :func:`resample`)."""
        if self._empty is None:
            raise RuntimeError("flush() before any push()")
        if self._identity:
            return self._empty
        out = self._emit(self._buf, None)
        self._buf = self._buf[..., :0]
        return out

    def _emit(self, segment: torch.Tensor, ready: int | None) -> torch.Tensor:
        y = self._resample(segment)
        first = (self._next_frame - self._buf_start // self._o) * self._n
        if ready is None:
            return y[..., first:]
        out = y[..., first : (ready - self._buf_start // self._o) * self._n]
        self._next_frame = ready
        start = max(0, (ready - self._context) * self._o)
        self._buf = self._buf[..., start - self._buf_start :]
        self._buf_start = start
        return out


def preemphasis(wave: torch.Tensor, coef: float, previous: torch.Tensor | None = None) -> torch.Tensor:
    """First-order pre-emphasis ``y[n] = x[n] - coef * x[n-1]`` along the last axis.

    Args:
        wave: ``(..., T)``.
        coef: pre-emphasis coefficient (SEGAN: 0.95); 0 returns ``wave`` unchanged.
        previous: ``(..., 1)`` the input sample before ``wave`` when processing in blocks
            (``None``: zero, i.e. the signal starts here).
    """
    if coef == 0 or wave.shape[-1] == 0:
        return wave
    if previous is None:
        previous = torch.zeros_like(wave[..., :1])
    shifted = torch.cat([previous.to(wave), wave[..., :-1]], dim=-1)
    return wave - coef * shifted


def deemphasis(wave: torch.Tensor, coef: float, previous: torch.Tensor | None = None) -> torch.Tensor:
    """Inverse of :func:`preemphasis`: ``y[n] = x[n] + coef * y[n-1]`` along the last axis.

    Args:
        wave: ``(..., T)``.
        coef: the pre-emphasis coefficient to undo; 0 returns ``wave`` unchanged.
        previous: ``(..., 1)`` the last *output* sample of the previous block (``None``: zero).

    Computed in float64 and returned in ``wave``'s dtype.
    """
    if coef == 0 or wave.shape[-1] == 0:
        return wave
    x = wave.to(torch.float64)
    a = torch.tensor([1.0, -coef], dtype=torch.float64, device=x.device)
    b = torch.tensor([1.0, 0.0], dtype=torch.float64, device=x.device)
    y = AF.lfilter(x, a, b, clamp=False)
    if previous is not None:
        # the state carried in from the previous block decays as coef^(n+1)
        decay = coef ** torch.arange(1, x.shape[-1] + 1, dtype=torch.float64, device=x.device)
        y = y + previous.to(torch.float64) * decay
    return y.to(wave.dtype)
