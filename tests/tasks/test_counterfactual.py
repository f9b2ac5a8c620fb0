"""Counterfactual evaluation (seqgan.tasks.next_frame.counterfactual): each metric's math on frames with
known outcomes, the emulator branches on a stand-in emulator whose outcomes are known, and one short
real ale-py Pong recording."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from seqgan.data.episodes import write_episode
from seqgan.data.synth import atari
from seqgan.tasks.next_frame.counterfactual import (
    COPY_LAST,
    CounterfactualCase,
    action_dependent_mask,
    emulator_cases,
    identified,
    masked_psnr,
    outcome_groups,
    score_cases,
)

# -- the metrics on hand-made frames ---------------------------------------------------------------------


def _frames(values: list[list[float]], size: int = 4) -> torch.Tensor:
    """(A, S, 1, size, size) frames, each filled with one value."""
    return torch.tensor(values, dtype=torch.float64)[:, :, None, None, None].expand(-1, -1, 1, size, size)


def test_outcome_groups_merge_actions_with_identical_frames() -> None:
    truth = _frames([[0.0, 0.5], [0.0, 0.5], [1.0, 0.5], [1.0, 0.5]]).clone()
    truth[3, 0, 0, 1, 1] = -1.0  # one pixel: action 3 differs from 2 at step 1
    groups = outcome_groups(truth)
    assert groups.tolist() == [[0, 0, 2, 3], [0, 0, 0, 0]]


def test_action_dependent_mask_marks_the_pixels_where_actions_differ() -> None:
    truth = torch.zeros(3, 2, 2, 5, 5)
    truth[1, 0, 1, 2, 3] = 0.5  # action 1, step 1, second channel
    truth[2, 1, 0, 0, 0] = -1.0  # action 2, step 2
    mask = action_dependent_mask(truth)
    assert mask.shape == (2, 5, 5)
    assert mask[0].nonzero().tolist() == [[2, 3]] and mask[1].nonzero().tolist() == [[0, 0]]


def test_masked_psnr_uses_only_the_masked_pixels() -> None:
    target = torch.zeros(2, 1, 4, 4)
    pred = torch.full((2, 1, 4, 4), 1.0)  # error 1 everywhere ...
    pred[:, :, :2] = 0.2  # ... but 0.2 on the two top rows
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[0, :2] = True  # frame 0: the top rows only; frame 1: no pixel
    out = masked_psnr(pred, target, mask, 2.0, cap=100.0)
    assert out[0].item() == pytest.approx(10 * math.log10(4 / 0.04))
    assert math.isnan(out[1].item())
    assert masked_psnr(target, target, mask, 2.0, cap=100.0)[0].item() == 100.0


def test_identifiability_of_an_oracle_a_blind_model_and_merged_actions() -> None:
    # step 1: actions 0 and 1 have one outcome (value 0), action 2 another (1); step 2: one outcome
    truth = _frames([[0.0, 0.3], [0.0, 0.3], [1.0, 0.3]])
    hits, outcomes = identified(truth, truth)
    assert outcomes.tolist() == [2.0, 0.0] and hits.tolist() == [2.0, 0.0]  # the oracle: every outcome
    blind = _frames([[0.5, 0.3]] * 3)  # the same prediction under every action: ties are misses
    assert identified(blind, truth)[0].tolist() == [0.0, 0.0]
    # under action 1 the model predicts action 2's frame: action 0 is identified (1/2 of its outcome),
    # action 1 ties with action 2's prediction (a miss), and action 2 ties with action 1's (a miss)
    swapped = _frames([[0.0, 0.3], [1.0, 0.3], [1.0, 0.3]])
    hits, outcomes = identified(swapped, truth)
    assert hits.tolist() == [0.5, 0.0] and outcomes.tolist() == [2.0, 0.0]


def _case(start: int = 0) -> CounterfactualCase:
    """16x16 grey frames: a black field; action 2 (of NOOP, FIRE, UP) lights a 2x2 block at step 1, which
    then stays; NOOP and FIRE leave the field black. The recorded action is UP."""
    context = np.zeros((2, 16, 16, 1), np.uint8)
    truth = np.zeros((3, 2, 16, 16, 1), np.uint8)
    truth[2, :, 4:6, 4:6] = 255
    return CounterfactualCase(
        episode="e",
        start=start,
        context=context,
        context_actions=np.array([0], np.int64),
        actions=np.array([2, 2], np.int64),
        factual=truth[2].copy(),
        truth=truth,
        action_meanings=["NOOP", "FIRE", "UP"],
    )


def test_scores_of_an_oracle_and_of_copy_last_frame() -> None:
    cases = [_case(0), _case(5)]

    def oracle(context: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        # the true frames of the held action (actions[:, K - 1] is the first predicted step's)
        truth = torch.from_numpy(cases[0].truth).float().div(127.5).sub(1).movedim(-1, -3)
        return truth[actions[:, 1]]

    r = score_cases({"oracle": oracle}, cases, psnr_cap=100.0)
    assert r["num_cases"] == 2 and r["steps"] == 2 and r["actions"] == ["NOOP", "FIRE", "UP"]
    assert r["outcomes"] == [2.0, 2.0] and r["ad_cases"] == [2.0, 2.0] and r["id_outcomes"] == [4.0, 4.0]
    assert r["action_dependent_fraction"] == [pytest.approx(4 / 256)] * 2
    o, c = r["models"]["oracle"], r["models"][COPY_LAST]
    assert o["factual_psnr"] == [100.0, 100.0] and o["cf_psnr"] == [100.0, 100.0]
    assert o["ad_psnr"] == [100.0, 100.0] and o["identifiability"] == [1.0, 1.0]
    assert o["cf_ssim"] == [pytest.approx(1.0)] * 2
    # copy-last-frame: black; exact for NOOP and FIRE, an error of 2 on the block for UP. Over the
    # action-dependent pixels of the three actions the mean squared error is 4 / 3: 10 log10(3) dB
    assert c["ad_psnr"] == [pytest.approx(10 * math.log10(3))] * 2
    assert c["identifiability"] == [0.0, 0.0]
    full = 10 * math.log10(4 / (4 * 4 / 256))  # UP's frame: 4 of 256 pixels off by 2
    assert c["factual_psnr"] == [pytest.approx(full)] * 2
    assert c["cf_psnr"] == [pytest.approx((100 + 100 + full) / 3)] * 2


def test_scores_need_cases() -> None:
    with pytest.raises(ValueError, match="no counterfactual case"):
        score_cases({}, [])


# -- the emulator branches ---------------------------------------------------------------------------------


class _Box:
    """A stand-in for ale_py.ALEInterface: a 10x10 white box on the 210x160 screen moves 2 rows up or
    down per emulator frame under actions 2 (UP) and 3 (DOWN); NOOP (0) and FIRE (1) leave it."""

    def __init__(self, game: str, seed: int, sticky: float) -> None:
        self.y = 100

    def getMinimalActionSet(self) -> list[int]:  # noqa: N802 (the ALE's name)
        return [0, 1, 2, 3]

    def act(self, action: int) -> float:
        self.y = min(190, max(10, self.y + {2: -2, 3: 2}.get(action, 0)))
        return 0.0

    def game_over(self, with_truncation: bool = False) -> bool:
        return False

    def getScreenRGB(self) -> np.ndarray:  # noqa: N802
        screen = np.zeros((210, 160, 3), np.uint8)
        screen[self.y : self.y + 10, 70:80] = 255
        return screen

    def cloneState(self) -> int:  # noqa: N802
        return self.y

    def restoreState(self, state: int) -> None:  # noqa: N802
        self.y = state


def _box_episode(path: Path, actions: list[int], cfg: atari.AtariConfig) -> None:
    box = _Box("box", 0, 0.0)
    screens = [box.getScreenRGB()]
    for a in actions:
        for _ in range(cfg.frameskip):
            box.act(a)
        screens.append(box.getScreenRGB())
    meta = {
        "source": "ale",
        "game": "box",
        "params": {**asdict(cfg), "game": "box"},
        "ale_seed": 7,
        "num_actions": 4,
        "action_meanings": ["NOOP", "FIRE", "UP", "DOWN"],
    }
    write_episode(path, atari.convert_screens(screens, cfg), actions=[*actions, -1], meta=meta)


def test_emulator_cases_branch_every_action_from_the_replayed_state(tmp_path: Path) -> None:
    cfg = atari.AtariConfig(game="box", frameskip=2, grayscale=True, resize=(42, 32), crop=(0, 0, 0, 0))
    actions = [2, 2, 3, 0, 3, 3, 1, 2, 0, 0]
    _box_episode(tmp_path / "e.npz", actions, cfg)
    cases = emulator_cases({"e": str(tmp_path / "e.npz")}, [1, 4, 9], 3, 2, make_emulator=_Box)
    assert [c.start for c in cases] == [1, 4]  # start 9 leaves no room for 3 + 2 frames
    case = cases[1]
    assert case.context_actions.tolist() == actions[4:6] and case.actions.tolist() == actions[6:8]
    assert case.truth.shape == (4, 2, 42, 32, 1) and case.context.shape == (3, 42, 32, 1)
    # the state after frame 6: y = 100 - 4 - 4 + 4 + 0 + 4 + 4 = 104; each branch holds its action
    for a in range(4):
        box = _Box("box", 0, 0.0)
        box.y, screens = 104, []
        for _ in range(2):
            box.act(a), box.act(a)  # frameskip 2
            screens.append(box.getScreenRGB())
        assert np.array_equal(case.truth[a], atari.convert_screens(screens, cfg)), a
    groups = outcome_groups(torch.from_numpy(case.truth).movedim(-1, -3))
    assert groups.tolist() == [[0, 0, 2, 3], [0, 0, 2, 3]]  # NOOP and FIRE: one outcome
    # FIRE was recorded after frame 6: the factual frame 7 is the FIRE branch's
    assert np.array_equal(case.factual[0], case.truth[1, 0])
    # a model-side conversion is applied to every frame alike
    half = emulator_cases({"e": str(tmp_path / "e.npz")}, [4], 3, 2, lambda x: x[:, ::2], make_emulator=_Box)
    assert half[0].truth.shape == (4, 2, 21, 32, 1) and half[0].factual.shape == (2, 21, 32, 1)


def test_emulator_cases_refuse_a_replay_that_differs_and_other_sources(tmp_path: Path) -> None:
    cfg = atari.AtariConfig(game="box", frameskip=2, grayscale=True, resize=(42, 32))
    _box_episode(tmp_path / "e.npz", [2, 2, 3, 3, 0, 0], cfg)

    class Drifting(_Box):
        def act(self, action: int) -> float:
            self.y += 1  # not what was recorded
            return 0.0

    with pytest.raises(ValueError, match="replaying the recorded actions"):
        emulator_cases({"e": str(tmp_path / "e.npz")}, [1], 2, 2, make_emulator=Drifting)
    write_episode(tmp_path / "b.npz", np.zeros((6, 8, 8, 1), np.uint8), meta={"source": "balls"})
    with pytest.raises(ValueError, match="not an ale-py recording"):
        emulator_cases({"b": str(tmp_path / "b.npz")}, [0], 2, 2, make_emulator=_Box)


def test_pong_branches_replay_the_recording_and_merge_noop_and_fire(tmp_path: Path) -> None:
    pytest.importorskip("ale_py")
    cfg = atari.AtariConfig(game="pong", max_frames=30, policy="sticky", grayscale=True, resize=(80, 80))
    cfg.crop = (34, 16, 0, 0)
    rec = atari.record_atari_episode(cfg, 0, 1)
    write_episode(
        tmp_path / "p.npz", rec["frames"], rec["actions"], rec["rewards"], rec["terminated"], rec["meta"]
    )
    cases = emulator_cases({"p": str(tmp_path / "p.npz")}, [10, 20], 4, 2)
    assert len(cases) == 2 and cases[0].truth.shape == (6, 2, 80, 80, 1)
    assert cases[0].action_meanings[:2] == ["NOOP", "FIRE"]
    for case in cases:
        truth = torch.from_numpy(case.truth).movedim(-1, -3)
        assert outcome_groups(truth)[:, 1].eq(0).all()  # FIRE does what NOOP does (no serve here)
        assert action_dependent_mask(truth).any()  # the paddle follows UP and DOWN
