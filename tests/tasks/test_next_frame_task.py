"""The next_frame task: losses, turns (gradient discipline), negatives, curriculum, evaluation, samples."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqgan.config import ConfigError, from_dict
from seqgan.data.episodes import write_episode, write_episodes_scp
from seqgan.tasks import get_task
from seqgan.tasks.base import Nets
from seqgan.tasks.next_frame import NextFrameConfig, NextFrameTask


def moving_square_episodes(root, n=3, t=14, size=40, actions=True, seed=0):
    """Grey episodes of a 6x6 square moved by its action (0: left, 1: stay, 2: right) each frame."""
    rng = np.random.default_rng(seed)
    entries = {}
    for e in range(n):
        x, y = int(rng.integers(4, size - 10)), int(rng.integers(4, size - 10))
        acts = rng.integers(0, 3, size=t).astype(np.int64)
        frames = np.zeros((t, size, size, 1), np.uint8)
        for i in range(t):
            frames[i, y : y + 6, x : x + 6] = 255
            x = int(np.clip(x + 2 * (acts[i] - 1), 0, size - 6))
        acts[-1] = -1
        path = root / f"ep{e}.npz"
        write_episode(path, frames, actions=acts if actions else None, meta={"num_actions": 3})
        entries[f"ep{e}"] = str(path)
    scp = root / "episodes.scp"
    write_episodes_scp(scp, entries)
    return scp


def make_task(tmp_path, actions=True, **sections):
    scp = moving_square_episodes(tmp_path, actions=actions)
    data = {"train_scp": str(scp), "valid_scp": str(scp), "patch_size": 32, "horizon": 3, "grayscale": True}
    data.update(sections.pop("data", {}))
    model = {"preset": "tiny", "num_actions": 3 if actions else 0}
    model.update(sections.pop("model", {}))
    cfg = from_dict(
        NextFrameConfig,
        {
            "task": "next_frame",
            "data": data,
            "model": model,
            "eval": {"rollout_steps": 3, "max_sequences": 4, "num_samples": 2},
            **sections,
        },
    )
    return NextFrameTask(cfg)


def batch_of(task, n=4, seed=0):
    ds = task.train_dataset()
    items = [ds[(i, seed + i)] for i in range(n)]
    return {k: torch.stack([torch.as_tensor(it[k]) for it in items]) for k in items[0]}


def nets_of(task, seed=0):
    torch.manual_seed(seed)
    return Nets(*task.build_networks())


# -- configuration --------------------------------------------------------------------------------------


def test_registered_and_config_checks(tmp_path):
    assert get_task("next_frame") is NextFrameTask
    with pytest.raises(ConfigError, match="data.horizon"):
        make_task(tmp_path, curriculum={"horizons": [1, 5], "steps": [10]})
    with pytest.raises(ConfigError, match="curriculum.steps"):
        make_task(tmp_path, curriculum={"horizons": [1, 2], "steps": []})
    with pytest.raises(ConfigError, match="num_actions"):
        make_task(tmp_path, actions=False, loss={"wrong_action_prob": 0.5})
    with pytest.raises(ConfigError, match="objective"):
        make_task(tmp_path, loss={"objective": "nsgam"})
    with pytest.raises(ConfigError, match="branch_prob 0.5 needs the episodes in memory"):
        make_task(tmp_path, data={"branch_prob": 0.5, "in_memory": False})
    with pytest.raises(ConfigError, match="action_weight needs the episodes in memory"):
        make_task(tmp_path, data={"in_memory": False}, loss={"action_weight": 10.0})


def test_actions_required_when_the_model_is_conditioned(tmp_path):
    task = make_task(tmp_path, actions=False, model={"num_actions": 3})
    with pytest.raises(ConfigError, match="no actions"):
        task.train_dataset()


def test_curriculum_lengths(tmp_path):
    task = make_task(tmp_path, curriculum={"horizons": [1, 2, 3], "steps": [10, 20]})
    assert [task.rollout_length(s) for s in (0, 9, 10, 19, 20, 1000)] == [1, 1, 2, 2, 3, 3]
    task.set_step(15)
    assert task.rollout_length() == 2


def test_networks_are_built_together_from_the_episode_headers(tmp_path):
    task = make_task(tmp_path)
    g, d = task.build_networks()
    assert task._train_set is None  # no frame was decoded to size the networks
    assert task.geometry() == (1, 40, 40) and g.hparams["num_channels"] == 1
    g2, d2 = task.build_networks()
    assert g2 is not g and d2 is not d


# -- turns ------------------------------------------------------------------------------------------


def _grads(module):
    return [p.grad for p in module.parameters()]


def test_discriminator_turn_changes_only_the_discriminator(tmp_path):
    task = make_task(tmp_path)
    nets = nets_of(task)
    g0 = [p.detach().clone() for p in nets.generator.parameters()]
    d0 = [p.detach().clone() for p in nets.discriminator.parameters()]
    out = task.discriminator_turn(batch_of(task), nets)
    out.loss.backward()
    assert all(g is None for g in _grads(nets.generator))  # the fake was detached
    assert all(g is not None for g in _grads(nets.discriminator))
    torch.optim.SGD(list(nets.generator.parameters()) + list(nets.discriminator.parameters()), lr=0.1).step()
    assert all(torch.equal(a, b) for a, b in zip(g0, nets.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, nets.discriminator.parameters()))
    assert {"d_loss", "d_real", "d_fake"} <= set(out.stats)


def test_generator_turn_changes_only_the_generator(tmp_path):
    task = make_task(tmp_path)
    nets = nets_of(task)
    nets.discriminator.requires_grad_(False)  # the trainer's switch for a G turn
    d0 = [p.detach().clone() for p in nets.discriminator.parameters()]
    out = task.generator_turn(batch_of(task), nets)
    out.loss.backward()
    assert all(g is None for g in _grads(nets.discriminator))
    assert all(g is not None for g in _grads(nets.generator))
    torch.optim.SGD(nets.generator.parameters(), lr=0.1).step()
    assert all(torch.equal(a, b) for a, b in zip(d0, nets.discriminator.parameters()))
    s = out.stats
    expected = 0.05 * s["g_adv"] + s["g_lp"] + s["g_gdl"]
    assert s["g_loss"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_training_psnr_honours_the_eval_cap(tmp_path):
    eval_cfg = {"rollout_steps": 3, "max_sequences": 4, "num_samples": 2}
    capped = make_task(tmp_path, eval={**eval_cfg, "psnr_cap": 1.0})
    out = capped.generator_turn(batch_of(capped), nets_of(capped))
    assert float(out.stats["psnr"]) == 1.0
    uncapped = make_task(tmp_path, eval={**eval_cfg, "psnr_cap": 0.0})
    out = uncapped.generator_turn(batch_of(uncapped), nets_of(uncapped))
    assert float(out.stats["psnr"]) > 1.0


class RecordingObjective:
    """Wraps an objective and records what the discriminator loss sees."""

    def __init__(self, inner):
        self.inner = inner
        self.needs_gradient_penalty = False
        self.calls = []

    def discriminator_loss(self, real, fake):
        self.calls.append((real.detach(), fake.detach()))
        return self.inner.discriminator_loss(real, fake)

    def generator_loss(self, fake):
        return self.inner.generator_loss(fake)


def test_mismatched_pairs_and_wrong_actions_are_shown_as_fake(tmp_path):
    task = make_task(tmp_path, loss={"mismatch_prob": 1.0, "wrong_action_prob": 1.0})
    task.objective = RecordingObjective(task.objective)
    nets = nets_of(task)
    batch = batch_of(task)
    out = task.discriminator_turn(batch, nets)
    b, k = batch["context"].shape[:2]
    factors = [8, 4, 2, 1]
    assert len(task.objective.calls) == 4  # one per scale, rollout length 1
    ctx, tgt, act = batch["context"], batch["target"][:, 0], batch["actions"][:, k - 1]
    real = [torch.nn.functional.avg_pool2d(tgt, f) if f > 1 else tgt for f in factors]
    with torch.no_grad():
        mismatched = nets.discriminator([r.roll(1, dims=0) for r in real], ctx, act)
        right = nets.discriminator(real, ctx, act)
    for i, (r, f) in enumerate(task.objective.calls):
        assert r.shape == (b, 1) and f.shape == (3 * b, 1)  # generated, mismatched, wrong action
        torch.testing.assert_close(r, right[i])
        torch.testing.assert_close(f[b : 2 * b], mismatched[i])
        # real frames with a wrong action score differently from the right action
        assert (f[2 * b :] - right[i]).abs().max() > 0
    assert out.stats["d_mismatched"] == b and out.stats["d_wrong_actions"] == b


def test_wrong_actions_differ_from_the_right_ones(tmp_path):
    task = make_task(tmp_path, loss={"wrong_action_prob": 1.0})
    nets = nets_of(task)
    seen = []
    d = nets.discriminator
    nets.discriminator = lambda frames, cond, act: (seen.append(act), d(frames, cond, act))[1]
    batch = batch_of(task, n=6)
    torch.manual_seed(0)
    task.discriminator_turn(batch, nets)
    right, wrong = seen[0], seen[2]
    assert torch.all(wrong != right) and wrong.min() >= 0 and wrong.max() < 3


def test_multi_step_turns_feed_predictions_back(tmp_path):
    task = make_task(tmp_path, curriculum={"horizons": [1, 3], "steps": [5]})
    nets = nets_of(task)
    calls = []
    g = nets.generator
    nets.generator = lambda ctx, act: (calls.append(ctx.detach().clone()), g(ctx, act))[1]
    task.set_step(5)
    out = task.generator_turn(batch_of(task), nets)
    assert out.stats["rollout"] == 3 and len(calls) == 3
    first = g(calls[0], batch_of(task)["actions"][:, :4])[-1]
    # the second call's newest context frame is the first prediction; the rest shifted
    torch.testing.assert_close(calls[1][:, -1], first.detach())
    torch.testing.assert_close(calls[1][:, :-1], calls[0][:, 1:])
    out.loss.backward()  # gradients flow through the fed-back predictions


def test_wgan_gp_objective_adds_a_penalty(tmp_path):
    task = make_task(tmp_path, loss={"objective": "wgan-gp"})
    out = task.discriminator_turn(batch_of(task), nets_of(task))
    assert out.stats["gp"] > 0
    out.loss.backward()


# -- evaluation, samples, export ----------------------------------------------------------------------


class CopyLast(torch.nn.Module):
    """Predicts the last context frame (the copy baseline)."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def predict(self, context, actions=None):
        return context[:, -1] + 0 * self.dummy


def test_evaluate_reports_per_step_metrics(tmp_path):
    task = make_task(tmp_path)
    metrics = task.evaluate(CopyLast(), torch.device("cpu"))
    assert metrics["psnr"] == pytest.approx(metrics["psnr_copy_last"])
    assert metrics["ssim"] == pytest.approx(metrics["ssim_copy_last"])
    assert {"psnr_1", "psnr_2", "psnr_3", "ssim_1", "ssim_3", "sharpness"} <= set(metrics)
    assert metrics["psnr_1"] >= metrics["psnr_3"]  # copying the last frame worsens with the horizon
    # the generator runs on the full 40x40 frames although it trains on 32x32 patches
    nets = nets_of(task)
    metrics = task.evaluate(nets.generator.eval(), torch.device("cpu"))
    assert np.isfinite(metrics["psnr"])


class FakeWriter:
    def __init__(self):
        self.images = []

    def add_image(self, tag, image, step, dataformats="CHW"):
        self.images.append((tag, image.shape, step, dataformats))


def test_write_samples_png_gif_and_tensorboard(tmp_path):
    task = make_task(tmp_path)
    writer = FakeWriter()
    out = tmp_path / "samples"
    task.write_samples(CopyLast(), torch.device("cpu"), 7, out, writer)
    assert (out / "rollout_00000007.png").stat().st_size > 0
    assert (out / "rollout_00000007.gif").stat().st_size > 0
    from PIL import Image

    with Image.open(out / "rollout_00000007.gif") as gif:
        assert gif.n_frames == 4 + 3  # context then rollout
    assert writer.images and writer.images[0][0] == "samples/rollout" and writer.images[0][3] == "HWC"


def test_export_metadata(tmp_path):
    task = make_task(tmp_path)
    meta = task.export_metadata()
    assert meta["num_channels"] == 1 and meta["frame_height"] == 40 and meta["frame_width"] == 40
    assert meta["context"] == 4 and meta["num_actions"] == 3 and meta["value_range"] == [-1.0, 1.0]


def test_trains_end_to_end_through_the_trainer_and_predicts_from_the_checkpoint(tmp_path, capsys):
    from seqgan.cli import main

    (tmp_path / "data").mkdir()
    scp = moving_square_episodes(tmp_path / "data")
    exp = tmp_path / "exp"
    overrides = [
        f"data.train_scp={scp}",
        f"data.valid_scp={scp}",
        "data.grayscale=true",
        "data.horizon=2",
        "model.preset=tiny",
        "model.num_actions=3",
        "loss.mismatch_prob=0.5",
        "loss.wrong_action_prob=0.5",
        "curriculum.horizons=[1, 2]",
        "curriculum.steps=[2]",
        "eval.rollout_steps=2",
        "eval.max_sequences=2",
        "eval.num_samples=1",
        "train.max_steps=3",
        "train.batch_size=4",
        "train.log_interval=1",
        "train.eval_interval=3",
        "train.sample_interval=3",
        "train.save_interval=0",
        "train.progress=lines",
        "train.device=cpu",
    ]
    assert main(["train", "--task", "next_frame", "-o", str(exp), *overrides]) == 0
    assert (exp / "checkpoints" / "last.pt").is_file()
    logged = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in logged if r["kind"] == "train"]
    assert [r["rollout"] for r in train] == [1, 1, 2]  # the curriculum grows at step 2
    evals = [r for r in logged if r["kind"] == "eval"]
    assert evals and {"eval/psnr", "eval/ssim", "eval/psnr_copy_last_1"} <= set(evals[-1])
    assert list((exp / "samples").glob("rollout_*.gif"))
    out = tmp_path / "pred"
    rc = main(["predict", "-m", str(exp), "--episodes", str(scp), "--steps", "3", "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    with np.load(out / "ep0.npz", allow_pickle=False) as z:
        assert z["prediction"].shape == (3, 40, 40, 1)


@pytest.mark.slow
def test_swapping_the_action_moves_the_controlled_square(tmp_path):
    """Oh et al.'s sanity check: after a short training, the predicted square follows the given action."""
    from seqgan.predict import Predictor
    from seqgan.train.trainer import Trainer

    scp = moving_square_episodes(tmp_path, n=60, t=30, size=32, seed=1)
    cfg = from_dict(
        NextFrameConfig,
        {
            "task": "next_frame",
            "data": {"train_scp": str(scp), "valid_scp": str(scp), "patch_size": 32, "grayscale": True},
            "model": {"preset": "tiny", "num_actions": 3},
            "loss": {"wrong_action_prob": 0.5},
            "train": {
                "max_steps": 800,
                "batch_size": 8,
                "log_interval": 200,
                "save_interval": 0,
                "progress": "lines",
                "device": "cpu",
                "optim_g": {"lr": 1e-3},
                "optim_d": {"lr": 5e-4},
            },
        },
    )
    trainer = Trainer(NextFrameTask(cfg), tmp_path / "exp")
    trainer.fit()
    predictor = Predictor(trainer.generator, trainer.task.export_metadata())
    ds = trainer.task.train_dataset()
    shifts = []
    for i in range(0, len(ds), 7):
        item = ds[(i, 0)]
        ctx = ((item["context"] + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
        last = ctx[-1, ..., 0].astype(float)
        x0 = (last.sum(0) * np.arange(32)).sum() / last.sum()
        if not 6 < x0 < 25:  # near a wall some actions cannot move the square
            continue
        xs = []
        for a in range(3):
            pred = predictor.predict(ctx, 1, np.full(4, a))[0, ..., 0].astype(float)
            w = np.clip(pred - 127.5, 0, None)
            xs.append((w.sum(0) * np.arange(32)).sum() / max(w.sum(), 1e-6) - x0)
        shifts.append(xs)
    left, stay, right = np.mean(shifts, axis=0)  # true shifts: -2, 0, +2 pixels
    print(f"mean predicted shift per action: {left:.2f} {stay:.2f} {right:.2f} over {len(shifts)} windows")
    assert left < -1 and abs(stay) < 0.7 and right > 1, (left, stay, right)


def test_weighted_lp_loss_math():
    from seqgan.losses import lp_loss
    from seqgan.tasks.next_frame.task import weighted_lp_loss

    torch.manual_seed(0)
    p, t = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(weighted_lp_loss(p, t, torch.ones(2, 1, 4, 4), 1.0), lp_loss(p, t, 1.0))
    w = torch.zeros(2, 1, 4, 4)
    w[:, :, 0, 0] = 16.0  # all the weight on one pixel per frame
    expected = (t - p)[:, :, 0, 0].pow(2).mean()  # weight 16 on 1 of 16 pixels: their mean error
    torch.testing.assert_close(weighted_lp_loss(p, t, w, 2.0), expected)


def test_motion_weight_raises_the_lp_term_of_the_moving_pixels(tmp_path):
    plain = make_task(tmp_path)
    weighted = make_task(tmp_path, loss={"motion_weight": 9.0})
    batch = batch_of(plain)
    nets = nets_of(plain)
    lp_plain = plain.generator_turn(batch, nets).stats["g_lp"]
    lp_weighted = weighted.generator_turn(batch, nets).stats["g_lp"]
    # the square moves in most windows: its old and new pixels weigh 10, the rest 1
    assert lp_weighted > lp_plain * 1.05
    # a batch where nothing moves: the same loss
    still = {**batch, "target": batch["context"][:, -1:].expand_as(batch["target"]).clone()}
    still["context"] = still["target"][:, :1].expand_as(batch["context"]).clone()
    torch.testing.assert_close(
        weighted.generator_turn(still, nets).stats["g_lp"], plain.generator_turn(still, nets).stats["g_lp"]
    )
    with pytest.raises(ConfigError, match="motion_weight"):
        make_task(tmp_path, loss={"motion_weight": -1.0})


def test_action_weight_raises_the_lp_term_where_the_mask_is(tmp_path):
    plain = make_task(tmp_path, data={"horizon": 1})
    weighted = make_task(tmp_path, data={"horizon": 1}, loss={"action_weight": 50.0})
    batch = batch_of(plain)
    nets = nets_of(plain)
    lp_plain = plain.generator_turn(batch, nets).stats["g_lp"]
    none = torch.zeros_like(batch["target"][:, :, :1])
    torch.testing.assert_close(
        weighted.generator_turn({**batch, "action_mask": none}, nets).stats["g_lp"], lp_plain
    )
    # a mask over the whole frame: every pixel weighs 51, the mean lp term too
    everywhere = torch.ones_like(none)
    torch.testing.assert_close(
        weighted.generator_turn({**batch, "action_mask": everywhere}, nets).stats["g_lp"], 51 * lp_plain
    )
