"""seqgan.play (the dream, the emulator beside it, keys, scripted actions, recording) and `seqgan play`."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from seqgan import save_model
from seqgan.cli import main
from seqgan.models.frame_gan import build_frame_gan
from seqgan.play import (
    Dream,
    Emulator,
    GameSpec,
    KeyMap,
    PlayError,
    Recorder,
    Session,
    compose,
    parse_actions,
    play_scripted,
    resolve_spec,
    start_frames,
)
from seqgan.predict import Predictor

pytest.importorskip("ale_py")

PONG = ("NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE")
SPEC = GameSpec("pong", PONG)


def _world_model(path, size=80, num_actions=18, **meta):
    """A tiny untrained action-conditioned world model with Pong's metadata (``meta`` overrides it)."""
    torch.manual_seed(0)
    g, _ = build_frame_gan("tiny", num_channels=1, context=4, num_actions=num_actions)
    full = {
        "task": "next_frame",
        "context": 4,
        "num_channels": 1,
        "num_actions": num_actions,
        "frame_height": size,
        "frame_width": size,
        "value_range": [-1.0, 1.0],
        **SPEC.game_metadata(),
        **meta,
    }
    save_model(g, path, **{k: v for k, v in full.items() if v is not None})
    return str(path)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return _world_model(tmp_path_factory.mktemp("play") / "pong_tiny.safetensors")


class ShiftByAction(torch.nn.Module):
    """Predicts the last context frame plus 0.01 x (the action leading to it + 1); records the windows."""

    context, num_channels, num_actions = 2, 1, 6

    def __init__(self):
        super().__init__()
        self.windows = []

    def predict(self, context, actions):
        self.windows.append(actions[0].tolist())
        return context[:, -1] + 0.01 * (actions[:, -1].float() + 1).view(-1, 1, 1, 1)


# -- the dream ----------------------------------------------------------------------------------------


def test_dream_feeds_its_own_predictions_with_the_action_window_aligned():
    gen = ShiftByAction()
    frames = np.full((2, 4, 4, 1), 127, np.uint8)  # 127 -> -0.00392 in [-1, 1]
    dream = Dream(Predictor(gen), frames, [5])
    out = [dream.step(a) for a in (0, 3, 3)]
    # the window holds the K actions aligned with the context; its last one leads to the next frame
    assert gen.windows == [[5, 0], [0, 3], [3, 3]]
    x0 = 127 / 127.5 - 1
    expect = [x0 + 0.01, x0 + 0.01 + 0.04, x0 + 0.01 + 0.08]
    assert [int(f[0, 0, 0]) for f in out] == [int(round((v + 1) * 127.5)) for v in expect]
    assert dream.steps == 3
    dream.reset()
    assert dream.steps == 0 and np.array_equal(dream.frame, frames[-1])
    with pytest.raises(PlayError, match="outside the model's 6 actions"):
        dream.step(6)


def test_dream_needs_k_start_frames_and_k_minus_one_actions():
    with pytest.raises(PlayError, match="needs 2 start frames and 1 actions"):
        Dream(Predictor(ShiftByAction()), np.zeros((3, 4, 4, 1), np.uint8), [0, 0])


# -- keys and scripted actions --------------------------------------------------------------------------


def test_keymap_pong_up_and_down_move_the_paddle():
    keys = KeyMap(SPEC)
    assert keys.action([]) == PONG.index("NOOP")
    assert keys.action(["up"]) == PONG.index("RIGHT")  # Pong's paddle goes up with RIGHT
    assert keys.action(["down"]) == PONG.index("LEFT")
    assert keys.action(["up", "fire"]) == PONG.index("RIGHTFIRE")
    assert keys.action(["up", "down"]) == PONG.index("NOOP")  # opposite keys cancel
    assert keys.action(["fire"]) == PONG.index("FIRE")


def test_keymap_full_action_set_and_nearest_action():
    full = (
        "NOOP FIRE UP RIGHT LEFT DOWN UPRIGHT UPLEFT DOWNRIGHT DOWNLEFT UPFIRE RIGHTFIRE LEFTFIRE DOWNFIRE "
        "UPRIGHTFIRE UPLEFTFIRE DOWNRIGHTFIRE DOWNLEFTFIRE"
    ).split()
    keys = KeyMap(GameSpec("montezuma_revenge", tuple(full)))
    assert full[keys.action(["up", "right", "fire"])] == "UPRIGHTFIRE"
    assert full[keys.action(["down", "left"])] == "DOWNLEFT"
    breakout = KeyMap(GameSpec("breakout", ("NOOP", "FIRE", "RIGHT", "LEFT")))
    assert breakout.action(["up"]) == 0  # no UP in Breakout: NOOP
    assert breakout.action(["right", "fire"]) == 2  # no RIGHTFIRE: RIGHT


def test_parse_actions_names_indices_repeats_comments(tmp_path):
    f = tmp_path / "plan.txt"
    f.write_text("# a scripted session\nright*3, left  2\nnoop*2 # rest\nRIGHTFIRE\n")
    assert parse_actions(f, SPEC) == [2, 2, 2, 3, 2, 0, 0, 4]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RIGHT\nJUMP*2\n", r"plan.txt:2: action 'JUMP' is not one of pong's actions: 0 NOOP, 1 FIRE"),
        ("6\n", r"plan.txt:1: action 6 is not one of pong's actions"),
        ("RIGHT*x\n", r"plan.txt:1: cannot read 'RIGHT\*x'"),
        ("# nothing\n", r"plan.txt: no actions"),
    ],
)
def test_parse_actions_errors_name_file_line_and_choices(tmp_path, text, message):
    f = tmp_path / "plan.txt"
    f.write_text(text)
    with pytest.raises(PlayError, match=message):
        parse_actions(f, SPEC)


def test_parse_actions_missing_file(tmp_path):
    with pytest.raises(PlayError, match="no such action file"):
        parse_actions(tmp_path / "nope.txt", SPEC)


# -- the game and the model ------------------------------------------------------------------------------


def test_emulator_frames_as_recorded_and_the_paddle_follows_the_action():
    emu = Emulator(SPEC)
    first = emu.reset()
    assert first.shape == (80, 80, 1) and first.dtype == np.uint8
    for _ in range(8):
        up = emu.step(PONG.index("RIGHT"))
    emu.reset()
    for _ in range(8):
        down = emu.step(PONG.index("LEFT"))
    paddle = slice(68, 74)  # the player's paddle columns in 80x80 frames
    assert np.abs(up[:, paddle].astype(int) - down[:, paddle]).sum() > 0
    frames, actions = start_frames(4, emulator=emu)
    assert frames.shape == (4, 80, 80, 1) and actions.tolist() == [0, 0, 0]


def test_resolve_spec_reads_the_stored_game(model):
    spec = resolve_spec(Predictor.from_pretrained(model).metadata, None)
    assert spec == SPEC
    assert resolve_spec(Predictor.from_pretrained(model).metadata, "Pong") == SPEC


@pytest.mark.parametrize(
    ("meta", "game", "message"),
    [
        ({"game": "breakout"}, "pong", "was trained on breakout, not pong"),
        ({"game": None}, None, "does not say which game"),
        ({"game": None}, "pongg", "unknown Atari game 'pongg'"),
        (
            {"frame_height": 64, "frame_width": 64},
            "pong",
            "predicts 64x64 frames but pong is recorded at 80x80",
        ),
        ({"num_actions": 0}, "pong", "not action-conditioned"),
        ({"num_actions": 4}, "pong", "knows 4 actions but pong has 6"),
        ({"action_meanings": ["NOOP", "FIRE"]}, "pong", "trained with the actions NOOP, FIRE"),
    ],
)
def test_resolve_spec_refuses_a_model_of_another_game_size_or_action_set(meta, game, message):
    base = {
        "num_actions": 18,
        "num_channels": 1,
        "frame_height": 80,
        "frame_width": 80,
        **SPEC.game_metadata(),
    }
    with pytest.raises(PlayError, match=message):
        resolve_spec({**base, **meta}, game)


# -- what is shown and saved ------------------------------------------------------------------------------


def test_compose_upscales_and_puts_the_real_game_left():
    dream = np.full((3, 5, 1), 200, np.uint8)
    real = np.full((3, 5, 1), 10, np.uint8)
    one = compose(dream, scale=2)
    assert one.shape == (6, 10, 3) and (one == 200).all()
    two = compose(dream, real, scale=2, gap=1)
    assert two.shape == (6, 21, 3)
    assert (two[:, :10] == 10).all() and (two[:, 10] == 255).all() and (two[:, 11:] == 200).all()


def test_recorder_refuses_other_formats_and_mp4_without_ffmpeg(tmp_path, monkeypatch):
    with pytest.raises(PlayError, match="write a .gif"):
        Recorder(tmp_path / "x.avi", 15)
    monkeypatch.setattr("seqgan.play.shutil.which", lambda name: None)
    with pytest.raises(PlayError, match="mp4 needs the ffmpeg program"):
        Recorder(tmp_path / "x.mp4", 15)
    with pytest.raises(PlayError, match="nothing was played"):
        Recorder(tmp_path / "x.gif", 15).close()


def _fake_ffmpeg(bin_dir, exit_code: int = 0) -> None:
    """An ``ffmpeg`` on PATH that copies its raw stdin to the output (its last argument) and logs its
    arguments, or fails."""
    bin_dir.mkdir()
    script = bin_dir / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{bin_dir}/args"\n'
        f"[ {exit_code} -eq 0 ] || {{ echo 'Unknown encoder' >&2; exit {exit_code}; }}\n"
        'for last; do :; done\ncat > "$last"\n'
    )
    script.chmod(0o755)


def test_recorder_pipes_every_frame_to_ffmpeg_for_mp4(tmp_path, monkeypatch):
    _fake_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    rec = Recorder(tmp_path / "out" / "session.mp4", 15)
    frames = [np.full((6, 10, 3), i, np.uint8) for i in range(3)]
    for f in frames:
        rec.add(f)
    assert rec.close() == tmp_path / "out" / "session.mp4"
    assert (tmp_path / "out" / "session.mp4").read_bytes() == b"".join(f.tobytes() for f in frames)
    args = (tmp_path / "bin" / "args").read_text().split()
    assert args[args.index("-s") + 1] == "10x6" and args[args.index("-r") + 1] == "15"
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / "session.mp4"]  # no partial file


def test_recorder_reports_an_ffmpeg_failure_and_leaves_nothing(tmp_path, monkeypatch):
    _fake_ffmpeg(tmp_path / "bin", exit_code=1)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    rec = Recorder(tmp_path / "session.mp4", 15)
    rec.add(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(PlayError, match="ffmpeg failed: Unknown encoder"):
        rec.close()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("session")]


def test_play_scripted_records_every_frame_and_the_dream_changes(model, tmp_path):
    predictor = Predictor.from_pretrained(model)
    emu = Emulator(SPEC)
    frames, acts = start_frames(4, emulator=emu)
    session = Session(Dream(predictor, frames, acts), emu, scale=2, real=frames[-1])
    rec = Recorder(tmp_path / "s.gif", 10)
    last = play_scripted(session, [2] * 5 + [3] * 5, rec, tmp_path / "s.png")
    assert last.shape == (160, 324, 3)
    with Image.open(tmp_path / "s.gif") as gif:
        assert gif.n_frames == 11 and gif.size == (324, 160)
    with Image.open(tmp_path / "s.png") as png:
        assert png.size == (324, 160)
    assert np.abs(rec.frames[0][:, 164:].astype(int) - last[:, 164:]).mean() > 0.5  # the dream moved


# -- the command -----------------------------------------------------------------------------------------


def _plan(tmp_path, text="RIGHT*6 LEFT*6 FIRE NOOP*2\n", name="plan.txt"):
    f = tmp_path / name
    f.write_text(text)
    return str(f)


def test_cli_headless_compare_writes_gif_and_screenshot(model, tmp_path, capsys):
    gif, png = tmp_path / "out.gif", tmp_path / "last.png"
    args = ["play", "pong", "-m", model, "--headless", "--actions", _plan(tmp_path), "--compare"]
    assert main([*args, "--record", str(gif), "--screenshot", str(png), "--scale", "3"]) == 0
    assert "played 15 steps of pong" in capsys.readouterr().out
    with Image.open(png) as im:
        assert im.size == (80 * 3 * 2 + 4, 80 * 3)
    with Image.open(gif) as im:
        assert im.n_frames == 16
        im.seek(0)
        first = np.asarray(im.convert("RGB"))
        im.seek(15)
        last = np.asarray(im.convert("RGB"))
    real = slice(0, 240)
    assert np.abs(first[:, real].astype(int) - last[:, real]).sum() > 0  # the real paddle moved


def test_cli_steps_cut_the_script(model, tmp_path, capsys):
    assert main(["play", "-m", model, "--headless", "--actions", _plan(tmp_path), "--steps", "4"]) == 0
    assert "played 4 steps of pong" in capsys.readouterr().out


def test_cli_starts_from_a_recorded_episode(model, tmp_path, capsys):
    from seqgan.data.episodes import write_episode

    rng = np.random.default_rng(0)
    ep = tmp_path / "ep.npz"
    write_episode(ep, rng.integers(0, 256, (6, 80, 80, 1), dtype=np.uint8), actions=[2, 3, 2, 3, 2, -1])
    shot = tmp_path / "s.png"
    args = [
        "play",
        "pong",
        "-m",
        model,
        "--headless",
        "--actions",
        _plan(tmp_path, "2 2"),
        "--start",
        str(ep),
    ]
    assert main([*args, "--start-frame", "1", "--screenshot", str(shot)]) == 0
    with Image.open(shot) as im:
        assert im.size == (320, 320)
    small = tmp_path / "small.npz"
    write_episode(small, rng.integers(0, 256, (6, 40, 40, 1), dtype=np.uint8), actions=[0] * 5 + [-1])
    capsys.readouterr()
    assert (
        main(["play", "pong", "-m", model, "--headless", "--actions", _plan(tmp_path), "--start", str(small)])
        == 2
    )
    assert "its frames are 40x40 but the model plays 80x80" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["pongg"], "unknown Atari game 'pongg'"),
        (["breakout"], "no world model for breakout ships with seqgan"),
        (["pong", "-m", "MISSING"], "no such model file"),
        (["pong", "-m", "OTHER_GAME"], "was trained on breakout, not pong"),
        (["pong", "-m", "OTHER_SIZE"], "predicts 40x40 frames but pong is recorded at 80x80"),
        (["pong", "-m", "MODEL", "--actions", "BAD_ACTIONS"], "action 'UPFIRE' is not one of pong's actions"),
        (["pong", "-m", "MODEL", "--headless"], "--headless needs --actions FILE"),
        (["pong", "-m", "MODEL", "--compare", "--start", "x.npz"], "drop --start"),
        (["pong", "-m", "MODEL", "--actions", "PLAN", "--headless", "--record", "x.avi"], "write a .gif"),
    ],
)
def test_cli_bad_input_is_one_line_and_a_nonzero_exit(model, tmp_path, capsys, extra, message):
    paths = {
        "MISSING": str(tmp_path / "missing.safetensors"),
        "OTHER_GAME": _world_model(tmp_path / "breakout.safetensors", game="breakout", action_meanings=None),
        "OTHER_SIZE": _world_model(tmp_path / "small.safetensors", size=40, game_size=None),
        "MODEL": model,
        "BAD_ACTIONS": _plan(tmp_path, "RIGHT UPFIRE\n", "bad.txt"),
        "PLAN": _plan(tmp_path),
    }
    code = main(["play", *[paths.get(a, a) for a in extra]])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert message in err and len(err.splitlines()) == 1, err


# -- the window (SDL's dummy driver) ----------------------------------------------------------------------


@pytest.fixture
def dummy_display(monkeypatch):
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")


def test_window_plays_a_script_and_saves_the_screenshot(model, tmp_path, dummy_display, capsys):
    shot, gif = tmp_path / "w.png", tmp_path / "w.gif"
    args = ["play", "pong", "-m", model, "--actions", _plan(tmp_path), "--fps", "1000", "--compare"]
    assert main([*args, "--screenshot", str(shot), "--record", str(gif), "--scale", "2"]) == 0
    assert "played 15 steps" in capsys.readouterr().out
    with Image.open(shot) as im:
        assert im.size == (80 * 2 * 2 + 4, 160)
    with Image.open(gif) as im:
        assert im.n_frames == 16


def test_window_keyboard_mode_stops_after_steps(model, tmp_path, dummy_display):
    from seqgan.play_window import run_window

    predictor = Predictor.from_pretrained(model)
    frames, acts = start_frames(4, emulator=Emulator(SPEC))
    session = Session(Dream(predictor, frames, acts), scale=1)
    result = run_window(session, KeyMap(SPEC), fps=1000, screenshot=tmp_path / "k.png", max_steps=3)
    assert result["steps"] == 3 and session.dream.steps == 3  # no key held: NOOP each step
    with Image.open(tmp_path / "k.png") as im:
        assert im.size == (80, 80)


# -- the benchmark ---------------------------------------------------------------------------------------


def test_play_fps_bench_prints_the_promised_fields(model, monkeypatch, capsys):
    import importlib.util
    import json
    from pathlib import Path

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    path = Path(__file__).resolve().parents[1] / "bench" / "play_fps.py"
    spec = importlib.util.spec_from_file_location("bench_play_fps", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--model", model, "--steps", "6"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["game"] == "pong" and out["frame"] == [80, 80, 1] and out["threads"] == 1
    for key in ("dream_fps", "compare_fps", "dream_cpu_fps", "compare_cpu_fps"):
        assert out[key] > 0, key
