"""`seqgan enhance`: denoise audio files with an exported model."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
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

Without -m, the speech enhancer shipped in the package is used (synth_metricgan; `seqgan info
synth_metricgan` says what it is and how it was trained).

examples:
  seqgan enhance noisy.wav -o out/                          (the shipped model)
  seqgan enhance -m model.safetensors noisy/ -o enhanced/
  seqgan enhance -m model.safetensors a.wav b.flac -o out/ --subtype FLOAT
  seqgan enhance -m model.safetensors --scp data/test/wav.scp -o exp/enhanced/test --device cuda
  seqgan enhance -m model.safetensors noisy/ -o enhanced/ --jobs 4 --threads 1    (CPU processes)
  seqgan enhance -m model.safetensors noisy/ -o gentle/ --mix 0.5 --atten-lim-db 12  (strength)
  seqgan enhance --backend onnxruntime -m model.onnx noisy/ -o enhanced/   (`seqgan export --format onnx`)

streaming (a causal model: without -m the shipped synth_metricgan_causal, or one trained with
egs/synth/se1/conf/causal.yaml): --stream reads WAV or raw audio from standard input (or one file) and
writes the same kind to standard output (or a file), a chunk at a time, flushed; the result equals
enhancing the whole file:
  arecord -f S16_LE -r 16000 -c 1 | seqgan enhance --stream - -o - | aplay    (the shipped causal model)
  sox in.flac -b 16 -t wav - | seqgan enhance --stream -m causal.safetensors - -o - > out.wav
  ffmpeg -i in.mp3 -f s16le -ar 48000 -ac 2 - | seqgan enhance --stream -m causal.safetensors \
      --format s16le --rate 48000 --channels 2 - -o - | ffplay -f s16le -ar 48000 -ch_layout stereo -
"""

# files longer than this get a progress bar of their own (on a terminal)
_LONG_FILE_SECONDS = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="audio files or folders")
    parser.add_argument(
        "-m",
        "--model",
        default=None,
        help="exported model (.safetensors, or .onnx) or a shipped model's name (seqgan info lists them); "
        "default: the package's speech enhancer, synth_metricgan (with --stream: synth_metricgan_causal)",
    )
    parser.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="where to write")
    parser.add_argument("--scp", metavar="WAV_SCP", help="a Kaldi `utt path` list; writes OUTDIR/<utt>.wav")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per forward pass (default 8)")
    parser.add_argument(
        "--hop",
        type=int,
        default=None,
        help="window step in model samples (default: half the model's window)",
    )
    parser.add_argument(
        "--window",
        type=int,
        default=None,
        help="window in model samples (default: the trained one); a recurrent model such as the shipped "
        "one runs 2.2x faster with --window 160000 --hop 144000",
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
    _add_stream_arguments(parser)
    _add_backend_and_strength_arguments(parser)


def _add_stream_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("streaming (--stream: one input, `-` for stdin; -o `-` for stdout)")
    group.add_argument(
        "--stream", action="store_true", help="enhance a pipe chunk by chunk with a causal model"
    )
    group.add_argument(
        "--format",
        dest="stream_format",
        choices=("auto", "s16le", "s32le", "f32le"),
        default="auto",
        help="input samples: auto = a WAV header (default), or raw little-endian PCM / float",
    )
    group.add_argument("--rate", type=int, default=None, help="raw input rate in Hz (default: the model's)")
    group.add_argument("--channels", type=int, default=1, help="raw input channels (default 1)")
    group.add_argument(
        "--chunk-ms", type=float, default=20.0, help="the most audio read per chunk, in ms (default 20)"
    )


def run(args: argparse.Namespace) -> int:
    import torch

    if args.stream:
        from seqgan.cli.enhance_stream import run_stream

        return run_stream(args)

    from seqgan.enhance import Enhancer, OutputConflictError, plan_enhancement, resolve_device
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

    try:
        plan = plan_enhancement(args.inputs, args.output_dir, scp=args.scp, overwrite=args.overwrite)
    except OutputConflictError as e:
        print(f"seqgan enhance: refusing to start: {e}", file=sys.stderr)
        return 2
    for line in plan.errors:
        print(f"error: {line}", file=sys.stderr)

    threads = args.threads or (max(1, (os.cpu_count() or 1) // args.jobs) if args.jobs > 1 else None)
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        enhancer = Enhancer.from_pretrained(
            args.model,
            device=str(device),
            batch_size=args.batch_size,
            hop=args.hop,
            **({"window": args.window} if args.window else {}),
            sample_latent=True if args.sample_latent else None,
            bf16=args.bf16,
            compile=args.compile,
            backend=args.backend,
            mix=args.mix,
            atten_lim_db=args.atten_lim_db,
        )
    except (ModelFileError, ValueError, ImportError) as e:
        print(f"seqgan enhance: cannot load the model: {e}", file=sys.stderr)
        return 2
    if plan.skipped:
        print(
            f"skipping {len(plan.skipped)} file(s) whose output exists (--overwrite to replace them)",
            file=sys.stderr,
        )

    interactive = sys.stderr.isatty()
    with contextlib.ExitStack() as stack:
        bar = None
        if interactive and plan.jobs:
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            bar = stack.enter_context(
                tqdm(total=len(plan.jobs), unit="file", desc="enhance", file=sys.stderr)
            )
            stack.enter_context(logging_redirect_tqdm())  # log lines above the bars, not through them
        display = _Display(bar, interactive)
        report = enhancer.enhance_plan(
            plan,
            jobs=args.jobs,
            threads=threads,
            subtype=args.subtype,
            output_rate=args.output_rate,
            progress=display.file_done,
            file_progress=display.file_bar if bar is not None else None,
        )
    print(report.summary())
    return 1 if report.failed else 0


class _Display:
    """Prints each file's outcome: a line per file without a terminal, a progress bar (and an inner bar
    for long files) with one."""

    def __init__(self, bar: Any, interactive: bool) -> None:
        self.bar, self.interactive = bar, interactive
        self.inner: dict[Any, Any] = {}

    def file_done(self, outcome: Any) -> None:
        inner = self.inner.pop(outcome.job, None)
        if inner is not None:
            inner.close()
        job = outcome.job
        if outcome.error is not None:
            line = f"error: {outcome.error}"
        else:
            line = (
                f"enhanced {job.src} -> {job.dst} ({outcome.result.duration:.1f} s of audio "
                f"in {outcome.seconds:.1f} s)"
            )
        if self.bar is not None:
            if outcome.error is not None:
                self.bar.write(line, file=sys.stderr)
            self.bar.update(1)
        elif outcome.error is not None or not self.interactive:
            print(line, file=sys.stderr)

    def file_bar(self, job: Any) -> Any:
        """A per-file progress bar (frames) for long files; ``None`` for short ones."""
        import soundfile as sf
        from tqdm import tqdm

        try:
            info = sf.info(str(job.src))
        except Exception:  # the enhancer reports unreadable files
            return None
        if info.duration < _LONG_FILE_SECONDS:
            return None
        inner = tqdm(
            total=info.frames,
            unit="frame",
            unit_scale=True,
            desc=job.src.name,
            leave=False,
            position=1,
            file=sys.stderr,
        )
        self.inner[job] = inner
        return inner.update


def _add_backend_and_strength_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("backend and strength")
    group.add_argument(
        "--backend",
        choices=("auto", "torch", "onnxruntime"),
        default="auto",
        help="run a .safetensors model with torch or a .onnx graph with onnxruntime (default: by suffix)",
    )
    group.add_argument(
        "--mix",
        type=_mix,
        default=1.0,
        help="dry/wet: output = mix * enhanced + (1 - mix) * input; 0 = input, 1 = enhanced (default 1)",
    )
    group.add_argument(
        "--atten-lim-db",
        type=_atten_lim,
        default=None,
        metavar="DB",
        help="the most the output may fall below (or rise above) the input in any time-frequency cell, "
        "in dB (default: no limit; 'inf' too)",
    )


def _mix(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got '{text}'") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1] (0: the input, 1: fully enhanced), got {text}")
    return value


def _atten_lim(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of dB, got '{text}'") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 dB, got {text}")
    return value
