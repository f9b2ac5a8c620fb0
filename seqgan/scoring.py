"""Score a set of estimates against references: match by utterance id, per-utterance and mean metrics.

A set is either a directory of audio files (the utterance id of a file is its path relative to the
directory, without extension, with ``/`` separators: ``p232/p232_001.wav`` → ``p232/p232_001``) or a
Kaldi ``wav.scp``-style table (``<utt-id> <path>`` per line, read with
:func:`seqgan.data.scp.read_scp`; command pipes are refused).

Per pair, :func:`seqgan.metrics.audio.compute_metrics` computes the metrics; a file that cannot be read
and a metric that cannot score a pair are both recorded with the reason, never dropped silently. When
the two files of a pair have different sample rates, the higher-rate one is resampled down to the lower
rate first (a note records it). Results are written as ``scores.json`` and ``scores.csv``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seqgan.atomic import write_text
from seqgan.data.scp import read_scp
from seqgan.metrics.audio import METRIC_NOTES, NON_INTRUSIVE, compute_metrics, resolve_metrics

__all__ = [
    "ScoreReport",
    "ScoringInputError",
    "UttScore",
    "list_audio",
    "score_pair_files",
    "score_sets",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Lengths differing by more than this fraction get a note (a sign of mismatched pairs or of a model
# that changed the length).
LENGTH_NOTE_FRACTION = 0.01


class ScoringInputError(ValueError):
    """REF or EST cannot be used as a set (missing, malformed scp, duplicate ids, nothing in common)."""


@dataclass
class UttScore:
    """Result for one matched utterance.

    Attributes:
        utt_id: the utterance id.
        scores: metric name → value, for the metrics computed.
        errors: metric name → reason, for the metrics that could not be computed. When the audio could
            not be read, every requested metric has that reason and ``input_error`` is set.
        input_error: why the pair could not be read (missing file, multi-channel, ...), else ``None``.
        sample_rate: rate the metrics were given (after matching the two files' rates), if read.
        duration_s: duration of the scored (shorter) signal in seconds, if read.
        notes: remarks on the pair (resampled, lengths differ).
    """

    utt_id: str
    scores: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    input_error: str | None = None
    sample_rate: int | None = None
    duration_s: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ScoreReport:
    """Scores of a whole set.

    Attributes:
        ref: the reference set as given (``None``: scored without references).
        est: the estimate set as given.
        metrics: metric names in table order.
        utterances: one :class:`UttScore` per matched id, sorted by id.
        ref_only: ids only in the reference set (not scored).
        est_only: ids only in the estimate set (not scored).
    """

    ref: str | None
    est: str
    metrics: list[str]
    utterances: list[UttScore]
    ref_only: list[str] = field(default_factory=list)
    est_only: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """Per metric: ``mean`` (``None`` when nothing scored), ``count`` scored and ``unscorable``."""
        out: dict[str, dict[str, float | int | None]] = {}
        for m in self.metrics:
            values = [u.scores[m] for u in self.utterances if m in u.scores]
            out[m] = {
                "mean": math.fsum(values) / len(values) if values else None,
                "count": len(values),
                "unscorable": sum(1 for u in self.utterances if m in u.errors),
            }
        return out

    @property
    def input_errors(self) -> dict[str, str]:
        """Utterance id → why its files could not be read."""
        return {u.utt_id: u.input_error for u in self.utterances if u.input_error}

    @property
    def scored_anything(self) -> bool:
        """Whether at least one metric was computed for at least one utterance."""
        return any(u.scores for u in self.utterances)

    def to_dict(self) -> dict:
        """A JSON-ready dict: inputs, notes, summary, per-utterance scores/errors, unmatched ids."""
        return {
            "format_version": FORMAT_VERSION,
            "ref": self.ref,
            "est": self.est,
            "metrics": list(self.metrics),
            "notes": {m: METRIC_NOTES[m] for m in self.metrics if m in METRIC_NOTES},
            "summary": self.summary(),
            "utterances": {
                u.utt_id: {
                    "scores": u.scores,
                    "errors": u.errors,
                    **({"input_error": u.input_error} if u.input_error else {}),
                    "sample_rate": u.sample_rate,
                    "duration_s": u.duration_s,
                    **({"notes": u.notes} if u.notes else {}),
                }
                for u in self.utterances
            },
            "unmatched": {"ref_only": list(self.ref_only), "est_only": list(self.est_only)},
        }

    def to_csv(self) -> str:
        """CSV text: ``utt_id``, one column per metric (empty when unscorable), ``errors``."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["utt_id", *self.metrics, "errors"])
        for u in self.utterances:
            cells = [repr(u.scores[m]) if m in u.scores else "" for m in self.metrics]
            if u.input_error:
                errors = u.input_error
            else:
                errors = "; ".join(f"{m}: {u.errors[m]}" for m in self.metrics if m in u.errors)
            writer.writerow([u.utt_id, *cells, errors])
        return buf.getvalue()

    def write(self, outdir: str | Path) -> tuple[Path, Path]:
        """Write ``scores.json`` and ``scores.csv`` into ``outdir`` (created), each atomically.

        Returns:
            The two paths.
        """
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        json_path, csv_path = outdir / "scores.json", outdir / "scores.csv"
        write_text(json_path, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n", newline="")
        write_text(csv_path, self.to_csv(), newline="")
        return json_path, csv_path


def _audio_extensions() -> set[str]:
    import soundfile

    # RAW needs its format given separately, so it is not recognised from a name.
    return {"." + fmt.lower() for fmt in soundfile.available_formats() if fmt != "RAW"} | {".aif"}


def list_audio(source: str | Path) -> dict[str, str]:
    """Utterance id → audio path for a directory of audio files or a ``wav.scp`` table.

    Args:
        source: a directory (searched recursively; hidden files skipped; ids are relative paths without
            extension) or a ``<utt-id> <path>`` table.

    Returns:
        id → path (paths of an scp are returned as written; relative ones are read from the current
        directory, as in Kaldi).

    Raises:
        ScoringInputError: ``source`` missing, an scp line that is a command pipe or malformed, ids
            repeated (``a.wav`` and ``a.flac`` in one directory), or a directory with no audio.
    """
    path = Path(source)
    if path.is_dir():
        extensions = _audio_extensions()
        found: dict[str, str] = {}
        for root, dirs, files in os.walk(path, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                file = Path(root, name)
                if name.startswith(".") or file.suffix.lower() not in extensions:
                    continue
                utt = file.relative_to(path).with_suffix("").as_posix()
                if utt in found:
                    raise ScoringInputError(
                        f"{path}: two files have the utterance id '{utt}' ({found[utt]} and {file}); "
                        "keep one audio file per id"
                    )
                found[utt] = str(file)
        if not found:
            hint = ""
            if any(path.glob("*.scp")):
                hint = " (it holds .scp tables: pass the table itself, e.g. --ref data/test/spk1.scp)"
            raise ScoringInputError(f"{path}: no audio files found{hint}")
        return found
    if path.is_file():
        try:
            table = read_scp(path)
        except ValueError as err:
            raise ScoringInputError(str(err)) from None
        if not table:
            raise ScoringInputError(f"{path}: the table is empty")
        return table
    raise ScoringInputError(f"{path}: no such file or directory (expected an audio directory or a wav.scp)")


def _read_mono(path: str) -> tuple:
    """Read a file as float64 mono; raises ValueError with a message naming the file."""
    import soundfile

    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    try:
        data, rate = soundfile.read(path, dtype="float64", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError for unreadable files
        raise ValueError(f"{path}: cannot read it as audio ({err})") from None
    if data.shape[1] != 1:
        raise ValueError(f"{path}: has {data.shape[1]} channels; scoring needs mono files (mix down first)")
    if data.shape[0] == 0:
        raise ValueError(f"{path}: is empty (0 samples)")
    return data[:, 0], int(rate)


def score_pair_files(utt_id: str, ref_path: str | None, est_path: str, metrics: Sequence[str]) -> UttScore:
    """Read one reference/estimate pair and compute ``metrics``; never raises for bad audio.

    Args:
        utt_id: the utterance id (copied into the result).
        ref_path: reference (clean) audio file; ``None`` for non-intrusive metrics only (DNSMOS).
        est_path: estimate (enhanced or noisy) audio file.
        metrics: metric names (already resolved, see :func:`seqgan.metrics.audio.resolve_metrics`).

    Returns:
        The :class:`UttScore`; unreadable input is recorded in ``input_error`` and in every metric's error.
    """
    from seqgan.metrics.audio import resample

    result = UttScore(utt_id)
    try:
        est, est_rate = _read_mono(est_path)
        if ref_path is not None:
            ref, ref_rate = _read_mono(ref_path)
    except ValueError as err:
        result.input_error = str(err)
        result.errors = dict.fromkeys(metrics, f"input not readable: {err}")
        return result
    if ref_path is None:
        result.sample_rate = est_rate
        result.duration_s = round(est.size / est_rate, 6)
        result.scores, result.errors = compute_metrics(None, est, est_rate, metrics)
        return result
    rate = min(ref_rate, est_rate)
    if ref_rate != est_rate:
        result.notes.append(
            f"sample rates differ (ref {ref_rate} Hz, est {est_rate} Hz); resampled to {rate} Hz"
        )
        ref, est = resample(ref, ref_rate, rate), resample(est, est_rate, rate)
    longer = max(ref.size, est.size)
    if longer - min(ref.size, est.size) > LENGTH_NOTE_FRACTION * longer:
        result.notes.append(
            f"lengths differ (ref {ref.size / rate:.3f} s, est {est.size / rate:.3f} s); "
            "truncated to the shorter"
        )
    result.sample_rate = rate
    result.duration_s = round(min(ref.size, est.size) / rate, 6)
    result.scores, result.errors = compute_metrics(ref, est, rate, metrics)
    return result


def _score_job(job: tuple[str, str | None, str, list[str]]) -> UttScore:
    return score_pair_files(*job)


def score_sets(
    ref: str | Path | None,
    est: str | Path,
    metrics: Sequence[str] | None = None,
    nj: int = 1,
    on_result: Callable[[UttScore], None] | None = None,
) -> ScoreReport:
    """Score every utterance present in both sets.

    Args:
        ref: reference set (directory or scp); ``None`` scores every estimate with the non-intrusive
            metrics alone (DNSMOS), for recordings that have no clean reference.
        est: estimate set (directory or scp).
        metrics: metric names or aliases; ``None`` = all (without a reference: all non-intrusive ones;
            see :mod:`seqgan.metrics.audio`).
        nj: parallel worker processes (1 = in this process).
        on_result: called with each result as it arrives (progress display).

    Returns:
        The :class:`ScoreReport` (utterances sorted by id).

    Raises:
        ScoringInputError: a set cannot be listed, or the two sets share no utterance id.
        ValueError: an unknown metric name, a metric that needs the missing reference, or ``nj < 1``.
    """
    if ref is None and metrics is None:
        metrics = list(NON_INTRUSIVE)
    names = resolve_metrics(metrics)
    if nj < 1:
        raise ValueError(f"nj must be at least 1, got {nj}")
    if ref is None:
        needs_ref = [m for m in names if m not in NON_INTRUSIVE]
        if needs_ref:
            raise ValueError(
                f"{', '.join(needs_ref)} need(s) clean references (--ref); without them only "
                f"{', '.join(NON_INTRUSIVE)} can be computed"
            )
        est_files = list_audio(est)
        jobs = [(utt, None, path, names) for utt, path in sorted(est_files.items())]
        return ScoreReport(None, str(est), names, _run_jobs(jobs, nj, on_result))
    ref_files, est_files = list_audio(ref), list_audio(est)
    common = sorted(set(ref_files) & set(est_files))
    ref_only = sorted(set(ref_files) - set(est_files))
    est_only = sorted(set(est_files) - set(ref_files))
    if not common:
        raise ScoringInputError(
            f"{ref} ({len(ref_files)} utterances) and {est} ({len(est_files)} utterances) share no utterance "
            f"id (e.g. '{next(iter(ref_files))}' vs '{next(iter(est_files))}'); ids are relative paths "
            "without extension for directories and the first column for scp tables"
        )
    if ref_only or est_only:
        logger.debug("%d ids only in %s, %d only in %s: not scored", len(ref_only), ref, len(est_only), est)
    jobs = [(utt, ref_files[utt], est_files[utt], names) for utt in common]
    return ScoreReport(str(ref), str(est), names, _run_jobs(jobs, nj, on_result), ref_only, est_only)


def _run_jobs(
    jobs: list[tuple[str, str | None, str, list[str]]], nj: int, on_result: Callable[[UttScore], None] | None
) -> list[UttScore]:
    """Scores the jobs in this process or in ``nj`` workers; results sorted by utterance id."""
    results: list[UttScore] = []
    if nj == 1 or len(jobs) <= 1:
        for job in jobs:
            results.append(_score_job(job))
            if on_result:
                on_result(results[-1])
    else:
        with multiprocessing.get_context().Pool(min(nj, len(jobs))) as pool:
            for res in pool.imap_unordered(_score_job, jobs, chunksize=1):
                results.append(res)
                if on_result:
                    on_result(res)
    results.sort(key=lambda u: u.utt_id)
    return results
