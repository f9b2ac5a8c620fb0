"""The one definition of a speech-enhancement training window: a plan per example, cut from the signals.

Both data paths make their batches here, so they cannot drift apart:

* the loader (:class:`seqgan.data.se_dataset.SEWindows`, on the host, per example or per batch) cuts
  from the decoded corpus in memory (:class:`FlatSignals`) or from the files (:class:`StreamedSignals`);
* the device-held corpus (:class:`seqgan.data.se_dataset.DeviceWindows`) cuts from :class:`FlatSignals`
  on the device.

A :class:`WindowPlan` says, per example, which samples make the window: the utterance and the first
sample read (one before the window, for pre-emphasis), how many samples the utterance has from there,
and for a remixed example which noise, from where, how it repeats and the SNR. It is index arithmetic
and random draws only, made on the host by :meth:`SEWindows.plan`. :func:`cut_windows` turns a plan and
the signals into the batch with tensor operations: no per-example Python (but the file reads of
:class:`StreamedSignals`) and no host synchronisation on a device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

import numpy as np
import torch

from seqgan.data.se_signals import CorpusSignal

SILENCE_POWER = 1e-10  # a clean window below this mean power keeps the noise at its recorded level


class WindowPlan(NamedTuple):
    """Which samples make each window of a batch, and how the remixed examples are mixed.

    Positions count samples of an utterance at the training rate. A window of ``window`` samples is cut
    from the ``window + 1`` samples read from ``start`` (the first one only feeds the pre-emphasis).

    Attributes:
        utt: ``(batch,)`` int64 utterance of the window.
        start: ``(batch,)`` int64 first sample read: the window's start − 1 (−1 for a file's first
            window: a zero).
        valid: ``(batch,)`` int64 samples the utterance has from ``start`` (``window + 1``, fewer at
            its end; the rest of the window is zero padding).
        remixed: ``(remixes,)`` int64 the examples whose noisy signal is replaced by
            clean + gain · noise, in batch order; the fields below are theirs.
        noise_utt: ``(remixes,)`` int64 utterance whose noise is mixed in.
        noise_start: ``(remixes,)`` int64 first sample of that noise.
        noise_period: ``(remixes,)`` int64 noise samples available from ``noise_start`` (at most
            ``window + 1``); a shorter noise repeats, and 0 means no noise at all.
        noise_skip: ``(remixes,)`` int64 noise samples skipped first: the mix takes the last ``valid``
            of the ``window + 1`` noise samples.
        snr_power: ``(remixes,)`` float64 the wanted clean-to-noise power ratio, ``10 ** (snr_db / 10)``.
        repeat: some noise is shorter than ``window + 1`` and repeats.
        short: some utterance ends inside its window (``valid < window + 1``).

    The flags are known on the host, so that :func:`cut_windows` skips the work they rule out without
    asking the device (as the number of remixes is, from the shape of ``remixed``).
    """

    utt: torch.Tensor
    start: torch.Tensor
    valid: torch.Tensor
    remixed: torch.Tensor
    noise_utt: torch.Tensor
    noise_start: torch.Tensor
    noise_period: torch.Tensor
    noise_skip: torch.Tensor
    snr_power: torch.Tensor
    repeat: bool
    short: bool

    @classmethod
    def of(
        cls,
        utt: np.ndarray,
        start: np.ndarray,
        valid: np.ndarray,
        draws: Sequence[tuple[float, int, int] | None],
        noise_lengths: np.ndarray,
        window: int,
    ) -> WindowPlan:
        """The plan (on the host) of windows located by ``utt``, ``start``, ``valid`` and remixed by ``draws``.

        Args:
            utt, start, valid: ``(batch,)`` int64, as the attributes.
            draws: per example ``(snr_db, noise utterance, noise offset)``, or ``None`` when not remixed.
            noise_lengths: ``(utterances,)`` int64 samples of each utterance's noise.
            window: window length in samples.
        """
        size = window + 1
        valid = np.asarray(valid, dtype=np.int64)
        remixed = np.array([i for i, d in enumerate(draws) if d is not None], dtype=np.int64)
        mixes = [d for d in draws if d is not None]
        noise_utt = np.array([v for _, v, _ in mixes], dtype=np.int64)
        noise_start = np.array([off for _, _, off in mixes], dtype=np.int64)
        period = np.maximum(np.minimum(noise_start + size, noise_lengths[noise_utt]) - noise_start, 0)
        return cls(
            utt=torch.from_numpy(np.asarray(utt, dtype=np.int64)),
            start=torch.from_numpy(np.asarray(start, dtype=np.int64)),
            valid=torch.from_numpy(valid),
            remixed=torch.from_numpy(remixed),
            noise_utt=torch.from_numpy(noise_utt),
            noise_start=torch.from_numpy(noise_start),
            noise_period=torch.from_numpy(period),
            noise_skip=torch.from_numpy(size - valid[remixed]),
            snr_power=torch.tensor([10.0 ** (snr_db / 10.0) for snr_db, _, _ in mixes], dtype=torch.float64),
            repeat=bool((period < size).any()),
            short=bool((valid < size).any()),
        )

    def to(self, device: torch.device) -> WindowPlan:
        """This host plan on ``device``: one pinned, non-blocking copy per dtype (the fields travel joined)."""
        if device.type == "cpu":
            return self
        tensors = {name: value for name, value in self._asdict().items() if isinstance(value, torch.Tensor)}
        moved: dict[str, torch.Tensor] = {}
        for dtype in dict.fromkeys(t.dtype for t in tensors.values()):
            names = [name for name, t in tensors.items() if t.dtype == dtype]
            joined = torch.cat([tensors[name] for name in names])
            if device.type == "cuda":
                joined = joined.pin_memory()
            parts = joined.to(device, non_blocking=True).split([tensors[name].numel() for name in names])
            moved.update(zip(names, parts))
        return self._replace(**moved)


class Signals(Protocol):
    """Decoded signals by name (``"noisy"``, ``"clean"``, optionally ``"noise"``) that windows are cut from.

    Attributes:
        width: samples per row (``window + 1``).
    """

    width: int

    def __contains__(self, name: str) -> bool: ...

    def rows(self, name: str, utt: torch.Tensor, start: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """Samples ``start .. start + width - 1`` of utterances ``utt`` of signal ``name``.

        Args:
            utt: ``(batch,)`` int64 utterance of each row.
            start: ``(batch,)`` int64 first sample of each row (−1 at the least).
            count: ``(batch,)`` int64 samples of each row that are used: positions
                ``max(start, 0) .. start + count − 1``, all inside the utterance (0: the row is unused).
                Elsewhere a row may hold any finite value.

        Returns:
            ``(batch, width)`` float32, a new tensor (the caller may write into it).
        """
        ...


class FlatSignals:
    """Signals decoded into one flat tensor each (utterances concatenated), on any device.

    A row is one slice of a buffer: rows are copied from a sliding-window view, never indexed sample by
    sample. Each buffer holds its signal between margins of at least ``width`` zeros, so every row stays
    inside it.

    Args:
        buffers: name → ``(margin + total + margin,)`` float32.
        offsets: name → ``(utterances + 1,)`` int64 start of each utterance in the signal, on the
            buffer's device.
        margins: name → the buffer's margin (at least ``width``).
        width: samples per row.
    """

    def __init__(
        self,
        buffers: Mapping[str, torch.Tensor],
        offsets: Mapping[str, torch.Tensor],
        margins: Mapping[str, int],
        width: int,
    ) -> None:
        for name, margin in margins.items():
            if margin < width:
                raise ValueError(f"the {name} buffer has a margin of {margin} < {width} samples")
        self.width = width
        self._views = {name: b.unfold(0, width, 1) for name, b in buffers.items()}
        self._bases = {name: offsets[name] + margins[name] for name in buffers}

    @classmethod
    def of(
        cls, signals: Mapping[str, CorpusSignal], width: int, device: torch.device | None = None
    ) -> FlatSignals:
        """The decoded (:meth:`CorpusSignal.load`) ``signals``; on the host they share its memory."""
        buffers, offsets, margins = {}, {}, {}
        for name, s in signals.items():
            host, margin = s.buffer()
            if (device is None or device.type == "cpu") and margin >= width:
                buffers[name] = torch.from_numpy(host)
            else:
                margin = width
                buffers[name] = torch.zeros(s.total + 2 * width, dtype=torch.float32, device=device)
                buffers[name][width : width + s.total].copy_(torch.from_numpy(s.data))
            offsets[name] = torch.from_numpy(s.offsets).to(device)
            margins[name] = margin
        return cls(buffers, offsets, margins, width)

    def __contains__(self, name: str) -> bool:
        return name in self._views

    def rows(self, name: str, utt: torch.Tensor, start: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        view = self._views[name]
        at = (self._bases[name][utt] + start).clamp_(0, view.shape[0] - 1)
        return view.index_select(0, at)


class StreamedSignals:
    """Signals read from their files, only the samples that are used (host only)."""

    def __init__(self, signals: Mapping[str, CorpusSignal], width: int) -> None:
        self.signals = dict(signals)
        self.width = width

    def __contains__(self, name: str) -> bool:
        return name in self.signals

    def rows(self, name: str, utt: torch.Tensor, start: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        signal = self.signals[name]
        out = torch.zeros(len(utt), self.width, dtype=torch.float32)
        for row, (u, first, n) in enumerate(zip(utt.tolist(), start.tolist(), count.tolist())):
            lo, hi = max(first, 0), first + n
            if hi > lo:
                out[row, lo - first : hi - first] = torch.from_numpy(signal.read(u, lo, hi))
        return out


def remix_gains(p_clean: torch.Tensor, p_noise: torch.Tensor, snr_power: torch.Tensor) -> torch.Tensor:
    """Noise gains giving the wanted SNRs for mean powers ``p_clean`` and ``p_noise`` (float64 tensors).

    ``sqrt(p_clean / (p_noise · snr_power))``; a silent noise gives 0 (nothing to add), a silent clean
    window keeps the noise at its recorded level (gain 1).
    """
    ratio = p_clean / (p_noise * snr_power).clamp(min=torch.finfo(torch.float64).tiny)
    gain = torch.where(p_clean < SILENCE_POWER, 1.0, ratio.sqrt())
    return torch.where(p_noise <= 0.0, 0.0, gain)


def remix_gain(p_clean: float, p_noise: float, snr_db: float) -> float:
    """:func:`remix_gains` for one example, with the SNR in dB."""
    p = torch.tensor([p_clean, p_noise, 10.0 ** (snr_db / 10.0)], dtype=torch.float64)
    return float(remix_gains(p[:1], p[1:2], p[2:]))


def cut_windows(
    plan: WindowPlan, signals: Signals, window: int, preemphasis: float
) -> dict[str, torch.Tensor]:
    """The training windows of ``plan``, cut from ``signals``, remixed and pre-emphasised.

    Per example: the ``window + 1`` samples from ``plan.start`` of the clean and noisy signals (zero
    before the file and past ``plan.valid``); for a remixed example the noisy signal is replaced by
    ``clean + g · noise``, ``g`` from the mean powers of the window's samples (:func:`remix_gains`, in
    float64); then pre-emphasis ``y[t] = x[t] − a · x[t − 1]``, where the first sample read is the
    ``x[t − 1]`` of the window's first sample, so a window equals the same slice of the
    pre-emphasised file; samples past ``plan.valid`` are zero.

    Args:
        plan: the examples, on the device of ``signals``.
        signals: what to cut from.
        window: window length in samples.
        preemphasis: pre-emphasis coefficient (0 disables it).

    Returns:
        ``{"noisy": (batch, 1, window), "clean": (batch, 1, window)}`` float32.
    """
    n = window + 1
    if signals.width != n:
        raise ValueError(f"signals cut rows of {signals.width} samples, windows need {n}")
    j = torch.arange(n, device=plan.utt.device)
    r = plan.remixed
    clean = signals.rows("clean", plan.utt, plan.start, plan.valid)
    noisy = signals.rows("noisy", plan.utt, plan.start, plan.valid.index_fill(0, r, 0))  # remixed: unread
    for x in (clean, noisy):  # the sample before a file's first window is zero
        x[:, 0] = torch.where(plan.start >= 0, x[:, 0], 0.0)
    if r.numel():
        valid = plan.valid[r]
        mixed = clean.index_select(0, r)  # (remixes, n)
        noise = _noise_rows(plan, signals, j, valid)
        if plan.short or plan.repeat:  # zero the noise past an utterance's end, and a noise of no samples
            read = (j < valid[:, None]) & (plan.noise_period[:, None] > 0)
            noise = torch.where(read, noise, 0.0)
        pair = mixed.new_empty((len(r), 2, n - 1), dtype=torch.float64)
        pair[:, 0].copy_(
            torch.where(j[1:] < valid[:, None], mixed[:, 1:], 0.0) if plan.short else mixed[:, 1:]
        )
        pair[:, 1].copy_(noise[:, 1:])
        power = (pair * pair).sum(-1) / (valid - 1).clamp(min=1).double()[:, None]  # (remixes, 2)
        gain = remix_gains(power[:, 0], power[:, 1], plan.snr_power).float()
        noisy.index_copy_(0, r, mixed + gain[:, None] * noise)
    out = {}
    for name, x in (("noisy", noisy), ("clean", clean)):
        y = x[:, 1:] - preemphasis * x[:, :-1] if preemphasis else x[:, 1:].contiguous()
        if plan.short:  # zero padding after the samples of a short utterance
            y = torch.where(j[1:] < plan.valid[:, None], y, 0.0)
        out[name] = y.unsqueeze(1)
    return out


def _noise_rows(plan: WindowPlan, signals: Signals, j: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``(remixes, window + 1)`` the noise each remixed example adds.

    The example takes the last ``valid`` of ``window + 1`` noise samples from ``noise_start``; a noise
    shorter than that repeats (indexed sample by sample, only in a batch that has one).
    """

    def rows(start: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        if "noise" in signals:
            return signals.rows("noise", plan.noise_utt, start, count)
        # the recorded noise: noisy - clean of the noise utterance
        return signals.rows("noisy", plan.noise_utt, start, count) - signals.rows(
            "clean", plan.noise_utt, start, count
        )

    if not plan.repeat:  # every noise covers its window: one slice per example
        return rows(plan.noise_start + plan.noise_skip, valid)
    whole = rows(plan.noise_start, plan.noise_period)
    return whole.gather(1, (plan.noise_skip[:, None] + j) % plan.noise_period.clamp(min=1)[:, None])
