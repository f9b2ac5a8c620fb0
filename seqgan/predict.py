"""Rollouts of next-frame predictors and the files ``seqgan predict`` writes.

A rollout is autoregressive: the generator predicts frame ``K`` from frames ``0..K-1``, the prediction
is appended to the context (the oldest frame drops out) and the next frame is predicted from it, for
``steps`` steps. Actions follow the episode convention (:mod:`seqgan.data.episodes`): ``actions[t]`` leads
from frame ``t`` to frame ``t + 1``, so predicting frame ``K - 1 + s + 1`` uses ``actions[K - 1 + s]``.

Frames on disk are uint8 ``(T, H, W, C)``; models see float ``(..., C, H, W)`` in [-1, 1]
(``x / 127.5 - 1``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch import nn

from seqgan.atomic import AtomicFile

log = logging.getLogger(__name__)

__all__ = [
    "EpisodeOutcome",
    "PredictReport",
    "Predictor",
    "collect_episodes",
    "read_action_file",
    "comparison_strip",
    "from_uint8",
    "write_prediction",
    "rollout",
    "save_gif",
    "save_png",
    "side_by_side",
    "to_uint8",
]


def _predict_next(
    generator: nn.Module, context: torch.Tensor, actions: torch.Tensor | None, state: Any = None
) -> tuple[torch.Tensor, Any]:
    """The finest next-frame prediction and the generator's new state, whatever its interface.

    A recurrent generator (``recurrent`` true, with ``predict_step(context, actions, state) -> (frame,
    state)``) steps its state; any other generator is called without one and the state stays ``None``.
    """
    if getattr(generator, "recurrent", False):
        return generator.predict_step(context, actions, state)
    predict = getattr(generator, "predict", None)
    if predict is None:  # a wrapped module: call it and take the finest scale
        out = generator(context, actions)
        return (out[-1] if isinstance(out, (list, tuple)) else out), None
    return predict(context, actions), None


def rollout(
    generator: nn.Module,
    context: torch.Tensor,
    steps: int,
    actions: torch.Tensor | None = None,
    state: Any = None,
    return_state: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, Any]:
    """Predicts ``steps`` frames autoregressively, feeding each prediction back as context.

    A recurrent generator (``generator.recurrent``, e.g. ``MultiScaleGenerator(recurrent=True)``) also
    carries its state from step to step, starting from ``state`` (``None``: the zero state at the
    context, see :class:`~seqgan.models.frame_gan.MultiScaleGenerator`).

    Args:
        generator: a next-frame generator: ``predict(context, actions) -> (B, C, H, W)``, or a module
            whose forward returns that or a list of per-scale predictions (finest last); or a recurrent
            one with ``predict_step(context, actions, state) -> ((B, C, H, W), state)``.
        context: ``(B, K, C, H, W)`` in [-1, 1].
        steps: number of frames to predict.
        actions: ``(B, A)`` long with ``A >= K + steps - 1``, aligned with the frames (``actions[:, t]``
            leads from frame ``t`` to ``t + 1``; frame 0 is the first context frame), or ``None``.
        state: the state a previous rollout of a recurrent generator returned, when ``context``
            continues it (as ``seqgan play`` does); ``None`` otherwise.
        return_state: also return the state after the last step (``None`` when not recurrent).

    Returns:
        ``(B, steps, C, H, W)``; with ``return_state``, ``(that, state)``.
    """
    if context.dim() != 5:
        raise ValueError(f"context must be (batch, K, C, H, W), got {tuple(context.shape)}")
    k = context.shape[1]
    if actions is not None and actions.shape[1] < k + steps - 1:
        raise ValueError(
            f"a rollout of {steps} steps from {k} context frames needs {k + steps - 1} actions "
            f"per sequence, got {actions.shape[1]}"
        )
    preds = []
    for s in range(steps):
        window = None if actions is None else actions[:, s : s + k]
        nxt, state = _predict_next(generator, context, window, state)
        preds.append(nxt)
        context = torch.cat([context[:, 1:], nxt.unsqueeze(1)], dim=1)
    frames = torch.stack(preds, dim=1)
    return (frames, state) if return_state else frames


# --------------------------------------------------------------------------------------------------
# Conversions


def from_uint8(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``(..., H, W, C)`` -> float32 ``(..., C, H, W)`` in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float() / 127.5 - 1.0
    return x.movedim(-1, -3)


def to_uint8(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """float ``(..., C, H, W)`` in [-1, 1] -> uint8 ``(..., H, W, C)`` (rounded, clipped)."""
    x = torch.as_tensor(frames).detach().float().cpu().movedim(-3, -1)
    return ((x.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).numpy()


# --------------------------------------------------------------------------------------------------
# Images


def _rgb(frame: np.ndarray) -> np.ndarray:
    return np.repeat(frame, 3, axis=-1) if frame.shape[-1] == 1 else frame[..., :3]


def _upscale(image: np.ndarray, min_side: int) -> np.ndarray:
    """Nearest-neighbour integer upscaling so that the shorter side reaches ``min_side``."""
    factor = max(1, -(-min_side // min(image.shape[:2])))
    return image.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else image


def comparison_strip(
    truth: np.ndarray,
    prediction: np.ndarray,
    context: np.ndarray | None = None,
    gap: int = 2,
    min_side: int = 48,
) -> np.ndarray:
    """A two-row image: ground truth on top, prediction below, one column per frame.

    Args:
        truth: uint8 ``(S, H, W, C)`` (may be shorter than ``prediction``: missing frames are black).
        prediction: uint8 ``(S, H, W, C)``.
        context: optional uint8 ``(K, H, W, C)`` shown in both rows before the predicted frames.
        gap: white pixels between frames.
        min_side: frames are upscaled (nearest, integer factor) to at least this size.

    Returns:
        uint8 ``(rows, cols, 3)``.
    """
    h, w = prediction.shape[1:3]
    blank = np.zeros((h, w, 3), np.uint8)
    ctx = [_rgb(f) for f in (context if context is not None else [])]
    top = ctx + [_rgb(truth[i]) if i < len(truth) else blank for i in range(len(prediction))]
    bottom = ctx + [_rgb(f) for f in prediction]
    factor = max(1, -(-min_side // min(h, w)))
    fh, fw = h * factor, w * factor
    n = len(top)
    image = np.full((2 * fh + 3 * gap, n * fw + (n + 1) * gap, 3), 255, np.uint8)
    for row, frames in enumerate((top, bottom)):
        y = gap + row * (fh + gap)
        for col, frame in enumerate(frames):
            x = gap + col * (fw + gap)
            image[y : y + fh, x : x + fw] = _upscale(frame, min_side)[:fh, :fw]
    return image


def side_by_side(
    truth: np.ndarray | None, prediction: np.ndarray, gap: int = 2, min_side: int = 96
) -> np.ndarray:
    """One GIF frame: ground truth (black when unknown) left, prediction right; uint8 ``(H', W', 3)``."""
    pred = _upscale(_rgb(prediction), min_side)
    left = np.zeros_like(pred) if truth is None else _upscale(_rgb(truth), min_side)
    spacer = np.full((pred.shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([left, spacer, pred], axis=1)


def _write_files(writers: dict[Path, Callable[[BinaryIO], None]]) -> None:
    """Writes each file under a temporary name beside it, then renames them all, so that no partial file
    is ever visible and a failure while writing leaves none of the set behind."""
    pending: list[AtomicFile] = []
    try:
        for path, write in writers.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            pending.append(AtomicFile(path))
            with open(pending[-1].tmp, "wb") as f:
                write(f)
        for out in pending:
            out.commit()
    finally:
        for out in pending:
            out.discard()  # nothing left after a commit; the temporary file after a failure


def _png_writer(image: np.ndarray) -> Callable[[BinaryIO], None]:
    from PIL import Image

    return lambda f: Image.fromarray(image).save(f, format="PNG")


def _gif_writer(frames: Sequence[np.ndarray], fps: float) -> Callable[[BinaryIO], None]:
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    duration = int(round(1000 / fps))
    return lambda f: images[0].save(
        f, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
    )


def save_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Writes a uint8 ``(H, W, 3)`` image as PNG, atomically."""
    _write_files({Path(path): _png_writer(image)})


def save_gif(path: str | os.PathLike, frames: Sequence[np.ndarray], fps: float = 4.0) -> None:
    """Writes uint8 ``(H, W, 3)`` frames as a looping animated GIF, atomically."""
    _write_files({Path(path): _gif_writer(frames, fps)})


# --------------------------------------------------------------------------------------------------
# Predictor


class Predictor:
    """Runs a next-frame generator on uint8 episodes.

    Args:
        generator: a next-frame generator (see :func:`rollout`).
        metadata: the exported model's metadata (``context``, ``num_channels``, ``num_actions``, ...);
            missing keys are taken from the generator.
        device: where to run.
    """

    def __init__(
        self, generator: nn.Module, metadata: dict[str, Any] | None = None, device: str | torch.device = "cpu"
    ) -> None:
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval()
        meta = dict(metadata or {})
        self.context = int(meta.get("context", getattr(generator, "context", 4)))
        self.num_channels = int(meta.get("num_channels", getattr(generator, "num_channels", 3)))
        self.num_actions = int(meta.get("num_actions", getattr(generator, "num_actions", 0)) or 0)
        resize = meta.get("resize") or None
        self.resize = None if resize is None else (int(resize[0]), int(resize[1]))
        self.metadata = meta

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike | None = None, device: str | torch.device = "cpu"
    ) -> Predictor:
        """Loads an exported ``.safetensors`` generator (``seqgan export``), the generator of a training
        checkpoint (a ``.pt`` file or an experiment folder; EMA weights when present), or a model shipped
        in the package (:mod:`seqgan.pretrained`): by name (``"pong"``), or the default one when ``path``
        is ``None``.

        Raises:
            seqgan.export.ModelFileError: the file cannot be read as a seqgan model.
            ValueError: ``None`` or a name, and no such pretrained model is installed.
        """
        from seqgan.pretrained import resolve

        path = resolve(path, "next_frame")
        if Path(path).suffix == ".safetensors":
            from seqgan import load_model

            module = load_model(str(path), device=str(device))
            return cls(module, getattr(module, "metadata", {}), device)
        from seqgan.export import generator_from_checkpoint, read_checkpoint

        module, metadata = generator_from_checkpoint(read_checkpoint(path), source=str(path))
        return cls(module, metadata, device)

    def prepare(self, frames: np.ndarray, where: str = "frames") -> np.ndarray:
        """Converts uint8 ``(T, H, W, C)`` frames as the training data were: RGB to grey when the model
        has one channel, then the recorded ``resize`` (the metadata's), as ``FrameWindows`` does."""
        from seqgan.data.frames import resize_frames, to_grayscale

        if frames.ndim == 3:
            frames = frames[..., None]
        if frames.dtype != np.uint8 or frames.ndim != 4:
            raise ValueError(f"{where}: frames must be uint8 (T, H, W, C), got {frames.dtype} {frames.shape}")
        c = frames.shape[-1]
        if c != self.num_channels:
            if self.num_channels != 1 or c != 3:
                raise ValueError(
                    f"{where}: frames have {c} channel(s) but the model expects {self.num_channels}"
                )
            frames = to_grayscale(frames)
        if self.resize is not None:
            frames = resize_frames(frames, self.resize)
        return frames

    @torch.no_grad()
    def predict(self, context: np.ndarray, steps: int, actions: np.ndarray | None = None) -> np.ndarray:
        """Rolls out ``steps`` frames after uint8 ``context`` ``(K, H, W, C)``.

        Args:
            context: the last ``K`` observed frames.
            steps: frames to predict.
            actions: ints ``(K + steps - 1,)`` aligned with the frames (needed when the model is
                action-conditioned, ignored otherwise).

        Returns:
            uint8 ``(steps, H, W, C)``.
        """
        context = self.prepare(context)
        if context.shape[0] != self.context:
            raise ValueError(f"the model needs {self.context} context frames, got {context.shape[0]}")
        act = None
        if self.num_actions > 0:
            if actions is None:
                raise ValueError(
                    f"the model is action-conditioned ({self.num_actions} actions): give actions"
                )
            actions = np.asarray(actions, dtype=np.int64)
            need = self.context + steps - 1
            if actions.shape[0] < need:
                raise ValueError(
                    f"{steps} steps need {need} actions aligned with the frames, got {actions.shape[0]}"
                )
            used = actions[self.context - 1 : need]
            if used.size and (used.min() < 0 or used.max() >= self.num_actions):
                raise ValueError(
                    f"actions must lie in [0, {self.num_actions}) for this model; got "
                    f"{used.min()}..{used.max()} (-1 marks the end of an episode)"
                )
            act = torch.from_numpy(actions[:need].clip(0)).unsqueeze(0).to(self.device)
        x = from_uint8(context).unsqueeze(0).to(self.device)
        return to_uint8(rollout(self.generator, x, steps, act)[0])

    def predict_paths(
        self,
        episodes: Mapping[str, str | os.PathLike],
        out_dir: str | os.PathLike,
        *,
        steps: int,
        start: int = 0,
        actions: np.ndarray | None = None,
        fps: float = 4.0,
        psnr_cap: float | None = 100.0,
        progress: Callable[[EpisodeOutcome], None] | None = None,
    ) -> PredictReport:
        """Rolls out every episode and writes ``<id>.npz`` / ``.gif`` / ``.png`` under ``out_dir``, as
        ``seqgan predict`` does (see :func:`write_prediction`; the npz also holds ``start`` and ``psnr``).

        A broken episode (unreadable, too short, missing actions, an output that would overwrite an
        input) is recorded with its error and leaves no output; the others are still done.

        Args:
            episodes: id -> episode file (:func:`collect_episodes`).
            out_dir: output folder (created).
            steps: frames to predict after ``K`` context frames starting at frame ``start``.
            start: first context frame.
            actions: for action-conditioned models: one action per predicted step (leading to that
                frame), used for every episode; ``None``: each episode's recorded actions.
            fps: GIF frame rate.
            psnr_cap: per-step PSNR is clipped at this many dB (identical frames give ``inf``);
                ``None``: no cap.
            progress: called with each :class:`EpisodeOutcome` as it is done.

        Raises:
            ValueError: ``steps < 1``, ``start < 0`` or fewer ``actions`` than ``steps``.
        """
        return _predict_paths(self, episodes, out_dir, steps, start, actions, fps, psnr_cap, progress)

    def predict_episode(
        self, frames: np.ndarray, steps: int, actions: np.ndarray | None = None, start: int = 0
    ) -> dict[str, np.ndarray]:
        """Predicts ``steps`` frames after ``frames[start : start + K]`` of an episode.

        Returns:
            ``{"context", "prediction", "truth", "actions"}``: uint8 frames ``(K, ...)``, ``(steps, ...)``,
            the ground truth that exists after the context (``(<= steps, ...)``), and the actions used
            (``(K + steps - 1,)``, empty when unconditioned).
        """
        frames = self.prepare(frames)
        k = self.context
        if start < 0 or start + k > frames.shape[0]:
            raise ValueError(
                f"the episode has {frames.shape[0]} frames: cannot take {k} context frames at {start}"
            )
        used = np.zeros(0, np.int64)
        if self.num_actions > 0:
            if actions is None:
                raise ValueError(
                    f"the model is action-conditioned ({self.num_actions} actions) but no actions were given"
                )
            used = np.asarray(actions, dtype=np.int64)[start : start + k + steps - 1]
        prediction = self.predict(frames[start : start + k], steps, used if self.num_actions > 0 else None)
        return {
            "context": frames[start : start + k],
            "prediction": prediction,
            "truth": frames[start + k : start + k + steps],
            "actions": used,
        }


def write_prediction(
    out_dir: str | os.PathLike,
    name: str,
    result: dict[str, np.ndarray],
    fps: float = 4.0,
    extra: dict[str, np.ndarray] | None = None,
) -> list[Path]:
    """Writes ``<name>.npz``, ``<name>.gif`` (truth | prediction) and ``<name>.png`` (strip), all or none.

    The npz holds ``prediction`` uint8 ``(S, H, W, C)``, ``ground_truth`` uint8 ``(<= S, H, W, C)``,
    ``context`` uint8 ``(K, H, W, C)``, ``actions`` and the ``extra`` arrays.

    Args:
        out_dir: output folder (created).
        name: file stem.
        result: as returned by :meth:`Predictor.predict_episode`.
        fps: GIF frame rate.
        extra: more arrays to store in the npz.

    Returns:
        The written paths (npz, gif, png).
    """
    out = Path(out_dir)
    ctx, pred, truth = result["context"], result["prediction"], result["truth"]
    arrays = {"prediction": pred, "ground_truth": truth, "context": ctx, "actions": result["actions"]}
    arrays.update(extra or {})
    gif_frames = [side_by_side(f, f) for f in ctx]
    gif_frames += [side_by_side(truth[i] if i < len(truth) else None, pred[i]) for i in range(len(pred))]
    paths = [out / f"{name}.npz", out / f"{name}.gif", out / f"{name}.png"]
    _write_files(
        {
            paths[0]: lambda f: np.savez_compressed(f, **arrays),
            paths[1]: _gif_writer(gif_frames, fps),
            paths[2]: _png_writer(comparison_strip(truth, pred, ctx)),
        }
    )
    return paths


# --------------------------------------------------------------------------------------------------
# Sets of episodes: what `seqgan predict` does


@dataclass(frozen=True)
class EpisodeOutcome:
    """What happened to one episode of :meth:`Predictor.predict_paths`.

    Attributes:
        name: the episode id (file stem of the outputs).
        src: the episode file.
        paths: the written npz, gif and png (empty on failure).
        psnr: float32 ``(<= steps,)`` dB per predicted step that has ground truth (uint8 range, capped),
            ``None`` on failure.
        error: why nothing was written for this episode, else ``None``.
    """

    name: str
    src: str
    paths: list[Path] = field(default_factory=list)
    psnr: np.ndarray | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class PredictReport:
    """The outcome of :meth:`Predictor.predict_paths`: one :class:`EpisodeOutcome` per episode, in order."""

    out_dir: Path
    outcomes: list[EpisodeOutcome]

    @property
    def done(self) -> int:
        return sum(o.ok for o in self.outcomes)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.done

    @property
    def errors(self) -> list[str]:
        """``"<id>: <cause>"`` per failed episode."""
        return [f"{o.name}: {o.error}" for o in self.outcomes if o.error is not None]

    def summary(self) -> str:
        return f"wrote {self.done} of {len(self.outcomes)} episode(s) to {self.out_dir}"


def collect_episodes(
    scp: str | os.PathLike | None = None,
    files: Iterable[str | os.PathLike] = (),
    max_episodes: int = 0,
) -> dict[str, str]:
    """Episode id -> file from an ``episodes.scp`` and/or episode files (id: the file name stem).

    Args:
        scp: an ``<id> <file.npz>`` list.
        files: episode ``.npz`` files.
        max_episodes: keep the first this many (0: all).

    Raises:
        EpisodeError: an unreadable list, two episodes with one id, or no episode at all.
    """
    from seqgan.data.episodes import EpisodeError, read_episodes_scp

    entries = dict(read_episodes_scp(scp)) if scp is not None else {}
    for f in files:
        stem = Path(f).stem
        if stem in entries:
            raise EpisodeError(f"two episode files share the id '{stem}': {entries[stem]} and {f}")
        entries[stem] = str(f)
    if max_episodes > 0:
        entries = dict(list(entries.items())[:max_episodes])
    if not entries:
        raise EpisodeError("no episodes to predict")
    return entries


def read_action_file(path: str | os.PathLike) -> np.ndarray:
    """Reads integer actions from ``.npy`` or whitespace / comma separated text: int64 ``(N,)``.

    Raises:
        ValueError: a missing file, or one that is not a 1-D list of integers (the message names it).
    """
    p = Path(path)
    try:
        if p.suffix == ".npy":
            actions = np.load(p, allow_pickle=False)
        else:
            text = p.read_text(encoding="utf-8").replace(",", " ").split()
            actions = np.array([int(t) for t in text], dtype=np.int64)
    except FileNotFoundError:
        raise ValueError(f"{p}: no such action file") from None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{p}: not a list of integer actions ({e})") from None
    if actions.ndim != 1 or not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(f"{p}: expected a 1-D array of integer actions, got {actions.dtype} {actions.shape}")
    return actions.astype(np.int64)


def _step_psnr(result: dict[str, np.ndarray], cap: float | None) -> np.ndarray:
    """PSNR (dB, uint8 range) of each predicted frame that has ground truth: float32 ``(<= steps,)``."""
    from seqgan.metrics.frames import psnr

    truth = torch.from_numpy(result["truth"]).movedim(-1, -3)
    pred = torch.from_numpy(result["prediction"][: len(truth)]).movedim(-1, -3)
    return psnr(pred, truth, 255.0, cap=cap).numpy().astype(np.float32)


def _episode_actions(
    predictor: Predictor, recorded: np.ndarray | None, plan: np.ndarray | None, steps: int, start: int
) -> np.ndarray | None:
    """The actions a rollout uses, aligned with the episode's frames (``None``: unconditioned)."""
    if predictor.num_actions == 0:
        return None
    k = predictor.context
    if plan is not None:
        actions = np.zeros(start + k + steps - 1, np.int64)
        actions[start + k - 1 :] = plan[:steps]
        return actions
    if recorded is None:
        raise ValueError(
            "the model is action-conditioned but the episode has no recorded actions; give --actions FILE"
        )
    used = recorded[start + k - 1 : start + k - 1 + steps]
    missing = np.flatnonzero(used < 0)
    have = int(missing[0]) if missing.size else len(used)
    if have < steps:
        raise ValueError(
            f"the recorded actions cover {have} step(s) after the context; "
            f"use --steps {max(have, 1)}, an earlier --start or --actions FILE"
        )
    return recorded


def _predict_paths(
    predictor: Predictor,
    episodes: Mapping[str, str | os.PathLike],
    out_dir: str | os.PathLike,
    steps: int,
    start: int,
    actions: np.ndarray | None,
    fps: float,
    psnr_cap: float | None,
    progress: Callable[[EpisodeOutcome], None] | None,
) -> PredictReport:
    from seqgan.data.episodes import EpisodeError, read_episode

    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if actions is not None and predictor.num_actions == 0:
        log.warning("the model is not action-conditioned; ignoring the given actions")
        actions = None
    if actions is not None and len(actions) < steps:
        raise ValueError(f"{len(actions)} actions for {steps} steps; give one per step")
    out = Path(out_dir)
    inputs = {Path(p).resolve() for p in episodes.values()}
    outcomes = []
    for name, path in episodes.items():
        target = (out / f"{name}.npz").resolve()
        try:
            if target in inputs:
                raise ValueError(
                    f"the output {target} would overwrite an input episode; choose another output folder"
                )
            episode = read_episode(path)
            used = _episode_actions(predictor, episode.actions, actions, steps, start)
            result = predictor.predict_episode(episode.frames, steps, used, start=start)
            psnr = _step_psnr(result, psnr_cap)
            extra = {"start": np.array(start), "psnr": psnr}
            outcome = EpisodeOutcome(name, str(path), write_prediction(out, name, result, fps, extra), psnr)
        except (EpisodeError, ValueError, OSError) as e:
            outcome = EpisodeOutcome(name, str(path), error=str(e))
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return PredictReport(out, outcomes)
