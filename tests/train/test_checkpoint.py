"""Checkpoints: atomic rotation (last.pt, previous.pt), one-line errors, resume from the previous one."""

import logging

import pytest
import torch

from seqgan.config import load_config
from seqgan.tasks.toy import ToyTask
from seqgan.train import checkpoint as ckpt
from seqgan.train.trainer import Trainer

FAST = [
    "train.batch_size=32",
    "train.log_interval=3",
    "train.progress=lines",
    "train.optim_g.lr=1e-3",
    "train.optim_d.lr=1e-3",
    "train.ema_decay=0.9",
]


def _state(step: int) -> dict:
    return {
        "format_version": ckpt.FORMAT_VERSION,
        "step": step,
        "models": {"g": {"w": torch.full((3,), step)}},
    }


def _truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_save_keeps_the_previous_checkpoint(tmp_path):
    last = ckpt.last_path(tmp_path)
    for step in (1, 2, 3):
        ckpt.save_checkpoint(_state(step), last)
    assert ckpt.read_checkpoint(tmp_path)["step"] == 3  # an experiment folder means its last.pt
    assert ckpt.read_checkpoint(ckpt.previous_path(tmp_path))["step"] == 2
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.pt", "previous.pt"]  # no temporaries
    ckpt.save_checkpoint(_state(4), last, keep_previous=False)
    assert ckpt.read_checkpoint(ckpt.previous_path(tmp_path))["step"] == 2


def test_unreadable_checkpoints_give_one_line_naming_the_file(tmp_path):
    last = ckpt.last_path(tmp_path)
    ckpt.save_checkpoint(_state(1), last)
    _truncate(last)
    with pytest.raises(ckpt.CheckpointError) as e:
        ckpt.read_checkpoint(last)
    assert str(last) in str(e.value) and "\n" not in str(e.value) and "truncated" in str(e.value)
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(ckpt.CheckpointError, match="other.pt: not a seqgan training checkpoint"):
        ckpt.read_checkpoint(tmp_path / "other.pt")
    with pytest.raises(ckpt.CheckpointError, match="nowhere: no such checkpoint"):
        ckpt.read_checkpoint(tmp_path / "nowhere")
    with pytest.raises(ckpt.CheckpointError, match="newer than this seqgan"):
        torch.save({**_state(1), "format_version": ckpt.FORMAT_VERSION + 1}, tmp_path / "new.pt")
        ckpt.read_checkpoint(tmp_path / "new.pt")


def test_resume_falls_back_to_the_previous_checkpoint(tmp_path, caplog):
    assert ckpt.find_resume_checkpoint(tmp_path) is None  # nothing there: a fresh start
    last, previous = ckpt.last_path(tmp_path), ckpt.previous_path(tmp_path)
    ckpt.save_checkpoint(_state(1), last)
    ckpt.save_checkpoint(_state(2), last)
    _truncate(last)
    with caplog.at_level(logging.WARNING, logger="seqgan.train.checkpoint"):
        state, path = ckpt.find_resume_checkpoint(tmp_path)
    assert (state["step"], path) == (1, previous)
    assert "last.pt: cannot read" in caplog.text and "resuming from" in caplog.text
    last.unlink()  # interrupted between the two renames of a save: only previous.pt is there
    assert ckpt.find_resume_checkpoint(tmp_path)[1] == previous
    _truncate(previous)
    last.write_bytes(b"not a checkpoint")
    with pytest.raises(ckpt.CheckpointError) as e:
        ckpt.find_resume_checkpoint(tmp_path)
    message = str(e.value)
    assert str(last) in message and str(previous) in message and "\n" not in message


def _trainer(exp, *overrides):
    return Trainer(ToyTask(load_config(None, FAST + list(overrides), task="toy")), exp)


def test_truncated_last_checkpoint_resumes_from_the_previous_one_exactly(tmp_path, caplog):
    overrides = ["train.max_steps=9", "train.save_interval=3", "train.n_critic=2"]
    straight = _trainer(tmp_path / "a", *overrides)
    straight.fit()
    exp = tmp_path / "b"
    _trainer(exp, *overrides).fit(stop_at=6)  # saves at steps 3 and 6
    assert ckpt.read_checkpoint(ckpt.previous_path(exp))["step"] == 3
    assert ckpt.read_checkpoint(exp)["step"] == 6
    _truncate(ckpt.last_path(exp))
    resumed = _trainer(exp, *overrides)
    with caplog.at_level(logging.WARNING):
        resumed.fit()
    assert "resuming from" in caplog.text and "previous.pt (step 3)" in caplog.text
    assert resumed.step == 9
    a, b = straight.state_dict(), resumed.state_dict()
    for part in ("models", "optimizers"):
        for net in a[part]:
            sd_a, sd_b = a[part][net], b[part][net]
            if part == "optimizers":
                sd_a, sd_b = sd_a["state"], sd_b["state"]
                sd_a = {k: v for s in sd_a.values() for k, v in s.items()}
                sd_b = {k: v for s in sd_b.values() for k, v in s.items()}
            assert sd_a.keys() == sd_b.keys()
            for key in sd_a:
                assert torch.equal(torch.as_tensor(sd_a[key]), torch.as_tensor(sd_b[key])), (part, net, key)
    assert a["trainer"] == b["trainer"]
    # the broken file was replaced, not kept as previous.pt
    assert ckpt.read_checkpoint(ckpt.previous_path(exp))["step"] == 6
    assert ckpt.read_checkpoint(exp)["step"] == 9


def test_training_without_a_usable_checkpoint_fails_in_one_line(tmp_path, capsys):
    from seqgan.cli import main

    exp = tmp_path / "exp"
    (exp / "checkpoints").mkdir(parents=True)
    for name in ("last.pt", "previous.pt"):
        (exp / "checkpoints" / name).write_bytes(b"garbage, not a checkpoint")
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        code = main(["train", "--task", "toy", "-o", str(exp), "train.max_steps=2"])
    finally:  # `seqgan train` logs to EXP/train.log through a root handler
        for handler in set(root.handlers) - set(handlers):
            root.removeHandler(handler)
            handler.close()
    assert code == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("seqgan train: ") and "last.pt" in line and "previous.pt" in line
    assert "remove the folder" in line
