"""Training checkpoints: one dict of state dicts, written atomically, loaded without pickle.

Layout (``FORMAT_VERSION`` 1)::

    {"format_version": 1, "step": int, "task": str, "config": dict,
     "models": {"generator": sd, "discriminator": sd, ["generator_ema": sd]},
     "optimizers": {...}, "schedulers": {...}, "scaler": {...}, "rng": {...}, "trainer": {...},
     "export": {"architecture": str, "hparams": dict, "metadata": dict}}

Everything in it is tensors, numbers, strings, lists and dicts, so ``torch.load(weights_only=True)``
reads it.
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


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not fit; the message names the file."""


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Writes ``state`` to ``path`` through a temporary file and a rename (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Loads a checkpoint with ``weights_only=True``; accepts an experiment directory too."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "last.pt"
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated file, not a checkpoint, pickled objects ...
        raise CheckpointError(f"{path}: cannot read the checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(state, dict) or "format_version" not in state:
        raise CheckpointError(f"{path}: not a seqgan checkpoint (no format_version)")
    if state["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {state['format_version']} is newer than this seqgan "
            f"understands ({FORMAT_VERSION}); upgrade seqgan"
        )
    return state


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


def load_weights(
    module: torch.nn.Module, state_dict: dict[str, torch.Tensor], source: str, strict: bool = True
) -> None:
    """Loads weights with an error that names the checkpoint and the mismatching keys."""
    try:
        result = module.load_state_dict(state_dict, strict=strict)
    except RuntimeError as e:
        raise CheckpointError(f"{source}: weights do not fit the model ({e})") from None
    if not strict and (result.missing_keys or result.unexpected_keys):
        log.warning(
            "%s: missing keys %s, unexpected keys %s",
            source,
            result.missing_keys[:5],
            result.unexpected_keys[:5],
        )
