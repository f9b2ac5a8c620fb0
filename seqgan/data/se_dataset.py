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
* One definition of a window serves the loader and the device-held corpus: :meth:`SEWindows.plan` turns
  ``(index, seed)`` keys into a :class:`~seqgan.data.se_windows.WindowPlan`, and
  :func:`~seqgan.data.se_windows.cut_windows` cuts the batch from the signals, on the host for the
  loader (:meth:`SEWindows.__getitem__`, :meth:`SEWindows.__getitems__`) and on the device for
  :class:`DeviceWindows`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from seqgan.data.scp import validate_data_dir
from seqgan.data.se_signals import CorpusSignal, decode_workers, read_mono, resampled_length
from seqgan.data.se_windows import FlatSignals, Signals, StreamedSignals, WindowPlan, cut_windows, remix_gain

__all__ = ["SEUtterances", "SEWindows", "DeviceWindows", "read_mono", "remix_gain", "resampled_length"]

log = logging.getLogger(__name__)

AUTO_IN_MEMORY_BYTES = 2 * 1024**3  # in_memory="auto" decodes the corpus when it needs less than this


def _note_rates(name: str, signal: CorpusSignal) -> bool:
    """Logs how many files of ``signal`` are resampled; True when any is."""
    other = signal.resampled
    if other:
        log.info(
            "%s: %d file(s) at %s Hz are resampled to %d Hz",
            name,
            len(other),
            "/".join(map(str, sorted(set(other)))),
            signal.sample_rate,
        )
    return bool(other)


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
    ``dataset.__getitems__(keys)`` (what the loader calls for a batch) cuts the items of a batch at once.
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
        workers = decode_workers()
        self.noisy = CorpusSignal([ddir["wav.scp"][u] for u in self.ids], sample_rate, workers)
        self.clean = CorpusSignal([ddir["spk1.scp"][u] for u in self.ids], sample_rate, workers)
        resampled = _note_rates(str(self.data_dir / "wav.scp"), self.noisy)
        resampled |= _note_rates(str(self.data_dir / "spk1.scp"), self.clean)
        self.noise: CorpusSignal | None = None
        if self.remix_snrs and "noise1.scp" in ddir:
            self.noise = CorpusSignal([ddir["noise1.scp"][u] for u in self.ids], sample_rate, workers)
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
        # the noise of each utterance: noise1.scp, or the recorded noisy - clean
        self._noise_lengths = self.noise.lengths if self.noise is not None else lengths
        counts = np.where(lengths >= window, 1 + (lengths - window) // hop, (lengths > 0).astype(np.int64))
        self._utt = np.repeat(np.arange(len(self.ids), dtype=np.int64), counts)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._start = (np.arange(len(self._utt), dtype=np.int64) - np.repeat(first, counts)) * hop

        nbytes = self.nbytes = 4 * sum(s.total for s in self.signals.values())  # the decoded corpus
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
            for s in self.signals.values():
                s.load(workers, margin=window + 1)  # margins of zeros: every window is one slice
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

    @property
    def signals(self) -> dict[str, CorpusSignal]:
        """The signals windows are cut from: ``"noisy"``, ``"clean"`` and (remixing with noise1.scp) ``"noise"``."""
        out = {"noisy": self.noisy, "clean": self.clean}
        if self.noise is not None:
            out["noise"] = self.noise
        return out

    def __len__(self) -> int:
        return len(self._utt)

    def locate(self, index: int) -> tuple[str, int]:
        """(utterance id, start sample) of window ``index``."""
        return self.ids[int(self._utt[index])], int(self._start[index])

    def remix_plan(self, seed: int) -> tuple[float, int, int] | None:
        """How the example with ``seed`` is remixed: ``(snr_db, noise utterance, noise offset)``, or None.

        Every draw comes from ``numpy.random.default_rng(seed)``, so a key gives the same example on every
        path, process and run.
        """
        if not self.remix_snrs:
            return None
        rng = np.random.default_rng(int(seed) % 2**64)
        if rng.random() >= self.remix_prob:
            return None
        snr = float(self.remix_snrs[int(rng.integers(len(self.remix_snrs)))])
        v = int(rng.integers(len(self.ids)))
        n = int(self._noise_lengths[v])
        off = int(rng.integers(0, max(n - (self.window + 1), 0) + 1)) if n > 0 else 0
        return snr, v, off

    def plan(self, keys: Sequence[tuple[int, int]]) -> WindowPlan:
        """The :class:`~seqgan.data.se_windows.WindowPlan` of ``(index, seed)`` keys, on the host.

        Raises:
            IndexError: an index outside ``[-len(self), len(self))``.
        """
        index = np.array([int(k[0]) for k in keys], dtype=np.int64)
        bad = (index < -len(self)) | (index >= len(self))
        if bad.any():
            raise IndexError(f"window {int(index[bad][0])} out of range ({len(self)} windows)")
        index %= max(len(self), 1)
        utt = self._utt[index]
        start = self._start[index] - 1  # one sample before the window, for pre-emphasis
        valid = np.minimum(self._start[index] + self.window, self.lengths[utt]) - start
        draws = [self.remix_plan(int(k[1])) for k in keys]
        return WindowPlan.of(utt, start, valid, draws, self._noise_lengths, self.window)

    def _host_signals(self) -> Signals:
        signals = self.signals
        if all(s.data is not None for s in signals.values()):
            return FlatSignals.of(signals, self.window + 1)
        return StreamedSignals(signals, self.window + 1)

    def __getitems__(self, keys: Sequence[int | tuple[int, int]]) -> list[dict[str, torch.Tensor]]:
        """The items of ``keys`` (each ``(index, seed)`` or an index), cut together."""
        keys = [k if isinstance(k, tuple) else (k, 0) for k in keys]
        batch = cut_windows(self.plan(keys), self._host_signals(), self.window, self.preemphasis)
        return [{name: x[i] for name, x in batch.items()} for i in range(len(keys))]

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        return self.__getitems__([key])[0]

    def on_device(self, device: torch.device | str) -> DeviceWindows:
        """The corpus decoded onto ``device``, batched there: see :class:`DeviceWindows`."""
        return DeviceWindows(self, torch.device(device))


class DeviceWindows:
    """The training windows of an :class:`SEWindows`, with the whole corpus held on ``device``.

    Calling it with a batch of ``(index, seed)`` keys returns the batch dict that the loader would collate
    from ``dataset[key]`` for each key: the same :meth:`SEWindows.plan` and
    :func:`~seqgan.data.se_windows.cut_windows`, run on the device by gathering from the corpus (on
    the host ``on_device("cpu")`` equals the loader bit for bit; another device may round the remix
    powers differently). No per-item Python, no worker processes, no host-to-device copy of audio:
    only the plan (a few numbers per example) travels, pinned and without waiting.
    """

    def __init__(self, windows: SEWindows, device: torch.device) -> None:
        self.windows = windows
        self.device = device
        signals = windows.signals
        self.nbytes = 4 * sum(s.total for s in signals.values())
        streamed = [name for name, s in signals.items() if s.data is None]
        for name in streamed:
            log.info("%s: decoding the %s signal for the device", windows.data_dir, name)
            signals[name].load(decode_workers(), margin=windows.window + 1)
        self.signals = FlatSignals.of(signals, windows.window + 1, device)
        if device.type != "cpu":
            for name in streamed:
                signals[name].release()  # the device holds it now: give the host memory back

    def __call__(self, keys: Sequence[tuple[int, int]]) -> dict[str, torch.Tensor]:
        w = self.windows
        plan = w.plan(keys).to(self.device)
        return cut_windows(plan, self.signals, w.window, w.preemphasis)


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
