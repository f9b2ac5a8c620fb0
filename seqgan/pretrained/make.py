"""Makes a shipped world model from a recipe's export: the model plus the game it was trained on.

``seqgan export`` stores the model's frame geometry but not the game; ``seqgan play`` also needs the game,
its action names and how the frames were recorded (frameskip, crop, grey, resize), which the training
episodes' metadata holds. This copies the exported model with those keys added (:meth:`GameSpec.game_metadata`)::

    python -m seqgan.pretrained.make exp/train_pong_play_pong/model.safetensors \\
        data/train_pong/episodes.scp -o ../../../seqgan/pretrained/pong.safetensors
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["game_spec_of_episodes", "make_world_model"]

_RESERVED = ("architecture", "hparams", "seqgan_version")


def game_spec_of_episodes(episodes_scp: str | os.PathLike) -> Any:
    """The :class:`seqgan.play.GameSpec` of an ALE recording (its first episode's metadata).

    Raises:
        ValueError: the episodes were not recorded from ALE (``seqgan data atari``).
    """
    from seqgan.data.episodes import read_episode, read_episodes_scp
    from seqgan.play import GameSpec

    first = next(iter(read_episodes_scp(episodes_scp).values()))
    episode = read_episode(first)
    meta = episode.meta
    if meta.get("source") != "ale" or "params" not in meta:
        raise ValueError(f"{first}: not an ALE recording (seqgan data atari); no game to attach")
    params = meta["params"]
    size = params.get("resize") or episode.frames.shape[1:3]
    return GameSpec(
        game=meta["game"],
        action_meanings=tuple(meta["action_meanings"]),
        frameskip=int(params["frameskip"]),
        crop=tuple(int(v) for v in params["crop"]),
        grayscale=bool(params["grayscale"]),
        size=(int(size[0]), int(size[1])),
    )


def make_world_model(
    model: str | os.PathLike, episodes_scp: str | os.PathLike, out: str | os.PathLike, **extra: Any
) -> Path:
    """Writes ``model`` (an exported ``.safetensors``) to ``out`` with its game's metadata and ``extra``.

    Raises:
        seqgan.export.ModelFileError: ``model`` cannot be read.
        ValueError: the episodes are not an ALE recording.
    """
    from seqgan.export import load_model, save_model

    module = load_model(model)
    meta = {k: v for k, v in module.metadata.items() if k not in _RESERVED}
    meta.update(game_spec_of_episodes(episodes_scp).game_metadata())
    meta.update(extra)
    save_model(module, out, **meta)
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m seqgan.pretrained.make", description=__doc__.split("\n")[0]
    )
    parser.add_argument("model", help="the exported model (.safetensors)")
    parser.add_argument("episodes", help="the training episodes.scp (ALE recording)")
    parser.add_argument("-o", "--output", required=True, help="the .safetensors file to write")
    parser.add_argument(
        "--recipe", default="", help="the command that trained the model (stored in the metadata)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    extra = {"recipe": args.recipe} if args.recipe else {}
    path = make_world_model(args.model, args.episodes, args.output, **extra)
    log.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
