"""Enhancing sets of files: what ``seqgan enhance`` does, as a library call.

:func:`plan_enhancement` turns files, folders (searched recursively) and a Kaldi ``wav.scp`` into
(input, output) pairs under an output folder, with the rules that protect the inputs: an output folder
equal to or inside an input folder, an output that would replace an input file and two inputs written
to one output are refused before anything runs (:class:`OutputConflictError`); existing outputs are
skipped unless ``overwrite``. :func:`run_plan` (or :meth:`seqgan.enhance.Enhancer.enhance_plan` /
:meth:`~seqgan.enhance.Enhancer.enhance_paths`) then enhances the pairs in this process or in worker
processes, reports each file through a callback as it finishes, and returns a :class:`BatchReport`
(per-file outcomes, failures, seconds of audio, real-time factor). A file that cannot be enhanced is
recorded with its error (``"<path>: <cause>"``) and leaves no output; the other files are still done.
Nothing here prints.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqgan.data.audio import AUDIO_EXTENSIONS, AudioFileError

logger = logging.getLogger(__name__)

__all__ = [
    "BatchReport",
    "EnhancePlan",
    "FileJob",
    "FileOutcome",
    "OutputConflictError",
    "plan_enhancement",
    "run_plan",
]


class OutputConflictError(ValueError):
    """The outputs of a plan would overwrite (or mix with) its inputs, or two inputs share an output."""


@dataclass(frozen=True)
class FileJob:
    """One input file and the output it is enhanced into."""

    src: Path
    dst: Path


@dataclass
class EnhancePlan:
    """What a run will do.

    Attributes:
        out_dir: the output folder.
        jobs: pairs to enhance, in input order.
        skipped: pairs whose output exists (``overwrite`` was not given); not enhanced.
        errors: inputs that name nothing usable, one ``"<path>: <cause>"`` each (a missing file, a folder
            without audio, an unreadable scp, an utterance id that is not a file name); they count as
            failures.
        overwrite: whether existing outputs are replaced.
    """

    out_dir: Path
    jobs: list[FileJob] = field(default_factory=list)
    skipped: list[FileJob] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    overwrite: bool = False


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file of a plan.

    Attributes:
        job: the pair.
        result: the :class:`seqgan.enhance.EnhanceResult` when the file was enhanced, else ``None``.
        error: ``"<path>: <cause>"`` when it was not (no output is left), else ``None``.
        seconds: wall time spent on the file.
    """

    job: FileJob
    result: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class BatchReport:
    """The outcome of a whole plan.

    Attributes:
        plan: the plan that was run.
        outcomes: one :class:`FileOutcome` per job, in plan order.
        wall_seconds: wall time of the run (model loading excluded).
    """

    plan: EnhancePlan
    outcomes: list[FileOutcome]
    wall_seconds: float

    @property
    def results(self) -> list[Any]:
        """The :class:`seqgan.enhance.EnhanceResult` of every enhanced file, in plan order."""
        return [o.result for o in self.outcomes if o.ok]

    @property
    def errors(self) -> list[str]:
        """Every failure, one ``"<path>: <cause>"`` line each: the plan's, then the files'."""
        return self.plan.errors + [o.error for o in self.outcomes if o.error is not None]

    @property
    def done(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> int:
        return len(self.errors)

    @property
    def skipped(self) -> int:
        return len(self.plan.skipped)

    @property
    def audio_seconds(self) -> float:
        """Seconds of input audio enhanced."""
        return sum(r.duration for r in self.results)

    @property
    def real_time_factor(self) -> float | None:
        """Wall time over audio time (``None`` when no audio was enhanced)."""
        seconds = self.audio_seconds
        return self.wall_seconds / seconds if seconds > 0 else None

    def summary(self) -> str:
        """One line: files done / skipped / failed, seconds of audio, wall time and real-time factor."""
        rtf = self.real_time_factor
        return (
            f"enhanced {self.done} file(s), skipped {self.skipped} (output exists), failed {self.failed}; "
            f"{self.audio_seconds:.1f} s of audio in {self.wall_seconds:.1f} s wall time "
            f"(real-time factor {'n/a' if rtf is None else f'{rtf:.3f}'})"
        )


# -- planning --------------------------------------------------------------------------------------


def _audio_files(folder: Path) -> list[Path]:
    return sorted(
        f
        for f in folder.rglob("*")
        if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS and not f.name.startswith(".")
    )


def plan_enhancement(
    inputs: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    scp: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> EnhancePlan:
    """Pairs every input file with its output under ``out_dir``.

    A file ``x.wav`` goes to ``out_dir/x.wav``; a folder is searched recursively for the
    :data:`seqgan.data.audio.AUDIO_EXTENSIONS` (hidden files skipped) and mirrored under ``out_dir``; each
    ``utt path`` line of ``scp`` goes to ``out_dir/<utt>.wav``.

    Args:
        inputs: audio files and folders.
        out_dir: the output folder (created when files are written).
        scp: a Kaldi ``wav.scp``-style table (command pipes are refused).
        overwrite: replace existing outputs (else they are skipped).

    Returns:
        The :class:`EnhancePlan`; inputs that name nothing usable are in its ``errors``.

    Raises:
        OutputConflictError: ``out_dir`` is an input folder or inside one, an output would replace an
            input file, or two inputs would be written to the same output.
    """
    out = Path(out_dir)
    plan = EnhancePlan(out, overwrite=overwrite)
    pairs: list[FileJob] = []
    folders: list[Path] = []
    for name in inputs:
        p = Path(name)
        if p.is_dir():
            folders.append(p)
            found = _audio_files(p)
            if not found:
                plan.errors.append(f"{p}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder")
            pairs.extend(FileJob(f, out / f.relative_to(p)) for f in found)
        elif p.exists():
            pairs.append(FileJob(p, out / p.name))
        else:
            plan.errors.append(f"{p}: no such file or folder")
    if scp is not None:
        from seqgan.data.scp import DataDirError, read_scp

        try:
            table = read_scp(scp)
        except DataDirError as e:
            plan.errors.append(str(e))
            table = {}
        for utt, path in table.items():
            rel = Path(f"{utt}.wav")
            if rel.is_absolute() or ".." in rel.parts:
                plan.errors.append(f"{scp}: utterance id '{utt}' cannot name a file inside the output folder")
                continue
            pairs.append(FileJob(Path(path), out / rel))
    _check_conflicts(pairs, folders, out)
    for job in pairs:
        (plan.skipped if job.dst.exists() and not overwrite else plan.jobs).append(job)
    return plan


def _check_conflicts(pairs: list[FileJob], folders: list[Path], out_dir: Path) -> None:
    out = out_dir.resolve()
    for folder in folders:
        f = folder.resolve()
        if out == f or f in out.parents:
            raise OutputConflictError(
                f"the output folder {out_dir} is inside the input folder {folder}; enhanced files would "
                "mix with (or overwrite) the inputs; choose an output folder outside it"
            )
    sources = {j.src.resolve() for j in pairs}
    seen: dict[Path, Path] = {}
    for j in pairs:
        d = j.dst.resolve()
        if d in sources:
            raise OutputConflictError(f"{j.dst} would overwrite an input file; choose another output folder")
        if d in seen:
            raise OutputConflictError(
                f"{seen[d]} and {j.src} would both be written to {j.dst}; enhance them into different "
                "output folders"
            )
        seen[d] = j.src


# -- running ---------------------------------------------------------------------------------------


def run_plan(
    enhancer: Any,
    plan: EnhancePlan,
    *,
    jobs: int = 1,
    threads: int | None = None,
    subtype: str | None = None,
    output_rate: str | int = "input",
    progress: Callable[[FileOutcome], None] | None = None,
    file_progress: Callable[[FileJob], Callable[[int], None] | None] | None = None,
) -> BatchReport:
    """Enhances the jobs of ``plan`` with ``enhancer`` (a :class:`seqgan.enhance.Enhancer`).

    Args:
        enhancer: enhances each file (``enhancer.enhance_file``). With ``jobs > 1`` it must have been
            loaded with ``from_pretrained`` on the CPU: every worker process loads the same file with the
            same options.
        plan: from :func:`plan_enhancement`.
        jobs: worker processes, each enhancing whole files (1: in this process).
        threads: torch threads per worker process (default: CPU cores / ``jobs``).
        subtype: output subtype (default: the input's, see ``enhance_file``).
        output_rate: ``"input"``, ``"model"`` or a rate in Hz.
        progress: called with each :class:`FileOutcome` as the file finishes (completion order).
        file_progress: in this process only: called before each file; may return a callback that gets
            the number of input frames consumed after each block (a progress bar for long files).

    Returns:
        The :class:`BatchReport` (outcomes in plan order).

    Raises:
        ValueError: ``jobs < 1``, or ``jobs > 1`` with an enhancer not loaded from a file on the CPU.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    options = {"subtype": subtype, "overwrite": plan.overwrite, "output_rate": output_rate}
    start = time.perf_counter()
    outcomes: dict[FileJob, FileOutcome] = {}

    def finish(outcome: FileOutcome) -> None:
        outcomes[outcome.job] = outcome
        if progress is not None:
            progress(outcome)

    if jobs > 1 and len(plan.jobs) > 1:
        if enhancer.device.type != "cpu":
            raise ValueError(f"jobs > 1 runs CPU processes; the enhancer is on {enhancer.device}")
        if enhancer.source is None:
            raise ValueError(
                "jobs > 1 needs an Enhancer loaded with Enhancer.from_pretrained (each worker loads the file)"
            )
        threads = threads or max(1, (os.cpu_count() or 1) // jobs)
        _run_pool(enhancer, plan.jobs, min(jobs, len(plan.jobs)), threads, options, finish)
    else:
        for job in plan.jobs:
            frames = file_progress(job) if file_progress is not None else None
            finish(_enhance_one(enhancer, job, dict(options, progress=frames)))
    ordered = [outcomes[j] for j in plan.jobs]
    return BatchReport(plan, ordered, time.perf_counter() - start)


def _enhance_one(enhancer: Any, job: FileJob, options: dict[str, Any]) -> FileOutcome:
    t0 = time.perf_counter()
    try:
        result = enhancer.enhance_file(job.src, job.dst, **options)
    except AudioFileError as e:  # enhance_file raises EnhanceError, an AudioFileError, naming the file
        return FileOutcome(job, error=str(e), seconds=time.perf_counter() - t0)
    return FileOutcome(job, result=result, seconds=time.perf_counter() - t0)


# one Enhancer per worker process, loaded by _init_worker
_WORKER: Any = None


def _init_worker(cls: type, source: str, kwargs: dict[str, Any], threads: int) -> None:
    import torch

    global _WORKER
    torch.set_num_threads(threads)
    _WORKER = cls.from_pretrained(source, **kwargs)


def _work(job: FileJob, options: dict[str, Any]) -> FileOutcome:
    return _enhance_one(_WORKER, job, options)


def _run_pool(
    enhancer: Any,
    todo: list[FileJob],
    workers: int,
    threads: int,
    options: dict[str, Any],
    finish: Callable[[FileOutcome], None],
) -> None:
    kwargs = {**enhancer.load_options, "device": "cpu"}
    # spawn: a fresh interpreter per worker (forking a process that has run torch can deadlock)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(type(enhancer), enhancer.source, kwargs, threads),
    ) as pool:
        futures = [pool.submit(_work, job, options) for job in todo]
        for future in as_completed(futures):
            finish(future.result())
