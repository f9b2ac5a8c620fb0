"""The temporal critic of next-frame prediction and the container holding it beside the frame D."""

from __future__ import annotations

import pytest
import torch

from seqgan.models import MODELS
from seqgan.models.frame_gan import build_frame_gan
from seqgan.models.frame_temporal import FrameCritics, TemporalDiscriminator


def test_logits_per_clip_for_any_clip_length():
    torch.manual_seed(0)
    d = TemporalDiscriminator(num_channels=1, patch_size=24, channels=[4, 8, 8])
    for t in (1, 5, 9):
        assert d(torch.rand(3, t, 1, 24, 24) * 2 - 1).shape == (3, 1)
    assert MODELS.get("TemporalDiscriminator") is TemporalDiscriminator
    assert d.hparams["channels"] == [4, 8, 8]
    with pytest.raises(ValueError, match="built for 24x24"):
        d(torch.zeros(2, 5, 1, 32, 32))
    with pytest.raises(ValueError, match="expected a clip"):
        d(torch.zeros(2, 5, 3, 24, 24))


def test_pooling_and_odd_sizes():
    d = TemporalDiscriminator(num_channels=3, patch_size=30, channels=[4, 4], pool=2)
    assert d(torch.zeros(2, 6, 3, 30, 30)).shape == (2, 1)  # 30 -> 15 -> 8 -> 4
    assert d.fc.in_features == 4 * 4 * 4
    with pytest.raises(ValueError, match="divide patch_size"):
        TemporalDiscriminator(patch_size=30, pool=4)
    with pytest.raises(ValueError, match="odd"):
        TemporalDiscriminator(kernel=4)


def test_the_critic_sees_the_order_of_the_frames():
    """A 3D convolution over time: reversing the clip changes the logit (a 2D stack would too, a
    per-frame critic averaged over time would not)."""
    torch.manual_seed(0)
    d = TemporalDiscriminator(num_channels=1, patch_size=16, channels=[4, 4])
    clip = torch.rand(2, 5, 1, 16, 16)
    assert (d(clip) - d(clip.flip(1))).abs().min() > 0


def test_action_conditioned_clips():
    torch.manual_seed(0)
    d = TemporalDiscriminator(num_channels=1, patch_size=16, channels=[4, 4], num_actions=3, action_dim=2)
    clip = torch.rand(2, 4, 1, 16, 16)
    acts = torch.tensor([[0, 1, 2], [2, 2, 1]])
    out = d(clip, acts)
    assert out.shape == (2, 1)
    assert (d(clip, (acts + 1) % 3) - out).abs().min() > 0  # the actions change the judgement
    assert d(clip[:, :1], acts[:, :0]).shape == (2, 1)  # one frame: only the clip-start token
    with pytest.raises(ValueError, match=r"pass actions \(2, 3\)"):
        d(clip)
    with pytest.raises(ValueError, match="lie in"):
        d(clip, torch.full((2, 3), 3))


def test_container_keeps_the_frame_discriminators_call():
    torch.manual_seed(0)
    _, frame = build_frame_gan("tiny", num_channels=1, context=4, num_actions=3, patch_size=32)
    temporal = TemporalDiscriminator(num_channels=1, patch_size=32, num_actions=3)
    critics = FrameCritics(frame, temporal)
    context = torch.rand(2, 4, 1, 32, 32)
    frames = [torch.rand(2, 1, 32 // f, 32 // f) for f in (8, 4, 2, 1)]
    act = torch.tensor([0, 2])
    for a, b in zip(critics(frames, context, act), frame(frames, context, act)):
        torch.testing.assert_close(a, b)
    clip, clip_acts = torch.rand(2, 6, 1, 32, 32), torch.zeros(2, 5, dtype=torch.long)
    torch.testing.assert_close(critics(clip, None, clip_acts, temporal=True), temporal(clip, clip_acts))
    # one state dict: the frame D's entries under frame., the critic's under temporal.
    keys = critics.state_dict().keys()
    assert {f"frame.{k}" for k in frame.state_dict()} | {
        f"temporal.{k}" for k in temporal.state_dict()
    } == set(keys)
    with pytest.raises(ValueError, match="context"):
        critics(frames)
