#!/usr/bin/env python3
"""How much a recurrent generator's rollouts owe to its state: the test rollouts of stage 4 (4 -> 10
from frames 0, 30, 60 of every test video) scored as stage 5 scores them (uint8 predictions,
``utils/vp_results.py``), once with the state carried across the steps (what ``seqgan predict`` does)
and once with it reset to zero before every step.

    python local/state_ablation.py exp/bb_recurrent/model.safetensors data/test/episodes.scp

prints one table row per way (PSNR@1, PSNR@10, PSNR mean, SSIM@1, SSIM@10, SSIM mean, sharpness
difference mean) and the per-step PSNR and SSIM. Run from egs/bouncing_balls/vp1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "utils"))
from vp_results import score  # noqa: E402

from seqgan import load_model  # noqa: E402
from seqgan.data.episodes import read_episode, read_episodes_scp  # noqa: E402
from seqgan.predict import from_uint8, rollout, to_uint8  # noqa: E402


class ZeroState(nn.Module):
    """The same generator with its state reset to zero before every step (``rollout`` sees a
    feed-forward model)."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def predict(self, context: torch.Tensor, actions: torch.Tensor | None) -> torch.Tensor:
        return self.generator.predict(context, actions)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", help="an exported recurrent generator (.safetensors)")
    parser.add_argument("episodes", help="episodes.scp of the test set")
    parser.add_argument("--starts", type=int, nargs="+", default=[0, 30, 60])
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    generator = load_model(args.model).eval()
    if not getattr(generator, "recurrent", False):
        print(f"{args.model} is not a recurrent generator: it has no state to reset", file=sys.stderr)
        return 1
    k = generator.context
    contexts, truths = [], []
    for path in dict(read_episodes_scp(args.episodes)).values():
        frames = read_episode(path).frames
        for s in args.starts:
            if s + k + args.steps <= len(frames):
                contexts.append(frames[s : s + k])
                truths.append(frames[s + k : s + k + args.steps])
    truth = np.stack(truths)
    print(f"{len(contexts)} sequences, {k} -> {args.steps}")
    for name, model in (("state carried", generator), ("state reset every step", ZeroState(generator))):
        with torch.no_grad():
            pred = np.stack([to_uint8(rollout(model, from_uint8(c)[None], args.steps)[0]) for c in contexts])
        m = {key: v.mean(0) for key, v in score(pred, truth, 100.0).items()}
        p, q, d = m["psnr"], m["ssim"], m["sharpness_difference"]
        print(
            f"| {name} | {p[0]:.2f} | {p[-1]:.2f} | {p.mean():.2f} | {q[0]:.3f} | {q[-1]:.3f} | "
            f"{q.mean():.3f} | {d.mean():.2f} |"
        )
        print("  PSNR per step:", " ".join(f"{v:.2f}" for v in p))
        print("  SSIM per step:", " ".join(f"{v:.3f}" for v in q))
    return 0


if __name__ == "__main__":
    sys.exit(main())
