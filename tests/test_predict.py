"""Rollouts, the Predictor, sets of episodes (Predictor.predict_paths) and the `seqgan predict` command."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqgan import save_model
from seqgan.cli import main
from seqgan.data.episodes import EpisodeError, write_episode, write_episodes_scp
from seqgan.models.frame_gan import build_frame_gan
from seqgan.predict import Predictor, collect_episodes, from_uint8, read_action_file, rollout, to_uint8


class AddStep(torch.nn.Module):
    """Predicts the last context frame plus 0.1: a rollout must give last + 0.1 * (s + 1)."""

    def predict(self, context, actions=None):
        return context[:, -1] + 0.1


class ActionFrame(torch.nn.Module):
    """Predicts a constant frame holding the action it was given (the last of the window) / 10."""

    def predict(self, context, actions):
        assert actions.shape == (context.shape[0], context.shape[1])
        return (actions[:, -1].float() / 10)[:, None, None, None].expand_as(context[:, -1])


def test_rollout_feeds_predictions_back():
    ctx = torch.zeros(2, 3, 1, 4, 4)
    ctx[:, -1] = -0.5
    out = rollout(AddStep(), ctx, steps=4)
    assert out.shape == (2, 4, 1, 4, 4)
    for s in range(4):
        torch.testing.assert_close(out[:, s], torch.full_like(out[:, s], -0.5 + 0.1 * (s + 1)))


def test_rollout_uses_the_action_leading_to_each_frame():
    k, steps = 3, 4
    ctx = torch.zeros(1, k, 1, 2, 2)
    actions = torch.arange(k + steps - 1).unsqueeze(0)  # actions[t] leads from frame t to t + 1
    out = rollout(ActionFrame(), ctx, steps, actions)
    assert [out[0, s, 0, 0, 0].item() for s in range(steps)] == pytest.approx([0.2, 0.3, 0.4, 0.5])
    with pytest.raises(ValueError, match="needs 6 actions"):
        rollout(ActionFrame(), ctx, steps, actions[:, :5])


def test_rollout_of_a_module_returning_scales():
    torch.manual_seed(0)
    g, _ = build_frame_gan("tiny", num_channels=1, context=2)

    class Wrapped(torch.nn.Module):  # like a DDP wrapper: no predict(), forward returns the scales
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, ctx, actions=None):
            return self.inner(ctx, actions)

    ctx = torch.rand(1, 2, 1, 16, 16) * 2 - 1
    torch.testing.assert_close(rollout(Wrapped(g), ctx, 2), rollout(g, ctx, 2))


def test_uint8_round_trip():
    frames = np.random.default_rng(0).integers(0, 256, size=(3, 5, 4, 3), dtype=np.uint8)
    x = from_uint8(frames)
    assert x.shape == (3, 3, 5, 4) and x.min() >= -1 and x.max() <= 1
    np.testing.assert_array_equal(to_uint8(x), frames)


def test_predictor_converts_rgb_to_grey_and_resizes():
    torch.manual_seed(0)
    g, _ = build_frame_gan("tiny", num_channels=1, context=2)
    p = Predictor(g, {"context": 2, "num_channels": 1, "resize": [16, 12]})
    frames = np.random.default_rng(0).integers(0, 256, size=(6, 32, 24, 3), dtype=np.uint8)
    result = p.predict_episode(frames, steps=3, start=1)
    assert result["prediction"].shape == (3, 16, 12, 1) and result["prediction"].dtype == np.uint8
    assert result["truth"].shape == (3, 16, 12, 1) and result["context"].shape == (2, 16, 12, 1)
    with pytest.raises(ValueError, match="cannot take 2 context frames at 5"):
        p.predict_episode(frames, steps=1, start=5)


# -- sets of episodes -----------------------------------------------------------------------------


def _episodes(root, n=2, t=10, size=20, actions=True):
    rng = np.random.default_rng(1)
    entries = {}
    for e in range(n):
        frames = rng.integers(0, 256, size=(t, size, size, 3), dtype=np.uint8)
        acts = rng.integers(0, 3, size=t).astype(np.int64)
        acts[-1] = -1
        path = root / f"ep{e}.npz"
        write_episode(path, frames, actions=acts if actions else None)
        entries[f"ep{e}"] = str(path)
    scp = root / "episodes.scp"
    write_episodes_scp(scp, entries)
    return scp


def _model(path, num_actions=0):
    torch.manual_seed(0)
    g, _ = build_frame_gan("tiny", num_channels=3, context=4, num_actions=num_actions)
    save_model(
        g,
        path,
        task="next_frame",
        context=4,
        num_channels=3,
        num_actions=num_actions,
        value_range=[-1.0, 1.0],
    )
    return path


class CopyLast(torch.nn.Module):
    """Predicts the last context frame (exact on a static episode)."""

    def predict(self, context, actions=None):
        return context[:, -1]


def _load(scp):
    with np.load(scp, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_predict_paths_writes_npz_gif_png_with_psnr(tmp_path):
    scp = _episodes(tmp_path)
    predictor = Predictor.from_pretrained(_model(tmp_path / "g.safetensors"))
    out = tmp_path / "out"
    seen = []
    report = predictor.predict_paths(collect_episodes(scp), out, steps=8, progress=seen.append)
    assert (report.done, report.failed, report.errors) == (2, 0, [])
    assert seen == report.outcomes and report.summary() == f"wrote 2 of 2 episode(s) to {out}"
    for outcome in report.outcomes:
        name = outcome.name
        assert outcome.paths == [out / f"{name}.npz", out / f"{name}.gif", out / f"{name}.png"]
        z = _load(out / f"{name}.npz")
        assert z["prediction"].shape == (8, 20, 20, 3) and z["prediction"].dtype == np.uint8
        assert z["ground_truth"].shape == (6, 20, 20, 3)  # only 10 - 4 frames exist after the context
        assert z["context"].shape == (4, 20, 20, 3) and z["psnr"].shape == (6,) and int(z["start"]) == 0
        # PSNR of the uint8 frames, per step
        err = (z["prediction"][:6].astype(np.float64) - z["ground_truth"]) ** 2
        expected = 10 * np.log10(255.0**2 / err.reshape(6, -1).mean(1))
        np.testing.assert_allclose(z["psnr"], expected, rtol=1e-6)
        np.testing.assert_array_equal(z["psnr"], outcome.psnr)
        from PIL import Image

        with Image.open(out / f"{name}.gif") as gif:
            assert gif.n_frames == 4 + 8
        with Image.open(out / f"{name}.png") as png:
            assert png.mode == "RGB"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_a_failed_write_keeps_the_old_outputs_and_leaves_no_temporary(tmp_path, monkeypatch):
    import seqgan.predict

    scp = _episodes(tmp_path, n=1)
    predictor = Predictor.from_pretrained(_model(tmp_path / "g.safetensors"))
    out = tmp_path / "out"
    assert predictor.predict_paths(collect_episodes(scp), out, steps=2).done == 1
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(image):
        def write(f):
            f.write(b"half a PNG")
            raise OSError(28, "No space left on device")

        return write

    monkeypatch.setattr(seqgan.predict, "_png_writer", broken)
    report = predictor.predict_paths(collect_episodes(scp), out, steps=3)
    assert report.failed == 1 and "No space left" in report.errors[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old files only, no temporaries


def test_predict_paths_psnr_cap(tmp_path):
    frames = np.full((8, 6, 6, 3), 77, np.uint8)  # a static episode: copying the last frame is exact
    write_episode(tmp_path / "still.npz", frames)
    predictor = Predictor(CopyLast(), {"context": 2, "num_channels": 3})
    episodes = {"still": str(tmp_path / "still.npz")}
    capped = predictor.predict_paths(episodes, tmp_path / "a", steps=3)
    np.testing.assert_array_equal(capped.outcomes[0].psnr, [100.0, 100.0, 100.0])
    free = predictor.predict_paths(episodes, tmp_path / "b", steps=3, psnr_cap=None)
    assert np.isinf(free.outcomes[0].psnr).all()


def test_predict_paths_with_actions(tmp_path):
    _episodes(tmp_path)
    predictor = Predictor.from_pretrained(_model(tmp_path / "g.safetensors", num_actions=3))
    episodes = collect_episodes(files=[tmp_path / "ep0.npz"])
    assert predictor.predict_paths(episodes, tmp_path / "a", steps=3, actions=np.array([0, 1, 2])).done == 1
    with np.load(tmp_path / "a" / "ep0.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["actions"][-3:], [0, 1, 2])
    assert predictor.predict_paths(episodes, tmp_path / "b", steps=3).done == 1  # recorded actions
    with np.load(tmp_path / "ep0.npz", allow_pickle=False) as ep, np.load(tmp_path / "b" / "ep0.npz") as z:
        np.testing.assert_array_equal(z["actions"], ep["actions"][: 4 + 3 - 1])
    with np.load(tmp_path / "a" / "ep0.npz") as a, np.load(tmp_path / "b" / "ep0.npz") as b:
        # the plan and the recorded actions differ at some step, and so do the predictions
        assert not np.array_equal(a["actions"][-3:], b["actions"][-3:])
        assert not np.array_equal(a["prediction"], b["prediction"])
    # recorded actions end with the episode: 10 frames leave 6 steps after 4 context frames
    report = predictor.predict_paths(episodes, tmp_path / "c", steps=7)
    assert report.failed == 1 and "cover 6 step(s)" in report.errors[0] and not (tmp_path / "c").exists()
    with pytest.raises(ValueError, match="2 actions for 3 steps"):
        predictor.predict_paths(episodes, tmp_path / "d", steps=3, actions=np.array([0, 1]))


def test_predict_paths_reports_bad_episodes_and_goes_on(tmp_path):
    scp = _episodes(tmp_path)
    (tmp_path / "ep0.npz").write_bytes(b"not a zip file")
    predictor = Predictor.from_pretrained(_model(tmp_path / "g.safetensors"))
    out = tmp_path / "out"
    report = predictor.predict_paths(collect_episodes(scp), out, steps=2)
    assert (report.done, report.failed) == (1, 1)
    assert report.errors[0].startswith("ep0: ") and "not a readable episode file" in report.errors[0]
    assert report.outcomes[0].paths == [] and report.outcomes[0].psnr is None
    assert sorted(p.name for p in out.iterdir()) == ["ep1.gif", "ep1.npz", "ep1.png"]


def test_predict_paths_never_overwrites_inputs(tmp_path):
    scp = _episodes(tmp_path, n=1, actions=False)
    before = (tmp_path / "ep0.npz").read_bytes()
    predictor = Predictor.from_pretrained(_model(tmp_path / "p.safetensors"))
    report = predictor.predict_paths(collect_episodes(scp), tmp_path, steps=2)
    assert report.failed == 1 and "would overwrite an input episode" in report.errors[0]
    assert (tmp_path / "ep0.npz").read_bytes() == before
    no_actions = Predictor.from_pretrained(_model(tmp_path / "a.safetensors", num_actions=3))
    report = no_actions.predict_paths(collect_episodes(scp), tmp_path / "o", steps=2)
    assert report.failed == 1 and "no recorded actions" in report.errors[0]


def test_collect_episodes_and_action_files(tmp_path):
    scp = _episodes(tmp_path, n=3)
    assert list(collect_episodes(scp, max_episodes=2)) == ["ep0", "ep1"]
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "ep0.npz").write_bytes((tmp_path / "ep0.npz").read_bytes())
    with pytest.raises(EpisodeError, match="share the id 'ep0'"):
        collect_episodes(files=[tmp_path / "ep0.npz", tmp_path / "x" / "ep0.npz"])
    with pytest.raises(EpisodeError, match="no episodes"):
        collect_episodes()
    with pytest.raises(EpisodeError, match="not found"):
        collect_episodes(tmp_path / "nope.scp")
    (tmp_path / "plan.txt").write_text("2 0,\n1\n")
    np.testing.assert_array_equal(read_action_file(tmp_path / "plan.txt"), [2, 0, 1])
    np.save(tmp_path / "plan.npy", np.array([3, 4], np.int32))
    assert read_action_file(tmp_path / "plan.npy").dtype == np.int64
    (tmp_path / "bad.txt").write_text("1 x\n")
    with pytest.raises(ValueError, match="not a list of integer actions"):
        read_action_file(tmp_path / "bad.txt")
    with pytest.raises(ValueError, match="no such action file"):
        read_action_file(tmp_path / "none.txt")


# -- the command ----------------------------------------------------------------------------------


def test_predict_command_prints_each_episode_and_the_summary(tmp_path, capsys):
    scp = _episodes(tmp_path)
    model = _model(tmp_path / "g.safetensors")
    out = tmp_path / "out"
    rc = main(["predict", "-m", str(model), "--episodes", str(scp), "--steps", "8", "-o", str(out)])
    assert rc == 0
    captured = capsys.readouterr().out
    for name in ("ep0", "ep1"):
        with np.load(out / f"{name}.npz", allow_pickle=False) as z:
            assert z["prediction"].shape == (8, 20, 20, 3) and z["psnr"].shape == (6,)
            line = f"{name}: 8 frames predicted from frame 4; PSNR {z['psnr'].mean():.2f} dB over 6 step(s)"
        assert line in captured
    assert "wrote 2 of 2" in captured
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_predict_command_with_actions(tmp_path, capsys):
    scp = _episodes(tmp_path)
    model = _model(tmp_path / "g.safetensors", num_actions=3)
    plan = tmp_path / "plan.txt"
    plan.write_text("0, 1, 2\n")
    base = ["predict", "-m", str(model), "--episode", str(tmp_path / "ep0.npz"), "--steps", "3"]
    assert main([*base, "--actions", str(plan), "-o", str(tmp_path / "a")]) == 0
    with np.load(tmp_path / "a" / "ep0.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["actions"][-3:], [0, 1, 2])
    assert main([*base, "-o", str(tmp_path / "b")]) == 0  # recorded actions
    capsys.readouterr()
    # recorded actions end with the episode: 10 frames leave 6 steps after 4 context frames
    assert main([*base[:-1], "7", "-o", str(tmp_path / "c")]) == 1
    assert "use --steps 6" in capsys.readouterr().err
    assert main([*base[:-1], "4", "--actions", str(plan), "-o", str(tmp_path / "d")]) == 2
    assert "3 actions for 4 steps" in capsys.readouterr().err
    plain = _model(tmp_path / "p.safetensors")
    argv = [
        "predict",
        "-m",
        str(plain),
        "--episodes",
        str(scp),
        "--actions",
        str(plan),
        "-o",
        str(tmp_path / "e"),
    ]
    assert main(argv) == 0
    assert "not action-conditioned; ignoring --actions" in capsys.readouterr().err
    assert scp.exists()


def test_predict_command_reports_bad_episodes_and_goes_on(tmp_path, capsys):
    scp = _episodes(tmp_path)
    (tmp_path / "ep0.npz").write_bytes(b"not a zip file")
    model = _model(tmp_path / "g.safetensors")
    out = tmp_path / "out"
    rc = main(["predict", "-m", str(model), "--episodes", str(scp), "--steps", "2", "-o", str(out)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "ep0" in err and "not a readable episode file" in err
    assert sorted(p.name for p in out.iterdir()) == ["ep1.gif", "ep1.npz", "ep1.png"]


def test_predict_command_errors(tmp_path, capsys):
    scp = _episodes(tmp_path, n=1, actions=False)
    bad_model = tmp_path / "bad.safetensors"
    bad_model.write_bytes(b"\x00" * 16)
    assert main(["predict", "-m", str(bad_model), "--episodes", str(scp), "-o", str(tmp_path / "o")]) == 2
    assert "bad.safetensors" in capsys.readouterr().err
    model = _model(tmp_path / "g.safetensors", num_actions=3)
    assert main(["predict", "-m", str(model), "--episodes", str(scp), "--context", "2", "-o", "o"]) == 2
    assert "trained with 4 context frames" in capsys.readouterr().err
    # action-conditioned model, episodes without actions
    assert main(["predict", "-m", str(model), "--episodes", str(scp), "-o", str(tmp_path / "o")]) == 1
    assert "no recorded actions" in capsys.readouterr().err
    # outputs that would overwrite the input episodes are refused
    plain = _model(tmp_path / "p.safetensors")
    assert main(["predict", "-m", str(plain), "--episodes", str(scp), "-o", str(tmp_path)]) == 1
    assert "would overwrite an input episode" in capsys.readouterr().err
    with np.load(tmp_path / "ep0.npz", allow_pickle=False) as z:
        assert "frames" in z.files
