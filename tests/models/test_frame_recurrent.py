"""The frame generator's ``recurrent`` option: a ConvGRU state per scale carried across rollout steps."""

from __future__ import annotations

import pytest
import torch

from seqgan.export import load_model, save_model
from seqgan.models.conv_gru import ConvGRUCell
from seqgan.models.frame_gan import MultiScaleGenerator
from seqgan.predict import rollout

SHAPES = {"scale_factors": [4, 2, 1], "channels": [[8], [8, 8], [8, 12, 8]]}
KERNELS = [[3, 3], [3, 3, 3], [3, 3, 3, 3]]


def _generator(**kw) -> MultiScaleGenerator:
    torch.manual_seed(0)
    return MultiScaleGenerator(num_channels=1, context=3, kernels=KERNELS, **SHAPES, **kw)


def _context(seed: int = 1, size: int = 16) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.rand(2, 3, 1, size, size) * 2 - 1


ACTIONS = torch.tensor([[0, 1, 2, 1, 0], [2, 1, 0, 0, 1]])


# -- off: the feed-forward generator, unchanged --------------------------------------------------------

# sums and one element of the outputs of the feed-forward generator before the option existed (seeded)
REFERENCE = {
    "plain": ({}, [0.8521303, 2.3471725, -14.7803246], -0.0650141, -10.1112052),
    "actions": ({"num_actions": 3}, [0.8664786, 11.7271020, -1.8089634], -0.0640634, 1.3721948),
    "planes, from_last": (
        {"num_actions": 3, "action_planes": True, "from_last": True},
        [-1.3346623, 2.7281037, 11.0841975],
        0.2975826,
        15.9078192,
    ),
}


@pytest.mark.parametrize("name", list(REFERENCE))
def test_off_gives_the_feed_forward_outputs_and_weights(name):
    kw, sums, element, predict_sum = REFERENCE[name]
    g = _generator(**kw)
    assert g.recurrent is False and g.hparams["recurrent"] is False
    assert not any("cell" in key for key in g.state_dict())
    assert g.state_dict().keys() == _generator(recurrent=False, **kw).state_dict().keys()
    actions = ACTIONS[:, :3] if kw else None
    x = _context()
    with torch.no_grad():
        preds = g(x, actions)
        predicted = g.predict(x[..., :15, :13], actions)
    assert [p.shape[-1] for p in preds] == [4, 8, 16]
    torch.testing.assert_close([float(p.double().sum()) for p in preds], sums, atol=1e-4, rtol=0)
    assert float(preds[-1].flatten()[7]) == pytest.approx(element, abs=1e-6)
    assert float(predicted.double().sum()) == pytest.approx(predict_sum, abs=1e-4)
    # a non-recurrent generator steps with no state, and refuses one
    step_preds, state = g.step(x, actions)
    assert state is None and all(torch.equal(a, b) for a, b in zip(step_preds, preds))
    with pytest.raises(ValueError, match="not recurrent"):
        g(x, actions, state=(torch.zeros(2, 8, 4, 4),))


def test_off_rollout_is_independent_one_step_predictions():
    g = _generator()
    x = _context()
    with torch.no_grad():
        two = rollout(g, x, 2)
        first = g.predict(x)
        second = g.predict(torch.cat([x[:, 1:], first.unsqueeze(1)], dim=1))
    assert torch.equal(two[:, 0], first) and torch.equal(two[:, 1], second)


# -- on --------------------------------------------------------------------------------------------------


def test_the_cell_is_a_gru():
    torch.manual_seed(0)
    cell = ConvGRUCell(4)
    x, h = torch.randn(2, 4, 5, 5), torch.randn(2, 4, 5, 5)
    z, r = torch.sigmoid(cell.gates(torch.cat([x, h], 1))).chunk(2, 1)
    n = torch.tanh(cell.candidate(torch.cat([x, r * h], 1)))
    torch.testing.assert_close(cell(x, h), (1 - z) * h + z * n)
    torch.testing.assert_close(cell(x, None), cell(x, torch.zeros_like(x)))
    with pytest.raises(ValueError, match="odd"):
        ConvGRUCell(4, kernel=2)


def test_state_shapes_and_the_zero_state():
    g = _generator(recurrent=True, num_actions=3)
    assert all(s.cell is not None for s in g.scales)
    x = _context()
    preds, state = g.step(x, ACTIONS[:, :3])
    assert isinstance(state, tuple) and all(isinstance(h, torch.Tensor) for h in state)
    # the middle hidden width of each scale, at the scale's size
    assert [tuple(h.shape) for h in state] == [(2, 8, 4, 4), (2, 8, 8, 8), (2, 12, 16, 16)]
    assert [tuple(p.shape) for p in preds] == [(2, 1, 4, 4), (2, 1, 8, 8), (2, 1, 16, 16)]
    # forward and predict without a state are one step from the zero state
    zeros = tuple(torch.zeros_like(h) for h in state)
    for a, b, c in zip(g(x, ACTIONS[:, :3]), preds, g.step(x, ACTIONS[:, :3], zeros)[0]):
        assert torch.equal(a, b) and torch.equal(a, c)
    # the state changes the prediction
    assert not torch.allclose(g.step(x, ACTIONS[:, :3], state)[0][-1], preds[-1])
    with pytest.raises(ValueError, match="tuple of 3 tensors"):
        g.step(x, ACTIONS[:, :3], state[:2])
    with pytest.raises(ValueError, match=r"\(2, 12, 16, 16\)"):
        g.step(x, ACTIONS[:, :3], (state[0], state[1], state[2][:, :8]))


def test_predict_step_pads_and_keeps_the_state_at_the_padded_size():
    g = _generator(recurrent=True)
    x = _context()[..., :15, :13]
    frame, state = g.predict_step(x)
    assert frame.shape == (2, 1, 15, 13) and frame.abs().max() <= 1.0
    assert [tuple(h.shape[-2:]) for h in state] == [(4, 4), (8, 8), (16, 16)]
    torch.testing.assert_close(frame, g.predict(x))
    frame2, _ = g.predict_step(x, None, state)
    assert frame2.shape == frame.shape and not torch.allclose(frame2, frame)


def test_a_rollout_carries_the_state():
    g = _generator(recurrent=True, num_actions=3)
    x = _context()
    with torch.no_grad():
        two, state = rollout(g, x, 2, ACTIONS[:, :4], return_state=True)
        first = g.predict(x, ACTIONS[:, :3])
        # a second rollout from the zero state: what a feed-forward rollout would do
        fresh = g.predict(torch.cat([x[:, 1:], first.unsqueeze(1)], dim=1), ACTIONS[:, 1:4])
        # the same step with the state of the first: the rollout's second frame
        _, after_one = g.predict_step(x, ACTIONS[:, :3])
        carried, state2 = g.predict_step(
            torch.cat([x[:, 1:], first.unsqueeze(1)], 1), ACTIONS[:, 1:4], after_one
        )
    assert torch.equal(two[:, 0], first)
    assert not torch.allclose(two[:, 1], fresh)
    torch.testing.assert_close(two[:, 1], carried)
    assert all(torch.equal(a, b) for a, b in zip(state, state2))
    # continuing a rollout with its state equals one longer rollout
    with torch.no_grad():
        three = rollout(g, x, 3, ACTIONS[:, :5])
        context = torch.cat([x[:, 2:], two], dim=1)
        third = rollout(g, context, 1, ACTIONS[:, 2:5], state=state)
    torch.testing.assert_close(three[:, 2], third[:, 0])


def test_the_gradient_reaches_the_first_step_through_the_state():
    g = _generator(recurrent=True)
    x = _context()
    # the first step's prediction is not fed back: only the state links the two steps
    _, state = g.step(x)
    preds, _ = g.step(x, None, state)
    first_conv = g.scales[-1].convs[0].weight
    (grad,) = torch.autograd.grad(preds[-1].square().sum(), state[-1])
    assert grad.abs().sum() > 0
    # the loss of step 2 alone reaches the parameters that only act in step 1 through the state: the
    # last scale's first convolution, through h_1, differs from a step-2 gradient with h_1 held fixed
    g.zero_grad()
    _, state = g.step(x)
    g.step(x, None, state)[0][-1].square().sum().backward()
    through = first_conv.grad.clone()
    g.zero_grad()
    _, state = g.step(x)
    g.step(x, None, tuple(h.detach() for h in state))[0][-1].square().sum().backward()
    assert not torch.allclose(through, first_conv.grad)


def test_export_and_reload_keep_it_recurrent(tmp_path):
    g = _generator(recurrent=True, num_actions=3).eval()
    path = tmp_path / "recurrent.safetensors"
    save_model(g, path, task="next_frame", context=3, num_channels=1, num_actions=3)
    loaded = load_model(path).eval()
    assert loaded.recurrent is True and loaded.hparams["recurrent"] is True
    x = _context()
    with torch.no_grad():
        assert torch.equal(rollout(g, x, 3, ACTIONS), rollout(loaded, x, 3, ACTIONS))
