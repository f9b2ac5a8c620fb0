"""Training checkpoints: where they live, how they are written and read back, without pickle.

An experiment directory keeps two checkpoints: ``checkpoints/last.pt`` (the newest) and
``checkpoints/previous.pt`` (the one before it). :func:`save_checkpoint` writes the new file beside
``last.pt``, then renames ``last.pt`` to ``previous.pt`` and the new file to ``last.pt``: at every moment
one complete checkpoint is on disk. :func:`find_resume_checkpoint` reads ``last.pt`` and, when it is
missing, truncated or corrupt, falls back to ``previous.pt`` with a warning.

What the trainer writes (``FORMAT_VERSION`` 1, :meth:`seqgan.train.trainer.Trainer.state_dict`)::

    {"format_version": 1, "step": int, "task": str, "config": dict (the resolved configuration),
     "models": {"generator": sd, "discriminator": sd, ["generator_ema": sd]},
     "optimizers": {"generator": sd, "discriminator": sd},
     "rng": {"python": list, "numpy": dict, "torch": tensor, ["cuda": [tensor, ...]]},
     "trainer": {"batches_seen": int, "skipped": {"discriminator": int, "generator": int}},
     "export": {"architecture": str, "hparams": dict, "metadata": dict}}

The learning rates are a pure function of the step (:func:`seqgan.train.optim.lr_factor`), so no
scheduler state is stored. Everything in the file is tensors, numbers, strings, lists and dicts, so
``torch.load(weights_only=True)`` reads it.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqgan.atomic import temp_beside

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CHECKPOINT_DIR = "checkpoints"
LAST = "last.pt"
PREVIOUS = "previous.pt"


class ModelFileError(ValueError):
    """A model file (exported model or training checkpoint) cannot be used; the message names the file
    and what to do."""


class CheckpointError(ModelFileError):
    """A training checkpoint cannot be read or does not fit; the message names the file."""


# -- locations --------------------------------------------------------------------------------------


def last_path(exp_dir: str | os.PathLike) -> Path:
    """``exp_dir/checkpoints/last.pt``: the newest checkpoint of an experiment."""
    return Path(exp_dir) / CHECKPOINT_DIR / LAST


def previous_path(exp_dir: str | os.PathLike) -> Path:
    """``exp_dir/checkpoints/previous.pt``: the checkpoint written before ``last.pt``."""
    return Path(exp_dir) / CHECKPOINT_DIR / PREVIOUS


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A checkpoint file as it is, or an experiment directory -> its ``checkpoints/last.pt``.

    Raises:
        CheckpointError: no such file, or a directory without ``checkpoints/last.pt``.
    """
    p = Path(path)
    if p.is_dir():
        last = last_path(p)
        if last.is_file():
            return last
        hint = f" ({previous_path(p)} exists: name it)" if previous_path(p).is_file() else ""
        raise CheckpointError(
            f"{p}: an experiment folder without {CHECKPOINT_DIR}/{LAST}; name a checkpoint file{hint}"
        )
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file or experiment folder")
    return p


# -- writing and reading ------------------------------------------------------------------------------


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike, keep_previous: bool = True) -> None:
    """Writes ``state`` to ``path`` through a temporary file and a rename (never a half-written file).

    With ``keep_previous``, an existing ``path`` is first renamed to ``previous.pt`` beside it, so the
    checkpoint before this one stays readable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        if keep_previous and path.is_file():
            # between the two renames only previous.pt exists, and resuming falls back to it
            os.replace(path, path.with_name(PREVIOUS))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Loads a training checkpoint with ``weights_only=True`` (never arbitrary pickle).

    Args:
        path: a ``.pt`` checkpoint, or an experiment directory (its ``checkpoints/last.pt``).
        map_location: where the tensors go.

    Raises:
        CheckpointError: in one line naming the file: missing, truncated or corrupt, not a seqgan
            training checkpoint, or written by a newer seqgan.
    """
    path = resolve_checkpoint(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated file, not a checkpoint, pickled objects ...
        # torch's first sentence says what failed; the rest would advise weights_only=False
        reason = " ".join(str(e).split()).split(". ")[0].rstrip(".")
        raise CheckpointError(
            f"{path}: cannot read the checkpoint ({type(e).__name__}{': ' + reason if reason else ''}); "
            "the file is truncated, corrupt or not a seqgan checkpoint"
        ) from None
    if not isinstance(state, dict) or "format_version" not in state or "models" not in state:
        raise CheckpointError(f"{path}: not a seqgan training checkpoint (no format_version / models)")
    if state["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {state['format_version']} is newer than this seqgan "
            f"understands ({FORMAT_VERSION}); upgrade seqgan"
        )
    return state


def find_resume_checkpoint(
    exp_dir: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[dict[str, Any], Path] | None:
    """The checkpoint to resume ``exp_dir`` from: ``last.pt``, else ``previous.pt`` (with a warning).

    Returns:
        ``(state, path)``, or None when the experiment has no checkpoint at all (a fresh start).

    Raises:
        CheckpointError: checkpoints exist but none can be read (one line naming each file).
    """
    problems = []
    for path in (last_path(exp_dir), previous_path(exp_dir)):
        if not path.is_file():
            continue
        try:
            state = read_checkpoint(path, map_location=map_location)
        except CheckpointError as e:
            problems.append(str(e))
            continue
        if problems or path.name != LAST:
            why = "; ".join(problems) or f"{last_path(exp_dir)} is missing"
            log.warning("%s; resuming from %s (step %s) instead", why, path, state.get("step", "?"))
        return state, path
    if not problems:
        return None
    raise CheckpointError(
        "; ".join(problems) + f"; no usable checkpoint in {Path(exp_dir) / CHECKPOINT_DIR}: "
        "remove the folder to train from scratch"
    )


# -- pieces of the state ------------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch (CPU and CUDA) random states as tensors and plain data."""
    py = random.getstate()
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": {
            "key": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restores what :func:`rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            np_state["key"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_weights(module: torch.nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Strict ``load_state_dict`` with an error that names the checkpoint and the mismatching keys."""
    try:
        module.load_state_dict(state_dict)
    except RuntimeError as e:
        reason = " ".join(str(e).split())
        raise CheckpointError(f"{source}: weights do not fit the model ({reason})") from None
