"""seqgan.pretrained: the registry, the shipped Pong world model and `seqgan play pong` with it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from seqgan import pretrained
from seqgan.export import read_header
from seqgan.predict import Predictor

tomllib = pytest.importorskip("tomllib")
REPO = Path(__file__).resolve().parents[1]


# -- the registry --------------------------------------------------------------------------------------


def test_registry_lists_names_by_task_and_marks_one_default():
    assert "pong" in pretrained.names() and "pong" in pretrained.names("next_frame")
    assert "pong" not in pretrained.names("enhancement")
    assert pretrained.default_model("next_frame").name == "pong"
    entry = pretrained.get("pong")
    assert entry.task == "next_frame" and entry.path.name == "pong.safetensors"
    assert "conf/tiny_branch_rollout.yaml" in entry.recipe and entry.results.endswith("RESULTS.md")
    assert (REPO / entry.results).is_file()


def test_registry_errors_list_the_choices(monkeypatch):
    with pytest.raises(ValueError, match=r"no pretrained model named 'pongg'; choose from: .*pong"):
        pretrained.get("pongg")
    with pytest.raises(ValueError, match="is a next_frame model, not enhancement"):
        pretrained.get("pong", task="enhancement")
    with pytest.raises(ValueError, match="already registered"):
        pretrained.register(pretrained.PretrainedModel("pong", "x.safetensors", "next_frame", "again"))
    with pytest.raises(ValueError, match="already has a default"):
        pretrained.register(
            pretrained.PretrainedModel("pong2", "x.safetensors", "next_frame", "x", default=True)
        )
    assert "pong2" not in pretrained.PRETRAINED
    monkeypatch.setitem(
        pretrained.PRETRAINED,
        "gone",
        pretrained.PretrainedModel("gone", "gone.safetensors", "next_frame", "x"),
    )
    with pytest.raises(ValueError, match="gone.safetensors is missing from this installation"):
        pretrained.get("gone")


def test_resolve_takes_paths_names_and_the_default(tmp_path, monkeypatch):
    assert pretrained.resolve(None, "next_frame") == pretrained.PRETRAINED["pong"].path
    assert pretrained.resolve("pong", "next_frame") == pretrained.PRETRAINED["pong"].path
    assert pretrained.resolve("other.safetensors", "next_frame") == Path("other.safetensors")
    (tmp_path / "pong").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert pretrained.resolve("pong", "next_frame") == Path("pong")  # an existing path wins over a name
    with pytest.raises(ValueError, match=r"no default pretrained video_to_text model; choose from: \(none\)"):
        pretrained.resolve(None, "video_to_text")


def test_every_shipped_file_is_package_data():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = project["tool"]["setuptools"]["package-data"]["seqgan.pretrained"]
    for entry in pretrained.PRETRAINED.values():
        assert any(Path(entry.file).match(g) for g in globs), entry.file


# -- the shipped Pong world model ------------------------------------------------------------------------


def test_the_pong_model_is_a_small_safetensors_file_with_its_game():
    path = pretrained.get("pong").path
    assert path.stat().st_size <= 25 * 2**20
    raw, tensors = read_header(path)  # a safetensors header: no pickle
    assert raw["architecture"] == "MultiScaleGenerator" and tensors
    for key in ("game", "action_meanings", "frameskip", "crop", "game_size", "recipe"):
        assert key in raw, key
    assert raw["game"] == "pong" and "conf/tiny_branch_rollout.yaml" in raw["recipe"]


def test_from_pretrained_loads_the_default_and_by_name():
    default = Predictor.from_pretrained()
    by_name = Predictor.from_pretrained("pong")
    assert default.metadata["game"] == "pong" and default.context == 4 and default.num_channels == 1
    assert default.num_actions >= 6
    for a, b in zip(default.generator.state_dict().values(), by_name.generator.state_dict().values()):
        assert torch.equal(a, b)


def test_pretrained_dream_follows_the_paddle_action():
    """From the real game's first frames, holding up and holding down for 6 steps give different paddles:
    the dream changes where the paddle is, not elsewhere (0.83 against 0.12 grey levels for the first shipped
    file; the real game's paddle columns differ by 1.5)."""
    pytest.importorskip("ale_py")
    from seqgan.play import Dream, Emulator, resolve_spec, start_frames

    predictor = Predictor.from_pretrained()
    spec = resolve_spec(predictor.metadata, None)
    frames, acts = start_frames(predictor.context, emulator=Emulator(spec))
    up, down = Dream(predictor, frames, acts), Dream(predictor, frames, acts)
    for _ in range(6):
        a = up.step(spec.action_meanings.index("RIGHT"))
        b = down.step(spec.action_meanings.index("LEFT"))
    paddle = slice(68, 74)  # the player's paddle columns in 80x80 frames
    inside = np.abs(a[:, paddle].astype(int) - b[:, paddle]).mean()
    outside = np.abs(a[:, :60].astype(int) - b[:, :60]).mean()
    assert inside > 0.5 and inside > 3 * outside


def test_seqgan_play_pong_works_with_the_shipped_model(tmp_path, capsys):
    pytest.importorskip("ale_py")
    from PIL import Image

    from seqgan.cli import main

    plan = tmp_path / "plan.txt"
    plan.write_text("RIGHT*5 LEFT*5\n")
    shot = tmp_path / "s.png"
    assert main(["play", "pong", "--headless", "--actions", str(plan), "--screenshot", str(shot)]) == 0
    assert re.search(r"played 10 steps of pong", capsys.readouterr().out)
    with Image.open(shot) as im:
        assert im.size == (320, 320)


# -- making a shipped model ------------------------------------------------------------------------------


def test_make_world_model_adds_the_game_of_the_recording(tmp_path):
    from seqgan import load_model, save_model
    from seqgan.data.episodes import write_episode, write_episodes_scp
    from seqgan.models.frame_gan import build_frame_gan
    from seqgan.pretrained.make import main

    torch.manual_seed(0)
    g, _ = build_frame_gan("tiny", num_channels=1, context=4, num_actions=18)
    save_model(g, tmp_path / "m.safetensors", task="next_frame", context=4, num_channels=1, num_actions=18)
    meta = {
        "source": "ale",
        "game": "pong",
        "action_meanings": ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"],
        "params": {"frameskip": 4, "crop": [34, 16, 0, 0], "grayscale": True, "resize": [80, 80]},
    }
    write_episode(tmp_path / "e.npz", np.zeros((3, 80, 80, 1), np.uint8), actions=[0, 0, -1], meta=meta)
    write_episodes_scp(tmp_path / "episodes.scp", {"e": str(tmp_path / "e.npz")})
    out = tmp_path / "pong.safetensors"
    assert (
        main(
            [str(tmp_path / "m.safetensors"), str(tmp_path / "episodes.scp"), "-o", str(out), "--recipe", "x"]
        )
        == 0
    )
    m = load_model(str(out))
    assert m.metadata["game"] == "pong" and m.metadata["crop"] == [34, 16, 0, 0]
    assert (
        m.metadata["game_size"] == [80, 80]
        and m.metadata["recipe"] == "x"
        and m.metadata["num_actions"] == 18
    )
    write_episode(
        tmp_path / "e.npz", np.zeros((3, 8, 8, 1), np.uint8), actions=[0, 0, -1], meta={"source": "x"}
    )
    with pytest.raises(ValueError, match="not an ALE recording"):
        main([str(tmp_path / "m.safetensors"), str(tmp_path / "episodes.scp"), "-o", str(out)])
