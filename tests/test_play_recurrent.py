"""seqgan.play's Dream with a recurrent world model: the state is carried between steps and reset."""

from __future__ import annotations

import numpy as np
import torch

from seqgan.models.frame_gan import MultiScaleGenerator
from seqgan.play import Dream
from seqgan.predict import Predictor, from_uint8, rollout, to_uint8


def _world_model() -> MultiScaleGenerator:
    torch.manual_seed(0)
    return MultiScaleGenerator(
        num_channels=1,
        context=3,
        scale_factors=[4, 2, 1],
        channels=[[8], [8], [8]],
        kernels=[[3, 3], [3, 3], [3, 3]],
        num_actions=3,
        recurrent=True,
    ).eval()


def test_dream_carries_the_state_and_reset_clears_it():
    g = _world_model()
    frames = np.random.default_rng(0).integers(0, 256, (3, 12, 12, 1), dtype=np.uint8)
    start, plan = [2, 0], [1, 2, 0]
    dream = Dream(Predictor(g), frames, start)
    assert dream.state is None
    stepped = [dream.step(a) for a in plan]
    assert dream.state is not None
    # the same frames as one rollout that carries the state (not three rollouts from the zero state)
    actions = torch.tensor([start + plan])
    with torch.no_grad():
        carried = to_uint8(rollout(g, from_uint8(frames).unsqueeze(0), 3, actions)[0])
    assert np.array_equal(np.stack(stepped), carried)
    # with the state dropped before each step the dream would differ
    dream.reset()
    first = dream.step(plan[0])
    dream.state = None
    assert not np.array_equal(dream.step(plan[1]), stepped[1])
    # reset goes back to the zero state: the first step again
    dream.reset()
    assert dream.state is None and dream.steps == 0
    assert np.array_equal(dream.step(plan[0]), first) and np.array_equal(first, stepped[0])
