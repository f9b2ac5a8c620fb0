"""The next_frame task with a recurrent generator: the state through training rollouts and evaluation."""

from __future__ import annotations

import pytest
import torch
from test_next_frame_task import batch_of, make_task, nets_of

from seqgan.predict import rollout

ROLLOUT = {"horizons": [1, 3], "steps": [1]}


def recurrent_task(tmp_path, **loss):
    task = make_task(tmp_path, model={"generator": {"recurrent": True}}, curriculum=ROLLOUT, loss=loss)
    task.set_step(1)  # rollouts of 3 steps
    return task


def _states_seen(generator):
    """Records the state each forward call of ``generator`` receives."""
    seen = []
    generator.register_forward_pre_hook(lambda m, args, kwargs: seen.append(args[2]), with_kwargs=True)
    return seen


@pytest.mark.parametrize("detach", [False, True])
def test_training_rollouts_carry_the_state_and_detach_it_with_the_feedback(tmp_path, detach):
    task = recurrent_task(tmp_path)
    nets, batch = nets_of(task), batch_of(task)
    assert nets.generator.recurrent
    seen = _states_seen(nets.generator)
    context, actions = batch["context"], batch["actions"]
    out = task._rollout_train(nets.generator, context, actions, 3, detach=detach)
    assert len(out) == 3 and seen[0] is None and all(s is not None for s in seen[1:])
    assert all(h.requires_grad is not detach for s in seen[1:] for h in s)
    # the finest frames are the evaluation rollout's (the same steps, the same feedback)
    with torch.no_grad():
        frames = rollout(nets.generator, context, 3, actions)
    torch.testing.assert_close(torch.stack([p[-1].clamp(-1, 1) for p in out], 1), frames)


def test_the_generator_turn_trains_through_the_state(tmp_path):
    task = recurrent_task(tmp_path)
    nets, batch = nets_of(task), batch_of(task)
    out = task.generator_turn(batch, nets)
    out.loss.backward()
    cells = [p.grad for s in nets.generator.scales for p in s.cell.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in cells)
    d = task.discriminator_turn(batch, nets)
    assert torch.isfinite(d.loss)
    metrics = task.evaluate(nets.generator, torch.device("cpu"))
    assert 0 < metrics["psnr"] < 100
