#!/usr/bin/env python3
"""Writes the RESULTS.md of a speech-enhancement experiment (stage 5 of recipes/se.sh).

    python utils/se_results.py --exp exp/train_small --dumpdir dump test

Reads ``EXP/scores/<set>/{noisy,enhanced}/scores.json`` (from ``seqgan score``), the test data
``DUMPDIR/<set>/{wav,spk1}.scp``, the enhanced files ``EXP/enhanced/<set>/wav.scp``, the training log
``EXP/metrics.jsonl`` and the configuration ``EXP/config.yaml``, and writes:

* ``EXP/RESULTS.md``: per test set, the mean of every metric for the noisy input and the enhanced
  output and the change (positive = better, also for the distances LLR and WSS); the training summary;
* ``EXP/images/<set>_<utt>.png``: spectrograms of noisy, enhanced and clean for a few utterances;
* ``EXP/images/training_curves.png``: losses and validation scores against the step.

The tables are printed too. Every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import atomic_write, markdown_table, read_metrics_jsonl  # noqa: E402

PLOT_METRICS = ("pesq_wb", "si_sdr")  # shown in the spectrogram titles when scored


def _save_figure(fig: Any, path: Path) -> None:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    atomic_write(path, buf.getvalue())


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def load_scores(path: Path) -> dict[str, Any]:
    """The ``scores.json`` written by ``seqgan score``; exits with a message when it is missing."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        sys.exit(f"se_results.py: {path} is missing: run the scoring stage (5) first")
    except json.JSONDecodeError as e:
        sys.exit(f"se_results.py: {path} is not valid JSON ({e}); run the scoring stage (5) again")


def metrics_table(noisy: dict[str, Any], enhanced: dict[str, Any]) -> tuple[list[list[str]], dict[str, dict]]:
    """Rows ``[metric, noisy, enhanced, change]`` and the numbers behind them.

    The change is enhanced − noisy, with the sign flipped for distances (LLR, WSS) so that a positive
    change always means an improvement.
    """
    from seqgan.metrics.audio import HIGHER_IS_BETTER, METRIC_LABELS

    rows = []
    numbers: dict[str, dict] = {}
    for m in enhanced["metrics"]:
        e = enhanced["summary"].get(m, {}).get("mean")
        n = noisy["summary"].get(m, {}).get("mean")
        change = None
        if e is not None and n is not None:
            change = (e - n) if HIGHER_IS_BETTER.get(m, True) else (n - e)
        numbers[m] = {"noisy": n, "enhanced": e, "change": change}
        sign = "" if change is None or change < 0 else "+"
        rows.append([METRIC_LABELS.get(m, m), _fmt(n), _fmt(e), sign + _fmt(change)])
    return rows, numbers


def worse_than_input(numbers: dict[str, dict]) -> str:
    """One plain sentence: on which metrics the enhanced output is worse than the noisy input, if any."""
    from seqgan.metrics.audio import METRIC_LABELS

    worse = [
        METRIC_LABELS.get(m, m) for m, v in numbers.items() if v["change"] is not None and v["change"] < 0
    ]
    if worse:
        return f"**The enhanced output is worse than the noisy input on {', '.join(worse)}.**"
    return "The enhanced output is better than or equal to the noisy input on every metric."


def ablation_comparison(
    numbers: dict[str, dict], ablation: dict[str, Any], name: str
) -> tuple[list[list[str]], str]:
    """Rows ``[metric, noisy, ablation, enhanced, enhanced − ablation]`` and one plain sentence saying on
    which metrics the model is worse than the ablation (``name``), if any.

    Args:
        numbers: the model's numbers from :func:`metrics_table`.
        ablation: the ablation's ``scores.json`` (enhanced) on the same test set.
        name: how the sentence names the ablation.
    """
    from seqgan.metrics.audio import HIGHER_IS_BETTER, METRIC_LABELS

    rows, worse = [], []
    for m, v in numbers.items():
        a = ablation["summary"].get(m, {}).get("mean")
        diff = None
        if a is not None and v["enhanced"] is not None:
            diff = (v["enhanced"] - a) if HIGHER_IS_BETTER.get(m, True) else (a - v["enhanced"])
            if diff < 0:
                worse.append(METRIC_LABELS.get(m, m))
        sign = "" if diff is None or diff < 0 else "+"
        rows.append(
            [METRIC_LABELS.get(m, m), _fmt(v["noisy"]), _fmt(a), _fmt(v["enhanced"]), sign + _fmt(diff)]
        )
    if worse:
        return rows, f"**This model is worse than {name} on {', '.join(worse)}.**"
    return rows, f"This model is better than or equal to {name} on every metric."


#: the metrics of the per-condition table
CONDITION_METRICS = ("pesq_wb", "stoi", "si_sdr")


def _conditions(data_dir: Path) -> dict[str, dict[str, str]]:
    """``{condition: {utt: group}}`` from ``utt2noise``, ``utt2lang``, ``utt2snr`` and ``utt2aug`` (room,
    band, clipping) where the data directory has them."""
    found: dict[str, dict[str, str]] = {}
    for name, key in (("noise", "utt2noise"), ("language", "utt2lang"), ("SNR (dB)", "utt2snr")):
        path = data_dir / key
        if path.is_file():
            found[name] = read_table(path)
    path = data_dir / "utt2aug"
    if path.is_file():
        rooms, channels = {}, {}
        for utt, fields in read_table(path).items():
            aug = dict(f.split("=", 1) for f in fields.split() if "=" in f)
            rooms[utt] = "reverberant" if "rt60" in aug else "dry"
            channels[utt] = aug.get("band", "clipped" if "clip" in aug else "full band")
        found["room"], found["channel"] = rooms, channels
    return found


def _group_order(group: str) -> tuple[int, float, str]:
    """Numbers (SNRs) in numeric order first, then names alphabetically."""
    try:
        return 0, float(group), ""
    except ValueError:
        return 1, 0.0, group


def condition_table(
    data_dir: Path, noisy: dict[str, Any], enhanced: dict[str, Any]
) -> tuple[list[str], list[list[str]]] | None:
    """Per condition group (noise source, language, SNR, room, channel): utterances and the mean change
    (enhanced − noisy) of PESQ-WB, STOI and SI-SDR; None when the data directory names no conditions.

    Returns:
        ``(header, rows)`` for :func:`markdown_table`.
    """
    from seqgan.metrics.audio import METRIC_LABELS

    conditions = _conditions(data_dir)
    n_utts, e_utts = noisy.get("utterances", {}), enhanced.get("utterances", {})
    metrics = [m for m in CONDITION_METRICS if m in enhanced.get("metrics", [])]
    if not conditions or not metrics:
        return None
    rows = []
    for name, groups in conditions.items():
        members: dict[str, list[str]] = {}
        for utt, group in groups.items():
            if utt in n_utts and utt in e_utts:
                members.setdefault(group, []).append(utt)
        for group in sorted(members, key=_group_order):
            row = [name, group, str(len(members[group]))]
            for m in metrics:
                diffs = [
                    e_utts[u]["scores"][m] - n_utts[u]["scores"][m]
                    for u in members[group]
                    if math.isfinite(e_utts[u]["scores"].get(m, math.nan))
                    and math.isfinite(n_utts[u]["scores"].get(m, math.nan))
                ]
                mean = sum(diffs) / len(diffs) if diffs else None
                row.append(("" if mean is None or mean < 0 else "+") + _fmt(mean))
            rows.append(row)
    header = ["condition", "group", "utts", *(f"Δ {METRIC_LABELS.get(m, m)}" for m in metrics)]
    return header, rows


def read_table(path: Path) -> dict[str, str]:
    from seqgan.data.scp import read_scp

    return read_scp(path)


def pick_utterances(ids: list[str], n: int) -> list[str]:
    """``n`` ids spread evenly over the sorted list (first and last included)."""
    ids = sorted(ids)
    if n <= 0 or not ids:
        return []
    if n >= len(ids):
        return ids
    if n == 1:
        return [ids[len(ids) // 2]]
    return [ids[round(i * (len(ids) - 1) / (n - 1))] for i in range(n)]


def spectrogram_figure(waves: dict[str, Any], rate: int, title: str, subtitles: dict[str, str]) -> Any:
    """Log-magnitude spectrograms (dB, one colour scale) of the signals in ``waves``, one row each."""
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy.signal import stft

    specs = {}
    for name, wave in waves.items():
        _, _, z = stft(wave, fs=rate, nperseg=512, noverlap=384)
        specs[name] = 20 * np.log10(np.abs(z) + 1e-8)
    top = max(float(s.max()) for s in specs.values())
    fig, axes = plt.subplots(len(specs), 1, figsize=(10, 2.3 * len(specs)), sharex=True, squeeze=False)
    image = None
    for ax, (name, s) in zip(axes[:, 0], specs.items()):
        duration = waves[name].shape[-1] / rate
        image = ax.imshow(
            s, origin="lower", aspect="auto", cmap="magma", vmin=top - 90, vmax=top,
            extent=(0.0, duration, 0.0, rate / 2000),
        )  # fmt: skip
        ax.set_ylabel("kHz")
        ax.set_title(f"{name}{subtitles.get(name, '')}", fontsize=10, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(title, fontsize=11)
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="dB", fraction=0.025, pad=0.01)
    return fig


def plot_spectrograms(
    exp: Path, dumpdir: Path, test_set: str, enhanced: dict[str, Any], n: int
) -> list[Path]:
    """PNG spectrograms (noisy, enhanced, clean) of ``n`` utterances of ``test_set``."""
    import matplotlib.pyplot as plt

    from seqgan.data.audio import AudioFileError, read_audio
    from seqgan.metrics.audio import METRIC_LABELS

    noisy_scp = read_table(dumpdir / test_set / "wav.scp")
    clean_scp = read_table(dumpdir / test_set / "spk1.scp")
    enh_scp = read_table(exp / "enhanced" / test_set / "wav.scp")
    noisy_scores = load_scores(exp / "scores" / test_set / "noisy" / "scores.json")["utterances"]
    enh_scores = enhanced["utterances"]
    out = []
    for utt in pick_utterances([u for u in enh_scp if u in noisy_scp and u in clean_scp], n):
        try:
            waves = {}
            rate = 0
            for name, table in (("noisy", noisy_scp), ("enhanced", enh_scp), ("clean", clean_scp)):
                wave, rate = read_audio(table[utt])
                waves[name] = wave.mean(axis=0)
        except AudioFileError as e:
            print(f"se_results.py: skipping the spectrogram of {utt}: {e}", file=sys.stderr)
            continue
        subtitles = {}
        for name, scores in (("noisy", noisy_scores), ("enhanced", enh_scores)):
            values = scores.get(utt, {}).get("scores", {})
            parts = [f"{METRIC_LABELS.get(m, m)} {values[m]:.2f}" for m in PLOT_METRICS if m in values]
            if parts:
                subtitles[name] = "   (" + ", ".join(parts) + ")"
        fig = spectrogram_figure(waves, rate, f"{test_set}: {utt}", subtitles)
        path = exp / "images" / f"{test_set}_{utt}.png"
        _save_figure(fig, path)
        plt.close(fig)
        out.append(path)
    return out


def read_metrics_log(path: Path) -> dict[str, dict[int, dict[str, float]]]:
    """``metrics.jsonl`` as kind → step → values; a resumed run's repeated steps keep the last row."""
    rows: dict[str, dict[int, dict[str, float]]] = {}
    for row in read_metrics_jsonl(path):
        rows.setdefault(str(row.get("kind", "train")), {})[int(row["step"])] = row
    return rows


def plot_training(log: dict[str, dict[int, dict[str, float]]], path: Path) -> bool:
    """Losses and validation metrics against the step, in one PNG. False when there is nothing to plot."""
    import matplotlib.pyplot as plt

    train = log.get("train", {})
    evals = log.get("eval", {})
    panels: list[tuple[str, dict[int, dict[str, float]], list[str]]] = []
    if train:
        keys = set().union(*(r.keys() for r in train.values()))
        panels.append(("discriminator", train, [k for k in ("d_loss", "d_real", "d_fake") if k in keys]))
        panels.append(("generator (adversarial)", train, [k for k in ("g_adv",) if k in keys]))
        panels.append(("generator (L1)", train, [k for k in ("g_l1",) if k in keys]))
    if evals:
        keys = set().union(*(r.keys() for r in evals.values()))
        for m in sorted(
            k for k in keys if k.startswith("eval/") and not k.endswith(("_noisy", "_improvement"))
        ):
            panels.append((f"validation {m[5:]}", evals, [m, f"{m}_noisy"] if f"{m}_noisy" in keys else [m]))
    panels = [p for p in panels if p[2]]
    if not panels:
        return False
    cols = 2
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 3 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (title, data, keys) in zip(axes.flat, panels):
        steps = sorted(data)
        for k in keys:
            pts = [(s, data[s][k]) for s in steps if isinstance(data[s].get(k), (int, float))]
            if not pts:
                continue
            if k.endswith("_noisy"):  # the input's score: the same at every evaluation
                ax.axhline(pts[-1][1], color="gray", linestyle="--", label="noisy input")
            else:
                ax.plot(*zip(*pts), label=k.removeprefix("eval/"), marker="." if len(pts) < 30 else None)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)
    return True


def training_summary(exp: Path, log: dict[str, dict[int, dict[str, float]]]) -> list[str]:
    """Bullet lines: model, objective, optimisation and how long training took."""
    import yaml

    lines = []
    config_path = exp / "config.yaml"
    if config_path.is_file():
        c = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        m, t, loss, d = c.get("model", {}), c.get("train", {}), c.get("loss", {}), c.get("data", {})
        og = t.get("optim_g", {})
        lines.append(
            f"- model: preset `{m.get('preset')}`; windows of {d.get('window')} samples at "
            f"{d.get('sample_rate')} Hz, pre-emphasis {d.get('preemphasis')}"
        )
        lines.append(
            f"- loss: `{loss.get('objective')}` + {loss.get('l1_weight')}·L1"
            + (f" + {loss.get('stft_weight')}·STFT" if loss.get("stft_weight") else "")
        )
        lines.append(
            f"- training: {t.get('max_steps')} steps of {t.get('batch_size')} windows per process, "
            f"{og.get('name')} lr {og.get('lr')} (G) / {t.get('optim_d', {}).get('lr')} (D)"
            + (f", EMA {t.get('ema_decay')}" if t.get("ema_decay") else "")
        )
    train = log.get("train", {})
    if train:
        last = train[max(train)]
        minutes = last.get("time", 0.0) / 60
        lines.append(
            f"- trained to step {max(train)}; the last run (a resumed one counts alone) took {minutes:.1f} min"
        )
    model = exp / "model.safetensors"
    if model.is_file():
        lines.append(f"- exported model: `{model}` ({model.stat().st_size / 2**20:.1f} MiB)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("test_sets", nargs="+", help="test sets scored in stage 5")
    parser.add_argument("--exp", required=True, help="experiment directory")
    parser.add_argument("--dumpdir", default="dump", help="formatted data directories (default dump)")
    parser.add_argument("--num-plots", type=int, default=3, help="spectrograms per test set (default 3)")
    parser.add_argument(
        "--ablation",
        default=None,
        help="another experiment (e.g. the no-adversarial ablation), scored on the same sets, shown beside",
    )
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import torch

    import seqgan

    exp, dumpdir = Path(args.exp), Path(args.dumpdir)
    log = read_metrics_log(exp / "metrics.jsonl")
    md = [
        f"# Results: {exp.name}",
        "",
        f"Written {time.strftime('%Y-%m-%d %H:%M')} by recipes/se.sh stage 5 (seqgan "
        f"{seqgan.__version__}, torch {torch.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}). Scores: `seqgan score` against the clean references; "
        "change = enhanced − noisy (for LLR and WSS, noisy − enhanced: positive is better).",
        "",
    ]
    summary: dict[str, Any] = {}
    for test_set in args.test_sets:
        noisy = load_scores(exp / "scores" / test_set / "noisy" / "scores.json")
        enhanced = load_scores(exp / "scores" / test_set / "enhanced" / "scores.json")
        rows, numbers = metrics_table(noisy, enhanced)
        summary[test_set] = numbers
        n_utts = len(enhanced.get("utterances", {}))
        table = markdown_table(["metric", "noisy", "enhanced", "change"], rows)
        md += [f"## {test_set} ({n_utts} utterances)", "", table, ""]
        print(f"{test_set} ({n_utts} utterances)\n{table}\n")
        verdict = worse_than_input(numbers)
        md += [verdict, ""]
        print(verdict + "\n")
        if args.ablation:
            other = Path(args.ablation)
            ablation = load_scores(other / "scores" / test_set / "enhanced" / "scores.json")
            name = f"the ablation {other.name}"
            rows, sentence = ablation_comparison(numbers, ablation, name)
            table = markdown_table(["metric", "noisy", other.name, exp.name, "difference"], rows)
            md += [
                f"Beside {name} (difference = {exp.name} − {other.name}, positive is better):",
                "",
                table,
                "",
            ]
            md += [sentence, ""]
            print(f"beside {name}\n{table}\n\n{sentence}\n")
            summary[test_set] = {
                m: {**v, "ablation": ablation["summary"].get(m, {}).get("mean")} for m, v in numbers.items()
            }
        by_condition = condition_table(dumpdir / test_set, noisy, enhanced)
        if by_condition is not None:
            md += ["Change (enhanced − noisy) by condition of the test utterances:", ""]
            md += [markdown_table(*by_condition), ""]
        for path in plot_spectrograms(exp, dumpdir, test_set, enhanced, args.num_plots):
            rel = path.relative_to(exp)
            md += [f"![{path.stem}]({rel.as_posix()})", ""]
    md += ["## Training", ""]
    md += training_summary(exp, log)
    md.append("")
    if plot_training(log, exp / "images" / "training_curves.png"):
        md += ["![training curves](images/training_curves.png)", ""]
    atomic_write(exp / "RESULTS.md", "\n".join(md).encode("utf-8"))
    atomic_write(exp / "results.json", (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    print(f"wrote {exp / 'RESULTS.md'}, {exp / 'results.json'} and {exp / 'images'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
