"""The generic trainer: turn discipline, exact resume, weights-only init, non-finite guard, signals."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from seqgan.config import load_config
from seqgan.tasks.base import TurnOutput
from seqgan.tasks.toy import ToyTask
from seqgan.train import trainer as trainer_module
from seqgan.train.checkpoint import read_checkpoint
from seqgan.train.optim import skips_on_device_flag
from seqgan.train.trainer import Trainer

FAST = [
    "train.batch_size=32",
    "train.log_interval=5",
    "train.save_interval=0",
    "train.progress=lines",
    "train.optim_g.lr=1e-3",
    "train.optim_d.lr=1e-3",
]


def make_task(*overrides, cls=ToyTask):
    return cls(load_config(None, FAST + list(overrides), task="toy"))


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_each_turn_updates_only_its_network(tmp_path):
    class Undetached(ToyTask):  # a D turn that forgets to detach the fake
        def discriminator_turn(self, batch, nets):
            fake = nets.generator(batch["z"])
            loss = self.objective.discriminator_loss(
                nets.discriminator(batch["real"]), nets.discriminator(fake)
            )
            return TurnOutput(loss)

    trainer = Trainer(make_task(cls=Undetached), tmp_path).setup()
    batch = next(trainer.batches())
    g0, d0 = params(trainer.generator), params(trainer.discriminator)
    trainer.run_turn("discriminator", batch)
    assert changed(d0, trainer.discriminator) and not changed(g0, trainer.generator)
    assert all(p.grad is None for p in [*trainer.generator.parameters(), *trainer.discriminator.parameters()])
    d1 = params(trainer.discriminator)
    trainer.run_turn("generator", batch)
    assert changed(g0, trainer.generator) and not changed(d1, trainer.discriminator)


def _final_state(trainer):
    state = trainer.state_dict()
    return state["models"], state["optimizers"], state["trainer"]


def _assert_same(a, b):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b


def test_resume_equals_uninterrupted_run(tmp_path):
    overrides = [
        "train.max_steps=20",
        "train.n_critic=2",
        "train.ema_decay=0.9",
        "train.d_warmup_steps=2",
        "train.sched_g.name=cosine",
        "train.sched_d.name=step",
        "train.sched_d.step_size=5",
        "loss.r1_gamma=1.0",
        "loss.r1_interval=3",
        "train.eval_interval=4",
    ]
    straight = Trainer(make_task(*overrides), tmp_path / "a")
    straight.fit()
    first = Trainer(make_task(*overrides), tmp_path / "b")
    first.fit(stop_at=7)
    assert read_checkpoint(tmp_path / "b")["step"] == 7
    resumed = Trainer(make_task(*overrides), tmp_path / "b")
    resumed.fit()
    assert resumed.step == straight.step == 20
    _assert_same(_final_state(straight), _final_state(resumed))
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "train"] == [5, 10, 15, 20]
    assert any(r["kind"] == "eval" for r in rows)
    assert (tmp_path / "b" / "config.yaml").is_file()


def test_init_from_takes_weights_only(tmp_path):
    source = Trainer(make_task("train.max_steps=5"), tmp_path / "src")
    source.fit()
    fresh = Trainer(
        make_task("train.max_steps=1"), tmp_path / "dst", init_from=tmp_path / "src/checkpoints/last.pt"
    ).setup()
    for a, b in zip(source.generator.parameters(), fresh.generator.parameters()):
        assert torch.equal(a, b)
    assert fresh.step == 0 and not fresh.opt_g.state  # no optimiser state carried over


def test_nonfinite_turns_are_skipped_and_counted(tmp_path):
    class Exploding(ToyTask):
        def generator_turn(self, batch, nets):
            out = super().generator_turn(batch, nets)
            return TurnOutput(out.loss * float("nan"), out.stats)

    trainer = Trainer(make_task("train.max_steps=5", cls=Exploding), tmp_path).setup()
    g0 = params(trainer.generator)
    trainer.fit()
    assert trainer.skipped["generator"] == 5 and trainer.skipped["discriminator"] == 0
    assert not changed(g0, trainer.generator)
    assert all(math.isfinite(p.sum().item()) for p in trainer.generator.parameters())


def test_wgan_weight_clipping_applies_objective_default(tmp_path):
    trainer = Trainer(make_task("train.max_steps=3", "loss.objective=wgan"), tmp_path)
    trainer.fit()
    clip = trainer.task.objective.weight_clip
    assert clip > 0
    assert max(p.abs().max().item() for p in trainer.discriminator.parameters()) <= clip + 1e-7


def test_sigterm_saves_and_resumes(tmp_path):
    exp = tmp_path / "exp"
    cmd = [
        sys.executable,
        "-m",
        "seqgan",
        "train",
        "--task",
        "toy",
        "-o",
        str(exp),
        "train.max_steps=100000",
        "train.log_interval=1",
        "train.save_interval=0",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    metrics = exp / "metrics.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (metrics.exists() and metrics.stat().st_size > 0):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()
    step = read_checkpoint(exp)["step"]
    assert step >= 1
    assert b"SIGTERM" in out
    # a second run resumes from there and finishes
    done = subprocess.run(
        cmd[:-3] + [f"train.max_steps={step + 2}"], capture_output=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    assert read_checkpoint(exp)["step"] == step + 2


@pytest.mark.parametrize("objective", ["nsgan", "lsgan", "hinge", "wgan-gp", "fgan-hellinger"])
def test_toy_task_learns_the_mixture_moments(tmp_path, objective):
    task = make_task(
        "train.max_steps=1000",
        "train.batch_size=128",
        "train.log_interval=1000",
        f"loss.objective={objective}",
        "loss.gp_weight=1.0" if objective == "wgan-gp" else "train.seed=0",
    )
    trainer = Trainer(task, tmp_path)
    trainer.fit()
    x = task.sample(trainer.generator, 4096, torch.device("cpu"))
    # target: 0.5 N(-2, 0.5²) + 0.5 N(2, 0.5²): mean 0, std 2.06; a collapsed G gives mean ±2, std 0.5
    assert abs(x.mean().item()) < 0.8
    assert abs(x.std().item() - 2.06) < 0.5


def test_n_critic_zero_trains_the_generator_alone(tmp_path):
    trainer = Trainer(make_task("train.max_steps=4", "train.n_critic=0"), tmp_path).setup()
    g0, d0 = params(trainer.generator), params(trainer.discriminator)
    trainer.fit()
    assert changed(g0, trainer.generator) and not changed(d0, trainer.discriminator)
    assert trainer.batches_seen == 4


@pytest.mark.parametrize("fused", [False, True])
def test_skipped_turns_leave_weights_ema_and_stats_alone(tmp_path, fused):
    class Exploding(ToyTask):  # the generator's loss is NaN on even steps
        def set_step(self, step):
            self.step = step

        def generator_turn(self, batch, nets):
            out = super().generator_turn(batch, nets)
            factor = float("nan") if self.step % 2 == 0 else 1.0
            return TurnOutput(out.loss * factor, {"g_loss": out.loss.detach() * factor})

    overrides = [
        "train.max_steps=6",
        "train.log_interval=2",
        "train.ema_decay=0.5",
        "train.optim_g.name=adam",
    ]
    overrides.append(f"train.fused_optimizer={str(fused).lower()}")
    trainer = Trainer(make_task(*overrides, cls=Exploding), tmp_path)
    trainer.fit()
    # fused kernels skip on the device (found_inf), the others after a host check: the same outcome
    assert skips_on_device_flag(trainer.opt_g) is fused
    assert trainer.skipped == {"discriminator": 0, "generator": 3}
    assert int(trainer.opt_g.state[next(trainer.generator.parameters())]["step"]) == 3
    assert all(torch.isfinite(p).all() for p in [*trainer.generator.parameters(), *trainer.ema.parameters()])
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["skipped_generator"] for r in rows] == [1.0, 2.0, 3.0]
    assert all(math.isfinite(r["g_loss"]) for r in rows)  # the skipped turns' NaN is not averaged in
    assert read_checkpoint(tmp_path)["trainer"]["skipped"] == {"discriminator": 0, "generator": 3}


def test_fused_skipping_matches_the_host_check(tmp_path, monkeypatch):
    """With the same fused optimiser, the device-side skip equals the host-side skip bit for bit."""

    class Exploding(ToyTask):
        def set_step(self, step):
            self.step = step

        def discriminator_turn(self, batch, nets):
            out = super().discriminator_turn(batch, nets)
            return TurnOutput(out.loss * (float("inf") if self.step in (1, 4) else 1.0), out.stats)

    overrides = [
        "train.max_steps=6",
        "train.ema_decay=0.5",
        "train.optim_d.name=adam",
        "train.fused_optimizer=true",
    ]
    device = Trainer(make_task(*overrides, cls=Exploding), tmp_path / "device")
    device.fit()
    host = Trainer(make_task(*overrides, cls=Exploding), tmp_path / "host").setup()
    # the discriminator takes the host-check branch with the same fused kernels
    monkeypatch.setattr(
        trainer_module,
        "skips_on_device_flag",
        lambda opt: opt is not host.opt_d and skips_on_device_flag(opt),
    )
    host.fit()
    assert device.skipped == host.skipped == {"discriminator": 2, "generator": 0}
    _assert_same(_final_state(device)[0], _final_state(host)[0])


def test_bad_trainer_settings_are_config_errors(tmp_path):
    from seqgan.config import ConfigError

    with pytest.raises(ConfigError, match="train.data_on_device must be true, false or auto"):
        Trainer(make_task("train.data_on_device=maybe"), tmp_path)
    with pytest.raises(ConfigError, match="train.n_critic must be >= 0"):
        Trainer(make_task("train.n_critic=-1"), tmp_path)
    with pytest.raises(ConfigError, match="cannot hold its training set on the device"):
        Trainer(make_task("train.data_on_device=true", "train.max_steps=1"), tmp_path).fit()


def test_stats_of_turns_the_device_skipped_are_left_out():
    from seqgan.train.reporter import StatsAccumulator

    acc = StatsAccumulator()
    acc.add({"loss": torch.tensor(2.0), "rollout": 1.0}, weight=torch.tensor(True))
    acc.add({"loss": torch.tensor(float("nan")), "rollout": float("nan")}, weight=torch.tensor(False))
    acc.add({"loss": torch.tensor(4.0), "rollout": 3.0}, weight=torch.tensor(True))
    acc.add({"only_skipped": 5.0}, weight=torch.tensor(False))
    assert acc.means() == {"loss": 3.0, "rollout": 2.0}
