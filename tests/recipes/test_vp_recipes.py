"""The next-frame prediction recipes: recipes/vp.sh through the egs run.sh scripts (options, the tiny
bouncing-balls recipe end to end, the Atari recipe with a short recording) and its helper scripts
(data checks, scoring, action sensitivity) on small synthetic inputs."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from recipe_support import REPO, copy_recipe, run_script
from torch import nn

from seqgan.data.episodes import read_episodes_scp, write_episode, write_episodes_scp

UTILS = REPO / "recipes" / "utils"
BALLS = "egs/bouncing_balls/vp1"
ATARI = "egs/atari/vp1"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, UTILS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _vp_options() -> list[str]:
    """The option names of recipes/vp.sh: its top-level ``name=value`` lines before parse_options."""
    text = (REPO / "recipes" / "vp.sh").read_text().split(". utils/parse_options.sh")[0]
    names = re.findall(r"^([a-z_]+)=", text, flags=re.M)
    return [n for n in names if n not in ("help_message", "SECONDS")]


# -- options ----------------------------------------------------------------------------------------


def test_help_lists_every_option_with_the_recipe_values(tmp_path: Path) -> None:
    recipe = copy_recipe(BALLS, tmp_path)
    r = run_script(["./run.sh", "--help"], recipe)
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith("  --")}
    assert [name.removeprefix("--") for name in lines][:-1] == _vp_options()
    assert lines["--stage"].endswith("[0]") and lines["--stop_stage"].endswith("[5]")
    assert lines["--conf"].endswith("[conf/tiny.yaml]")  # the corpus recipe's settings are shown
    assert lines["--rollout_starts"].endswith("[0 30 60]")
    assert "adversarial" in lines["--baseline_args"]


def test_atari_run_takes_game_and_refuses_unknown_options(tmp_path: Path) -> None:
    recipe = copy_recipe(ATARI, tmp_path)
    r = run_script(["./run.sh", "--game", "Breakout", "--help"], recipe)
    assert r.returncode == 0, r.stderr
    assert "[train_breakout]" in r.stdout and "[test_breakout]" in r.stdout
    r = run_script(["./run.sh", "--stop-stage", "-1", "--bogus", "1"], recipe)
    assert r.returncode != 0 and "unknown option --bogus" in r.stderr


# -- the bouncing-balls recipe ----------------------------------------------------------------------


def _check_results(exp: Path, test_set: str, models: list[str], steps: int) -> list[dict[str, str]]:
    results = (exp / "RESULTS.md").read_text()
    assert "PSNR data range 2" in results and "SSIM on the uint8 convention" in results
    for name in models:
        assert f"| {name} |" in results
    assert (exp / "images" / f"{test_set}_rollouts.gif").stat().st_size > 0
    assert (exp / "images" / f"{test_set}_per_step.png").stat().st_size > 0
    with open(exp / "scores" / test_set / "per_step.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["model"] for r in rows} == set(models)
    assert len(rows) == len(models) * steps
    for r in rows:
        for key in ("psnr", "ssim", "sharpness_difference"):
            assert math.isfinite(float(r[key])), r
        assert "PSNR data range 2" in r["protocol"]
    return rows


def test_balls_recipe_all_stages_small(tmp_path: Path) -> None:
    """Stages 0-5 with a corpus of 20 short videos and 5 training steps per model (default suite)."""
    recipe = copy_recipe(BALLS, tmp_path)
    small = [
        "--local_data_opts", "--num_episodes 20 --num_frames 24",
        "--train_args", "train.max_steps=5 train.eval_interval=5 train.sample_interval=0 eval.max_sequences=2",
        "--rollout_starts", "0 6",
        "--steps", "4",
    ]  # fmt: skip
    r = run_script(["./run.sh", *small], recipe, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp = recipe / "exp" / "train_tiny"
    rows = _check_results(exp, "test", ["GAN", "l1", "copy-last"], steps=4)
    first = {r["model"]: r for r in rows if r["step"] == "1"}
    assert int(first["GAN"]["num_sequences"]) == 2 * 2  # 2 test videos x 2 start frames
    assert (recipe / "exp" / "train_tiny_l1" / "model.safetensors").is_file()
    cfg = (recipe / "exp" / "train_tiny_l1" / "config.yaml").read_text()
    assert re.search(r"adv_weight: 0(\.0)?\n", cfg) and re.search(r"gdl_weight: 0(\.0)?\n", cfg)
    assert (recipe / "data" / "test" / "utt2num_frames").is_file()

    # every stage again: nothing is redone
    r = run_script(["./run.sh", "--stage", "2", *small], recipe, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("already trained with these settings") == 2
    assert r.stdout.count("up to date") == 2 + 2 * 2  # 2 exports, 2 models x 2 starts


@pytest.mark.slow
def test_balls_tiny_recipe_beats_copy_last(tmp_path: Path) -> None:
    """The tiny recipe as shipped (a few minutes on 2 CPU cores): both models beat copy-last at step 1."""
    recipe = copy_recipe(BALLS, tmp_path)
    r = run_script(["./run.sh"], recipe, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = _check_results(recipe / "exp" / "train_tiny", "test", ["GAN", "l1", "copy-last"], steps=10)
    first = {r["model"]: float(r["psnr"]) for r in rows if r["step"] == "1"}
    assert first["GAN"] > first["copy-last"] + 2 and first["l1"] > first["copy-last"] + 2, first


@pytest.mark.slow
def test_atari_recipe_with_a_short_recording(tmp_path: Path) -> None:
    recipe = copy_recipe(ATARI, tmp_path)
    r = run_script(
        [
            "./run.sh",
            "--local_data_opts", "--num_episodes 5 --split 2,1,2 --max_frames 40",
            "--train_args", "train.max_steps=4 train.eval_interval=0 train.sample_interval=0",
            "--rollout_starts", "10 20",
            "--steps", "3",
            "--sensitivity_horizons", "1 2",
        ],
        recipe,
        timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp = recipe / "exp" / "train_pong_tiny"
    _check_results(exp, "test_pong", ["GAN", "l1", "copy-last"], steps=3)
    assert "### Action sensitivity" in (exp / "RESULTS.md").read_text()
    s = json.loads((exp / "scores" / "test_pong" / "action_sensitivity.json").read_text())
    assert s["num_actions"] == 6 and s["num_contexts"] == 4
    assert s["region"]["cols"] == [68, 74]  # Pong's paddle columns, 80x80 frames of the cropped screen
    for h in ("1", "2"):
        assert all(math.isfinite(s["results"][h][k]) for k in ("overall", "region", "outside"))
    # stage 6: the counterfactual evaluation against the emulator, in RESULTS.md once
    cf = json.loads((exp / "scores" / "test_pong" / "counterfactual.json").read_text())
    assert set(cf["models"]) == {"GAN", "l1", "copy-last"} and cf["num_cases"] == 4 and cf["steps"] == 3
    assert cf["models"]["copy-last"]["identifiability"][0] == 0.0
    r = run_script(["./run.sh", "--stage", "6", "--rollout_starts", "10 20", "--steps", "3"], recipe)
    assert r.returncode == 0 and "counterfactual.json: up to date" in r.stdout, r.stderr[-3000:]
    assert (exp / "RESULTS.md").read_text().count("### Counterfactual evaluation against the emulator") == 1
    # stage 7: a scripted session played inside the model, its GIF in RESULTS.md once (run twice above)
    assert (exp / "images" / "play.gif").stat().st_size > 0 and (exp / "images" / "play_last.png").is_file()
    assert (exp / "RESULTS.md").read_text().count("### A session played inside the model") == 1


def _counterfactual_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "counterfactual", REPO / ATARI / "local" / "counterfactual.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sections_with_other_headings_are_kept_apart(tmp_path: Path) -> None:
    script = _counterfactual_script()
    results, cf, play = tmp_path / "RESULTS.md", tmp_path / "cf.md", tmp_path / "play.md"
    results.write_text("# Results\n\n## Training\n\nsettings\n")
    cf.write_text(f"{script.SECTION}\n\ntable\n")
    play.write_text("### A session played inside the model\n\nfirst\n")
    script.insert_section(results, cf)
    script.insert_section(results, play)
    play.write_text("### A session played inside the model\n\nsecond\n")
    script.insert_section(results, play)
    text = results.read_text()
    assert text.count(script.SECTION) == 1 and "table" in text
    assert (
        text.count("### A session played inside the model") == 1 and "second" in text and "first" not in text
    )


def test_counterfactual_section_replaces_an_earlier_one(tmp_path: Path) -> None:
    script = _counterfactual_script()
    results, section = tmp_path / "RESULTS.md", tmp_path / "cf.md"
    results.write_text("# Results\n\n### Action sensitivity\n\ntable\n\n## Training\n\nsettings\n")
    section.write_text(f"{script.SECTION}\n\nfirst\n")
    script.insert_section(results, section)
    assert results.read_text().endswith(f"settings\n\n{script.SECTION}\n\nfirst\n")
    section.write_text(f"{script.SECTION}\n\nsecond\n")
    script.insert_section(results, section)
    text = results.read_text()
    assert text.count(script.SECTION) == 1 and "second" in text and "first" not in text
    # a section followed by another heading keeps what follows
    results.write_text(f"# R\n\n{script.SECTION}\n\nold\n\n## Training\n\nsettings\n")
    script.insert_section(results, section)
    assert results.read_text() == f"# R\n\n{script.SECTION}\n\nsecond\n\n## Training\n\nsettings\n"


@pytest.mark.slow
def test_atari_stage_6_scores_models_against_the_emulator(tmp_path: Path) -> None:
    """Stages 0-1 on a tiny recording, two untrained exported models, then stage 6 alone."""
    pytest.importorskip("ale_py")
    from seqgan import save_model
    from seqgan.models.frame_gan import build_frame_gan

    recipe = copy_recipe(ATARI, tmp_path)
    data = ["--local_data_opts", "--num_episodes 3 --split 1,1,1 --max_frames 30"]
    r = run_script(["./run.sh", "--stop_stage", "1", *data], recipe, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    meta = {"task": "next_frame", "num_channels": 1, "context": 4, "num_actions": 18, "resize": []}
    for seed, name in enumerate(["train_pong_tiny", "train_pong_tiny_l1"]):
        torch.manual_seed(seed)
        generator, _ = build_frame_gan("tiny", num_channels=1, num_actions=18, patch_size=80)
        save_model(generator, recipe / "exp" / name / "model.safetensors", **meta)
    exp = recipe / "exp" / "train_pong_tiny"
    (exp / "RESULTS.md").write_text("# Results\n")
    r = run_script(
        ["./run.sh", "--stage", "6", "--rollout_starts", "5 12", "--steps", "2"], recipe, timeout=300
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    cf = json.loads((exp / "scores" / "test_pong" / "counterfactual.json").read_text())
    assert cf["num_cases"] == 2 and cf["steps"] == 2 and cf["actions"][:2] == ["NOOP", "FIRE"]
    assert set(cf["models"]) == {"GAN", "l1", "copy-last"}
    copy = cf["models"]["copy-last"]
    assert copy["identifiability"] == [0.0, 0.0] and all(math.isfinite(v) for v in copy["cf_psnr"])
    text = (exp / "RESULTS.md").read_text()
    assert "### Counterfactual evaluation against the emulator" in text and "| copy-last | 1 |" in text


# -- utils/vp_check_data.py -------------------------------------------------------------------------


def _episodes(root: Path, names: list[str], t: int = 12, size: int = 16, actions: bool = False) -> Path:
    rng = np.random.default_rng(0)
    entries = {}
    for name in names:
        frames = rng.integers(0, 255, size=(t, size, size, 1), dtype=np.uint8)
        acts = None
        if actions:
            acts = rng.integers(0, 3, size=t).astype(np.int64)
            acts[-1] = -1
        path = root / "episodes" / f"{name}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_episode(path, frames, actions=acts, meta={"num_actions": 3} if actions else {})
        entries[name] = str(path)
    scp = root / "episodes.scp"
    write_episodes_scp(scp, entries)
    return scp


def test_check_data_writes_lengths_and_stats(tmp_path: Path) -> None:
    check = _load("vp_check_data")
    a, b = tmp_path / "train", tmp_path / "test"
    _episodes(a, ["e1", "e2"], t=12)
    _episodes(b, ["e3"], t=9)
    assert check.main([str(a), str(b)]) == 0
    assert (a / "utt2num_frames").read_text() == "e1 12\ne2 12\n"
    assert (b / "utt2num_frames").read_text() == "e3 9\n"
    stats = json.loads((a / "stats.json").read_text())
    assert stats["num_episodes"] == 2 and stats["frame_shape"] == [16, 16, 1]


def test_check_data_reports_overlaps_shapes_and_broken_files(tmp_path: Path, capsys) -> None:
    check = _load("vp_check_data")
    a, b, c = tmp_path / "train", tmp_path / "dev", tmp_path / "test"
    _episodes(a, ["e1", "e2"])
    _episodes(b, ["e2"])  # the same id as in train
    _episodes(c, ["e4"], size=24)
    (c / "episodes" / "e4.npz").write_bytes(b"broken")
    assert check.main([str(a), str(b), str(c)]) == 1
    err = capsys.readouterr().err
    assert "id e2 is also in" in err and "must be disjoint" in err
    assert "episode e4" in err  # the broken file is named
    assert not (a / "utt2num_frames").exists()  # nothing written when a problem is found
    c2 = tmp_path / "other"
    _episodes(c2, ["e5"], size=24)
    assert check.main([str(a), str(c2)]) == 1
    assert "one frame shape" in capsys.readouterr().err


# -- utils/vp_results.py ----------------------------------------------------------------------------


def _fake_rollouts(exp: Path, starts: list[int], shift: int, steps: int = 3) -> None:
    """Rollouts of a ball moving 1 px per frame, predicted ``shift`` px off (0: perfect)."""
    for start in starts:
        out = exp / "rollouts" / "test" / f"start{start}"
        out.mkdir(parents=True)
        for e in range(2):
            frames = np.zeros((4 + steps, 16, 16, 1), np.uint8)
            for t in range(len(frames)):
                frames[t, 6:10, (t + e) % 12 : (t + e) % 12 + 4] = 255
            pred = np.roll(frames[4:], shift, axis=2)
            np.savez(out / f"ep{e}.npz", prediction=pred, ground_truth=frames[4:], context=frames[:4])
        (out / ".done").write_text("x")
    (exp / "config.yaml").write_text("data: {context: 4}\nloss: {adv_weight: 0.05, lp_weight: 1.0, p: 1.0}\n")


def test_results_tables_match_direct_metrics(tmp_path: Path) -> None:
    results = _load("vp_results")
    gan, base = tmp_path / "gan", tmp_path / "base"
    _fake_rollouts(gan, [0, 2], shift=0)
    _fake_rollouts(base, [0, 2], shift=1)
    argv = ["--exp", str(gan), "--baseline", str(base), "--starts", "0", "2", "--corpus", "balls", "test"]
    assert results.main(argv) == 0
    with open(gan / "scores" / "test" / "per_step.csv", newline="") as f:
        rows = {(r["model"], int(r["step"])): r for r in csv.DictReader(f)}
    assert float(rows[("GAN", 1)]["psnr"]) == 100.0  # perfect prediction: the cap
    assert float(rows[("GAN", 2)]["ssim"]) == pytest.approx(1.0)
    # the baseline is off by one pixel column of a 4-pixel-wide bar: 2 columns x 4 rows differ by 2
    mse = 8 * 2.0**2 / 256
    assert float(rows[("l1", 1)]["psnr"]) == pytest.approx(10 * math.log10(4 / mse), abs=1e-3)
    # copy-last: the bar has moved by one pixel per step since the last context frame
    assert float(rows[("copy-last", 1)]["psnr"]) == pytest.approx(10 * math.log10(4 / mse), abs=1e-3)
    assert float(rows[("copy-last", 3)]["psnr"]) < float(rows[("copy-last", 1)]["psnr"])
    assert rows[("GAN", 1)]["num_sequences"] == "4"
    md = (gan / "RESULTS.md").read_text()
    assert "balls 16x16 grey, 4 -> 3, 4 sequences" in md
    assert "0.05·adv" in md and (gan / "images" / "test_rollouts.gif").is_file()


# -- utils/action_sensitivity.py --------------------------------------------------------------------


class _PaintByAction(nn.Module):
    """A fake action-conditioned predictor: the last context frame with columns 4-5 set to the action's
    grey level (action a -> a * 0.5 - 1 in [-1, 1])."""

    context = 4
    num_channels = 1
    num_actions = 3

    def predict(self, context: torch.Tensor, actions: torch.Tensor | None) -> torch.Tensor:
        assert actions is not None
        out = context[:, -1].clone()
        out[..., 4:6] = (actions[:, -1].float() * 0.5 - 1.0)[:, None, None, None]
        return out


def test_action_sensitivity_measures_the_region(tmp_path: Path) -> None:
    sens = _load("action_sensitivity")
    from seqgan.predict import Predictor

    scp = _episodes(tmp_path, ["e1", "e2"], t=12, actions=True)
    predictor = Predictor(_PaintByAction(), {"context": 4, "num_channels": 1, "num_actions": 3})
    episodes = read_episodes_scp(scp)
    result = sens.measure(predictor, episodes, starts=[0, 4], horizons=[1, 2], region="4:6")
    assert result["num_contexts"] == 4 and result["num_actions"] == 3
    # pairs (0,1), (0,2), (1,2) differ by 0.5, 1.0, 0.5 in [-1, 1]: 63.75 grey levels on average
    for h in ("1", "2"):
        r = result["results"][h]
        assert r["region"] == pytest.approx(127.5 * 2 / 3, rel=1e-6)
        assert r["outside"] == pytest.approx(0.0, abs=1e-9)
        assert r["overall"] == pytest.approx(r["region"] * 2 / 16, rel=1e-6)
        assert r["pairs"][0][2] == pytest.approx(127.5, rel=1e-4)


def test_pong_region_follows_crop_and_resize() -> None:
    sens = _load("action_sensitivity")
    meta = {"game": "pong", "raw_frame_shape": [210, 160, 3], "params": {"crop": [34, 16, 0, 0]}}
    (y0, y1), (x0, x1), text = sens.auto_region(meta, (80, 80))
    assert (y0, y1, x0, x1) == (0, 80, 68, 74) and "paddle" in text
    (y0, y1), (x0, x1), _ = sens.auto_region({"game": "pong"}, (210, 160))  # the raw screen
    assert (x0, x1) == (136, 148) and (y0, y1) == (0, 210)
    assert sens.auto_region({"game": "breakout"}, (80, 80)) is None
    with pytest.raises(ValueError, match="inside"):
        sens.parse_region("0:90", (80, 80))
