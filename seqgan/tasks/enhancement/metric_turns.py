"""Discriminator turns of a *metric* discriminator (MetricGAN+, Fu et al. 2021; CMGAN, Cao et al. 2022).

The discriminator ``D(estimate, clean)`` learns the normalised metric ``Q`` (PESQ) of a pair; the generator
then asks it for the best score (``seqgan.adversarial``'s ``metric`` objective)::

    MetricGAN+  L_D = (D(y, y) − Q(y, y))² + (D(G(x), y) − Q(G(x), y))² + (D(x, y) − Q(x, y))² [+ replay]
    CMGAN       L_D = (D(y, y) − 1)² + (D(G(x), y) − Q(G(x), y))²
    both        L_G = (D(G(x), y) − 1)²  (weighted, beside the family's reconstruction terms)

``Q(y, y)`` is the normalised maximum, 1 (the objective's ``real_target``; SpeechBrain's MetricGAN+ recipe
and CMGAN use 1). PESQ is not differentiable and costs tens of milliseconds per second of audio, so it runs
in worker processes (:class:`seqgan.metrics.background.BackgroundScorer`) at a fixed lag of one turn: the
D turn of step ``t`` trains on the outputs ``G(x)`` of step ``t − 1`` with their scores (collected, blocking
if they are not ready yet), and submits step ``t``'s outputs to be scored while the rest of step ``t`` and
the beginning of step ``t + 1`` run. The scores never depend on timing, so training stays deterministic.
The first turn has nothing scored yet and trains on the clean term alone.

* Examples whose metric failed (NaN: PESQ finds no speech in a silent window) are dropped from their term.
* ``noisy_term`` adds MetricGAN+'s ``(D(x, y) − Q(x, y))²`` (the noisy inputs are scored with the outputs).
* ``replay_size > 0`` keeps the last ``replay_size`` scored outputs (MetricGAN+'s history); each turn adds
  the term of ``replay_batch`` of them, drawn with a generator seeded from ``seed`` and the turn's count.
* Signals are de-emphasised (``preemphasis``) before scoring: the metric rates what a listener hears.
  Copying them to the host for the workers waits for the device once per turn (the metric needs them).
* Each turn reports ``metric_wait_s`` (seconds blocked waiting for the scores: the cost the workers did not
  hide), ``metric_q_fake`` / ``metric_q_noisy`` (mean normalised scores) and ``metric_failed`` (NaN scores).

Resume: the in-flight batch and the replay buffer live in memory only. A resumed run starts with both
empty (its first D turn trains on the clean term alone, and the replay refills), so a resumed metric-D run
is not bit-exact with an uninterrupted one; everything else (weights, optimisers, data order) resumes exactly.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from seqgan.adversarial import MetricObjective, cmgan_pesq_target, metricgan_pesq_target
from seqgan.data.audio import deemphasis
from seqgan.metrics.background import BackgroundScorer
from seqgan.tasks.base import Nets, TurnOutput

__all__ = ["NORMALIZATIONS", "MetricTurns"]

log = logging.getLogger(__name__)

#: How a raw score becomes a target in [0, 1]: ``metricgan`` (PESQ + 0.5) / 5, ``cmgan`` (PESQ − 1) / 3.5,
#: ``none`` (a metric already in [0, 1], e.g. STOI).
NORMALIZATIONS: dict[str, Callable[[Any], Any]] = {
    "metricgan": metricgan_pesq_target,
    "cmgan": cmgan_pesq_target,
    "none": lambda score: score,
}


@dataclass
class _Scored:
    """A batch submitted for scoring: its ticket and the signals D trains on once the scores arrive."""

    ticket: int
    fake: torch.Tensor  # (batch, 1, samples)
    clean: torch.Tensor
    noisy: torch.Tensor | None  # with the noisy term only


class MetricTurns:
    """The D turn of a metric discriminator, with the background scorer and the replay buffer.

    Args:
        objective: the ``metric`` objective (its ``real_target`` is the clean pair's target).
        metric: the metric D learns, a name of :mod:`seqgan.metrics.audio` (``pesq_wb``).
        normalization: a key of :data:`NORMALIZATIONS` (``metricgan`` or ``cmgan`` for PESQ).
        sample_rate: the signals' rate in Hz.
        preemphasis: the training data's pre-emphasis, undone before scoring (0: none).
        noisy_term: add MetricGAN+'s noisy-input term.
        replay_size: scored outputs kept for replay (0: no replay).
        replay_batch: replayed examples per turn.
        workers: scoring processes (0: score in the training thread, for tests).
        seed: seeds the replay draws.
    """

    #: the discriminator's second input in every turn: ``D(estimate, clean)``
    reference = "clean"

    def __init__(
        self,
        objective: MetricObjective,
        metric: str = "pesq_wb",
        normalization: str = "metricgan",
        sample_rate: int = 16000,
        preemphasis: float = 0.0,
        noisy_term: bool = False,
        replay_size: int = 0,
        replay_batch: int = 0,
        workers: int = 1,
        seed: int = 0,
    ) -> None:
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"unknown metric normalization '{normalization}'; choose from: {', '.join(NORMALIZATIONS)}"
            )
        self.objective = objective
        self.metric, self.sample_rate, self.workers = metric, int(sample_rate), int(workers)
        self.normalize = NORMALIZATIONS[normalization]
        self.preemphasis = float(preemphasis)
        self.noisy_term = bool(noisy_term)
        self.replay_batch = int(replay_batch) if replay_size > 0 else 0
        self.replay: deque[tuple[torch.Tensor, torch.Tensor, float]] = deque(maxlen=max(1, int(replay_size)))
        self.seed = int(seed)
        self.turns = 0
        self.scorer: BackgroundScorer | None = None  # started on the first turn
        self.inflight: _Scored | None = None

    # -- scoring ------------------------------------------------------------------------------------------
    def _scorer(self) -> BackgroundScorer:
        if self.scorer is None:
            self.scorer = BackgroundScorer(self.metric, self.sample_rate, self.workers)
        return self.scorer

    def _listenable(self, wave: torch.Tensor) -> np.ndarray:
        """``(batch, 1, samples)`` -> de-emphasised float64 ``(batch, samples)`` on the host."""
        return deemphasis(wave.detach()[:, 0].double(), self.preemphasis).cpu().numpy()

    def submit(self, fake: torch.Tensor, clean: torch.Tensor, noisy: torch.Tensor) -> None:
        """Queues the metric of ``(fake, clean)`` pairs (and of ``(noisy, clean)`` with the noisy term)."""
        ests, refs = [fake], [clean]
        if self.noisy_term:
            ests.append(noisy)
            refs.append(clean)
        ticket = self._scorer().submit(self._listenable(torch.cat(refs)), self._listenable(torch.cat(ests)))
        self.inflight = _Scored(
            ticket, fake.detach(), clean.detach(), noisy.detach() if self.noisy_term else None
        )

    def collect(self) -> tuple[_Scored, torch.Tensor] | None:
        """The batch submitted last and its normalised targets ``(n,)`` on the host (NaN where the metric
        failed), or None when nothing is in flight. Blocks until the scores are ready."""
        if self.inflight is None:
            return None
        scored, self.inflight = self.inflight, None
        raw = self._scorer().result(scored.ticket)
        return scored, torch.as_tensor(self.normalize(np.asarray(raw, np.float64)), dtype=torch.float32)

    def reset(self) -> None:
        """Forgets the batch in flight and the replay buffer (the scorer keeps running)."""
        self.inflight = None
        self.replay.clear()

    def close(self) -> None:
        """Stops the scoring workers."""
        if self.scorer is not None:
            self.scorer.close()
            self.scorer = None
        self.inflight = None

    # -- the turn -----------------------------------------------------------------------------------------
    def _draw_replay(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        if not self.replay_batch or not self.replay:
            return None
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.turns)
        picks = torch.randint(len(self.replay), (self.replay_batch,), generator=gen).tolist()
        fake, clean, target = zip(*(self.replay[i] for i in picks))
        return torch.stack(fake), torch.stack(clean), torch.tensor(target, device=fake[0].device)

    def discriminator_turn(self, noisy: torch.Tensor, clean: torch.Tensor, nets: Nets) -> TurnOutput:
        """One D turn: the clean term on this batch, the scored terms of the previous turn's batch, the replay
        term; submits this batch's outputs for scoring.

        Args:
            noisy: ``(batch, 1, samples)`` inputs.
            clean: ``(batch, 1, samples)`` references.
            nets: the networks (the generator runs without a graph).

        Returns:
            The loss (a sum of mean squared errors, one per term) and detached statistics.
        """
        wait_before = self.scorer.wait_seconds if self.scorer is not None else 0.0
        found = self.collect()
        replay = self._draw_replay()
        with torch.no_grad():  # the outputs are constants for D
            fake = nets.generator(noisy)
        d_clean = nets.discriminator(clean, clean)
        stats: dict[str, Any] = {"d_clean": d_clean.detach().float().mean()}
        terms: list[tuple[torch.Tensor, torch.Tensor]] = []
        failed = 0
        if found is not None:
            scored, targets = found  # targets on the host: the NaN masks need no device sync
            n, device = scored.fake.shape[0], scored.fake.device
            for name, signal, q in (("fake", scored.fake, targets[:n]), ("noisy", scored.noisy, targets[n:])):
                if signal is None:
                    continue
                kept = torch.isfinite(q).nonzero().squeeze(1)
                failed += len(q) - len(kept)
                if not len(kept):
                    continue
                rows = kept.to(device)
                est, ref, q = signal.index_select(0, rows), scored.clean.index_select(0, rows), q[kept]
                out = nets.discriminator(est, ref)
                terms.append((out, q.to(device)))
                stats[f"metric_q_{name}"] = float(q.mean())
                stats[f"d_{name}"] = out.detach().float().mean()
                if name == "fake" and self.replay_batch:
                    self.replay.extend(zip(est, ref, q.tolist()))
        if replay is not None:
            r_fake, r_clean, r_target = replay
            out = nets.discriminator(r_fake, r_clean)
            terms.append((out, r_target))
            stats["d_replay"] = out.detach().float().mean()
        if terms:
            (d_fake, q_fake), *extra = terms
            loss = self.objective.discriminator_loss(d_clean, d_fake, fake_targets=q_fake, extra=extra)
        else:  # nothing scored yet (the first turn)
            loss = self.objective.regression_loss(d_clean, self.objective.real_target)
        self.submit(fake, clean, noisy)
        self.turns += 1
        wait_after = self.scorer.wait_seconds if self.scorer is not None else 0.0
        stats.update(
            d_loss=loss.detach(), metric_wait_s=wait_after - wait_before, metric_failed=float(failed)
        )
        return TurnOutput(loss, stats)

    def __del__(self) -> None:  # workers never outlive the task
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass
