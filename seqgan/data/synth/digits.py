"""Moving digits: digits bouncing in a 64x64 canvas, following the Moving MNIST generation procedure.

Three digit sources:

* scikit-learn's bundled 8x8 digits (``sklearn.datasets.load_digits``, no download), upscaled to
  ``digit_size`` (the digit fills the central 20/28 of the box, like MNIST). **Sequences made from
  them are NOT comparable with Moving MNIST numbers**; the metadata says so;
* real MNIST digits from user-supplied idx files (``train-images-idx3-ubyte[.gz]``), 28x28;
* the published Moving MNIST test set ``mnist_test_seq.npy`` (``[20, 10000, 64, 64]`` uint8,
  Srivastava et al. 2015), converted sequence by sequence (protocol 10 -> 10).

Motion (Srivastava et al.'s generator): each digit's position lives in [0, 1]^2 (scaled to
``canvas - digit_size`` pixels), moves by ``step`` (0.1) per frame in a uniformly random direction and
bounces off the edges; digits are combined with a pixel-wise maximum.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqgan._optional import require

NOT_COMPARABLE = (
    "built from scikit-learn's 8x8 digits upscaled; NOT comparable with Moving MNIST results "
    "(different digit images, resolution and statistics)"
)
MOVING_MNIST_PROTOCOL = "Moving MNIST 10 -> 10 (mnist_test_seq.npy, Srivastava et al. 2015; 64x64, 2 digits)"


@dataclass
class DigitsConfig:
    """Parameters of the moving-digits corpus."""

    canvas: int = 64
    digit_size: int = 28
    num_digits: int = 2
    num_frames: int = 20
    step: float = 0.1

    def check(self) -> None:
        if not 8 <= self.digit_size <= self.canvas:
            raise ValueError(
                f"moving digits: need 8 <= digit_size ({self.digit_size}) <= canvas ({self.canvas})"
            )
        if self.num_digits < 1 or self.num_frames < 1 or self.step < 0:
            raise ValueError(f"moving digits: num_digits, num_frames >= 1 and step >= 0; got {self}")


def sklearn_digits(digit_size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits upscaled (bilinear) into ``digit_size`` boxes.

    Returns:
        images uint8 ``(1797, digit_size, digit_size)`` (digit in the central 20/28 of the box, like
        MNIST) and labels int64 ``(1797,)``.
    """
    import torch
    import torch.nn.functional as F

    load_digits = require("sklearn.datasets", "frames").load_digits

    data = load_digits()
    inner = max(8, round(digit_size * 20 / 28))
    x = torch.from_numpy(data.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8), values 0..16
    x = F.interpolate(x, size=(inner, inner), mode="bilinear", align_corners=False)[:, 0]
    lo = (digit_size - inner) // 2
    out = np.zeros((x.shape[0], digit_size, digit_size), np.uint8)
    out[:, lo : lo + inner, lo : lo + inner] = np.clip(np.rint(x.numpy() * 255), 0, 255).astype(np.uint8)
    return out, data.target.astype(np.int64)


def read_idx_images(path: str | os.PathLike) -> np.ndarray:
    """Reads an MNIST idx3 image file (optionally gzip-compressed) into uint8 ``(N, H, W)``.

    Raises:
        ValueError: the file is not an idx3 uint8 file; the message names it.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError(f"{path}: cannot read MNIST idx file ({e})") from e
    if len(data) < 16 or data[:4] != b"\x00\x00\x08\x03":
        raise ValueError(f"{path}: not an MNIST idx3 uint8 image file (bad magic number)")
    n, h, w = (int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(3))
    if len(data) != 16 + n * h * w:
        raise ValueError(
            f"{path}: expected {n}x{h}x{w} images ({16 + n * h * w} bytes), found {len(data)} bytes"
        )
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, h, w).copy()


def find_mnist_images(mnist_dir: str | os.PathLike) -> Path:
    """``train-images-idx3-ubyte`` (or ``.gz``) inside ``mnist_dir``; a clear error when absent."""
    d = Path(mnist_dir)
    for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz", "train-images.idx3-ubyte"):
        if (d / name).is_file():
            return d / name
    raise FileNotFoundError(
        f"{d}: no train-images-idx3-ubyte[.gz] found; put the MNIST training images there "
        "or leave out --mnist to use scikit-learn's bundled digits"
    )


def moving_digits_frames(
    digits: np.ndarray, cfg: DigitsConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draws digits and trajectories and renders one sequence.

    Args:
        digits: uint8 ``(N, d, d)`` digit images, ``d == cfg.digit_size``.
        cfg: the corpus parameters.
        rng: the random generator.

    Returns:
        frames uint8 ``(num_frames, canvas, canvas, 1)`` and the chosen digit indices ``(num_digits,)``.
    """
    cfg.check()
    d = digits.shape[-1]
    if digits.shape[1:] != (cfg.digit_size, cfg.digit_size):
        raise ValueError(f"digit images are {digits.shape[1:]}; expected {cfg.digit_size}x{cfg.digit_size}")
    span = cfg.canvas - d
    chosen = rng.integers(0, digits.shape[0], size=cfg.num_digits)
    frames = np.zeros((cfg.num_frames, cfg.canvas, cfg.canvas), np.uint8)
    for k in chosen:
        pos = rng.uniform(0, 1, size=2)  # (y, x) in [0, 1]
        theta = rng.uniform(0, 2 * np.pi)
        vel = cfg.step * np.array([np.sin(theta), np.cos(theta)])
        for t in range(cfg.num_frames):
            y, x = (int(round(p * span)) for p in pos)
            np.maximum(frames[t, y : y + d, x : x + d], digits[k], out=frames[t, y : y + d, x : x + d])
            pos = pos + vel
            for axis in range(2):  # bounce off the edges
                if pos[axis] < 0:
                    pos[axis], vel[axis] = -pos[axis], -vel[axis]
                elif pos[axis] > 1:
                    pos[axis], vel[axis] = 2 - pos[axis], -vel[axis]
    return frames[..., None], chosen


def moving_digits_episode(
    digits: np.ndarray,
    labels: np.ndarray | None,
    cfg: DigitsConfig,
    seed: int,
    index: int,
    digit_source: str,
) -> dict[str, Any]:
    """One generated episode, drawn from ``(seed, index)`` alone.

    Args:
        digits: uint8 ``(N, d, d)`` digit images.
        labels: ``(N,)`` digit classes, or None.
        cfg: the corpus parameters.
        seed: the corpus seed.
        index: the episode number.
        digit_source: ``"sklearn"`` or ``"mnist"`` (recorded in the metadata).

    Returns:
        ``{"frames": uint8 (T, canvas, canvas, 1), "meta": dict}``.
    """
    frames, chosen = moving_digits_frames(digits, cfg, np.random.default_rng((seed, index)))
    meta: dict[str, Any] = {
        "source": "moving-digits",
        "digit_source": digit_source,
        "params": asdict(cfg),
        "seed": seed,
        "index": index,
        "digit_indices": chosen.tolist(),
    }
    if labels is not None:
        meta["digit_labels"] = labels[chosen].tolist()
    if digit_source == "sklearn":
        meta["protocol"] = "moving digits (Moving MNIST motion, sklearn 8x8 digits)"
        meta["comparable_with_moving_mnist"] = False
        meta["note"] = NOT_COMPARABLE
    else:
        meta["protocol"] = "Moving MNIST generation (MNIST digits, 64x64 canvas, step 0.1, bouncing)"
    return {"frames": frames, "meta": meta}


def open_moving_mnist(path: str | os.PathLike) -> np.ndarray:
    """Opens ``mnist_test_seq.npy`` memory-mapped: uint8 ``(T, N, H, W)`` (20, 10000, 64, 64 published).

    Raises:
        ValueError: not a 4-d uint8 ``.npy`` file (pickled files are refused).
    """
    path = Path(path)
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read as a .npy array ({e})") from e
    if arr.dtype != np.uint8 or arr.ndim != 4:
        raise ValueError(
            f"{path}: expected uint8 [T, N, H, W] like mnist_test_seq.npy; got {arr.dtype} {arr.shape}"
        )
    return arr


def moving_mnist_episode(seqs: np.ndarray, index: int, source_file: str) -> dict[str, Any]:
    """Sequence ``index`` of an opened ``mnist_test_seq.npy`` as an episode (frames ``(T, H, W, 1)``)."""
    frames = np.ascontiguousarray(seqs[:, index])[..., None]
    meta = {
        "source": "moving-mnist",
        "protocol": MOVING_MNIST_PROTOCOL
        if seqs.shape[0] == 20
        else f"Moving MNIST file, {seqs.shape[0]} frames",
        "file": os.path.basename(source_file),
        "sequence_index": index,
        "comparable_with_moving_mnist": True,
    }
    return {"frames": frames, "meta": meta}
