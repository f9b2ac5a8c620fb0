"""Speech metrics computed in worker processes while training goes on (MetricGAN-style targets).

A metric discriminator learns the (non-differentiable) PESQ of generated utterances; computing it in the
training loop would stall every step. :class:`BackgroundScorer` sends batches of ``(reference, estimate)``
pairs to a small pool of worker processes and hands back a ticket; the task collects the scores later
(typically one step later, so the PESQ of step ``t``'s outputs is computed while step ``t + 1`` trains).
Collecting at a fixed lag keeps training deterministic: the scores do not depend on timing.

Pairs whose metric cannot be computed (PESQ raises on signals without detected speech) come back as NaN;
callers drop those examples.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from seqgan.metrics.audio import compute_metrics, resolve_metrics

__all__ = ["BackgroundScorer", "score_pairs"]

logger = logging.getLogger(__name__)


def score_pairs(references: np.ndarray, estimates: np.ndarray, sample_rate: int, metric: str) -> np.ndarray:
    """``metric`` of each ``(reference, estimate)`` row; NaN where it cannot be computed.

    Args:
        references: ``(batch, samples)`` clean signals.
        estimates: ``(batch, samples)`` signals to rate.
        sample_rate: their rate in Hz.
        metric: a name of :mod:`seqgan.metrics.audio` (e.g. ``pesq_wb``).

    Returns:
        ``(batch,)`` float64 scores.
    """
    out = np.full(len(references), np.nan)
    for i, (ref, est) in enumerate(zip(references, estimates)):
        scores, _ = compute_metrics(
            np.asarray(ref, np.float64), np.asarray(est, np.float64), sample_rate, [metric]
        )
        if metric in scores:
            out[i] = scores[metric]
    return out


class BackgroundScorer:
    """A pool of worker processes scoring batches of pairs with one metric.

    Args:
        metric: a metric name of :mod:`seqgan.metrics.audio` (``pesq_wb`` for MetricGAN+ / CMGAN).
        sample_rate: the rate of the signals, in Hz.
        workers: worker processes (0: score in the calling thread, for tests and debugging).

    Example::

        scorer = BackgroundScorer("pesq_wb", 16000, workers=1)
        ticket = scorer.submit(clean, enhanced)  # returns at once
        ...                                      # the next training step runs
        pesq = scorer.result(ticket)             # (batch,) scores, NaN where PESQ failed
    """

    def __init__(self, metric: str = "pesq_wb", sample_rate: int = 16000, workers: int = 1) -> None:
        (self.metric,) = resolve_metrics([metric])
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.sample_rate = int(sample_rate)
        self.workers = int(workers)
        # spawn: the workers import numpy and the metric packages only, never a forked torch runtime
        self._pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) if workers > 0 else None
        self._pending: dict[int, Future | np.ndarray] = {}
        self._next = 0
        self.wait_seconds = 0.0  # time callers spent blocked in result(): the stall the pool did not hide

    def submit(self, references: np.ndarray, estimates: np.ndarray) -> int:
        """Queues ``(batch, samples)`` pairs for scoring; returns a ticket for :meth:`result`."""
        references, estimates = np.asarray(references), np.asarray(estimates)
        if references.shape != estimates.shape or references.ndim != 2:
            raise ValueError(
                f"expected two (batch, samples) arrays of one shape, got {references.shape} and {estimates.shape}"
            )
        ticket, self._next = self._next, self._next + 1
        if self._pool is None:
            self._pending[ticket] = score_pairs(references, estimates, self.sample_rate, self.metric)
        else:
            self._pending[ticket] = self._pool.submit(
                score_pairs, references, estimates, self.sample_rate, self.metric
            )
        return ticket

    def result(self, ticket: int, timeout: float | None = None) -> np.ndarray:
        """The ``(batch,)`` scores of a submitted batch (blocks until they are ready)."""
        try:
            pending = self._pending.pop(ticket)
        except KeyError:
            raise KeyError(f"no pending scores for ticket {ticket}") from None
        if isinstance(pending, np.ndarray):
            return pending
        t0 = time.perf_counter()
        scores = pending.result(timeout=timeout)
        self.wait_seconds += time.perf_counter() - t0
        return scores

    def close(self) -> None:
        """Stops the workers (pending results are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    def __enter__(self) -> BackgroundScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a task dropped without close() must not leave workers behind
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass
