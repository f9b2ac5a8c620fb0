#!/usr/bin/env python3
"""Brings the audio of ``wav.scp``-style tables to one sample rate, mono, and writes an ``utt2dur``.

    python utils/format_wav_scp.py --fs 16000 --out-dir dump/test/audio --utt2dur dump/test/utt2dur \\
        data/test/wav.scp dump/test/wav.scp data/test/spk1.scp dump/test/spk1.scp

Arguments come in pairs ``IN_SCP OUT_SCP``. Files already at ``--fs`` with one channel are listed as
they are (no copy). The others are read with soundfile, averaged to mono when they have several
channels, resampled with ``torchaudio.functional.resample`` (windowed sinc) and written as 16-bit PCM
WAV files ``OUT_DIR/<name>/<utt>.wav``, where ``<name>`` is the output table's file name up to its
first dot (``wav`` for ``wav.3.scp``). Each file is written to a temporary name and renamed when
complete; a written file newer than its source is kept, so re-running only does what is missing or
stale. ``--utt2dur`` holds the durations (seconds, at ``--fs``) of the first table.

A file that cannot be read is reported (``error: <utt>: <path>: <cause>``) and the others are still
done; the output tables are then not written and the exit status is 1. Recipes run this once per part
of split tables, in parallel (``${decode_cmd} JOB=1:N ...``), so that torch is imported once per job.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from seqgan.data.scp import write_scp


def _write_table(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_scp(path, dict(rows))


def _is_fresh(dst: Path, src: str) -> bool:
    try:
        return dst.stat().st_mtime >= os.stat(src).st_mtime
    except OSError:
        return False


def format_one(utt: str, src: str, fs: int, out_dir: Path) -> tuple[str, float, str | None]:
    """Formats one file.

    Returns:
        ``(path to list, duration in seconds, note or None)``.

    Raises:
        seqgan.data.audio.AudioFileError: the source cannot be read or the output written.
    """
    import soundfile as sf

    try:  # the common case, files already right, without importing torch
        info = sf.info(src)
        if info.samplerate == fs and info.channels == 1 and info.frames > 0:
            return src, info.frames / fs, None
    except (sf.LibsndfileError, RuntimeError, OSError):
        pass  # audio_info below names the problem

    import torch

    from seqgan.data.audio import audio_info, read_audio, resample, write_audio

    info = audio_info(src)
    if info.sample_rate == fs and info.channels == 1:
        return src, info.frames / fs, None
    dst = out_dir / f"{utt}.wav"
    if _is_fresh(dst, src):
        return str(dst), audio_info(dst).frames / fs, None
    wave, rate = read_audio(src)
    note = []
    if wave.shape[0] > 1:
        note.append(f"averaged {wave.shape[0]} channels")
        wave = wave.mean(axis=0, keepdims=True)
    x = torch.from_numpy(wave)
    if rate != fs:
        note.append(f"resampled {rate} -> {fs} Hz")
        x = resample(x, rate, fs)
    peak = float(x.abs().max())
    if peak > 1.0:
        note.append(f"clipped (peak {peak:.3f} after resampling)")
    write_audio(dst, x.clamp(-1.0, 1.0), fs, subtype="PCM_16", format="WAV")
    return str(dst), x.shape[-1] / fs, "; ".join(note)


def format_table(in_scp: str, out_dir: Path, fs: int) -> tuple[list[tuple[str, str, float]], int]:
    """Formats the files of one table; returns ``([(utt, path, seconds)], number of errors)``."""
    from seqgan.data.audio import AudioFileError
    from seqgan.data.scp import DataDirError, read_scp

    try:
        table = read_scp(in_scp)
    except DataDirError as e:
        print(f"error: {e}", file=sys.stderr)
        return [], 1
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, float]] = []
    errors = 0
    notes: dict[str, int] = {}
    for utt, src in table.items():
        if "/" in utt or utt in (".", ".."):
            print(f"error: {in_scp}: utterance id '{utt}' cannot be a file name", file=sys.stderr)
            errors += 1
            continue
        try:
            path, seconds, note = format_one(utt, src, fs, out_dir)
        except AudioFileError as e:
            print(f"error: {utt}: {e}", file=sys.stderr)
            errors += 1
            continue
        if note:
            notes[note] = notes.get(note, 0) + 1
        rows.append((utt, path, seconds))
    for note, count in notes.items():
        print(f"{in_scp}: {count} file(s): {note}")
    converted = sum(notes.values())
    print(f"{in_scp}: {len(rows)} of {len(table)} file(s) at {fs} Hz ({converted} converted)")
    return rows, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "tables", nargs="+", metavar="IN_SCP OUT_SCP", help="pairs of input and output tables"
    )
    parser.add_argument("--fs", type=int, default=16000, help="sample rate in Hz (default 16000)")
    parser.add_argument("--out-dir", required=True, help="where resampled files go (one folder per table)")
    parser.add_argument("--utt2dur", help="write <utt> <seconds> of the first table here")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for resampling (default 1)")
    args = parser.parse_args(argv)
    if len(args.tables) % 2:
        parser.error("tables come in pairs: IN_SCP OUT_SCP [IN_SCP OUT_SCP ...]")

    os.environ["OMP_NUM_THREADS"] = str(max(1, args.threads))  # read when torch is imported
    pairs = list(zip(args.tables[::2], args.tables[1::2]))
    results = []
    errors = 0
    for in_scp, out_scp in pairs:
        name = Path(out_scp).name.split(".")[0]
        rows, bad = format_table(in_scp, Path(args.out_dir) / name, args.fs)
        results.append((out_scp, rows))
        errors += bad
    if errors:
        print(f"{errors} file(s) failed; no output table written", file=sys.stderr)
        return 1
    for out_scp, rows in results:
        _write_table(Path(out_scp), [(utt, path) for utt, path, _ in rows])
    if args.utt2dur:
        _write_table(Path(args.utt2dur), [(utt, f"{seconds:.4f}") for utt, _, seconds in results[0][1]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
