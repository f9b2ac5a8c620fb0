"""The metric discriminator's D turn: the loss formula, the one-turn lag of the scores, NaN scores, replay."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqgan.adversarial import get_objective, metricgan_pesq_target
from seqgan.metrics.background import score_pairs
from seqgan.tasks.base import Nets
from seqgan.tasks.enhancement.metric_turns import MetricTurns

SR = 16000


class ScaleG(nn.Module):
    """G(x) = g · x with one learned gain."""

    def __init__(self) -> None:
        super().__init__()
        self.g = nn.Parameter(torch.tensor(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.g * x


class LinearD(nn.Module):
    """D(est, ref) = a · mean(est · ref) / mean(ref²) + b: known outputs for known signals."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.8))
        self.b = nn.Parameter(torch.tensor(0.1))

    def forward(self, est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return self.a * (est * ref).mean(-1) / ref.pow(2).mean(-1) + self.b


def d_of(est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return 0.8 * (est * ref).mean(-1) / ref.pow(2).mean(-1) + 0.1


class FakeScorer:
    """Stands in for BackgroundScorer: records submissions and returns the raw scores it is given."""

    def __init__(self, scores: list[np.ndarray]) -> None:
        self.scores = list(scores)
        self.submitted: list[tuple[np.ndarray, np.ndarray]] = []
        self.wait_seconds = 0.0

    def submit(self, refs: np.ndarray, ests: np.ndarray) -> int:
        self.submitted.append((refs, ests))
        return len(self.submitted) - 1

    def result(self, ticket: int) -> np.ndarray:
        self.wait_seconds += 0.25
        return self.scores[ticket]

    def close(self) -> None:
        pass


def _batch(seed: int, n: int = 3, samples: int = 800) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    clean = 0.3 * torch.randn(n, 1, samples, generator=g)
    return clean + 0.1 * torch.randn(n, 1, samples, generator=g), clean


def _turns(scores: list[np.ndarray], **kwargs) -> tuple[MetricTurns, FakeScorer]:
    turns = MetricTurns(get_objective("metric"), workers=0, **kwargs)
    turns.scorer = FakeScorer(scores)  # type: ignore[assignment]
    return turns, turns.scorer  # type: ignore[return-value]


def test_first_turn_is_the_clean_term_and_submits_its_outputs():
    turns, scorer = _turns([np.array([1.0, 2.0, 3.0])])
    nets = Nets(ScaleG(), LinearD())
    noisy, clean = _batch(0)
    out = turns.discriminator_turn(noisy, clean, nets)
    expected = (d_of(clean, clean) - 1.0).pow(2).mean()
    torch.testing.assert_close(out.loss, expected)
    ((refs, ests),) = scorer.submitted
    np.testing.assert_allclose(ests, (0.5 * noisy)[:, 0].double().numpy(), rtol=1e-6)
    np.testing.assert_allclose(refs, clean[:, 0].double().numpy())
    assert out.stats["metric_wait_s"] == 0.0


def test_loss_is_the_metricgan_plus_formula_with_one_turn_lag_and_nan_dropped():
    # raw PESQ of turn 0's (fake, noisy) pairs: the second fake and the first noisy failed
    raw = np.array([2.0, np.nan, 3.5, np.nan, 1.5, 1.0])
    turns, scorer = _turns([raw, np.zeros(6)], noisy_term=True)
    nets = Nets(ScaleG(), LinearD())
    (noisy0, clean0), (noisy1, clean1) = _batch(0), _batch(1)
    turns.discriminator_turn(noisy0, clean0, nets)
    refs, ests = scorer.submitted[0]
    assert ests.shape == (6, 800)  # fakes, then noisy inputs, each against clean
    np.testing.assert_allclose(ests[3:], noisy0[:, 0].double().numpy())
    np.testing.assert_allclose(refs[3:], clean0[:, 0].double().numpy())

    out = turns.discriminator_turn(noisy1, clean1, nets)
    fake0 = 0.5 * noisy0
    q = torch.tensor(metricgan_pesq_target(raw), dtype=torch.float32)
    keep_f, keep_n = [0, 2], [1, 2]
    expected = (
        (d_of(clean1, clean1) - 1.0).pow(2).mean()
        + (d_of(fake0[keep_f], clean0[keep_f]).squeeze(-1) - q[:3][keep_f]).pow(2).mean()
        + (d_of(noisy0[keep_n], clean0[keep_n]).squeeze(-1) - q[3:][keep_n]).pow(2).mean()
    )
    torch.testing.assert_close(out.loss, expected)
    assert out.stats["metric_failed"] == 2.0
    assert out.stats["metric_wait_s"] == pytest.approx(0.25)
    assert out.stats["metric_q_fake"] == pytest.approx(float(q[:3][keep_f].mean()))
    assert len(turns.replay) == 0  # no replay configured


def test_d_turn_gradients_reach_only_d():
    turns, _ = _turns([np.array([2.0, 2.5, 3.0]), np.zeros(3)])
    g, d = ScaleG(), LinearD()
    nets = Nets(g, d)
    for seed in (0, 1):
        noisy, clean = _batch(seed)
        out = turns.discriminator_turn(noisy, clean, nets)
    out.loss.backward()
    assert g.g.grad is None
    assert d.a.grad is not None and d.b.grad is not None and torch.isfinite(d.a.grad)


def test_replay_adds_earlier_outputs_with_their_scores():
    raws = [np.array([2.0, 3.0]), np.array([1.0, 4.0]), np.zeros(2), np.zeros(2)]
    turns, _ = _turns(raws, replay_size=3, replay_batch=2, seed=5)
    nets = Nets(ScaleG(), LinearD())
    batches = [_batch(s, n=2) for s in range(4)]
    losses = [turns.discriminator_turn(noisy, clean, nets) for noisy, clean in batches[:3]]
    assert "d_replay" not in losses[1].stats  # turn 1: the buffer was still empty when drawing
    assert "d_replay" in losses[2].stats and len(turns.replay) == 3  # capacity 3 of the 4 scored
    stored = {round(t, 6) for _, _, t in turns.replay}
    assert stored == {round(float(metricgan_pesq_target(s)), 6) for s in (3.0, 1.0, 4.0)}
    # the draws are a function of the seed and the turn: a second run replays the same
    again, _ = _turns(raws, replay_size=3, replay_batch=2, seed=5)
    repeat = [again.discriminator_turn(noisy, clean, nets) for noisy, clean in batches[:3]]
    torch.testing.assert_close(repeat[2].loss, losses[2].loss)


def test_reset_forgets_the_batch_in_flight():
    turns, _ = _turns([np.array([2.0, 2.0, 2.0])] * 2)
    nets = Nets(ScaleG(), LinearD())
    noisy, clean = _batch(0)
    turns.discriminator_turn(noisy, clean, nets)
    turns.reset()
    out = turns.discriminator_turn(noisy, clean, nets)
    torch.testing.assert_close(out.loss, (d_of(clean, clean) - 1.0).pow(2).mean())


def test_unknown_normalization_is_refused():
    with pytest.raises(ValueError, match="choose from: metricgan, cmgan, none"):
        MetricTurns(get_objective("metric"), normalization="pesq")


def test_worker_process_scores_equal_inline_pesq_and_deemphasis_is_undone():
    """The real scorer in one worker process: the targets are the normalised PESQ of the de-emphasised pairs."""
    from seqgan.data.audio import preemphasis

    t = torch.arange(SR) / SR
    clean = (0.3 * torch.sin(2 * torch.pi * 220 * t) * (0.5 + 0.5 * torch.sin(2 * torch.pi * 3 * t)))[
        None, None
    ]
    noisy = clean + 0.05 * torch.randn(1, 1, SR, generator=torch.Generator().manual_seed(0))
    pre = 0.95
    turns = MetricTurns(get_objective("metric"), preemphasis=pre, workers=1)
    try:
        nets = Nets(nn.Identity(), LinearD())
        turns.discriminator_turn(preemphasis(noisy, pre), preemphasis(clean, pre), nets)
        scored, targets = turns.collect()
    finally:
        turns.close()
    expected = score_pairs(clean[:, 0].double().numpy(), noisy[:, 0].double().numpy(), SR, "pesq_wb")
    np.testing.assert_allclose(targets.numpy(), metricgan_pesq_target(expected), rtol=1e-4)
    assert turns.scorer is None
