#!/usr/bin/env python3
"""Action sensitivity of an action-conditioned next-frame model: does the action change the prediction
where the controlled object is? (Oh et al. 2015's sanity check, as a number.)

    python utils/action_sensitivity.py -m exp/train_tiny/model.safetensors \\
        --episodes data/test/episodes.scp --starts 50 150 --horizons 1 4 -o sensitivity.json

For every test context (the ``K`` frames from each ``--starts`` position of each episode long enough),
the model is rolled out ``h`` steps once per action ``a`` of its action set, holding ``a`` for all ``h``
steps (the actions between the context frames are the recorded ones). The figure for horizon ``h`` is
the mean absolute difference between the ``h``-th predicted frames of every pair of actions, in grey
levels of the uint8 frame (0-255), averaged over the pairs and the contexts:

* ``overall``: over the whole frame;
* ``region``: over the region where the controlled object is, and ``outside``: over the rest;
  ``region_ratio`` = region / outside (1 means the action changes the prediction everywhere alike);
* ``data_motion_region``: for scale, the mean absolute change of the *true* frames in the region over
  the same ``h`` steps (frame ``K - 1 + h`` against the last context frame);
* ``pairs``: the region figure per action pair (``[a][b]``): actions with the same effect (Pong's FIRE
  and NOOP) should be close to 0, opposite moves (Pong's RIGHT = up and LEFT = down) largest.

The region (``--region``):

* ``auto``: from the recording's metadata (game, crop, resize). Known games: **Pong** — the player's
  paddle, the green one on the right, which occupies columns 140-143 of the 160-pixel ALE screen
  (measured on ale-py frames) and moves vertically over the whole field: columns 136-147 (the paddle
  with a 4-pixel margin) and every row, mapped through the recording's crop and resize and the model's
  resize to the model's frames. Other games: no region (pass one);
* ``x0:x1`` (columns, every row) or ``y0:y1,x0:x1``: half-open pixel ranges in the model's frames;
* ``none``: the overall figure only.

Writes JSON (atomically) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import combinations
from pathlib import Path
from typing import Any

from seqgan.atomic import write_text

# Controlled objects in raw ALE screen pixels (210 x 160): rows [y0, y1) and columns [x0, x1); None = all.
KNOWN_REGIONS: dict[str, dict[str, Any]] = {
    "pong": {
        "rows": None,
        "cols": (136, 148),  # the paddle's columns 140-143, +- 4 pixels
        "what": "the player's paddle (green, right): ALE columns 140-143 with a 4-pixel margin, every row",
    },
}
RAW_SCREEN = (210, 160)


def _map_range(lo: float, hi: float, offset: int, src: int, dst: int, limit: int) -> tuple[int, int]:
    """Half-open ``[lo, hi)`` on an axis of ``src`` pixels (after removing ``offset``) to ``dst`` pixels."""
    scale = dst / src
    a = max(0, int((lo - offset) * scale))
    b = min(limit, max(a + 1, int(-(-(hi - offset) * scale // 1))))
    return a, b


def auto_region(
    meta: dict[str, Any], shape: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int], str] | None:
    """The known controlled-object region of the episode's game in the model's frames, or None.

    Args:
        meta: an Atari episode's metadata (``game``, ``params.crop``, ``params.resize``,
            ``raw_frame_shape``).
        shape: the model's frame ``(H, W)``.

    Returns:
        ``((y0, y1), (x0, x1), description)`` or None when the game is not known.
    """
    known = KNOWN_REGIONS.get(str(meta.get("game", "")).lower())
    if known is None:
        return None
    params = meta.get("params", {})
    top, bottom, left, right = params.get("crop") or (0, 0, 0, 0)
    raw_h, raw_w = (meta.get("raw_frame_shape") or RAW_SCREEN)[:2]
    crop_h, crop_w = raw_h - top - bottom, raw_w - left - right
    h, w = shape
    rows = known["rows"] or (top, raw_h - bottom)
    cols = known["cols"] or (left, raw_w - right)
    # recorded resize then the model's resize compose into one scale from the cropped screen
    y = _map_range(rows[0], rows[1], top, crop_h, h, h)
    x = _map_range(cols[0], cols[1], left, crop_w, w, w)
    return (
        y,
        x,
        f"{known['what']}; in the model's {h}x{w} frames: rows {y[0]}-{y[1] - 1}, columns {x[0]}-{x[1] - 1}",
    )


def parse_region(text: str, shape: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int], str]:
    """``x0:x1`` or ``y0:y1,x0:x1`` (half-open, model pixels)."""
    h, w = shape
    try:
        parts = [tuple(int(v) for v in p.split(":")) for p in text.split(",")]
        if len(parts) == 1:
            parts = [(0, h), parts[0]]
        (y0, y1), (x0, x1) = parts
    except ValueError:
        raise ValueError(f"--region {text!r}: write x0:x1 or y0:y1,x0:x1 (pixels), auto or none") from None
    if not (0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w):
        raise ValueError(f"--region {text!r} is not inside the model's {h}x{w} frames")
    return (y0, y1), (x0, x1), f"rows {y0}-{y1 - 1}, columns {x0}-{x1 - 1} (given)"


def measure(
    predictor: Any,
    episodes: dict[str, str],
    starts: list[int],
    horizons: list[int],
    region: str = "auto",
) -> dict[str, Any]:
    """The action-sensitivity figures (see the module docstring).

    Args:
        predictor: a ``seqgan.predict.Predictor`` with ``num_actions >= 2``.
        episodes: ``{id: path}`` of episodes with recorded actions.
        starts: first context frame of the test contexts in each episode.
        horizons: steps of the same action after which predictions are compared.
        region: ``auto``, ``none`` or a pixel range (see :func:`parse_region`).

    Returns:
        A JSON-ready dict: ``region``, ``horizons``, ``results[str(h)]`` with the figures, the number of
        contexts, the action names and the protocol.
    """
    import numpy as np
    import torch

    from seqgan.data.episodes import read_episode
    from seqgan.predict import from_uint8, rollout

    a_n, k = predictor.num_actions, predictor.context
    if a_n < 2:
        raise ValueError("the model is not action-conditioned (fewer than 2 actions): nothing to measure")
    longest = max(horizons)
    pairs: list[tuple[int, int]] = []
    sums: dict[int, dict[str, Any]] = {}
    count = 0
    mask = None
    region_info: dict[str, Any] = {"spec": region, "description": "none"}
    action_names: list[str] = []
    for key, path in episodes.items():
        ep = read_episode(path)
        if ep.actions is None:
            raise ValueError(f"{path}: episode {key} has no recorded actions")
        frames = predictor.prepare(ep.frames, where=str(path))
        if mask is None:
            shape = frames.shape[1:3]
            # the game's own actions: a model sized for more (e.g. 18, any ALE game) has unused rows
            a_n = min(a_n, int(ep.meta.get("num_actions") or a_n))
            pairs = list(combinations(range(a_n), 2))
            action_names = list(ep.meta.get("action_meanings", []))[:a_n]
            found = None
            if region == "auto":
                found = auto_region(ep.meta, shape)
                if found is None:
                    print(
                        f"action_sensitivity.py: no known controlled-object region for game "
                        f"{ep.meta.get('game')!r}; reporting the overall figure only (pass --region)",
                        file=sys.stderr,
                    )
            elif region != "none":
                found = parse_region(region, shape)
            sums = {
                h: {
                    "overall": 0.0,
                    "region": 0.0,
                    "outside": 0.0,
                    "motion": 0.0,
                    "pairs": np.zeros((a_n, a_n)),
                }
                for h in horizons
            }
            mask = np.zeros(shape, bool)
            if found is not None:
                (y0, y1), (x0, x1), text = found
                mask[y0:y1, x0:x1] = True
                region_info = {"spec": region, "rows": [y0, y1], "cols": [x0, x1], "description": text}
        for start in starts:
            if start + k + longest > len(frames):
                continue
            ctx = from_uint8(frames[start : start + k]).to(predictor.device)
            acts = np.tile(
                np.asarray(ep.actions[start : start + k + longest - 1], np.int64).clip(0), (a_n, 1)
            )
            acts[:, k - 1 :] = np.arange(a_n)[:, None]  # action a held for every predicted step
            with torch.no_grad():
                pred = rollout(
                    predictor.generator,
                    ctx.unsqueeze(0).expand(a_n, -1, -1, -1, -1),
                    longest,
                    torch.from_numpy(acts).to(predictor.device),
                )
            pred = ((pred.float().clamp(-1, 1) + 1) * 127.5).cpu().numpy()  # grey levels, (A, S, C, H, W)
            truth = frames[start + k - 1 : start + k + longest].astype(np.float64)  # (1 + S, H, W, C)
            for h in horizons:
                p = pred[:, h - 1].mean(1)  # (A, H, W): mean over channels
                s = sums[h]
                diffs = [np.abs(p[a] - p[b]) for a, b in pairs]
                s["overall"] += float(np.mean([d.mean() for d in diffs]))
                if mask.any():
                    region_vals = [d[mask].mean() for d in diffs]
                    s["region"] += float(np.mean(region_vals))
                    if (~mask).any():
                        s["outside"] += float(np.mean([d[~mask].mean() for d in diffs]))
                    for (a, b), v in zip(pairs, region_vals):
                        s["pairs"][a, b] += v
                        s["pairs"][b, a] += v
                    s["motion"] += float(np.abs(truth[h] - truth[0]).mean(-1)[mask].mean())
            count += 1
    if count == 0:
        raise ValueError(
            f"no episode is long enough for a context of {k} frames and {longest} steps at starts {starts}"
        )
    results = {}
    for h in horizons:
        s = sums[h]
        r: dict[str, Any] = {"overall": s["overall"] / count}
        if mask is not None and mask.any():
            r["region"] = s["region"] / count
            r["data_motion_region"] = s["motion"] / count
            r["pairs"] = (s["pairs"] / count).round(4).tolist()
            if (~mask).any():
                r["outside"] = s["outside"] / count
                r["region_ratio"] = r["region"] / r["outside"] if r["outside"] > 0 else None
        results[str(h)] = r
    return {
        "num_contexts": count,
        "num_actions": a_n,
        "action_names": action_names,
        "horizons": horizons,
        "starts": starts,
        "region": region_info,
        "results": results,
        "protocol": (
            f"{count} test contexts of {k} frames; each of the {a_n} actions held for h steps; mean "
            "absolute difference between the h-th predicted frames of every pair of actions, in grey "
            "levels (0-255, mean over channels), averaged over pairs and contexts"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-m", "--model", required=True, help="exported model (.safetensors) or checkpoint")
    parser.add_argument("--episodes", required=True, help="episodes.scp of the test set")
    parser.add_argument("--starts", type=int, nargs="+", default=[0], help="context start frames (default 0)")
    parser.add_argument("--horizons", type=int, nargs="+", default=[1], help="steps per action (default 1)")
    parser.add_argument("--region", default="auto", help="auto, none, x0:x1 or y0:y1,x0:x1 (default auto)")
    parser.add_argument("--max-episodes", type=int, default=0, help="use at most this many episodes (0: all)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("-o", "--output", type=Path, help="JSON file to write")
    args = parser.parse_args(argv)
    if min(args.horizons) < 1 or min(args.starts) < 0:
        parser.error("--horizons must be >= 1 and --starts >= 0")

    from seqgan.data.episodes import EpisodeError, read_episodes_scp
    from seqgan.export import ModelFileError
    from seqgan.predict import Predictor

    try:
        predictor = Predictor.from_pretrained(args.model, device=args.device)
        episodes = read_episodes_scp(args.episodes)
        if args.max_episodes > 0:
            episodes = dict(list(episodes.items())[: args.max_episodes])
        result = measure(predictor, episodes, args.starts, sorted(set(args.horizons)), args.region)
    except (ModelFileError, EpisodeError, ValueError, OSError) as e:
        print(f"action_sensitivity.py: {e}", file=sys.stderr)
        return 1
    result["model"] = str(args.model)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        write_text(args.output, json.dumps(result, indent=2) + "\n")
    print(f"{args.model}: {result['protocol']}; region: {result['region']['description']}")
    for h in result["horizons"]:
        r = result["results"][str(h)]
        parts = [f"overall {r['overall']:.3f}"]
        if "region" in r:
            parts.append(f"region {r['region']:.3f}")
        if r.get("outside") is not None:
            parts.append(f"outside {r['outside']:.3f}")
        if "data_motion_region" in r:
            parts.append(f"true motion in region {r['data_motion_region']:.3f}")
        print(f"  {h} step(s): " + ", ".join(parts) + " grey levels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
