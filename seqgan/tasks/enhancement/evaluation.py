"""Validation of the enhancement task: whole utterances enhanced as ``seqgan enhance`` enhances them.

The generator in memory runs through :class:`seqgan.enhance.Enhancer` with the training geometry
(``data.window`` windows, 50 % overlap-add, pre-emphasis and de-emphasis at ``data.sample_rate``), which
is what the exported model does in ``seqgan enhance``; the scores are those of ``seqgan score``
(:func:`seqgan.metrics.audio.compute_metrics`). So a validation score is the score the shipped model
gets on the same utterance.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from seqgan.data.se_dataset import SEUtterances
from seqgan.enhance import Enhancer
from seqgan.metrics.audio import HIGHER_IS_BETTER, compute_metrics, resolve_metrics

log = logging.getLogger(__name__)

Utterance = tuple[str, torch.Tensor, torch.Tensor]  # (utt_id, noisy (1, T), clean (1, T))


class Validation:
    """The validation utterances of one run (loaded once) and their scores.

    Args:
        valid_dir: data directory with ``wav.scp`` and ``spk1.scp``; empty: no validation.
        sample_rate: the training rate (utterances are read, enhanced and scored at it).
        preemphasis: the training pre-emphasis coefficient.
        window: the training window (samples per generator call).
        max_utts: at most this many utterances, evenly spaced over the sorted ids; 0: all.
        metrics: names of ``seqgan.metrics.audio`` (aliases allowed).
    """

    def __init__(
        self,
        valid_dir: str,
        sample_rate: int,
        preemphasis: float,
        window: int,
        max_utts: int,
        metrics: list[str],
    ) -> None:
        self.valid_dir = valid_dir
        self.sample_rate = sample_rate
        self.preemphasis = preemphasis
        self.window = window
        self.max_utts = max_utts
        self.metrics = resolve_metrics(metrics)
        self._utts: list[Utterance] | None = None
        self._noisy_scores: dict[str, float] | None = None

    def utterances(self) -> list[Utterance]:
        """``(utt_id, noisy (1, T), clean (1, T))`` at ``sample_rate``, without pre-emphasis."""
        if self._utts is None:
            if not self.valid_dir:
                log.info("data.valid_dir is not set: no validation metrics or samples")
                self._utts = []
            else:
                self._utts = list(SEUtterances(self.valid_dir, self.sample_rate, self.max_utts or None))
        return self._utts

    def enhancer(self, generator: nn.Module, device: torch.device) -> Enhancer:
        """The generator as ``seqgan enhance`` runs the exported model (in eval mode; the trainer restores
        its training mode afterwards)."""
        cudnn_benchmark = torch.backends.cudnn.benchmark  # the Enhancer turns it on; the trainer chose
        enhancer = Enhancer(
            generator,
            sample_rate=self.sample_rate,
            preemphasis=self.preemphasis,
            window=self.window,
            device=device,
        )
        torch.backends.cudnn.benchmark = cudnn_benchmark
        return enhancer

    def evaluate(self, generator: nn.Module, device: torch.device) -> dict[str, float]:
        """Mean scores of the enhanced and the noisy utterances (see ``EnhancementTask.evaluate``)."""
        utts = self.utterances()
        if not utts:
            return {}
        names, rate = self.metrics, self.sample_rate
        enhancer = self.enhancer(generator, device)
        fresh_noisy = self._noisy_scores is None
        sums = {"enhanced": dict.fromkeys(names, 0.0), "noisy": dict.fromkeys(names, 0.0)}
        counts = {"enhanced": dict.fromkeys(names, 0), "noisy": dict.fromkeys(names, 0)}
        failures: dict[str, str] = {}
        for utt, noisy, clean in utts:
            ref = clean[0].numpy()
            pairs = [("enhanced", enhancer.enhance(noisy[0].numpy(), rate))]
            if fresh_noisy:
                pairs.append(("noisy", noisy[0].numpy()))
            for kind, est in pairs:
                scores, errors = compute_metrics(ref, est, rate, names)
                for m, v in scores.items():
                    sums[kind][m] += v
                    counts[kind][m] += 1
                for m, why in errors.items():
                    failures.setdefault(f"{m} ({kind}, {utt})", why)
        if failures:
            shown = "; ".join(f"{k}: {v}" for k, v in list(failures.items())[:3])
            log.warning("validation: %d score(s) could not be computed (%s)", len(failures), shown)
        if fresh_noisy:
            self._noisy_scores = {
                m: sums["noisy"][m] / counts["noisy"][m] for m in names if counts["noisy"][m]
            }
        noisy_scores = self._noisy_scores or {}
        out: dict[str, float] = {}
        for m in names:
            if not counts["enhanced"][m]:
                continue
            value = sums["enhanced"][m] / counts["enhanced"][m]
            out[m] = value
            if m in noisy_scores:
                base = noisy_scores[m]
                out[f"{m}_noisy"] = base
                out[f"{m}_improvement"] = (value - base) if HIGHER_IS_BETTER.get(m, True) else (base - value)
        return out
