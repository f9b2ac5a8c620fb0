#!/usr/bin/env python3
"""Counterfactual evaluation against the emulator (stage 6 of egs/atari/vp1/run.sh).

    python local/counterfactual.py -m GAN=exp/train_pong_tiny/model.safetensors \\
        -m l1=exp/train_pong_tiny_l1/model.safetensors --episodes data/test_pong/episodes.scp \\
        --starts 60 140 220 --steps 10 -o exp/train_pong_tiny/scores/test_pong/counterfactual.json \\
        --markdown exp/train_pong_tiny/scores/test_pong/counterfactual.md

From each start position of each held-out episode the emulator is put back into the recorded state at
the last context frame and every action of the game is held for --steps steps; each model is rolled out
from the same context frames under each action (its own predictions fed back) and scored against the
emulator's frames, beside copy-last-frame. The figures and their definitions are those of
seqgan.tasks.next_frame.counterfactual. Writes the JSON (every step) and a Markdown section (the steps
of --table_steps); prints the section. ``--insert RESULTS.md SECTION.md`` puts a written section into
RESULTS.md instead, replacing an earlier one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from seqgan.atomic import write_text


def _model_args(specs: list[str]) -> dict[str, str]:
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SystemExit(
                f"counterfactual.py: -m {spec!r}: write NAME=PATH (e.g. GAN=exp/x/model.safetensors)"
            )
        if not Path(path).is_file():
            raise SystemExit(f"counterfactual.py: -m {spec!r}: {path} not found; run stage 3 (export) first")
        models[name] = path
    return models


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(result: dict[str, Any], steps: list[int], corpus: str, seconds: float) -> str:
    """The RESULTS.md section: one row per model and step of ``steps``."""
    from seqgan.tasks.next_frame.counterfactual import COPY_LAST

    models = result["models"]
    copy = models[COPY_LAST]
    shown = [s for s in steps if 1 <= s <= result["steps"]]
    header = [
        "model",
        "step",
        "factual PSNR",
        "factual SSIM",
        "counterf. PSNR",
        "counterf. SSIM",
        "action-dep. PSNR",
        "vs copy-last",
        "identifiability",
    ]
    rows = []
    for name, m in models.items():
        for s in shown:
            i = s - 1
            ad, ad_copy = m["ad_psnr"][i], copy["ad_psnr"][i]
            gain = None if ad is None or ad_copy is None else ad - ad_copy
            ident = m["identifiability"][i]
            rows.append(
                [
                    name,
                    str(s),
                    _fmt(m["factual_psnr"][i], 2),
                    _fmt(m.get("factual_ssim", [None] * (i + 1))[i], 3),
                    _fmt(m["cf_psnr"][i], 2),
                    _fmt(m.get("cf_ssim", [None] * (i + 1))[i], 3),
                    _fmt(ad, 2),
                    "–" if gain is None else f"{gain:+.2f}",
                    "–" if ident is None else f"{100 * ident:.1f} %",
                ]
            )
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    outcomes = ", ".join(f"{result['outcomes'][s - 1]:.2f} @{s}" for s in shown)
    fraction = ", ".join(f"{100 * result['action_dependent_fraction'][s - 1]:.2f} % @{s}" for s in shown)
    return "\n".join(
        [
            SECTION,
            "",
            f"**{corpus}: {result['num_cases']} held-out emulator states, every action of "
            f"{', '.join(result['actions'])} held for 1..{result['steps']} steps (sticky actions off), "
            "the model rolled out on its own predictions under the same action; PSNR data range 2 "
            f"(cap {result['psnr_cap']:g} dB), SSIM on the uint8 convention**",
            "",
            *lines,
            "",
            "Factual: the recorded actions against the recorded frames. Counterfactual: the mean over "
            "actions of the prediction under an action against the emulator's frame under it. "
            "Action-dependent PSNR: over the pixels where the emulator's frames under different actions "
            "differ (pooled over the actions, per state, then the mean over states); `vs copy-last` is "
            "its difference from copy-last-frame's. Identifiability: how often the prediction under an "
            "action is closer to the emulator's frame under it than the predictions under every action "
            "with a different outcome (same-outcome actions count as one; a tie is a miss, so "
            "copy-last-frame scores 0). "
            f"Distinct outcomes per state: {outcomes}; action-dependent pixels: {fraction} of the "
            f"frame. Measured in {seconds:.0f} s (`local/counterfactual.py`, stage 6).",
        ]
    )


SECTION = "### Counterfactual evaluation against the emulator"


def insert_section(results: Path, section: Path) -> None:
    """Puts the Markdown ``section`` into ``results`` (RESULTS.md), replacing an earlier one with the same
    heading (its first line; up to the next ``##`` / ``###`` heading), else appended."""
    text = results.read_text(encoding="utf-8") if results.is_file() else ""
    new = section.read_text(encoding="utf-8").strip() + "\n"
    heading = new.splitlines()[0]
    if heading in text:
        head, rest = text.split(heading, 1)
        cut = [i for i in (rest.find("\n## "), rest.find("\n### ")) if i >= 0]
        tail = rest[min(cut) + 1 :] if cut else ""
        text = head + new + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + new
    write_text(results, text)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--insert"]:
        if len(argv) != 3:
            raise SystemExit("counterfactual.py --insert RESULTS.md SECTION.md")
        insert_section(Path(argv[1]), Path(argv[2]))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "-m", "--model", action="append", required=True, metavar="NAME=PATH", help="an exported model"
    )
    p.add_argument("--episodes", required=True, help="episodes.scp of the held-out ale-py recordings")
    p.add_argument("--starts", type=int, nargs="+", required=True, help="first context frame in each episode")
    p.add_argument("--steps", type=int, default=10, help="steps each action is held for (10)")
    p.add_argument(
        "--table_steps", type=int, nargs="+", default=[1, 4, 10], help="steps in the table (1 4 10)"
    )
    p.add_argument("--psnr_cap", type=float, default=100.0, help="per-frame PSNR cap in dB (100)")
    p.add_argument("--corpus", default="Atari", help="the corpus name in the protocol line")
    p.add_argument("--device", default="cpu")
    p.add_argument("-o", "--out", required=True, help="the JSON to write")
    p.add_argument("--markdown", help="also write the Markdown section here")
    args = p.parse_args(argv)
    if args.steps < 1:
        raise SystemExit("counterfactual.py: --steps must be at least 1")

    from seqgan.data.episodes import read_episodes_scp
    from seqgan.predict import Predictor
    from seqgan.tasks.next_frame.counterfactual import emulator_cases, generator_rollout, score_cases

    t0 = time.perf_counter()
    predictors = {
        name: Predictor.from_pretrained(path, args.device) for name, path in _model_args(args.model).items()
    }
    first = next(iter(predictors.values()))
    for name, pr in predictors.items():
        same = (pr.context, pr.num_channels, pr.resize) == (first.context, first.num_channels, first.resize)
        if not same or pr.num_actions < 2:
            raise SystemExit(
                f"counterfactual.py: model {name} must be action-conditioned and share the first model's "
                f"context, channels and resize ({first.context}, {first.num_channels}, {first.resize})"
            )
    episodes = read_episodes_scp(args.episodes)
    try:
        cases = emulator_cases(episodes, args.starts, first.context, args.steps, first.prepare)
        runners = {name: generator_rollout(pr.generator, pr.device) for name, pr in predictors.items()}
        result = score_cases(runners, cases, args.psnr_cap or None)
    except ValueError as e:
        raise SystemExit(f"counterfactual.py: {e}") from None
    seconds = time.perf_counter() - t0
    result.update({"models_files": _model_args(args.model), "episodes": args.episodes, "starts": args.starts})
    result["seconds"] = round(seconds, 1)
    write_text(args.out, json.dumps(result, indent=1) + "\n")
    section = markdown(result, args.table_steps, args.corpus, seconds)
    if args.markdown:
        write_text(args.markdown, section + "\n")
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
