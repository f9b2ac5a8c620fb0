"""The next_frame task's temporal critic: configuration, both turns, equality when off, exact resume."""

from __future__ import annotations

import pytest
import torch
from test_next_frame_task import batch_of, make_task, moving_square_episodes, nets_of

from seqgan.config import ConfigError, load_config
from seqgan.export import load_generator
from seqgan.models.frame_gan import MultiScaleDiscriminator, MultiScaleGenerator
from seqgan.models.frame_temporal import FrameCritics
from seqgan.tasks.next_frame import NextFrameTask
from seqgan.train.checkpoint import read_checkpoint
from seqgan.train.trainer import Trainer

ROLLOUT = {"horizons": [1, 3], "steps": [1]}
SMALL = {"channels": [4, 8], "action_dim": 2}


def temporal_task(tmp_path, weight=0.5, **sections):
    model = {"temporal": SMALL, **sections.pop("model", {})}
    loss = {"temporal_weight": weight, **sections.pop("loss", {})}
    task = make_task(tmp_path, model=model, loss=loss, curriculum=ROLLOUT, **sections)
    task.set_step(1)  # rollouts of 3 steps
    return task


def test_needs_a_multi_step_curriculum(tmp_path):
    with pytest.raises(ConfigError, match="temporal_weight needs rollouts of n >= 2") as e:
        make_task(tmp_path, loss={"temporal_weight": 0.1})
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="temporal_weight must be >= 0"):
        make_task(tmp_path, loss={"temporal_weight": -1.0}, curriculum=ROLLOUT)
    with pytest.raises(ConfigError, match="model.temporal"):
        temporal_task(tmp_path, model={"temporal": {"chanels": [4]}}).build_networks()


def test_the_discriminator_network_holds_both_critics_only_when_on(tmp_path):
    off = nets_of(make_task(tmp_path, model={"temporal": SMALL}, curriculum=ROLLOUT))
    g_off, d_off = off.generator, off.discriminator
    assert isinstance(d_off, MultiScaleDiscriminator)
    on = nets_of(temporal_task(tmp_path))
    g_on, d_on = on.generator, on.discriminator
    assert isinstance(d_on, FrameCritics) and d_on.temporal.num_actions == 3
    # the generator and the frame D keep their initial weights: the critic is built after them
    for a, b in [
        *zip(g_off.parameters(), g_on.parameters()),
        *zip(d_off.parameters(), d_on.frame.parameters()),
    ]:
        assert torch.equal(a, b)


def test_weight_zero_gives_the_existing_losses_exactly(tmp_path):
    """``temporal_weight`` 0 with a temporal architecture configured equals the configuration without it."""
    negatives = {"mismatch_prob": 0.5, "wrong_action_prob": 0.5}
    runs = []
    for sections in ({}, {"model": {"temporal": SMALL}}):
        task = make_task(tmp_path, curriculum=ROLLOUT, loss={**negatives, "temporal_weight": 0.0}, **sections)
        task.set_step(1)
        nets, batch = nets_of(task), batch_of(task)
        torch.manual_seed(3)
        d = task.discriminator_turn(batch, nets)
        g = task.generator_turn(batch, nets)
        runs.append((d, g))
    (d0, g0), (d1, g1) = runs
    assert torch.equal(d0.loss, d1.loss) and torch.equal(g0.loss, g1.loss)
    assert d0.stats.keys() == d1.stats.keys() and "d_temporal" not in d1.stats
    assert "g_temporal" not in g1.stats


def test_the_frame_terms_are_unchanged_and_the_critic_adds_its_own(tmp_path):
    off = make_task(tmp_path, curriculum=ROLLOUT)
    off.set_step(1)
    on = temporal_task(tmp_path)
    batch = batch_of(on)
    torch.manual_seed(1)
    d_off, g_off = off.discriminator_turn(batch, nets_of(off)), off.generator_turn(batch, nets_of(off))
    torch.manual_seed(1)
    d_on, g_on = on.discriminator_turn(batch, nets_of(on)), on.generator_turn(batch, nets_of(on))
    torch.testing.assert_close(d_on.stats["d_loss"], d_off.stats["d_loss"] + d_on.stats["d_temporal"])
    torch.testing.assert_close(g_on.stats["g_loss"], g_off.stats["g_loss"] + 0.5 * g_on.stats["g_temporal"])
    for key in ("g_adv", "g_lp", "g_gdl"):
        torch.testing.assert_close(g_on.stats[key], g_off.stats[key])


def test_the_critic_judges_the_rolled_out_clip_with_its_actions(tmp_path):
    task = temporal_task(tmp_path)
    nets, batch = nets_of(task), batch_of(task)
    seen = []
    d = nets.discriminator

    def recording(frames, context=None, actions=None, *, temporal=False):
        if temporal:
            seen.append((frames.detach().clone(), actions))
        return d(frames, context, actions, temporal=temporal)

    nets.discriminator = recording
    task.discriminator_turn(batch, nets)
    (real, real_acts), (fake, fake_acts) = seen
    ctx, tgt, acts = batch["context"], batch["target"], batch["actions"]
    assert real.shape == fake.shape == (4, 4 + 3, 1, 32, 32)
    torch.testing.assert_close(real, torch.cat([ctx, tgt[:, :3]], dim=1))
    torch.testing.assert_close(fake[:, :4], ctx)  # the real past, then the rollout
    assert not torch.equal(fake[:, 4:], tgt[:, :3])
    assert torch.equal(real_acts, acts[:, :6]) and torch.equal(fake_acts, acts[:, :6])
    # the rollout fed back: the clip's second generated frame is the generator's prediction from the first
    fed = torch.cat([ctx[:, 1:], fake[:, 4:5].clamp(-1, 1)], dim=1)
    with torch.no_grad():
        second = nets.generator(fed, acts[:, 1:5])[-1]
    torch.testing.assert_close(fake[:, 5], second)


def test_the_critic_gets_gradients_in_both_turns(tmp_path):
    task = temporal_task(tmp_path, loss={"adv_weight": 0.0, "lp_weight": 0.0, "gdl_weight": 0.0})
    nets, batch = nets_of(task), batch_of(task)
    out = task.discriminator_turn(batch, nets)
    out.loss.backward()
    assert all(
        p.grad is not None and p.grad.abs().sum() > 0 for p in nets.discriminator.temporal.parameters()
    )
    assert all(p.grad is None for p in nets.generator.parameters())
    nets.discriminator.zero_grad(set_to_none=True)
    nets.discriminator.requires_grad_(False)  # the trainer's switch for a G turn
    out = task.generator_turn(batch, nets)
    assert out.stats["g_temporal"] > 0
    out.loss.backward()  # only the temporal term: the generator learns from the critic alone
    assert all(p.grad is None for p in nets.discriminator.parameters())
    assert sum(p.grad.abs().sum() for p in nets.generator.parameters() if p.grad is not None) > 0


def test_wgan_gp_penalises_the_critic_too(tmp_path):
    task = temporal_task(tmp_path, loss={"objective": "wgan-gp"})
    out = task.discriminator_turn(batch_of(task), nets_of(task))
    assert out.stats["gp_temporal"] > 0 and out.stats["gp"] > 0
    out.loss.backward()


def test_resume_equals_an_uninterrupted_run(tmp_path):
    scp = moving_square_episodes(tmp_path)
    overrides = [
        f"data.train_scp={scp}",
        f"data.valid_scp={scp}",
        "data.grayscale=true",
        "data.horizon=2",
        "data.patch_size=24",
        "model.preset=tiny",
        "model.num_actions=3",
        "model.discriminator.kernels=[[1], [3, 3], [3, 3], [5, 5, 3]]",
        "model.temporal.channels=[4, 4]",
        "loss.temporal_weight=0.1",
        "loss.wrong_action_prob=0.5",
        "curriculum.horizons=[1, 2]",
        "curriculum.steps=[2]",
        "train.max_steps=3",
        "train.batch_size=2",
        "train.log_interval=1",
        "train.save_interval=0",
        "train.progress=lines",
        "train.device=cpu",
    ]

    def trainer(name):
        return Trainer(NextFrameTask(load_config(None, overrides, task="next_frame")), tmp_path / name)

    straight = trainer("a")
    straight.fit()
    first = trainer("b")
    first.fit(stop_at=2)
    assert read_checkpoint(tmp_path / "b")["step"] == 2
    resumed = trainer("b")
    resumed.fit()
    assert resumed.step == straight.step == 3
    a, b = straight.state_dict(), resumed.state_dict()
    assert any(k.startswith("temporal.") for k in a["models"]["discriminator"])
    for net in ("generator", "discriminator"):
        for k, v in a["models"][net].items():
            assert torch.equal(v, b["models"][net][k]), k
    # the exported generator is the plain multi-scale generator, the critics stay in the checkpoint
    generator, metadata = load_generator(tmp_path / "a")
    assert isinstance(generator, MultiScaleGenerator) and metadata["task"] == "next_frame"
    for k, v in generator.state_dict().items():
        assert torch.equal(v, a["models"]["generator"][k]), k
