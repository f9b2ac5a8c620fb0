#!/usr/bin/env python3
"""Scores the rollouts of a next-frame experiment and writes its RESULTS.md (stage 5 of recipes/vp.sh).

    python utils/vp_results.py --exp exp/train_tiny --baseline exp/train_tiny_l1 --corpus "bouncing balls" \\
        --starts 0 20 40 test

Reads the rollouts ``EXP/rollouts/<set>/start<S>/<episode>.npz`` written by ``seqgan predict`` (uint8
``prediction``, ``ground_truth``, ``context``) of the GAN experiment and of the baseline, and scores the
sequences both have (plus the copy-last-frame baseline, built from the same contexts) with
``seqgan.metrics.frames``: per predicted step, PSNR, SSIM and the sharpness difference, averaged over
the sequences. It writes, under the GAN experiment ``EXP``:

* ``RESULTS.md``: the protocol, per test set a summary table and a per-step table, the action
  sensitivity when ``EXP/scores/<set>/action_sensitivity.json`` exists (``utils/action_sensitivity.py``),
  the plot and the GIF, and the training settings of each model;
* ``scores/<set>/per_step.csv``: ``set,model,step,psnr,ssim,sharpness_difference,num_sequences,protocol``;
* ``results.json``: the same numbers;
* ``images/<set>_per_step.png``: the three metrics against the step;
* ``images/<set>_rollouts.gif`` and ``.png``: a few test sequences, columns ground truth | GAN |
  baseline | copy-last (context frames first).

Every file is written to a temporary name and renamed. The tables are printed too.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import atomic_write, markdown_table, read_metrics_jsonl  # noqa: E402

METRICS = ("psnr", "ssim", "sharpness_difference")
LABELS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "sharpness_difference": "sharpness diff. (dB)"}
COPY_LAST = "copy-last"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


# -- reading ---------------------------------------------------------------------------------------


def load_rollouts(exp: Path, test_set: str, starts: list[int]) -> dict[str, dict[str, Any]]:
    """``{"<episode>@<start>": {"prediction", "ground_truth", "context"}}`` (uint8 ``(T, H, W, C)``)."""
    import numpy as np

    out: dict[str, dict[str, Any]] = {}
    for start in starts:
        folder = exp / "rollouts" / test_set / f"start{start}"
        if not (folder / ".done").is_file():
            sys.exit(f"vp_results.py: {folder} is not complete: run the rollout stage (4) first")
        for path in sorted(folder.glob("*.npz")):
            try:
                with np.load(path, allow_pickle=False) as z:
                    item = {k: z[k] for k in ("prediction", "ground_truth", "context")}
            except (OSError, ValueError, KeyError) as e:
                sys.exit(f"vp_results.py: {path}: not a rollout of seqgan predict ({e}); run stage 4 again")
            out[f"{path.stem}@{start}"] = item
    return out


def read_config(exp: Path) -> dict[str, Any]:
    import yaml

    path = exp / "config.yaml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def loss_label(config: dict[str, Any]) -> str:
    """The generator loss of a config, e.g. ``0.05·adv (nsgan) + 1·ℓ1 + 1·GDL``."""
    loss = config.get("loss", {})
    terms = []
    if loss.get("adv_weight", 0):
        terms.append(f"{loss['adv_weight']:g}·adv ({loss.get('objective', '?')})")
    if loss.get("lp_weight", 0):
        terms.append(f"{loss['lp_weight']:g}·ℓ{loss.get('p', 1):g}")
    if loss.get("gdl_weight", 0):
        terms.append(f"{loss['gdl_weight']:g}·GDL")
    return " + ".join(terms) or "–"


# -- scoring ---------------------------------------------------------------------------------------


def score(pred: Any, truth: Any, cap: float, chunk: int = 16) -> dict[str, Any]:
    """Per-frame metrics of uint8 rollouts ``(N, S, H, W, C)``, chunked over sequences to bound memory.

    Returns:
        ``{metric: float64 array (N, S)}``.
    """
    import numpy as np

    from seqgan.metrics.frames import SSIM_WINDOW, psnr, sharpness_difference, ssim
    from seqgan.predict import from_uint8

    parts: dict[str, list[Any]] = {m: [] for m in METRICS}
    for i in range(0, len(pred), chunk):
        p, t = from_uint8(pred[i : i + chunk]), from_uint8(truth[i : i + chunk])
        parts["psnr"].append(psnr(p, t, 2.0, cap=cap).numpy())
        parts["sharpness_difference"].append(sharpness_difference(p, t, 2.0, cap=cap).numpy())
        if min(p.shape[-2:]) >= SSIM_WINDOW:
            # (-1, 1): frames shifted to [0, 2] first, the SSIM of the same frames as uint8
            parts["ssim"].append(ssim(p, t, (-1.0, 1.0)).numpy())
    return {m: np.concatenate(v) for m, v in parts.items() if v}


def score_set(
    runs: dict[str, dict[str, dict[str, Any]]], cap: float
) -> tuple[dict[str, dict[str, Any]], list[str], dict[str, Any]]:
    """Scores the sequences every model has, and copy-last-frame on them.

    Args:
        runs: model name -> rollouts (as from :func:`load_rollouts`).
        cap: PSNR / sharpness cap in dB.

    Returns:
        (model -> metric -> ``(N, S)`` array, the sequence keys, stacked uint8 arrays for pictures).
    """
    import numpy as np

    names = list(runs)
    keys = sorted(set.intersection(*(set(r) for r in runs.values())))
    for name in names:
        missing = len(runs[name]) - len(keys)
        if missing:
            print(
                f"vp_results.py: {missing} rollout(s) of {name} are not in every model's; left out",
                file=sys.stderr,
            )
    if not keys:
        sys.exit(
            "vp_results.py: no test sequence was rolled out by every model: are the test episodes long "
            "enough for the context and --steps from the --rollout_starts frames? (see stage 4's log)"
        )
    first = runs[names[0]]
    truth = np.stack([first[k]["ground_truth"] for k in keys])
    context = np.stack([first[k]["context"] for k in keys])
    steps = min(truth.shape[1], *(runs[n][keys[0]]["prediction"].shape[0] for n in names))
    if steps == 0:
        sys.exit("vp_results.py: the rollouts hold no ground-truth frame to score against")
    truth = truth[:, :steps]
    arrays = {"truth": truth, "context": context}
    scores = {}
    for name in names:
        pred = np.stack([runs[name][k]["prediction"][:steps] for k in keys])
        arrays[name] = pred
        scores[name] = score(pred, truth, cap)
    copy = np.repeat(context[:, -1:], steps, axis=1)
    arrays[COPY_LAST] = copy
    scores[COPY_LAST] = score(copy, truth, cap)
    return scores, keys, arrays


# -- pictures --------------------------------------------------------------------------------------


def _rgb_up(frame: Any, factor: int) -> Any:
    import numpy as np

    if frame.shape[-1] == 1:
        frame = np.repeat(frame, 3, axis=-1)
    return frame.repeat(factor, axis=0).repeat(factor, axis=1)


def rollout_pictures(arrays: dict[str, Any], columns: list[str], n: int, gif: Path, png: Path) -> None:
    """A GIF of ``n`` sequences (rows) with one column per entry of ``columns`` (context frames first in
    every column) and a PNG of the first sequence (one row per column entry, one column per frame)."""
    import numpy as np

    from seqgan.predict import save_gif, save_png

    truth, context = arrays["truth"], arrays["context"]
    picks = np.linspace(0, len(truth) - 1, num=min(n, len(truth))).round().astype(int)
    h, w = truth.shape[2:4]
    factor = max(1, -(-64 // min(h, w)))
    gap = 2
    frames = []
    for t in range(context.shape[1] + truth.shape[1]):
        rows = []
        for i in picks:
            tiles = []
            for c in columns:
                src = context[i, t] if t < context.shape[1] else arrays[c][i, t - context.shape[1]]
                tiles += [_rgb_up(src, factor), np.full((h * factor, gap, 3), 255, np.uint8)]
            rows += [np.concatenate(tiles[:-1], axis=1)]
            rows += [np.full((gap, rows[-1].shape[1], 3), 255, np.uint8)]
        frames.append(np.concatenate(rows[:-1], axis=0))
    save_gif(gif, frames, fps=4.0)
    i = int(picks[0])
    strip_rows = []
    for c in columns:
        seq = list(context[i]) + list(arrays[c][i])
        tiles = []
        for f in seq:
            tiles += [_rgb_up(f, factor), np.full((h * factor, gap, 3), 255, np.uint8)]
        strip_rows += [
            np.concatenate(tiles[:-1], axis=1),
            np.full((gap, len(seq) * (w * factor + gap) - gap, 3), 255, np.uint8),
        ]
    save_png(png, np.concatenate(strip_rows[:-1], axis=0))


def plot_per_step(means: dict[str, dict[str, list[float]]], title: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    metrics = [m for m in METRICS if all(m in v for v in means.values())]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for name, values in means.items():
            steps = range(1, len(values[m]) + 1)
            ax.plot(steps, values[m], "--" if name == COPY_LAST else "-", marker=".", label=name)
        ax.set_xlabel("predicted step")
        ax.set_title(LABELS[m], fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, buf.getvalue())


# -- report ----------------------------------------------------------------------------------------


def sensitivity_section(exps: dict[str, Path], test_set: str) -> list[str]:
    """The action-sensitivity table of every model that has ``scores/<set>/action_sensitivity.json``."""
    rows, notes = [], []
    for name, exp in exps.items():
        path = exp / "scores" / test_set / "action_sensitivity.json"
        if not path.is_file():
            continue
        s = json.loads(path.read_text(encoding="utf-8"))
        notes = [f"Protocol: {s['protocol']}", "", f"Region: {s['region']['description']}"]
        for h in s["horizons"]:
            r = s["results"][str(h)]
            rows.append(
                [name, str(h), _fmt(r["overall"], 4), _fmt(r.get("region"), 4), _fmt(r.get("outside"), 4),
                 _fmt(r.get("region_ratio"), 1), _fmt(r.get("data_motion_region"), 4)]
            )  # fmt: skip
    if not rows:
        return []
    header = [
        "model",
        "steps",
        "overall",
        "region",
        "outside region",
        "region / outside",
        "true motion in region",
    ]
    return ["### Action sensitivity", "", *notes, "", markdown_table(header, rows), ""]


def _sched(train: dict[str, Any], key: str) -> str:
    name = train.get(key, {}).get("name", "constant")
    return "" if name == "constant" else f" ({name} schedule)"


def training_lines(name: str, exp: Path) -> list[str]:
    c = read_config(exp)
    m, d, t = c.get("model", {}), c.get("data", {}), c.get("train", {})
    og, od = t.get("optim_g", {}), t.get("optim_d", {})
    line = (
        f"- **{name}** (`{exp}`): preset `{m.get('preset')}`"
        + (f", {m['num_actions']} actions" if m.get("num_actions") else "")
        + f"; loss {loss_label(c)}; {t.get('max_steps')} steps of {t.get('batch_size')} "
        f"{d.get('patch_size') or 'full'}-pixel patches, context {d.get('context')}, curriculum "
        f"{c.get('curriculum', {}).get('horizons')}; {og.get('name')} lr {og.get('lr')}{_sched(t, 'sched_g')} (G) / "
        f"{od.get('name')} lr {od.get('lr')}{_sched(t, 'sched_d')} (D)"
    )
    train = [r for r in read_metrics_jsonl(exp / "metrics.jsonl") if r.get("kind", "train") == "train"]
    if train:
        line += f"; {train[-1].get('time', 0.0):.0f} s of training in the last (resumed) run"
    model = exp / "model.safetensors"
    if model.is_file():
        line += f"; `{model}` ({model.stat().st_size / 2**20:.2f} MiB)"
    return [line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("test_sets", nargs="+", help="test sets rolled out in stage 4")
    parser.add_argument("--exp", required=True, type=Path, help="the GAN experiment (RESULTS.md goes here)")
    parser.add_argument("--name", default="GAN", help="its name in the tables (default GAN)")
    parser.add_argument(
        "--baseline", type=Path, help="the baseline experiment (same generator, no adversarial term)"
    )
    parser.add_argument("--baseline-name", default="l1", help="its name in the tables (default l1)")
    parser.add_argument("--starts", type=int, nargs="+", default=[0], help="rollout start frames (stage 4)")
    parser.add_argument("--corpus", default="", help="corpus name for the protocol lines")
    parser.add_argument("--psnr-cap", type=float, default=100.0, help="per-frame cap in dB (default 100)")
    parser.add_argument("--num-gif", type=int, default=4, help="sequences in the GIF (default 4)")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import torch

    import seqgan

    exps = {args.name: args.exp}
    if args.baseline is not None:
        if args.baseline_name in (args.name, COPY_LAST):
            sys.exit(f"vp_results.py: --baseline-name must differ from {args.name!r} and {COPY_LAST!r}")
        exps[args.baseline_name] = args.baseline
    gan_config = read_config(args.exp)
    k = gan_config.get("data", {}).get("context", "?")
    md = [
        f"# Next-frame prediction results: {args.exp.name}",
        "",
        f"Written {time.strftime('%Y-%m-%d %H:%M')} by recipes/vp.sh stage 5 (seqgan "
        f"{seqgan.__version__}, torch {torch.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}). Models: "
        + "; ".join(f"**{n}** = {loss_label(read_config(e))}" for n, e in exps.items())
        + f"; **{COPY_LAST}** repeats the last context frame.",
        "",
    ]
    summary: dict[str, Any] = {}
    csv_rows: list[list[Any]] = []
    for test_set in args.test_sets:
        runs = {name: load_rollouts(exp, test_set, args.starts) for name, exp in exps.items()}
        scores, keys, arrays = score_set(runs, args.psnr_cap)
        n, steps = arrays["truth"].shape[:2]
        h, w, c = arrays["truth"].shape[2:]
        episodes = len({key.rsplit("@", 1)[0] for key in keys})
        colour = "grey" if c == 1 else "RGB"
        short = (
            f"{args.corpus or test_set} {h}x{w} {colour}, {k} -> {steps}, {n} sequences, PSNR data range 2 "
            f"(cap {args.psnr_cap:g} dB), SSIM on the uint8 convention"
        )
        protocol = (
            f"{args.corpus or test_set}, {h}x{w} {colour} frames; {k} context frames -> {steps} predicted "
            f"frames, each prediction fed back as context (recursive); {n} test sequences ({episodes} "
            f"episodes of `{test_set}` x start frames {' '.join(map(str, args.starts))}, those long enough); "
            "predictions rounded to uint8 as `seqgan predict` writes them. PSNR per frame with data range 2 "
            f"on [-1, 1] frames (the same as 255 on uint8), capped at {args.psnr_cap:g} dB, then the mean "
            "over sequences; SSIM per frame (Wang et al. 2004: Gaussian 11x11, σ 1.5, K1 0.01, K2 0.03, "
            "valid region, mean over channels) on the uint8 convention (frames shifted to [0, 2], L = 2); "
            "sharpness difference (Mathieu et al. 2016) with data range 2, capped likewise. Higher is better "
            "for all three."
        )
        means = {name: {m: v.mean(0).tolist() for m, v in s.items()} for name, s in scores.items()}
        summary[test_set] = {"protocol": protocol, "num_sequences": n, "per_step": means}
        for name, values in means.items():
            for step in range(steps):
                csv_rows.append(
                    [test_set, name, step + 1, *(round(values[m][step], 4) if m in values else "" for m in METRICS), n, short]
                )  # fmt: skip

        # summary table: step 1, last step, mean over steps
        header = [
            "model",
            "PSNR@1",
            f"PSNR@{steps}",
            "PSNR mean",
            "SSIM@1",
            f"SSIM@{steps}",
            "SSIM mean",
            "sharp. diff. mean",
        ]
        rows = []
        for name, values in means.items():
            p, s, d = values["psnr"], values.get("ssim"), values["sharpness_difference"]
            rows.append(
                [name, _fmt(p[0]), _fmt(p[-1]), _fmt(sum(p) / len(p)),
                 _fmt(s[0], 3) if s else "–", _fmt(s[-1], 3) if s else "–", _fmt(sum(s) / len(s), 3) if s else "–",
                 _fmt(sum(d) / len(d))]
            )  # fmt: skip
        table = markdown_table(header, rows)
        step_header = ["step"] + [f"{LABELS[m].split(' ')[0]} {name}" for m in METRICS for name in means]
        step_rows = [
            [str(i + 1)] + [_fmt(means[name][m][i], 3 if m == "ssim" else 2) if m in means[name] else "–" for m in METRICS for name in means]
            for i in range(steps)
        ]  # fmt: skip
        step_table = markdown_table(step_header, step_rows)
        print(f"{test_set}: {short}\n{table}\n\n{step_table}\n")

        img = args.exp / "images"
        plot_per_step(means, short, img / f"{test_set}_per_step.png")
        columns = ["truth", *exps, COPY_LAST]
        rollout_pictures(
            arrays, columns, args.num_gif, img / f"{test_set}_rollouts.gif", img / f"{test_set}_rollouts.png"
        )
        md += [
            f"## {test_set}",
            "",
            f"Protocol: {protocol}",
            "",
            f"**{short}**",
            "",
            table,
            "",
            "Per step:",
            "",
            step_table,
            "",
            f"![per-step metrics](images/{test_set}_per_step.png)",
            "",
            f"Rollouts (columns: {' | '.join(columns)}; the {k} context frames first, then the predictions):",
            "",
            f"![rollouts](images/{test_set}_rollouts.gif)",
            "",
            f"![first rollout](images/{test_set}_rollouts.png)",
            "",
        ]
        sens = sensitivity_section(exps, test_set)
        md += sens
        if sens:
            print("\n".join(sens))
        atomic_write(
            args.exp / "scores" / test_set / "per_step.csv",
            _csv([["set", "model", "step", *METRICS, "num_sequences", "protocol"], *[r for r in csv_rows if r[0] == test_set]]),
        )  # fmt: skip
    md += ["## Models", ""]
    for name, exp in exps.items():
        md += training_lines(name, exp)
    md.append("")
    atomic_write(args.exp / "RESULTS.md", "\n".join(md).encode("utf-8"))
    atomic_write(args.exp / "results.json", (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    print(f"wrote {args.exp / 'RESULTS.md'}, {args.exp / 'results.json'}, per_step.csv under {args.exp / 'scores'}/ "
          f"and {args.exp / 'images'}/")  # fmt: skip
    return 0


def _csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


if __name__ == "__main__":
    sys.exit(main())
