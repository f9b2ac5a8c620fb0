"""The audio of a speech-enhancement data directory: one signal (noisy, clean or noise) over its utterances.

Files are read with soundfile as float32 in [-1, 1]; files at another sample rate are resampled with
:func:`seqgan.data.audio.resample`; multi-channel files are refused with an error naming the file (for
training pairs there is no safe guess between mixing microphones and picking one, so convert them
first). Lengths come from the file headers (``soundfile.info``, no decoding), so a corpus larger than
memory can be indexed and streamed; :meth:`CorpusSignal.load` decodes a whole signal into one array.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import soundfile as sf
import torch

from seqgan.data.audio import AudioFileError, audio_info, resample

_CACHE_FILES = 8  # resampled whole files kept per process when streaming


def check_mono(path: str, channels: int) -> None:
    """Raises :class:`AudioFileError` naming ``path`` unless it has one channel."""
    if channels != 1:
        raise AudioFileError(
            path,
            f"has {channels} channels; speech-enhancement data must be mono. Convert the corpus first "
            "(pick the channel you mean or mix them, e.g. `sox in.wav -c 1 out.wav`)",
        )


def resampled_length(frames: int, orig_rate: int, new_rate: int) -> int:
    """Length after :func:`seqgan.data.audio.resample`: ceil(frames · new / orig)."""
    if orig_rate == new_rate:
        return frames
    return -(-frames * new_rate // orig_rate)


def read_mono(path: str, sample_rate: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Reads a mono file as float32, resampled to ``sample_rate``.

    Args:
        path: audio file.
        sample_rate: wanted rate.
        start, stop: sample range at the file's own rate, for a partial read of a file already at
            ``sample_rate`` (a file at another rate is read whole).

    Returns:
        ``(samples,)`` float32.

    Raises:
        AudioFileError: unreadable, multi-channel, or with NaN / infinite samples.
    """
    try:
        data, rate = sf.read(path, start=start, stop=stop, dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as e:
        raise AudioFileError(path, f"cannot decode it ({e})") from None
    check_mono(path, data.shape[1])
    x = np.ascontiguousarray(data[:, 0])
    if not np.isfinite(x).all():
        raise AudioFileError(
            path, f"non-finite sample (NaN or Inf) at frame {start + int(np.argmin(np.isfinite(x)))}"
        )
    if rate != sample_rate:
        x = resample(torch.from_numpy(x), rate, sample_rate).numpy()
    return x


def decode_workers() -> int:
    """Threads that read headers and decode files (I/O and libsndfile release the GIL)."""
    return min(8, (os.cpu_count() or 1) * 2)


def scan_headers(paths: Sequence[str], workers: int) -> list[tuple[int, int]]:
    """``(frames, sample rate)`` of each file, from its header; refuses multi-channel files."""

    def one(path: str) -> tuple[int, int]:
        info = audio_info(path)
        check_mono(path, info.channels)
        return info.frames, info.sample_rate

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, paths))


class CorpusSignal:
    """One signal (noisy, clean or noise) over every utterance, in memory or streamed from files.

    Args:
        paths: one file per utterance.
        sample_rate: the rate the signal is read at.
        workers: threads for reading the headers.

    Attributes:
        lengths: ``(utterances,)`` int64 samples of each utterance at ``sample_rate``.
        offsets: ``(utterances + 1,)`` int64 start of each utterance in the concatenated signal.
        rates: each file's own sample rate.
    """

    def __init__(self, paths: Sequence[str], sample_rate: int, workers: int) -> None:
        headers = scan_headers(paths, workers)
        self.paths = list(paths)
        self.rates = [rate for _, rate in headers]
        self.lengths = np.array(
            [resampled_length(frames, rate, sample_rate) for frames, rate in headers], dtype=np.int64
        )
        self.sample_rate = sample_rate
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        self._buffer: np.ndarray | None = None  # the decoded signal between two margins of zeros
        self._margin = 0
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    @property
    def total(self) -> int:
        """Samples of all utterances together."""
        return int(self.offsets[-1])

    @property
    def resampled(self) -> list[int]:
        """The rates of the files that are not at ``sample_rate``."""
        return [rate for rate in self.rates if rate != self.sample_rate]

    @property
    def data(self) -> np.ndarray | None:
        """``(total,)`` float32 every utterance concatenated, once :meth:`load` ran; else ``None``."""
        if self._buffer is None:
            return None
        return self._buffer[self._margin : self._margin + self.total]

    def buffer(self) -> tuple[np.ndarray, int]:
        """``(margin + total + margin,)`` float32 :attr:`data` between margins of zeros, and the margin."""
        if self._buffer is None:
            raise ValueError("the signal is not decoded; call load() first")
        return self._buffer, self._margin

    def load(self, workers: int, margin: int = 0) -> None:
        """Decodes every file into :attr:`data`, with ``margin`` zeros before and after (see :meth:`buffer`)."""
        buffer = np.zeros(self.total + 2 * margin, dtype=np.float32)
        data = buffer[margin : margin + self.total]

        def one(u: int) -> None:
            x = read_mono(self.paths[u], self.sample_rate)
            n = min(len(x), int(self.lengths[u]))  # the header may overstate the frames of a broken file
            data[self.offsets[u] : self.offsets[u] + n] = x[:n]

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(len(self.paths))))
        self._buffer, self._margin = buffer, margin

    def release(self) -> None:
        """Forgets the decoded signal (another copy holds it): reads stream from the files again."""
        self._buffer, self._margin = None, 0

    def _whole(self, u: int) -> np.ndarray:
        if u in self._cache:
            self._cache.move_to_end(u)
            return self._cache[u]
        x = read_mono(self.paths[u], self.sample_rate)
        self._cache[u] = x
        if len(self._cache) > _CACHE_FILES:
            self._cache.popitem(last=False)
        return x

    def read(self, u: int, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` of utterance ``u`` at the target rate, zero outside the file."""
        length = int(self.lengths[u])
        out = np.zeros(stop - start, dtype=np.float32)
        lo, hi = max(start, 0), min(stop, length)
        if hi <= lo:
            return out
        if self._buffer is not None:
            base = self._margin + self.offsets[u]
            chunk = self._buffer[base + lo : base + hi]
        elif self.rates[u] == self.sample_rate:
            chunk = read_mono(self.paths[u], self.sample_rate, start=lo, stop=hi)
        else:
            chunk = self._whole(u)[lo:hi]
        out[lo - start : lo - start + len(chunk)] = chunk
        return out

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()  # each worker process keeps its own cache
        return state
