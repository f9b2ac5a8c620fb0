"""The GPU check: the gpu-marked tests and the benchmarks in one offline run, each step under its own limit.

Run it through ``bench/gpu_check.sh`` (which installs the prepared wheels of ``.whl/`` first)::

    bench/gpu_check.sh                      # on the GPU node: about 8 minutes at most
    bench/gpu_check.sh --dry-run            # the same steps at tiny sizes on the CPU

Every step of :data:`STEPS` runs as a subprocess of its own (a process group, killed when the step runs
past its limit or past what is left of the whole run's ``--budget``); a failing step is recorded and the
check goes on. The results folder (``--out``, default ``bench/out/``) then holds at most eight files:

* ``<group>.json`` per benchmark script: a list of runs, each ``{"step", "status", "wall_s", "argv",
  "figures", "result"}`` (``result`` is the script's own JSON object) — ``profile.json`` holds the
  top-30 operator tables of ``bench/gpu_profile.py`` (SEGAN training and enhancement);
* ``profile.txt``: the same profiler tables as text;
* ``pytest.xml``: the junit report of ``pytest -m gpu``;
* ``summary.json``: per step the status, wall time and main figures, and the figures against the targets
  (training >= 5 000 windows/s, moonshot 10 000; enhancement >= 2 000x real time);
* ``gpu_check.log``: every step's command, stdout and stderr.

A new model is measured by adding a :class:`Step` to :data:`STEPS` (its ``gpu`` and ``dry`` arguments;
``{out}`` in them stands for the results folder).

``--image-env DIR`` builds the environment the dry run uses instead: a virtual environment holding only
the distributions of the GPU image (:data:`IMAGE_PACKAGES` and what they require), linked from this
interpreter's site-packages, so that what the image lacks is missing here too.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import os
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# what the GPU image ships (and pip, which installs the wheels); everything else is taken to be missing
IMAGE_PACKAGES = (
    "torch",
    "torchaudio",
    "numpy",
    "scipy",
    "safetensors",
    "tensorboard",
    "tqdm",
    "pyyaml",
    "matplotlib",
    "scikit-learn",
    "onnxruntime",
    "pytest",
    "pip",
)

TRAIN_TARGET = 5_000.0  # paper SEGAN training windows/s on one H100/H200
TRAIN_MOONSHOT = 10_000.0
ENHANCE_TARGET = 2_000.0  # x real time

DEFAULT_BUDGET_S = 465.0  # the whole check fits in 8 minutes with the install and the start-up
MIN_STEP_S = 15.0  # a step is skipped when less than this is left of the budget


def _train_figures(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in result.get("segan", []):
        out[f"{row['model']}_b{row['batch']}_windows_per_s"] = row["windows_per_s"]
    if "end_to_end" in result:
        e2e = result["end_to_end"]
        out[f"{e2e['model']}_end_to_end_b{e2e['batch']}_windows_per_s"] = e2e["windows_per_s"]
    for row in result.get("frame_gan", []):
        out[f"{row['model']}_b{row['batch']}_frames_per_s"] = row["frames_per_s"]
    if "device_windows_per_s" in result.get("data_path", {}):
        out["data_path_device_windows_per_s"] = result["data_path"]["device_windows_per_s"]
    if "bottleneck" in result:
        out["bottleneck"] = result["bottleneck"]
    return out


def _enhance_figures(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "preset": result["preset"],
        "x_realtime": result["x_realtime"],
        "model_only_x_realtime": result["model_only_x_realtime"],
    }


def _profile_figures(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ("train", "enhance"):
        r = result[part]
        out[f"{part}_sort_by"] = r["sort_by"]
        out[f"{part}_top"] = [f"{row['name']} {row['self_percent']}%" for row in r["rows"][:5]]
    out["train_ms_per_step"] = result["train"]["ms_per_step"]
    out["enhance_mean_windows_per_pass"] = result["enhance"]["mean_windows_per_pass"]
    return out


def _ddp_figures(result: dict[str, Any]) -> dict[str, Any]:
    return {f"world_{r['processes']}_windows_per_s": r["windows_per_s"] for r in result["runs"]}


@dataclass(frozen=True)
class Step:
    """One command of the check.

    Attributes:
        name: the step's name in the results.
        group: the results file it is written to (``<group>.json``), or ``"pytest"``.
        script: a script under ``bench/``; empty for the pytest step.
        gpu: its arguments on the GPU node.
        dry: its arguments in the CPU dry run.
        limit_s: the step's time limit on the GPU node (the dry run allows ``DRY_LIMIT_FACTOR`` times it).
        figures: the main figures, taken from the script's JSON object.
        compiles: whether the step runs torch.compile (switched off in the dry run, see ``--dry-compile``).
        writes: files the script writes into the results folder itself (beside ``<group>.json``).
    """

    name: str
    group: str
    script: str
    gpu: tuple[str, ...]
    dry: tuple[str, ...]
    limit_s: float
    figures: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda result: {})
    compiles: bool = False
    writes: tuple[str, ...] = ()


DRY_LIMIT_FACTOR = 4.0  # two busy CPU cores are slower than 16 idle ones at starting Python and torch

_SEGAN_GPU = ("--device", "cuda", "--se-presets", "segan", "--batch-sizes", "100", "400", "--frame-presets")
_SEGAN_GPU += ("--precision", "bf16", "--data-on-device", "true", "--threads", "16", "--data-seconds", "1.5")
_SEGAN_DRY = ("--device", "cpu", "--se-presets", "segan_small", "--batch-sizes", "1", "--frame-presets")
_SEGAN_DRY += ("--precision", "fp32", "--data-on-device", "true", "--threads", "1", "--workers", "0")
_SEGAN_DRY += ("--iters", "1", "--warmup", "0", "--data-seconds", "0.2")
_ENHANCE_GPU = (
    "--device",
    "cuda",
    "--batch-size",
    "256",
    "--bf16",
    "--threads",
    "16",
    "--matmul-seconds",
    "1",
)
_ENHANCE_DRY = ("--device", "cpu", "--batch-size", "4", "--threads", "1", "--minutes", "0.02")
_ENHANCE_DRY += ("--matmul-size", "256", "--matmul-seconds", "0.5", "--model-seconds", "1")
# the spectral presets: CMGAN (~65 GFLOP per second of audio) on a short input, without the CPU cap
_METRICGAN_GPU = _ENHANCE_GPU + ("--preset", "metricgan_plus")
_METRICGAN_DRY = _ENHANCE_DRY + ("--preset", "metricgan_small", "--batch-size", "2")
_CMGAN_GPU = _ENHANCE_GPU + ("--preset", "cmgan", "--minutes", "2", "--max-seconds-slow", "0")
_CMGAN_DRY = _ENHANCE_DRY + ("--preset", "cmgan_small", "--batch-size", "2")
_PROFILE_GPU = ("--device", "cuda", "--preset", "segan", "--batch-size", "100", "--precision", "bf16")
_PROFILE_GPU += ("--enhance-batch-size", "256", "--threads", "16", "--text", "{out}/profile.txt")
_PROFILE_DRY = ("--device", "cpu", "--preset", "segan_small", "--batch-size", "2", "--precision", "fp32")
_PROFILE_DRY += ("--enhance-batch-size", "4", "--train-steps", "1", "--enhance-batches", "1", "--warmup", "0")
_PROFILE_DRY += ("--utterances", "4", "--threads", "1", "--text", "{out}/profile.txt")
_ADAM = (
    "--optimizer",
    "adam",
)  # fused Adam on CUDA (train.fused_optimizer=auto); RMSprop has no fused kernel
_COMPILE = ("--compile",)
_TRAIN = "bench/train_throughput.py"
_ENHANCE = "bench/enhance_rtf.py"
_SEGAN_ENHANCE_GPU = _ENHANCE_GPU + ("--preset", "segan")
_SEGAN_ENHANCE_DRY = _ENHANCE_DRY + ("--preset", "segan_small")

# in order of importance: when the budget runs out, the last ones are skipped
STEPS: tuple[Step, ...] = (
    Step("pytest_gpu", "pytest", "", (), (), 35),
    Step("train_segan_eager_rmsprop", "train_throughput", _TRAIN, _SEGAN_GPU, _SEGAN_DRY, 45, _train_figures),
    Step(
        "enhance_segan_eager",
        "enhance_rtf",
        _ENHANCE,
        _SEGAN_ENHANCE_GPU,
        _SEGAN_ENHANCE_DRY,
        25,
        _enhance_figures,
    ),
    Step(
        "profile_segan",
        "profile",
        "bench/gpu_profile.py",
        _PROFILE_GPU,
        _PROFILE_DRY,
        40,
        _profile_figures,
        writes=("profile.txt",),
    ),
    Step(
        "train_segan_eager_fused_adam",
        "train_throughput",
        _TRAIN,
        _SEGAN_GPU + _ADAM,
        _SEGAN_DRY + _ADAM,
        30,
        _train_figures,
    ),
    Step(
        "enhance_metricgan_plus_eager",
        "enhance_rtf",
        _ENHANCE,
        _METRICGAN_GPU,
        _METRICGAN_DRY,
        25,
        _enhance_figures,
    ),
    Step("enhance_cmgan_eager", "enhance_rtf", _ENHANCE, _CMGAN_GPU, _CMGAN_DRY, 25, _enhance_figures),
    Step(
        "train_segan_compiled_rmsprop",
        "train_throughput",
        _TRAIN,
        _SEGAN_GPU + _COMPILE,
        _SEGAN_DRY + _COMPILE,
        100,
        _train_figures,
        compiles=True,
    ),
    Step(
        "enhance_segan_compiled",
        "enhance_rtf",
        _ENHANCE,
        _SEGAN_ENHANCE_GPU + _COMPILE,
        _SEGAN_ENHANCE_DRY + _COMPILE,
        40,
        _enhance_figures,
        compiles=True,
    ),
    Step(
        "train_segan_compiled_fused_adam",
        "train_throughput",
        _TRAIN,
        _SEGAN_GPU + _ADAM + _COMPILE,
        _SEGAN_DRY + _ADAM + _COMPILE,
        40,
        _train_figures,
        compiles=True,
    ),
    Step(
        "train_mathieu2016",
        "train_throughput",
        _TRAIN,
        ("--device", "cuda", "--se-presets", "--frame-presets", "mathieu2016", "--precision", "bf16")
        + ("--data-seconds", "0.5"),
        # the tiny frame preset: mathieu2016's multi-scale networks take half a minute a step on a CPU
        ("--device", "cpu", "--se-presets", "--frame-presets", "tiny", "--frame-batch", "2", "--batch-sizes")
        + ("1", "--precision", "fp32", "--threads", "1", "--workers", "0", "--iters", "1", "--warmup", "0")
        + ("--data-seconds", "0.2"),
        25,
        _train_figures,
    ),
    Step(
        "ddp_world_1",
        "ddp_scaling",
        "bench/ddp_scaling.py",
        ("--device", "cuda", "--world-sizes", "1", "--preset", "segan", "--batch-size", "100", "--precision")
        + ("bf16",),
        ("--device", "cpu", "--world-sizes", "1", "--window", "1024", "--batch-size", "2", "--iters", "1")
        + ("--warmup", "0"),
        25,
        _ddp_figures,
    ),
)


# ----------------------------------------------------------------------------------------------- running


def _parse_json(stdout: str) -> dict[str, Any] | None:
    """The last complete JSON object a benchmark printed (starting at the beginning of a line), or None."""
    decoder = json.JSONDecoder()
    starts = [0] + [i + 1 for i, c in enumerate(stdout) if c == "\n"]
    for start in reversed([s for s in starts if stdout.startswith("{", s)]):
        try:
            value, _ = decoder.raw_decode(stdout, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _junit(path: Path) -> dict[str, Any]:
    """Counts and per-test outcomes of a junit report."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    outcomes = {}
    for case in root.iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return {**counts, "passed": passed, "outcomes": outcomes}


def _run(
    argv: list[str], env: dict[str, str], limit_s: float, log: Any
) -> tuple[str, int | None, str, float]:
    """Runs ``argv`` in its own process group; returns ``(status, returncode, stdout, wall seconds)``."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
        try:
            rc: int | None = proc.wait(timeout=limit_s)
            status = "ok" if rc == 0 else "failed"
        except subprocess.TimeoutExpired:
            status, rc = "timeout", None
            for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(timeout=grace)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    log.write(f"--- stdout\n{stdout}\n--- stderr\n{stderr}\n")
    log.flush()
    return status, rc, stdout, wall


def run_step(step: Step, args: argparse.Namespace, deadline: float, log: Any) -> dict[str, Any]:
    """Runs one step within its limit and what is left of the budget; returns its record."""
    limit = step.limit_s * (DRY_LIMIT_FACTOR if args.dry_run else 1.0)
    left = deadline - time.monotonic()
    record: dict[str, Any] = {"step": step.name}
    if left < MIN_STEP_S:
        log.write(f"=== {step.name}: skipped, {left:.0f} s of the budget left\n")
        return record | {"status": "skipped", "reason": f"{max(left, 0):.0f} s of the budget left"}
    env = dict(os.environ)
    if args.dry_run:
        env.setdefault("OMP_NUM_THREADS", "1")  # on shared cores, idle OpenMP threads only spin
    if args.dry_run and step.compiles and not args.dry_compile:
        env["TORCHDYNAMO_DISABLE"] = "1"  # inductor's CPU build would take minutes on two cores
        record["torch_compile"] = "disabled in the dry run (TORCHDYNAMO_DISABLE=1)"
    if step.group == "pytest":
        junit = args.out / "pytest.xml"
        junit.unlink(missing_ok=True)  # a report left from an earlier run is not this run's
        argv = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"]
        argv += [f"--junitxml={junit}", "tests"]
    else:
        given = step.dry if args.dry_run else step.gpu
        argv = [sys.executable, step.script, *(a.replace("{out}", str(args.out)) for a in given)]
    timeout = min(limit, left)
    log.write(f"=== {step.name} (limit {timeout:.0f} s): {' '.join(argv)}\n")
    log.flush()
    status, rc, stdout, wall = _run(argv, env, timeout, log)
    record |= {"status": status, "returncode": rc, "wall_s": round(wall, 1), "argv": argv[1:]}
    if step.group == "pytest":
        if junit.exists():
            record["figures"] = _junit(junit)
    else:
        result = _parse_json(stdout)
        if result is not None:
            try:
                record["figures"] = step.figures(result)
            except (KeyError, TypeError) as e:
                record["figures_error"] = f"{type(e).__name__}: {e}"
            record["result"] = result
        elif status == "ok":
            record["status"] = "failed"
            record["reason"] = "no JSON object on stdout"
    log.write(f"=== {step.name}: {record['status']} in {wall:.1f} s\n")
    log.flush()
    print(
        f"{step.name}: {record['status']} in {wall:.1f} s {json.dumps(record.get('figures', {}))}", flush=True
    )
    return record


def _best(
    records: list[dict[str, Any]], group: str, key: str, suffix: str
) -> tuple[float | None, str | None]:
    """The largest figure ending in ``suffix`` (whose name starts with ``key``) of the group's steps."""
    best, where = None, None
    for r in records:
        if r.get("group") != group:
            continue
        for name, value in r.get("figures", {}).items():
            if name.startswith(key) and name.endswith(suffix) and isinstance(value, int | float):
                if best is None or value > best:
                    best, where = float(value), f"{r['step']}: {name}"
    return best, where


def targets(records: list[dict[str, Any]], dry_run: bool) -> dict[str, Any]:
    """The measured figures against the targets (training windows/s, enhancement x real time)."""
    preset = "segan_small" if dry_run else "segan"
    train, train_at = _best(records, "train_throughput", f"{preset}_b", "_windows_per_s")
    e2e, e2e_at = _best(records, "train_throughput", f"{preset}_end_to_end", "_windows_per_s")
    out: dict[str, Any] = {
        "training_windows_per_s": {"value": train, "at": train_at, "target": TRAIN_TARGET},
        "training_end_to_end_windows_per_s": {"value": e2e, "at": e2e_at, "target": TRAIN_TARGET},
    }
    out["training_windows_per_s"]["moonshot"] = TRAIN_MOONSHOT
    for name, key in (
        ("enhancement_x_realtime", "x_realtime"),
        ("enhancement_model_only_x_realtime", "model"),
    ):
        best, at = None, None
        for r in records:
            value = r.get("figures", {}).get("model_only_x_realtime" if key == "model" else key)
            if r.get("group") == "enhance_rtf" and r.get("figures", {}).get("preset") == preset and value:
                if best is None or value > best:
                    best, at = float(value), r["step"]
        out[name] = {"value": best, "at": at, "target": ENHANCE_TARGET}
    for figure in out.values():
        figure["met"] = None if figure["value"] is None else figure["value"] >= figure["target"]
    out["training_windows_per_s"]["moonshot_met"] = train is not None and train >= TRAIN_MOONSHOT
    return out


def check(args: argparse.Namespace) -> int:
    """Runs the selected steps; writes the results folder; returns 0 when every step ran and passed."""
    args.out.mkdir(parents=True, exist_ok=True)
    steps = [s for s in STEPS if not args.steps or s.name in args.steps]
    unknown = set(args.steps or ()) - {s.name for s in STEPS}
    if unknown:
        print(
            f"unknown --steps {sorted(unknown)}; choose from: {', '.join(s.name for s in STEPS)}",
            file=sys.stderr,
        )
        return 2
    deadline = time.monotonic() + args.budget * (DRY_LIMIT_FACTOR if args.dry_run else 1.0)
    started = time.time()
    records: list[dict[str, Any]] = []
    with open(args.out / "gpu_check.log", "a") as log:
        log.write(f"=== gpu_check {'dry run ' if args.dry_run else ''}{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        log.write(
            f"python {sys.version.split()[0]} at {sys.executable}; PYTHONPATH={os.environ.get('PYTHONPATH')}\n"
        )
        for step in steps:
            record = run_step(step, args, deadline, log)
            record["group"] = step.group
            records.append(record)
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record["group"] != "pytest":
            groups.setdefault(record["group"], []).append({k: v for k, v in record.items() if k != "group"})
    for group, runs in groups.items():
        (args.out / f"{group}.json").write_text(json.dumps(runs, indent=1) + "\n")
    summary = {
        "dry_run": args.dry_run,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_s": round(time.time() - started, 1),
        "python": sys.version.split()[0],
        "machine": _machine(),
        "steps": [
            {
                k: r.get(k)
                for k in ("step", "group", "status", "wall_s", "figures", "reason", "torch_compile")
                if k in r
            }
            for r in records
        ],
        "targets": targets(records, args.dry_run),
    }
    if args.dry_run:
        summary["note"] = "CPU dry run at tiny sizes: the figures check the script, not the targets"
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    failed = [r["step"] for r in records if r["status"] != "ok"]
    print(
        json.dumps(
            {"summary": str(args.out / "summary.json"), "not_ok": failed, "targets": summary["targets"]}
        )
    )
    return 1 if failed else 0


def _machine() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {}
    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


# ------------------------------------------------------------------------------------ the image's env


def image_distributions(roots: tuple[str, ...] = IMAGE_PACKAGES) -> set[str]:
    """The installed distributions that ``roots`` need: the roots and their requirements, transitively.

    Requirements are followed with their environment markers evaluated (and the extras asked for), so the
    set is what ``pip install`` of the roots alone would have installed.
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    installed = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    seen: set[tuple[str, str]] = set()
    todo = [(canonicalize_name(n), "") for n in roots]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen or name not in installed:
            continue
        seen.add((name, extra))
        for line in installed[name].requires or []:
            req = Requirement(line)
            if extra and req.marker is None:
                continue  # already followed for the plain distribution
            if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                continue
            todo += [(canonicalize_name(req.name), e) for e in ("", *sorted(req.extras))]
    return {name for name, _ in seen}


def image_env(target: Path) -> Path:
    """A virtual environment at ``target`` with only the image's distributions; returns its python.

    Each entry of this interpreter's site-packages that belongs to those distributions alone is linked;
    a directory shared with other distributions (``__pycache__``, a namespace package) is made and its
    entries are linked one by one.
    """
    from packaging.utils import canonicalize_name

    keep = image_distributions()
    site = Path(sysconfig.get_paths()["purelib"])
    owners: dict[tuple[str, ...], set[bool]] = {}
    files: list[tuple[str, ...]] = []
    for dist in metadata.distributions():
        if Path(str(dist.locate_file(""))).resolve() != site.resolve():
            continue
        kept = canonicalize_name(dist.metadata["Name"]) in keep
        for f in dist.files or []:
            parts = Path(f).parts
            if not parts or parts[0] == "..":
                continue
            for i in range(1, len(parts) + 1):
                owners.setdefault(parts[:i], set()).add(kept)
            if kept:
                files.append(parts)
    venv.EnvBuilder(with_pip=False, clear=True, symlinks=True).create(target)
    python = target / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dest = Path(purelib)
    for parts in files:
        for i in range(1, len(parts) + 1):
            link = dest.joinpath(*parts[:i])
            if owners[parts[:i]] == {True}:
                if not link.exists() and (site.joinpath(*parts[:i])).exists():
                    link.symlink_to(site.joinpath(*parts[:i]))
                break
            link.mkdir(exist_ok=True)
    return python


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="results folder")
    p.add_argument("--dry-run", action="store_true", help="the same steps at tiny sizes on the CPU")
    p.add_argument(
        "--dry-compile", action="store_true", help="keep torch.compile on in the dry run (minutes on a CPU)"
    )
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="seconds for all the steps")
    p.add_argument("--steps", nargs="*", default=None, help="run only these steps (default: all)")
    p.add_argument("--list", action="store_true", help="print the steps and their arguments, and exit")
    p.add_argument(
        "--image-env", type=Path, default=None, help="build the image-like environment DIR, print its python"
    )
    args = p.parse_args(argv)
    if args.image_env is not None:
        print(image_env(args.image_env.resolve()))
        return 0
    if args.list:
        for s in STEPS:
            print(f"{s.name:34s} {s.limit_s:5.0f} s  {s.script or 'pytest -m gpu'} {' '.join(s.gpu)}")
        return 0
    args.out = args.out.resolve()
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
