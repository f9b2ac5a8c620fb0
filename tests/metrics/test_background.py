"""BackgroundScorer: scores computed in worker processes equal the direct computation."""

from __future__ import annotations

import numpy as np
import pytest

from seqgan.metrics.audio import pesq_score
from seqgan.metrics.background import BackgroundScorer, score_pairs

RATE = 16000


def _pairs(batch: int = 3, seconds: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic, syllable-like signals (PESQ detects speech in them) and noisier and noisier copies."""
    t = np.arange(int(seconds * RATE)) / RATE
    clean = []
    for i in range(batch):
        phase = 2 * np.pi * np.cumsum(110 + 15 * i + 20 * np.sin(2 * np.pi * 0.5 * t)) / RATE
        envelope = (np.sin(2 * np.pi * 3 * t) > -0.2) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2
        clean.append(0.1 * envelope * sum(np.sin(k * phase) / k for k in range(1, 30)))
    clean = np.stack(clean)
    noise = np.random.default_rng(1).standard_normal(clean.shape)
    return clean, clean + 0.002 * 5.0 ** np.arange(batch)[:, None] * noise


def test_score_pairs_is_pesq_per_row_and_nan_where_it_fails() -> None:
    clean, noisy = _pairs(2)
    clean = np.concatenate([clean, np.zeros((1, clean.shape[1]))])  # no speech in the last reference
    noisy = np.concatenate([noisy, noisy[:1]])
    scores = score_pairs(clean, noisy, RATE, "pesq_wb")
    assert scores[:2] == pytest.approx([pesq_score(c, n, RATE, "wb") for c, n in zip(clean[:2], noisy[:2])])
    assert np.isnan(scores[2])
    assert scores[0] > scores[1]  # less noise, higher PESQ


@pytest.mark.parametrize("workers", [0, 1])
def test_tickets_return_the_scores_of_their_own_batch(workers: int) -> None:
    clean, noisy = _pairs(3)
    with BackgroundScorer("pesq", RATE, workers=workers) as scorer:
        first = scorer.submit(clean, noisy)
        second = scorer.submit(clean[::-1], noisy[::-1])
        assert scorer.metric == "pesq_wb"
        later, earlier = scorer.result(second), scorer.result(first)
        with pytest.raises(KeyError, match="ticket"):
            scorer.result(first)
    expected = score_pairs(clean, noisy, RATE, "pesq_wb")
    np.testing.assert_allclose(earlier, expected)
    np.testing.assert_allclose(later, expected[::-1])


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        BackgroundScorer("pesq_xx")
    with pytest.raises(ValueError, match="workers"):
        BackgroundScorer(workers=-1)
    with BackgroundScorer(workers=0) as scorer, pytest.raises(ValueError, match="one shape"):
        scorer.submit(np.zeros((2, 100)), np.zeros((2, 99)))
