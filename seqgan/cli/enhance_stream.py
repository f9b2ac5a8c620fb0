"""`seqgan enhance --stream`: WAV or raw audio from a pipe (or a file) to a pipe, chunk by chunk."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import BinaryIO


def _fail(message: str) -> int:
    print(f"seqgan enhance --stream: {message}", file=sys.stderr)
    return 2


def run_stream(args: argparse.Namespace) -> int:
    """Runs ``seqgan enhance --stream``; returns the exit code."""
    import numpy as np
    import torch

    from seqgan.enhance import Enhancer, resolve_device
    from seqgan.export import ModelFileError
    from seqgan.stream_io import (
        SAMPLE_FORMATS,
        StreamFormatError,
        read_exact,
        read_wav_header,
        stream_audio,
        wav_header,
    )
    from seqgan.streaming import StreamingEnhancer, is_streamable

    if len(args.inputs) != 1 or args.scp:
        return _fail("give exactly one INPUT: `-` for standard input, or a file")
    if args.channels < 1 or (args.rate is not None and args.rate < 1) or args.chunk_ms <= 0:
        return _fail("--channels and --rate must be >= 1 and --chunk-ms > 0")
    out_path = None if args.output_dir == "-" else Path(args.output_dir)
    if out_path is not None and out_path.exists() and not args.overwrite:
        return _fail(f"{out_path} exists; pass --overwrite to replace it")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.model is None:  # the shipped causal model (the default offline one cannot stream)
        from seqgan.pretrained import STREAMING_DEFAULT

        args.model = STREAMING_DEFAULT
    try:
        onnx = getattr(args, "backend", "auto") == "onnxruntime" or str(args.model).lower().endswith(".onnx")
        enhancer = Enhancer.from_pretrained(
            args.model,
            device="cpu" if onnx and args.device == "auto" else str(resolve_device(args.device)),
            backend=getattr(args, "backend", "auto"),
            mix=getattr(args, "mix", 1.0),  # --mix blends the input in, aligned, as offline
            atten_lim_db=getattr(args, "atten_lim_db", None),
        )
    except (ModelFileError, ValueError, ImportError) as e:
        return _fail(f"cannot load the model: {e}")
    if not is_streamable(enhancer.generator):
        arch = enhancer.metadata.get("architecture") or type(enhancer.generator).__name__
        return _fail(
            f"{args.model} holds {arch}, which is not causal and cannot stream; "
            "use a causal model (preset metricgan_causal_small) or enhance files without --stream"
        )

    with contextlib.ExitStack() as stack:
        name = "stdin" if args.inputs[0] == "-" else args.inputs[0]
        try:
            src: BinaryIO = (
                sys.stdin.buffer if args.inputs[0] == "-" else stack.enter_context(open(args.inputs[0], "rb"))
            )
        except OSError as e:
            return _fail(f"{name}: {e.strerror}")
        data_bytes = None
        if args.stream_format == "auto":
            try:
                header = read_wav_header(src, name, head=read_exact(src, 4))
            except StreamFormatError as e:
                return _fail(str(e))
            rate, channels, fmt, wav = header.sample_rate, header.channels, header.format, True
            data_bytes = header.data_bytes
        else:
            rate, channels, fmt, wav = (
                args.rate or enhancer.sample_rate,
                args.channels,
                args.stream_format,
                False,
            )
        width = np.dtype(SAMPLE_FORMATS[fmt][0]).itemsize * channels  # bytes per frame
        try:
            out: BinaryIO = (
                sys.stdout.buffer if out_path is None else stack.enter_context(open(out_path, "wb"))
            )
        except OSError as e:
            return _fail(f"{out_path}: {e.strerror}")

        def write(data: bytes) -> None:
            out.write(data)
            out.flush()

        engine = StreamingEnhancer(enhancer, rate, channels)
        stats = None
        try:
            if wav:
                write(wav_header(rate, channels, fmt, None if data_bytes is None else data_bytes // width))
            stats = stream_audio(
                engine.push,
                lambda: engine.flush(numpy=True),
                src,
                write,
                fmt,
                channels,
                max(1, round(args.chunk_ms * rate / 1000)),
                data_bytes,
            )
        except BrokenPipeError:
            pass
        broken = stats is None or stats.broken_pipe
        if broken and out_path is None:  # nothing more can reach the reader: silence the exit-time flush
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        elif wav and out_path is not None and stats is not None and out.seekable():
            out.seek(0)
            out.write(wav_header(rate, channels, fmt, stats.frames_out))
    if stats is not None:
        audio = stats.frames_in / rate
        rtf = stats.process_seconds / audio if audio else 0.0
        print(
            f"streamed {audio:.2f} s of {rate} Hz audio ({channels} channel(s)) in {stats.chunks} chunks, "
            f"real-time factor {rtf:.3f}, algorithmic latency {1000 * engine.latency_seconds:.0f} ms"
            + (" (input truncated)" if stats.truncated else "")
            + (" (output closed early)" if stats.broken_pipe else ""),
            file=sys.stderr,
        )
    return 0
