"""Episode files, episodes.scp, splits / stats and the training-window datasets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqgan.data.episodes import (
    EpisodeError,
    episode_length,
    episode_stats,
    read_episode,
    read_episodes_scp,
    split_episodes,
    write_episode,
    write_episodes_scp,
)
from seqgan.data.frames import FrameSequences, FrameWindows, resize_frames, to_grayscale


def _frames(t: int, h: int = 8, w: int = 8, c: int = 1, offset: int = 0) -> np.ndarray:
    """Frame t is filled with the value offset + t (so windows can be checked by value)."""
    return np.broadcast_to((offset + np.arange(t, dtype=np.uint8))[:, None, None, None], (t, h, w, c)).copy()


def _make_set(tmp_path, lengths, actions=False, terminated=None, h=8, w=8, c=1):
    entries = {}
    for i, t in enumerate(lengths):
        path = tmp_path / "eps" / f"ep{i}.npz"
        acts = None
        if actions:
            acts = (np.arange(t) % 3).astype(np.int64)
            acts[-1] = -1
        term = None if terminated is None else terminated[i]
        if term is not None and acts is not None:
            acts[np.asarray(term)] = -1
        write_episode(path, _frames(t, h, w, c, offset=10 * i), actions=acts, terminated=term, meta={"i": i})
        entries[f"ep{i}"] = str(path)
    write_episodes_scp(tmp_path / "episodes.scp", entries)
    return tmp_path / "episodes.scp"


# -- episode files ------------------------------------------------------------------------------------


def test_roundtrip_and_meta(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 6, 7, 3), dtype=np.uint8)
    actions = np.array([0, 2, 1, 1, -1])
    rewards = np.array([0.0, 1.0, 0.0, -1.0, 0.0])
    term = np.array([False, False, False, False, True])
    write_episode(
        tmp_path / "a.npz", frames, actions, rewards, term, meta={"source": "test", "num_actions": 3}
    )
    ep = read_episode(tmp_path / "a.npz")
    np.testing.assert_array_equal(ep.frames, frames)
    assert ep.actions.dtype == np.int64 and ep.actions.tolist() == actions.tolist()
    assert ep.rewards.dtype == np.float32 and ep.rewards.tolist() == rewards.tolist()
    assert ep.terminated.tolist() == term.tolist()
    assert ep.meta["source"] == "test" and ep.meta["format"] == 1 and "numpy" in ep.meta["versions"]
    assert ep.num_actions == 3 and ep.frame_shape == (6, 7, 3)
    # Loads with plain numpy and no pickle; the meta is a 0-d unicode array.
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert z["meta"].shape == () and json.loads(str(z["meta"]))["source"] == "test"
    # Header-only read and length.
    light = read_episode(tmp_path / "a.npz", load_frames=False)
    assert light.frames.shape == (0, 6, 7, 3) and episode_length(tmp_path / "a.npz") == 5


def test_write_is_deterministic_and_atomic(tmp_path):
    frames = _frames(4)
    write_episode(tmp_path / "a.npz", frames, meta={"x": 1})
    write_episode(tmp_path / "b.npz", frames, meta={"x": 1})
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npz"]  # no temporary files left
    # A rejected episode leaves nothing behind and the old file untouched.
    before = (tmp_path / "a.npz").read_bytes()
    with pytest.raises(EpisodeError, match="uint8"):
        write_episode(tmp_path / "a.npz", frames.astype(np.float32))
    assert (tmp_path / "a.npz").read_bytes() == before


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"actions": [0, 1]}, "shape"),
        ({"actions": [0, -1, 1, -1]}, "neither last nor terminal"),
        ({"actions": [0, -2, 1, -1]}, ">= 0"),
        ({"actions": [0.5, 1, 1, 1]}, "integers"),
        ({"meta": {"bad": object()}}, "JSON"),
    ],
)
def test_write_rejects_bad_input(tmp_path, kwargs, message):
    with pytest.raises(EpisodeError, match=message):
        write_episode(tmp_path / "x.npz", _frames(4), **kwargs)


def test_broken_files_are_named(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(EpisodeError, match="junk.npz"):
        read_episode(junk)
    write_episode(tmp_path / "ok.npz", _frames(30, 16, 16), meta={})
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(EpisodeError, match="cut.npz"):
        read_episode(tmp_path / "cut.npz")
    np.savez(tmp_path / "nometa.npz", frames=_frames(3))
    with pytest.raises(EpisodeError, match=r"nometa.npz: missing array\(s\) \['meta'\]"):
        read_episode(tmp_path / "nometa.npz")
    with pytest.raises(EpisodeError, match="not found"):
        read_episode(tmp_path / "absent.npz")


def test_scp_sorted_and_refuses_pipes(tmp_path):
    write_episodes_scp(tmp_path / "e.scp", {"b": "/x/b.npz", "a": "/x/a.npz"})
    assert (tmp_path / "e.scp").read_text().splitlines() == ["a /x/a.npz", "b /x/b.npz"]
    assert read_episodes_scp(tmp_path / "e.scp") == {"a": "/x/a.npz", "b": "/x/b.npz"}
    (tmp_path / "p.scp").write_text("a gunzip -c x.npz |\n")
    with pytest.raises(EpisodeError, match="pipe|'\\|'"):
        read_episodes_scp(tmp_path / "p.scp")
    with pytest.raises(EpisodeError):
        write_episodes_scp(tmp_path / "bad.scp", {"a b": "x"})


# -- splits and statistics ------------------------------------------------------------------------------


def test_split_deterministic_disjoint_with_stats(tmp_path):
    scp = _make_set(tmp_path, [5] * 10, actions=True)
    a = split_episodes(scp, tmp_path / "data", sizes=(0.6, 0.2, 0.2), seed=3)
    b = split_episodes(scp, tmp_path / "data2", sizes=(0.6, 0.2, 0.2), seed=3)
    assert a == b and [len(a[k]) for k in ("train", "dev", "test")] == [6, 2, 2]
    assert sorted(sum(a.values(), [])) == sorted(read_episodes_scp(scp))
    assert split_episodes(scp, tmp_path / "data3", sizes=(0.6, 0.2, 0.2), seed=4) != a
    stats = json.loads((tmp_path / "data" / "dev" / "stats.json").read_text())
    assert stats["frame_shape"] == [8, 8, 1] and stats["num_episodes"] == 2 and stats["num_frames"] == 10
    assert stats["num_actions"] == 3 and stats["has_actions"]
    # Check the mean/std against a direct computation over the dev episodes.
    paths = [read_episodes_scp(scp)[k] for k in a["dev"]]
    allpix = np.concatenate([read_episode(p).frames.ravel() for p in paths]).astype(np.float64)
    assert stats["mean"][0] == pytest.approx(allpix.mean()) and stats["std"][0] == pytest.approx(allpix.std())
    assert stats["mean_pm1"][0] == pytest.approx(allpix.mean() / 127.5 - 1)
    # Counts; a tiny corpus still gets one dev and one test episode.
    c = split_episodes(scp, tmp_path / "d4", sizes=(7, 2, 1), seed=0)
    assert [len(c[k]) for k in ("train", "dev", "test")] == [7, 2, 1]
    small = split_episodes(list(read_episodes_scp(scp).values())[:3], tmp_path / "d5", seed=0)
    assert [len(small[k]) for k in ("train", "dev", "test")] == [1, 1, 1]
    with pytest.raises(EpisodeError, match="sum to 1"):
        split_episodes(scp, tmp_path / "d6", sizes=(0.5, 0.2, 0.2))


def test_stats_reject_mixed_shapes(tmp_path):
    write_episode(tmp_path / "a.npz", _frames(3, 8, 8))
    write_episode(tmp_path / "b.npz", _frames(3, 8, 9))
    with pytest.raises(EpisodeError, match="b.npz"):
        episode_stats([tmp_path / "a.npz", tmp_path / "b.npz"])


# -- windows ------------------------------------------------------------------------------------------


def test_windows_values_and_episode_boundaries(tmp_path):
    scp = _make_set(tmp_path, [7, 4, 9])
    ds = FrameWindows(scp, context=3, horizon=2)
    # Episode lengths 7, 4, 9 with 5-frame windows: 3 + 0 + 5 windows.
    assert len(ds) == 8 and ds.frame_shape == (1, 8, 8) and not ds.has_actions
    for i in range(len(ds)):
        item = ds[i]
        assert item["context"].shape == (3, 1, 8, 8) and item["target"].shape == (2, 1, 8, 8)
        assert item["context"].dtype == torch.float32 and "actions" not in item
        values = torch.cat([item["context"], item["target"]])[:, 0, 0, 0]
        expected = (10 * item["episode"] + item["start"] + torch.arange(5)).float() / 127.5 - 1
        torch.testing.assert_close(values, expected)  # consecutive frames of one episode
    assert ds[(2, 5)]["start"] == 2 and ds[2]["episode"] == 0


def test_windows_do_not_cross_terminal_frames(tmp_path):
    term = np.zeros(10, bool)
    term[4] = True  # frames 0..4 and 5..9 are separate segments
    scp = _make_set(tmp_path, [10], actions=True, terminated=[term])
    ds = FrameWindows(scp, context=2, horizon=1)
    starts = sorted(ds[i]["start"] for i in range(len(ds)))
    assert starts == [0, 1, 2, 5, 6, 7]


def test_window_actions_alignment(tmp_path):
    scp = _make_set(tmp_path, [6], actions=True)  # actions[t] = t % 3, last = -1
    ds = FrameWindows(scp, context=2, horizon=2)
    assert ds.has_actions and ds.num_actions == 3
    first = ds[0]
    # actions[K-1+s] leads from window frame K-1+s to K+s: frame 1 -> 2 uses episode action 1.
    assert first["actions"].dtype == torch.int64 and first["actions"].tolist() == [0, 1, 2, 0]
    last = ds[len(ds) - 1]  # ends at the final frame, whose action is -1 -> 0 in the unused last slot
    assert last["start"] == 2 and last["actions"].tolist() == [2, 0, 1, 0]


def test_patches_same_location_seeded_and_motion(tmp_path):
    rng = np.random.default_rng(0)
    # Static noise background; motion only in the top-left 6x6 corner between frames 3 and 4.
    base = rng.integers(0, 256, (1, 24, 24, 1), dtype=np.uint8).repeat(8, 0)
    base[4:, :6, :6] = 255 - base[4:, :6, :6]
    write_episode(tmp_path / "m.npz", base)
    write_episodes_scp(tmp_path / "m.scp", {"m": str(tmp_path / "m.npz")})
    ds = FrameWindows(tmp_path / "m.scp", context=4, horizon=1, patch_size=8)
    a, b = ds[(0, 1)], ds[(0, 1)]
    torch.testing.assert_close(a["context"], b["context"])
    assert a["context"].shape == (4, 1, 8, 8)
    full = torch.from_numpy(base).permute(0, 3, 1, 2).float() / 127.5 - 1
    # Locate the crop in frame 0 and check every frame uses the same location.
    found = [
        (y, x)
        for y in range(17)
        for x in range(17)
        if torch.equal(full[0, :, y : y + 8, x : x + 8], a["context"][0])
    ]
    assert len(found) == 1
    y, x = found[0]
    torch.testing.assert_close(a["target"][0], full[4, :, y : y + 8, x : x + 8])
    # With a motion threshold every drawn patch overlaps the moving corner.
    moving = FrameWindows(
        tmp_path / "m.scp", context=4, horizon=1, patch_size=8, min_motion=1e-3, motion_tries=200
    )
    for seed in range(20):
        item = moving[(0, seed)]
        assert (item["target"][0] - item["context"][-1]).abs().max() > 0


def test_grayscale_resize_and_lazy_loading(tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (6, 16, 12, 3), dtype=np.uint8)
    write_episode(tmp_path / "c.npz", frames)
    write_episodes_scp(tmp_path / "c.scp", {"c": str(tmp_path / "c.npz")})
    eager = FrameWindows(tmp_path / "c.scp", context=2, grayscale=True, resize=(8, 6))
    lazy = FrameWindows(tmp_path / "c.scp", context=2, grayscale=True, resize=(8, 6), in_memory=False)
    assert eager.frame_shape == lazy.frame_shape == (1, 8, 6) and len(eager) == len(lazy) == 4
    torch.testing.assert_close(eager[3]["context"], lazy[3]["context"])
    gray = to_grayscale(frames)
    assert gray[0, 0, 0, 0] == round(
        0.299 * frames[0, 0, 0, 0] + 0.587 * frames[0, 0, 0, 1] + 0.114 * frames[0, 0, 0, 2]
    )
    # Halving a constant image keeps the constant.
    const = np.full((1, 8, 8, 1), 77, np.uint8)
    assert (resize_frames(const, (4, 4)) == 77).all()


def test_sequences_for_rollouts(tmp_path):
    scp = _make_set(tmp_path, [20, 9], actions=True)
    seqs = FrameSequences(scp, context=4, horizon=5)
    # Non-overlapping by default: starts 0, 9 in the first episode; 0 in the second.
    assert [(seqs[i]["episode"], seqs[i]["start"]) for i in range(len(seqs))] == [(0, 0), (0, 9), (1, 0)]
    item = seqs[1]
    assert item["target"].shape == (5, 1, 8, 8) and item["actions"].shape == (9,)
    assert len(FrameSequences(scp, context=4, horizon=5, max_per_episode=1)) == 2


# -- emulator branches ---------------------------------------------------------------------------------


def _branch_set(tmp_path, t=6, num_actions=3, steps=2):
    """One episode whose branch frame for (t, a, s) holds 100 + 40 s + 10 a + t, so a target names its
    branch."""
    frames = _frames(t)
    acts = (np.arange(t) % num_actions).astype(np.int64)
    acts[-1] = -1
    values = (
        100
        + 40 * np.arange(steps)[None, None, :]
        + 10 * np.arange(num_actions)[None, :, None]
        + np.arange(t)[:, None, None]
    )
    branches = np.broadcast_to(
        values.astype(np.uint8)[..., None, None, None], (t, num_actions, steps, 8, 8, 1)
    ).copy()
    path = tmp_path / "eps" / "ep0.npz"
    write_episode(path, frames, actions=acts, meta={"num_actions": num_actions}, branches=branches)
    write_episodes_scp(tmp_path / "episodes.scp", {"ep0": str(path)})
    return tmp_path / "episodes.scp", path, branches


def test_branches_roundtrip_and_checks(tmp_path):
    scp, path, branches = _branch_set(tmp_path)
    assert read_episode(path).branches is None  # not read unless asked
    np.testing.assert_array_equal(read_episode(path, load_branches=True).branches, branches)
    assert read_episode(path, load_frames=False, load_branches=True).branches.shape == branches.shape
    with pytest.raises(EpisodeError, match="branches.*uint8"):
        write_episode(tmp_path / "bad.npz", _frames(6), actions=np.zeros(6, np.int64), branches=branches[:5])
    with pytest.raises(EpisodeError, match="needs 'actions'"):
        write_episode(tmp_path / "bad.npz", _frames(6), branches=branches)
    with pytest.raises(EpisodeError, match="3 actions, the episode has 4"):
        write_episode(
            tmp_path / "b4.npz",
            _frames(6),
            actions=np.zeros(6, np.int64),
            branches=branches,
            meta={"num_actions": 4},
        )
        read_episode(tmp_path / "b4.npz", load_branches=True)
    assert not (tmp_path / "bad.npz").exists()


def test_windows_branch_targets(tmp_path):
    scp, _, _ = _branch_set(tmp_path)
    plain = FrameWindows(scp, context=2, horizon=1)
    always = FrameWindows(scp, context=2, horizon=1, branch_prob=1.0)
    half = FrameWindows(scp, context=2, horizon=1, branch_prob=0.5)
    for i in range(len(always)):
        item = always[(i, 3)]
        t_last = item["start"] + 1
        a = int(item["actions"][1])  # the drawn action, in the slot that leads to the target
        value = round((float(item["target"][0, 0, 0, 0]) + 1) * 127.5)
        assert value == 100 + 10 * a + t_last  # the branch of that action from the last context frame
        torch.testing.assert_close(item["context"], plain[i]["context"])
        assert item["actions"][0] == plain[i]["actions"][0]  # the context's own action is kept
    drawn = [int(always[(i, s)]["actions"][1]) for i in range(len(always)) for s in range(20)]
    assert set(drawn) == {0, 1, 2}  # every action is drawn
    kinds = [
        round((float(half[(i, s)]["target"][0, 0, 0, 0]) + 1) * 127.5) >= 100
        for i in range(4)
        for s in range(25)
    ]
    assert 0.3 < np.mean(kinds) < 0.7
    torch.testing.assert_close(half[(2, 7)]["target"], half[(2, 7)]["target"])  # seeded
    # two-step windows: the drawn action held for both target frames
    held = FrameWindows(scp, context=2, horizon=2, branch_prob=1.0)
    item = held[(1, 5)]
    a = int(item["actions"][1])
    assert item["actions"][1:].tolist() == [a, a, a]  # the last slot predicts nothing
    values = [round((float(item["target"][j, 0, 0, 0]) + 1) * 127.5) for j in range(2)]
    assert values == [100 + 10 * a + item["start"] + 1, 140 + 10 * a + item["start"] + 1]


def test_windows_branches_refused_where_they_cannot_work(tmp_path):
    scp, _, _ = _branch_set(tmp_path)
    with pytest.raises(EpisodeError, match="ep0.npz: its branches hold 2 step.*--branch-steps 3"):
        FrameWindows(scp, context=2, horizon=3, branch_prob=0.5)
    with pytest.raises(ValueError, match="in memory"):
        FrameWindows(scp, context=2, branch_prob=0.5, in_memory=False)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        FrameWindows(scp, context=2, branch_prob=1.5)
    plain = _make_set(tmp_path / "plain", [6], actions=True)
    with pytest.raises(EpisodeError, match="ep0.npz: no 'branches'.*--branches"):
        FrameWindows(plain, context=2, branch_prob=0.5)


def test_windows_action_masks_mark_the_pixels_the_action_decides(tmp_path):
    frames = np.zeros((5, 8, 8, 1), np.uint8)
    acts = np.array([0, 1, 0, 1, -1])
    branches = np.zeros((5, 2, 1, 8, 8, 1), np.uint8)
    branches[:, 1, 0, 2:4, 5] = 200  # action 1 lights two pixels that action 0 leaves dark
    path = tmp_path / "ep.npz"
    write_episode(path, frames, actions=acts, meta={"num_actions": 2}, branches=branches)
    write_episodes_scp(tmp_path / "episodes.scp", {"ep": str(path)})
    ds = FrameWindows(tmp_path / "episodes.scp", context=2, action_masks=True)
    mask = ds[0]["action_mask"]
    assert mask.shape == (1, 1, 8, 8) and mask.dtype == torch.float32
    assert mask.sum() == 2 and mask[0, 0, 2, 5] == 1 and mask[0, 0, 3, 5] == 1
    assert ds[0]["target"].shape == (1, 1, 8, 8)  # the mask is not a target frame
    patched = FrameWindows(tmp_path / "episodes.scp", context=2, action_masks=True, patch_size=4)
    item = patched[(0, 1)]
    assert item["action_mask"].shape == (1, 1, 4, 4) and item["target"].shape == (1, 1, 4, 4)
