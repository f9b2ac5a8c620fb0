"""Speech-enhancement training data: (noisy, clean) windows and whole utterances from a data directory.

The data directory holds ``wav.scp`` (noisy) and ``spk1.scp`` (clean), optionally ``noise1.scp`` (see
:mod:`seqgan.data.scp`). Training examples follow SEGAN: windows of ``window`` samples (16384 at
16 kHz) every ``hop`` samples (50 % overlap), the last partial window of a file dropped, pre-emphasis
on both signals. A file shorter than one window still gives one window, zero-padded at the end, so no
utterance is silently lost.

Conventions:

* Audio is read with soundfile as float32 in [-1, 1]. Files at another sample rate are resampled with
  ``torchaudio.functional.resample`` (a note is logged). Multi-channel files are refused with an error
  naming the file: for training pairs there is no safe guess between mixing microphones and picking
  one, so convert them first.
* When a noisy and a clean file differ in length, the shorter length is used (a warning is logged).
* Pre-emphasis ``y[t] = x[t] - a·x[t-1]`` is applied to each window with the sample before the window
  as ``x[t-1]`` (zero at the start of a file), so a window equals the same slice of the pre-emphasised
  file.
* Corpora larger than memory are streamed: the index (utterance, offset) is built from frame counts in
  the file headers (``soundfile.info``, no decoding), and each item reads only its window. Files at
  another sample rate cannot be read partially after resampling, so they are decoded and resampled
  whole, with a small per-process LRU cache; pre-convert such corpora (the recipes' format stage) when
  streaming. ``in_memory=True`` (or ``"auto"`` under 2 GiB) decodes everything once into one float32
  array per signal.
* Optional on-the-fly remixing: with probability ``remix_prob`` an item's noisy signal is replaced by
  ``clean + g·noise``, the noise window taken at a random offset from a random utterance's noise, ``g``
  set so that the window's SNR is a value drawn from ``remix_snrs``. The noise is ``noise1.scp`` when
  the directory has one, otherwise the recorded ``noisy − clean``. Every draw comes from
  ``numpy.random.default_rng(seed)``, the seed given with the index.
"""

from __future__ import annotations

import logging
import math
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from seqgan.data.audio import AudioFileError, audio_info, preemphasis, resample
from seqgan.data.scp import validate_data_dir

log = logging.getLogger(__name__)

AUTO_IN_MEMORY_BYTES = 2 * 1024**3  # in_memory="auto" decodes the corpus when it needs less than this
_CACHE_FILES = 8  # resampled whole files kept per process when streaming
_SILENCE_POWER = 1e-10  # a clean window below this mean power keeps the noise at its recorded level


def _check_mono(path: str, channels: int) -> None:
    if channels != 1:
        raise AudioFileError(
            path,
            f"has {channels} channels; speech-enhancement data must be mono. Convert the corpus first "
            "(pick the channel you mean or mix them, e.g. `sox in.wav -c 1 out.wav`)",
        )


def _info(path: str) -> tuple[int, int, int]:
    """(frames, sample rate, channels) from the file header."""
    info = audio_info(path)
    return info.frames, info.sample_rate, info.channels


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
    _check_mono(path, data.shape[1])
    x = np.ascontiguousarray(data[:, 0])
    if not np.isfinite(x).all():
        raise AudioFileError(
            path, f"non-finite sample (NaN or Inf) at frame {start + int(np.argmin(np.isfinite(x)))}"
        )
    if rate != sample_rate:
        x = resample(torch.from_numpy(x), rate, sample_rate).numpy()
    return x


class _Signal:
    """One signal (noisy, clean or noise) over every utterance, in memory or streamed from files."""

    def __init__(self, paths: Sequence[str], infos: Sequence[tuple[int, int, int]], sample_rate: int) -> None:
        self.paths = list(paths)
        self.rates = [rate for _, rate, _ in infos]
        self.lengths = np.array(
            [resampled_length(frames, rate, sample_rate) for frames, rate, _ in infos], dtype=np.int64
        )
        self.sample_rate = sample_rate
        self.data: np.ndarray | None = None  # all utterances concatenated, when in memory
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    @property
    def total(self) -> int:
        return int(self.offsets[-1])

    def load(self, workers: int) -> None:
        """Decodes every file into one array."""
        data = np.zeros(self.total, dtype=np.float32)

        def one(u: int) -> None:
            x = read_mono(self.paths[u], self.sample_rate)
            n = min(len(x), int(self.lengths[u]))  # the header may overstate the frames of a broken file
            data[self.offsets[u] : self.offsets[u] + n] = x[:n]

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(len(self.paths))))
        self.data = data

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
        if self.data is not None:
            base = self.offsets[u]
            chunk = self.data[base + lo : base + hi]
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


def _scan(paths: Sequence[str], workers: int) -> list[tuple[int, int, int]]:
    with ThreadPoolExecutor(workers) as pool:
        infos = list(pool.map(_info, paths))
    for path, (_, _, channels) in zip(paths, infos):
        _check_mono(path, channels)
    return infos


def _note_rates(name: str, signal: _Signal) -> bool:
    """Logs how many files of ``signal`` are resampled; True when any is."""
    other = [rate for rate in signal.rates if rate != signal.sample_rate]
    if other:
        log.info(
            "%s: %d file(s) at %s Hz are resampled to %d Hz",
            name,
            len(other),
            "/".join(map(str, sorted(set(other)))),
            signal.sample_rate,
        )
    return bool(other)


def _workers() -> int:
    return min(8, (os.cpu_count() or 1) * 2)


class SEWindows(Dataset):
    """Map-style dataset of (noisy, clean) training windows.

    Args:
        data_dir: data directory with ``wav.scp`` (noisy) and ``spk1.scp`` (clean), optionally
            ``noise1.scp``.
        window: window length in samples (16384 in SEGAN).
        hop: hop between windows; ``None`` or 0 gives ``window // 2`` (50 % overlap).
        sample_rate: rate of the returned windows; other files are resampled.
        preemphasis: pre-emphasis coefficient for both signals (0 disables).
        remix_snrs: SNRs in dB for on-the-fly remixing; ``None`` or empty disables it.
        remix_prob: probability that an item is remixed (when ``remix_snrs`` is given).
        in_memory: decode the corpus into memory (``True``), stream windows from the files
            (``False``), or decide by size (``"auto"``: in memory under 2 GiB).

    Items: ``dataset[(index, seed)]`` (or ``dataset[index]``, seed 0) is a dict with
    ``"noisy"`` and ``"clean"``, each a float32 tensor of shape ``(1, window)``.
    """

    def __init__(
        self,
        data_dir: str | Path,
        window: int = 16384,
        hop: int | None = None,
        sample_rate: int = 16000,
        preemphasis: float = 0.95,
        remix_snrs: Sequence[float] | None = None,
        remix_prob: float = 0.5,
        in_memory: bool | str = "auto",
    ) -> None:
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        hop = hop or window // 2
        if hop <= 0:
            raise ValueError(f"hop must be positive, got {hop}")
        if not 0.0 <= remix_prob <= 1.0:
            raise ValueError(f"remix_prob must be in [0, 1], got {remix_prob}")
        self.data_dir = Path(data_dir)
        self.window, self.hop, self.sample_rate = window, hop, sample_rate
        self.preemphasis = float(preemphasis)
        self.remix_snrs = [float(s) for s in (remix_snrs or [])]
        self.remix_prob = float(remix_prob)

        ddir = validate_data_dir(data_dir, required=("wav.scp", "spk1.scp"), optional=("noise1.scp",))
        self.ids = ddir.ids
        workers = _workers()
        noisy_paths = [ddir["wav.scp"][u] for u in self.ids]
        clean_paths = [ddir["spk1.scp"][u] for u in self.ids]
        self.noisy = _Signal(noisy_paths, _scan(noisy_paths, workers), sample_rate)
        self.clean = _Signal(clean_paths, _scan(clean_paths, workers), sample_rate)
        resampled = _note_rates(str(self.data_dir / "wav.scp"), self.noisy)
        resampled |= _note_rates(str(self.data_dir / "spk1.scp"), self.clean)
        self.noise: _Signal | None = None
        if self.remix_snrs and "noise1.scp" in ddir:
            noise_paths = [ddir["noise1.scp"][u] for u in self.ids]
            self.noise = _Signal(noise_paths, _scan(noise_paths, workers), sample_rate)
            resampled |= _note_rates(str(self.data_dir / "noise1.scp"), self.noise)
        elif self.remix_snrs:
            log.info("%s: no noise1.scp; remixing uses the recorded noise (noisy - clean)", self.data_dir)

        # utterance lengths: the shorter of noisy and clean
        lengths = np.minimum(self.noisy.lengths, self.clean.lengths)
        differ = int(np.sum(self.noisy.lengths != self.clean.lengths))
        if differ:
            log.warning(
                "%s: %d utterance(s) have noisy and clean files of different lengths; "
                "using the shorter length",
                self.data_dir,
                differ,
            )
        self.lengths = lengths
        counts = np.where(lengths >= window, 1 + (lengths - window) // hop, (lengths > 0).astype(np.int64))
        self._utt = np.repeat(np.arange(len(self.ids), dtype=np.int64), counts)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._start = (np.arange(len(self._utt), dtype=np.int64) - np.repeat(first, counts)) * hop

        signals = [s for s in (self.noisy, self.clean, self.noise) if s is not None]
        nbytes = self.nbytes = 4 * sum(s.total for s in signals)  # the decoded corpus
        if in_memory == "auto":
            in_memory = nbytes < AUTO_IN_MEMORY_BYTES
        elif not isinstance(in_memory, bool):
            raise ValueError(f"in_memory must be true, false or 'auto', got {in_memory!r}")
        self.in_memory = in_memory
        if in_memory:
            log.info(
                "%s: decoding %d utterances (%.1f MiB) into memory",
                self.data_dir,
                len(self.ids),
                nbytes / 2**20,
            )
            for s in signals:
                s.load(workers)
        elif resampled:
            log.info(
                "%s: streaming files at another sample rate decodes whole files; convert the corpus "
                "to %d Hz first for speed",
                self.data_dir,
                sample_rate,
            )
        log.info(
            "%s: %d utterances, %d windows of %d samples (hop %d)",
            self.data_dir,
            len(self.ids),
            len(self),
            window,
            hop,
        )

    def __len__(self) -> int:
        return len(self._utt)

    def locate(self, index: int) -> tuple[str, int]:
        """(utterance id, start sample) of window ``index``."""
        return self.ids[int(self._utt[index])], int(self._start[index])

    def _noise_length(self, v: int) -> int:
        return int(self.noise.lengths[v] if self.noise is not None else self.lengths[v])

    def remix_plan(self, seed: int) -> tuple[float, int, int] | None:
        """How the example with ``seed`` is remixed: ``(snr_db, noise utterance, noise offset)``, or None.

        Every draw comes from ``numpy.random.default_rng(seed)``; the host and the device batches share it.
        """
        if not self.remix_snrs:
            return None
        rng = np.random.default_rng(int(seed) % 2**64)
        if rng.random() >= self.remix_prob:
            return None
        snr = float(self.remix_snrs[int(rng.integers(len(self.remix_snrs)))])
        v = int(rng.integers(len(self.ids)))
        n = self._noise_length(v)
        off = int(rng.integers(0, max(n - (self.window + 1), 0) + 1)) if n > 0 else 0
        return snr, v, off

    def _noise_window(self, v: int, off: int) -> np.ndarray:
        """``window + 1`` samples of utterance ``v``'s noise from ``off`` (the first precedes the window)."""
        n = self._noise_length(v)
        size = self.window + 1
        if n == 0:
            return np.zeros(size, dtype=np.float32)
        stop = min(off + size, n)
        if self.noise is not None:
            x = self.noise.read(v, off, stop)
        else:
            x = self.noisy.read(v, off, stop) - self.clean.read(v, off, stop)
        return np.resize(x, size) if len(x) < size else x  # a short noise is repeated

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, 0)
        index = int(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"window {index} out of range ({len(self)} windows)")
        u, start = int(self._utt[index]), int(self._start[index])
        stop = min(start + self.window, int(self.lengths[u]))
        # one sample before the window for pre-emphasis; zero past the utterance's end
        clean = self.clean.read(u, start - 1, stop)
        plan = self.remix_plan(seed)
        if plan is not None:
            snr, v, off = plan
            noise = self._noise_window(v, off)[-len(clean) :]
            gain = remix_gain(
                float(np.mean(np.square(clean[1:], dtype=np.float64))) if len(clean) > 1 else 0.0,
                float(np.mean(np.square(noise[1:], dtype=np.float64))) if len(noise) > 1 else 0.0,
                snr,
            )
            noisy = clean + np.float32(gain) * noise
        else:
            noisy = self.noisy.read(u, start - 1, stop)
        out = {}
        for name, x in (("noisy", noisy), ("clean", clean)):
            x = torch.from_numpy(x)
            y = preemphasis(x[1:], self.preemphasis, previous=x[:1])
            out[name] = F.pad(y, (0, self.window - len(y))).unsqueeze(0)
        return out

    def on_device(self, device: torch.device | str) -> DeviceWindows:
        """The corpus decoded onto ``device``, batched there: see :class:`DeviceWindows`."""
        return DeviceWindows(self, torch.device(device))


def remix_gain(p_clean: float, p_noise: float, snr_db: float) -> float:
    """Noise gain giving ``snr_db`` for mean powers ``p_clean`` and ``p_noise``.

    A silent noise gives 0 (nothing to add); a silent clean window keeps the noise at its recorded level.
    """
    if p_noise <= 0.0:
        return 0.0
    if p_clean < _SILENCE_POWER:
        return 1.0
    return math.sqrt(p_clean / (p_noise * 10.0 ** (snr_db / 10.0)))


class DeviceWindows:
    """The training windows of an :class:`SEWindows`, with the whole corpus held on ``device``.

    Calling it with a batch of ``(index, seed)`` keys returns the batch dict that the loader would collate
    from ``dataset[key]`` for each key (the same windows, remixing and pre-emphasis, equal up to float
    rounding), built on the device by gathering from the corpus: no per-item Python, no worker
    processes, no host-to-device copy of audio. Only the remixing draws (a few random numbers per
    example) and the window offsets are computed on the host and sent as one small pinned tensor.
    """

    # columns of the per-example plan sent to the device
    _COLUMNS = ("noisy", "clean", "first", "valid", "remixed", "noise_a", "noise_b", "period", "skip", "snr")

    def __init__(self, windows: SEWindows, device: torch.device) -> None:
        self.windows = windows
        self.device = device
        signals = {"noisy": windows.noisy, "clean": windows.clean}
        if windows.noise is not None:
            signals["noise"] = windows.noise
        self.nbytes = 4 * sum(s.total for s in signals.values())
        self._flat = {}
        for name, s in signals.items():
            streamed = s.data is None
            if streamed:
                log.info("%s: decoding the %s signal for the device", windows.data_dir, name)
                s.load(_workers())
            self._flat[name] = torch.from_numpy(s.data).to(device)
            if streamed and device.type != "cpu":
                s.data = None  # the device holds it now: give the host memory back
        self._frame = torch.arange(windows.window + 1, device=device)

    def plan(self, keys: Sequence[tuple[int, int]]) -> np.ndarray:
        """The host's part: ``(len(keys), len(_COLUMNS))`` int64, the SNR column holding float64 bits."""
        w = self.windows
        size = w.window + 1
        idx = np.array([int(k[0]) for k in keys], dtype=np.int64)
        if idx.size and (idx.min() < -len(w) or idx.max() >= len(w)):
            raise IndexError(f"window index out of range ({len(w)} windows)")
        idx %= len(w)
        u = w._utt[idx]
        start = w._start[idx] - 1  # one sample before the window, for pre-emphasis
        plan = np.zeros((len(idx), len(self._COLUMNS)), dtype=np.int64)
        plan[:, 0] = w.noisy.offsets[u] + start
        plan[:, 1] = w.clean.offsets[u] + start
        plan[:, 2] = start < 0  # the sample before a file's first window is zero
        plan[:, 3] = np.minimum(w._start[idx] + w.window, w.lengths[u]) - start  # samples read
        snr = np.zeros(len(idx), dtype=np.float64)
        for i, key in enumerate(keys):
            drawn = w.remix_plan(int(key[1]))
            if drawn is None:
                continue
            snr[i], v, off = drawn
            plan[i, 4] = 1
            if w.noise is not None:
                plan[i, 5] = w.noise.offsets[v] + off
            else:  # the recorded noise: noisy - clean of utterance v
                plan[i, 5] = w.noisy.offsets[v] + off
                plan[i, 6] = w.clean.offsets[v] + off
            plan[i, 7] = max(min(off + size, w._noise_length(v)) - off, 0)  # a shorter noise repeats
            plan[i, 8] = size - plan[i, 3]  # the loader keeps the last `valid` noise samples
        plan[:, 9] = snr.view(np.int64)
        return plan

    def __call__(self, keys: Sequence[tuple[int, int]]) -> dict[str, torch.Tensor]:
        host = torch.from_numpy(self.plan(keys))
        remixed = bool(host[:, 4].any())
        if self.device.type == "cuda":
            host = host.pin_memory()
        return self._build(host.to(self.device, non_blocking=True), remixed)

    def _gather(self, name: str, base: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        flat = self._flat[name]
        return flat[(base[:, None] + offsets).clamp_(0, flat.numel() - 1)]

    def _build(self, plan: torch.Tensor, remixed: bool) -> dict[str, torch.Tensor]:
        w, j = self.windows, self._frame
        noisy_base, clean_base, first, valid, is_remixed, noise_a, noise_b, period, skip, _ = plan.unbind(1)
        inside = (j >= first[:, None]) & (j < valid[:, None])
        clean = torch.where(inside, self._gather("clean", clean_base, j), 0.0)
        noisy = torch.where(inside, self._gather("noisy", noisy_base, j), 0.0)
        if remixed:
            k = (skip[:, None] + j) % period.clamp(min=1)[:, None]
            if "noise" in self._flat:
                noise = self._gather("noise", noise_a, k)
            else:
                noise = self._gather("noisy", noise_a, k) - self._gather("clean", noise_b, k)
            noise = torch.where((period[:, None] > 0) & (j < valid[:, None]), noise, 0.0)
            count = (valid - 1).clamp(min=1).double()
            p_clean = clean[:, 1:].double().square().sum(1) / count
            p_noise = noise[:, 1:].double().square().sum(1) / count
            snr = plan[:, 9].view(torch.float64)
            ratio = p_clean / (p_noise * torch.pow(10.0, snr / 10.0)).clamp(
                min=torch.finfo(torch.float64).tiny
            )
            gain = torch.where(p_clean < _SILENCE_POWER, 1.0, ratio.sqrt())
            gain = torch.where((p_noise <= 0.0) | (valid <= 1), 0.0, gain).float()
            noisy = torch.where(is_remixed[:, None].bool(), clean + gain[:, None] * noise, noisy)
        keep = j[1:] < valid[:, None]  # the loader pads after the samples it read
        out = {}
        for name, x in (("noisy", noisy), ("clean", clean)):
            y = x[:, 1:] - w.preemphasis * x[:, :-1] if w.preemphasis else x[:, 1:]
            out[name] = torch.where(keep, y, 0.0).unsqueeze(1)
        return out


class SEUtterances(Dataset):
    """Whole (noisy, clean) utterances for validation, at ``sample_rate``, without pre-emphasis.

    Args:
        data_dir: data directory with ``wav.scp`` and ``spk1.scp``.
        sample_rate: rate of the returned signals; other files are resampled.
        max_utts: keep at most this many utterances, evenly spaced over the sorted ids (so that a
            small subset still spans speakers and noise conditions); ``None`` or 0 keeps all.

    Items: ``dataset[i]`` is ``(utt_id, noisy, clean)``, the signals float32 tensors of shape
    ``(1, samples)``, truncated to the shorter of the two.
    """

    def __init__(self, data_dir: str | Path, sample_rate: int = 16000, max_utts: int | None = None) -> None:
        ddir = validate_data_dir(data_dir, required=("wav.scp", "spk1.scp"), optional=())
        ids = ddir.ids
        if max_utts is not None and 0 < max_utts < len(ids):
            picks = np.unique(np.linspace(0, len(ids) - 1, max_utts).round().astype(int))
            ids = [ids[i] for i in picks]
        self.data_dir = Path(data_dir)
        self.ids = ids
        self.sample_rate = sample_rate
        self._noisy = {u: ddir["wav.scp"][u] for u in ids}
        self._clean = {u: ddir["spk1.scp"][u] for u in ids}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor, torch.Tensor]:
        u = self.ids[index]
        noisy = read_mono(self._noisy[u], self.sample_rate)
        clean = read_mono(self._clean[u], self.sample_rate)
        n = min(len(noisy), len(clean))
        return (
            u,
            torch.from_numpy(noisy[:n].copy()).unsqueeze(0),
            torch.from_numpy(clean[:n].copy()).unsqueeze(0),
        )

    def __iter__(self) -> Iterator[tuple[str, torch.Tensor, torch.Tensor]]:
        for i in range(len(self)):
            yield self[i]
