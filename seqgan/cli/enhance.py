"""`seqgan enhance`: denoise audio files with an exported model."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELP = "enhance audio files (any rate, any channel count) with an exported model"

DESCRIPTION = """\
Enhance audio files with an exported speech-enhancement model (.safetensors, see `seqgan export`).

INPUTs are files or folders (searched recursively for .wav, .flac, .ogg, .mp3); outputs keep the
input's format, subtype, sample rate, channel count and length, and mirror the folder structure
under OUTDIR. With --scp, each `utt path` line is enhanced into OUTDIR/<utt>.wav. Each channel is
enhanced independently at the model's rate, with overlapping windows cross-faded (no seams), reading
long files block by block (bounded memory).

Existing outputs are skipped unless --overwrite. A file that cannot be enhanced prints
`error: <path>: <cause>`, leaves no output, and makes the exit code 1; the other files are still done.

examples:
  seqgan enhance -m model.safetensors noisy/ -o enhanced/
  seqgan enhance -m model.safetensors a.wav b.flac -o out/ --subtype FLOAT
  seqgan enhance -m model.safetensors --scp data/test/wav.scp -o exp/enhanced/test --device cuda
  seqgan enhance -m model.safetensors noisy/ -o enhanced/ --jobs 4 --threads 1    (CPU processes)
"""

# files longer than this get a progress bar of their own (on a terminal)
_LONG_FILE_SECONDS = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="audio files or folders")
    parser.add_argument("-m", "--model", required=True, help="exported model (.safetensors)")
    parser.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="where to write")
    parser.add_argument("--scp", metavar="WAV_SCP", help="a Kaldi `utt path` list; writes OUTDIR/<utt>.wav")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per forward pass (default 8)")
    parser.add_argument(
        "--hop",
        type=int,
        default=None,
        help="window step in model samples (default: half the model's window)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument(
        "--bf16", action="store_true", help="run the model under bf16 autocast (fast on GPUs; not bit-exact)"
    )
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile the model (pays off on long jobs)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument(
        "--subtype", default=None, help="output subtype (PCM_16, PCM_24, FLOAT, ...; default: the input's)"
    )
    parser.add_argument(
        "--output-rate",
        choices=("input", "model"),
        default="input",
        help="write at the input's sample rate (default) or the model's",
    )
    parser.add_argument(
        "--sample-latent",
        action="store_true",
        help="sample the latent z ~ N(0, I) instead of z = 0 (non-deterministic)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="worker processes on CPU, each enhancing whole files (default 1)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per process (default: torch's choice, or cores / jobs)",
    )


@dataclass
class _Job:
    src: Path
    dst: Path


def _collect(args: argparse.Namespace, out_dir: Path) -> tuple[list[_Job], list[str], list[Path]]:
    """Returns (jobs, error lines, input folders)."""
    from seqgan.data.audio import AUDIO_EXTENSIONS

    jobs: list[_Job] = []
    errors: list[str] = []
    folders: list[Path] = []
    for name in args.inputs:
        p = Path(name)
        if p.is_dir():
            folders.append(p)
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS and not f.name.startswith(".")
            )
            if not found:
                errors.append(f"error: {p}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder")
            jobs.extend(_Job(f, out_dir / f.relative_to(p)) for f in found)
        elif p.exists():
            jobs.append(_Job(p, out_dir / p.name))
        else:
            errors.append(f"error: {p}: no such file or folder")
    if args.scp:
        from seqgan.data.scp import DataDirError, read_scp

        try:
            table = read_scp(args.scp)
        except DataDirError as e:
            errors.append(f"error: {e}")
            table = {}
        for utt, path in table.items():
            rel = Path(f"{utt}.wav")
            if rel.is_absolute() or ".." in rel.parts:
                errors.append(f"error: {args.scp}: utterance id '{utt}' cannot name a file inside OUTDIR")
                continue
            jobs.append(_Job(Path(path), out_dir / rel))
    return jobs, errors, folders


def _refusal(jobs: list[_Job], folders: list[Path], out_dir: Path) -> str | None:
    """Why the run must not start (outputs that would overwrite inputs), or None."""
    out = out_dir.resolve()
    for folder in folders:
        f = folder.resolve()
        if out == f or f in out.parents:
            return (
                f"the output folder {out_dir} is inside the input folder {folder}; enhanced files would "
                "mix with (or overwrite) the inputs; choose an output folder outside it"
            )
    sources = {j.src.resolve() for j in jobs}
    seen: dict[Path, Path] = {}
    for j in jobs:
        d = j.dst.resolve()
        if d in sources:
            return f"{j.dst} would overwrite an input file; choose another output folder"
        if d in seen:
            return (
                f"{seen[d]} and {j.src} would both be written to {j.dst}; enhance them into different "
                "output folders"
            )
        seen[d] = j.src
    return None


# -- worker processes (--jobs) ---------------------------------------------------------------------

_WORKER: Any = None


def _init_worker(model: str, kwargs: dict[str, Any], threads: int) -> None:
    import torch

    from seqgan.enhance import Enhancer

    global _WORKER
    torch.set_num_threads(threads)
    _WORKER = Enhancer.from_pretrained(model, **kwargs)


def _work(src: str, dst: str, options: dict[str, Any]) -> tuple[float, str | None]:
    from seqgan.enhance import EnhanceError

    try:
        return _WORKER.enhance_file(src, dst, **options).duration, None
    except EnhanceError as e:
        return 0.0, str(e)


# -- the command -----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    import torch

    from seqgan.enhance import Enhancer, resolve_device
    from seqgan.export import ModelFileError

    if not args.inputs and not args.scp:
        print("seqgan enhance: give INPUT files/folders or --scp", file=sys.stderr)
        return 2
    for name in ("batch_size", "jobs", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"seqgan enhance: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    try:
        device = resolve_device(args.device)
    except RuntimeError as e:
        print(f"seqgan enhance: bad --device '{args.device}' ({e})", file=sys.stderr)
        return 2
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            "seqgan enhance: --device cuda but no CUDA device is available; use --device cpu", file=sys.stderr
        )
        return 2
    if args.jobs > 1 and device.type != "cpu":
        print(
            "seqgan enhance: --jobs > 1 runs CPU processes; use --device cpu (or --jobs 1 on a GPU)",
            file=sys.stderr,
        )
        return 2

    out_dir = Path(args.output_dir)
    jobs, errors, folders = _collect(args, out_dir)
    refusal = _refusal(jobs, folders, out_dir)
    if refusal is not None:
        print(f"seqgan enhance: refusing to start: {refusal}", file=sys.stderr)
        return 2
    for line in errors:
        print(line, file=sys.stderr)

    threads = args.threads or (max(1, (os.cpu_count() or 1) // args.jobs) if args.jobs > 1 else None)
    if threads is not None:
        torch.set_num_threads(threads)
    kwargs = {
        "device": str(device),
        "batch_size": args.batch_size,
        "hop": args.hop,
        "sample_latent": True if args.sample_latent else None,
        "bf16": args.bf16,
        "compile": args.compile,
    }
    try:
        enhancer = Enhancer.from_pretrained(args.model, **kwargs)
    except (ModelFileError, ValueError) as e:
        print(f"seqgan enhance: cannot load the model: {e}", file=sys.stderr)
        return 2

    todo: list[_Job] = []
    skipped = 0
    for j in jobs:
        if j.dst.exists() and not args.overwrite:
            skipped += 1
        else:
            todo.append(j)
    if skipped:
        print(
            f"skipping {skipped} file(s) whose output exists (--overwrite to replace them)", file=sys.stderr
        )

    options = {"subtype": args.subtype, "overwrite": args.overwrite, "output_rate": args.output_rate}
    interactive = sys.stderr.isatty()
    failed = len(errors)
    done = 0
    seconds = 0.0
    start = time.perf_counter()

    def report(job: _Job, duration: float, error: str | None, elapsed: float | None, bar: Any) -> None:
        nonlocal failed, done, seconds
        if error is not None:
            failed += 1
            line = f"error: {error}"
        else:
            done += 1
            seconds += duration
            took = f" in {elapsed:.1f} s" if elapsed is not None else ""
            line = f"enhanced {job.src} -> {job.dst} ({duration:.1f} s of audio{took})"
        if bar is not None:
            if error is not None:
                bar.write(line, file=sys.stderr)
            bar.update(1)
        elif error is not None or not interactive:
            print(line, file=sys.stderr)

    with contextlib.ExitStack() as stack:
        bar = None
        if interactive and todo:
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            bar = stack.enter_context(tqdm(total=len(todo), unit="file", desc="enhance", file=sys.stderr))
            stack.enter_context(logging_redirect_tqdm())  # log lines above the bars, not through them
        if args.jobs > 1 and len(todo) > 1:
            _run_parallel(args, todo, kwargs, threads or 1, options, report, bar)
        else:
            _run_serial(enhancer, todo, options, report, bar)
    wall = time.perf_counter() - start
    rtf = f"{wall / seconds:.3f}" if seconds > 0 else "n/a"
    print(
        f"enhanced {done} file(s), skipped {skipped} (output exists), failed {failed}; "
        f"{seconds:.1f} s of audio in {wall:.1f} s wall time (real-time factor {rtf})"
    )
    return 1 if failed else 0


def _run_serial(enhancer: Any, todo: list[_Job], options: dict[str, Any], report: Any, bar: Any) -> None:
    from seqgan.enhance import EnhanceError

    for job in todo:
        t0 = time.perf_counter()
        inner, progress = _file_bar(job.src) if bar is not None else (None, None)
        try:
            duration = enhancer.enhance_file(job.src, job.dst, progress=progress, **options).duration
            report(job, duration, None, time.perf_counter() - t0, bar)
        except EnhanceError as e:
            report(job, 0.0, str(e), None, bar)
        finally:
            if inner is not None:
                inner.close()


def _file_bar(src: Path) -> tuple[Any, Any]:
    """A per-file progress bar (frames) for long files; ``(None, None)`` for short ones."""
    import soundfile as sf
    from tqdm import tqdm

    try:
        info = sf.info(str(src))
    except Exception:  # the enhancer reports unreadable files
        return None, None
    if info.duration < _LONG_FILE_SECONDS:
        return None, None
    inner = tqdm(
        total=info.frames,
        unit="frame",
        unit_scale=True,
        desc=src.name,
        leave=False,
        position=1,
        file=sys.stderr,
    )
    return inner, inner.update


def _run_parallel(
    args: argparse.Namespace,
    todo: list[_Job],
    kwargs: dict[str, Any],
    threads: int,
    options: dict[str, Any],
    report: Any,
    bar: Any,
) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a fresh interpreter per worker (forking a process that has run torch can deadlock)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(args.jobs, len(todo)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(args.model, kwargs, threads),
    ) as pool:
        futures = {pool.submit(_work, str(j.src), str(j.dst), options): j for j in todo}
        for future in as_completed(futures):
            duration, error = future.result()
            report(futures[future], duration, error, None, bar)
