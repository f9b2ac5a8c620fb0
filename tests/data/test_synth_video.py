"""The embedded video corpora: bouncing balls, moving digits, Atari recordings, and their commands."""

from __future__ import annotations

import argparse
import gzip
import json

import numpy as np
import pytest

from seqgan.data.episodes import read_episode, read_episodes_scp
from seqgan.data.synth.balls import BallsConfig, bouncing_balls_episode, render_balls, simulate_balls
from seqgan.data.synth.digits import (
    DigitsConfig,
    moving_digits_episode,
    read_idx_images,
    sklearn_digits,
)


def _run(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


# -- bouncing balls -----------------------------------------------------------------------------------


def test_balls_physics_energy_and_walls():
    cfg = BallsConfig(num_frames=300)
    pos = simulate_balls(cfg, np.random.default_rng(0))
    assert pos.shape == (300, 3, 2)
    assert pos.min() >= cfg.radius - 1e-9 and pos.max() <= cfg.box - cfg.radius + 1e-9
    # Elastic collisions with equal masses conserve kinetic energy. Between frames without any contact
    # the displacement is the velocity; such frames are those whose displacement repeats in the next.
    vel = np.diff(pos, axis=0)
    free = np.abs(vel[1:] - vel[:-1]).max(axis=(1, 2)) < 1e-12
    assert free.sum() > 20
    energy = (vel[:-1][free] ** 2).sum(axis=(1, 2))
    np.testing.assert_allclose(energy, 3 * cfg.speed**2, rtol=1e-9)
    assert (
        len(np.unique(np.round(np.linalg.norm(vel[:-1][free], axis=2), 6))) > 3
    )  # collisions changed speeds
    # Balls do not pass through each other: the centre distance stays near or above 2r.
    d = np.linalg.norm(pos[:, :, None] - pos[:, None], axis=-1) + np.eye(3) * 100
    assert d.min() > 2 * cfg.radius - cfg.speed / cfg.substeps * 2


def test_balls_collision_exchanges_velocity():
    # Two balls on a head-on course exchange velocities (equal masses).
    cfg = BallsConfig(num_balls=2, num_frames=6, speed=0.5, substeps=50)

    class Rng:
        def uniform(self, low, high, size=None):
            if size == (2, 2):
                return np.array([[3.0, 5.0], [7.0, 5.0]])
            return np.array([0.0, np.pi])  # ball 0 moves right, ball 1 moves left

    pos = simulate_balls(cfg, Rng())
    v_end = pos[-1] - pos[-2]
    assert v_end[0, 0] < 0 < v_end[1, 0]  # they bounced back
    np.testing.assert_allclose(np.abs(v_end[:, 0]), 0.5, atol=1e-9)


def test_balls_render_and_determinism():
    cfg = BallsConfig()
    a = bouncing_balls_episode(cfg, seed=7, index=3)
    b = bouncing_balls_episode(cfg, seed=7, index=3)
    c = bouncing_balls_episode(cfg, seed=7, index=4)
    assert a["frames"].shape == (100, 30, 30, 1) and a["frames"].dtype == np.uint8
    np.testing.assert_array_equal(a["frames"], b["frames"])
    assert not np.array_equal(a["frames"], c["frames"])
    assert a["meta"]["protocol"].startswith("Sutskever")
    # A single ball at the centre: bright in the middle, dark in the corners, soft edge.
    img = render_balls(np.array([[[5.0, 5.0]]]), cfg)[0, :, :, 0]
    assert img[15, 15] > 250 and img[0, 0] == 0 and 0 < img[15, 15 + 3] < 255


# -- moving digits ------------------------------------------------------------------------------------


def test_sklearn_digits_and_episode():
    images, labels = sklearn_digits(28)
    assert images.shape == (1797, 28, 28) and labels.shape == (1797,)
    assert images[:, :4].max() == 0 and images.max() > 200  # MNIST-like margin, bright strokes
    cfg = DigitsConfig()
    a = moving_digits_episode(images, labels, cfg, seed=1, index=0, digit_source="sklearn")
    b = moving_digits_episode(images, labels, cfg, seed=1, index=0, digit_source="sklearn")
    np.testing.assert_array_equal(a["frames"], b["frames"])
    assert a["frames"].shape == (20, 64, 64, 1)
    assert a["meta"]["comparable_with_moving_mnist"] is False and "NOT comparable" in a["meta"]["note"]
    assert len(a["meta"]["digit_labels"]) == 2
    # The digits move: consecutive frames differ, and every frame holds both digits' ink.
    f = a["frames"][..., 0].astype(int)
    assert all((f[t] != f[t + 1]).any() for t in range(19)) and (f.reshape(20, -1).max(1) > 200).all()


def test_idx_reader(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    raw = b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (3, 28, 28)) + imgs.tobytes()
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(raw)
    np.testing.assert_array_equal(read_idx_images(tmp_path / "train-images-idx3-ubyte.gz"), imgs)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01" + raw[4:])
    with pytest.raises(ValueError, match="bad"):
        read_idx_images(tmp_path / "bad")


def test_moving_mnist_conversion_and_mnist_dir(tmp_path):
    from seqgan.cli import data_digits

    seqs = np.random.default_rng(0).integers(0, 256, (20, 3, 64, 64), dtype=np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", seqs)
    out = tmp_path / "mm"
    assert _run(data_digits, ["--out", str(out), "--moving-mnist", str(tmp_path / "mnist_test_seq.npy")]) == 0
    scp = read_episodes_scp(out / "episodes.scp")
    assert len(scp) == 3
    ep = read_episode(scp["mmnist-000001"])
    np.testing.assert_array_equal(ep.frames[..., 0], seqs[:, 1])
    assert "10 -> 10" in ep.meta["protocol"]
    # Real MNIST digits from idx files.
    imgs = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    raw = b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (5, 28, 28)) + imgs.tobytes()
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "train-images-idx3-ubyte").write_bytes(raw)
    out2 = tmp_path / "md"
    args = [
        "--out",
        str(out2),
        "--mnist",
        str(tmp_path / "mnist"),
        "--num-episodes",
        "3",
        "--num-frames",
        "5",
    ]
    assert _run(data_digits, args) == 0
    ep = read_episode(read_episodes_scp(out2 / "episodes.scp")["digits-000000"])
    assert ep.meta["digit_source"] == "mnist" and ep.frames.shape == (5, 64, 64, 1)
    assert _run(data_digits, ["--out", str(tmp_path / "x"), "--mnist", str(tmp_path)]) == 2  # no idx file


# -- the corpus command: layout, determinism, idempotency ---------------------------------------------


def test_balls_command_layout_and_idempotency(tmp_path):
    from seqgan.cli import data_balls

    out = tmp_path / "balls"
    args = ["--out", str(out), "--num-episodes", "5", "--num-frames", "12", "--seed", "3"]
    assert _run(data_balls, args) == 0
    for name in ("train", "dev", "test"):
        assert (out / "data" / name / "episodes.scp").is_file() and (
            out / "data" / name / "stats.json"
        ).is_file()
    stats = json.loads((out / "data" / "train" / "stats.json").read_text())
    assert stats["frame_shape"] == [30, 30, 1] and stats["num_episodes"] == 3
    done = json.loads((out / ".done").read_text())
    assert done["splits"] == {"train": 3, "dev": 1, "test": 1} and done["num_frames"] == 60
    files = sorted((out / "episodes").iterdir())
    snapshot = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    # A second identical run does nothing; a fresh directory gives byte-identical episodes.
    assert _run(data_balls, args) == 0
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == snapshot
    out2 = tmp_path / "again"
    assert _run(data_balls, ["--out", str(out2), *args[2:]]) == 0
    assert {p.name: p.read_bytes() for p in (out2 / "episodes").iterdir()} == {
        k: v[1] for k, v in snapshot.items()
    }
    # Other settings are refused without --force; with --force stale episodes are removed.
    changed = ["--out", str(out), "--num-episodes", "3", "--num-frames", "12"]
    assert _run(data_balls, changed) == 1
    assert _run(data_balls, [*changed, "--force"]) == 0
    assert len(list((out / "episodes").iterdir())) == 3


# -- Atari ----------------------------------------------------------------------------------------------


def test_atari_rom_names():
    from seqgan.data.synth.atari import rom_id

    assert rom_id("Pong") == "pong" and rom_id("ALE/SpaceInvaders-v5") == "space_invaders"
    assert rom_id("montezuma_revenge") == "montezuma_revenge"
    with pytest.raises(ValueError, match="ships: .*pong"):
        rom_id("NotAGame")


def test_atari_tiny_recording_deterministic(tmp_path):
    from seqgan.data.synth.atari import AtariConfig, record_atari_episode

    cfg = AtariConfig(game="Pong", max_frames=50, resize=(64, 64), policy="sticky", repeat_prob=0.75)
    a = record_atari_episode(cfg, seed=5, index=0)
    b = record_atari_episode(cfg, seed=5, index=0)
    c = record_atari_episode(cfg, seed=5, index=1)
    assert a["frames"].shape == (50, 64, 64, 3) and a["frames"].dtype == np.uint8
    np.testing.assert_array_equal(a["frames"], b["frames"])
    np.testing.assert_array_equal(a["actions"], b["actions"])
    assert not np.array_equal(a["actions"], c["actions"])
    meta = a["meta"]
    assert meta["game"] == "pong" and meta["frameskip"] == 4 and meta["sticky_action_probability"] == 0.25
    assert meta["num_actions"] == 6 and meta["action_meanings"][0] == "NOOP" and meta["truncated"]
    assert "ale_py" in meta["versions"] and meta["emulator_frames"] == 49 * 4
    acts = a["actions"]
    assert acts[-1] == -1 and acts[:-1].min() >= 0 and acts[:-1].max() < 6
    # The sticky policy repeats actions more often than a uniform one would (1/6).
    assert (acts[1:-1] == acts[:-2]).mean() > 0.5
    assert (a["frames"][1:].astype(int) != a["frames"][:-1]).any()  # the game moves


def test_atari_command_grayscale_crop(tmp_path):
    from seqgan.cli import data_atari

    out = tmp_path / "pong"
    argv = [
        "--out",
        str(out),
        "--num-episodes",
        "3",
        "--max-frames",
        "20",
        "--grayscale",
        "--crop",
        "34",
        "16",
        "0",
        "0",
        "--resize",
        "32",
        "32",
        "--split",
        "1",
        "1",
        "1",
    ]
    assert _run(data_atari, argv) == 0
    scp = read_episodes_scp(out / "data" / "train" / "episodes.scp")
    ep = read_episode(next(iter(scp.values())))
    assert (
        ep.frames.shape == (20, 32, 32, 1) and ep.rewards.dtype == np.float32 and ep.terminated.shape == (20,)
    )
    assert ep.meta["params"]["crop"] == [34, 16, 0, 0]
    assert _run(data_atari, ["--out", str(tmp_path / "x"), "--game", "NoSuchGame"]) == 2


def test_atari_branches_show_every_action_without_changing_the_recording():
    from seqgan.data.synth.atari import AtariConfig, record_atari_episode

    cfg = AtariConfig(
        game="Pong", max_frames=40, resize=(40, 40), grayscale=True, sticky_actions=0.0, policy="sticky"
    )
    plain = record_atari_episode(cfg, seed=3, index=0)
    cfg.branches, cfg.branch_steps = True, 3
    ep = record_atari_episode(cfg, seed=3, index=0)
    np.testing.assert_array_equal(ep["frames"], plain["frames"])  # the branches leave the game alone
    np.testing.assert_array_equal(ep["actions"], plain["actions"])
    b, f, a = ep["branches"], ep["frames"], ep["actions"]
    assert b.shape == (40, 6, 3, 40, 40, 1) and b.dtype == np.uint8 and not b[-1].any()
    for t in range(39):  # without sticky actions the taken action's branch is the recorded next frame
        np.testing.assert_array_equal(b[t, a[t], 0], f[t + 1])
        if t + 3 < 40 and a[t] == a[t + 1] == a[t + 2]:  # held for three steps by the policy too
            np.testing.assert_array_equal(b[t, a[t]], f[t + 1 : t + 4])
    outcomes = [len({b[t, i, 0].tobytes() for i in range(6)}) for t in range(39)]
    assert max(outcomes) >= 2  # the actions lead to different frames
    assert "branches" in ep["meta"] and "branches" not in plain
