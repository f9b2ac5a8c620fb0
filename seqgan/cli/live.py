"""`seqgan live`: enhance the microphone live and play it (needs the `live` extra: sounddevice)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

HELP = "enhance a microphone live to speakers or a virtual device (a causal model; seqgan[live])"

DESCRIPTION = """\
Enhance audio live: capture from an input device, enhance each block with a causal model (one trained
with egs/synth/se1/conf/causal_small.yaml), play it on an output device (speakers, or a virtual device
such as a PulseAudio/PipeWire null sink or BlackHole, to feed a call). Prints the measured latency
(device + the model's delay) and the CPU load every few seconds; Ctrl-C stops.

Needs `pip install 'seqgan[live]'` (sounddevice) and the PortAudio library (Debian/Ubuntu:
`sudo apt-get install libportaudio2`; bundled on macOS and Windows).

examples:
  seqgan live --list-devices
  seqgan live                                                    the shipped causal model, default devices
  seqgan live -m causal.safetensors                              your own causal model
  seqgan live --input-device 2 --output-device "null sink" --block-ms 10
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-m",
        "--model",
        help="exported causal model (.safetensors) or a shipped name; default: synth_metricgan_causal",
    )
    parser.add_argument("--list-devices", action="store_true", help="list the sound devices and exit")
    parser.add_argument(
        "--input-device", default=None, help="input device index or name (default: the system's)"
    )
    parser.add_argument(
        "--output-device", default=None, help="output device index or name (default: the system's)"
    )
    parser.add_argument("--rate", type=int, default=None, help="device rate in Hz (default: the model's)")
    parser.add_argument("--channels", type=int, default=1, help="channels captured and played (default 1)")
    parser.add_argument("--block-ms", type=float, default=20.0, help="audio per callback, in ms (default 20)")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument(
        "--report-s", type=float, default=2.0, help="seconds between status lines (default 2)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


def open_device_stream(**kwargs: Any) -> Any:
    """A ``sounddevice.Stream`` (duplex) with ``kwargs``; the tests replace this with a fake stream."""
    sd = _sounddevice()
    try:
        return sd.Stream(**kwargs)
    except sd.PortAudioError as e:
        raise OSError(str(e)) from None


def _sounddevice() -> Any:
    from seqgan._optional import MissingExtraError, require

    try:
        return require("sounddevice", "live")
    except OSError as e:  # the package is there, the PortAudio library is not
        raise MissingExtraError(
            f"sounddevice cannot load PortAudio ({e}); install it: sudo apt-get install libportaudio2"
        ) from None


def run(args: argparse.Namespace) -> int:
    if args.list_devices:
        print(_sounddevice().query_devices())
        return 0
    if not args.model:  # the shipped causal model
        from seqgan.pretrained import STREAMING_DEFAULT

        args.model = STREAMING_DEFAULT
    if args.channels < 1 or args.block_ms <= 0 or (args.rate is not None and args.rate < 1):
        print("seqgan live: --channels and --rate must be >= 1 and --block-ms > 0", file=sys.stderr)
        return 2
    import torch

    from seqgan.enhance import Enhancer
    from seqgan.export import ModelFileError
    from seqgan.live import LiveProcessor
    from seqgan.streaming import StreamingEnhancer, is_streamable

    torch.set_num_threads(max(1, args.threads))
    try:
        enhancer = Enhancer.from_pretrained(args.model, device="cpu")
    except (ModelFileError, ValueError) as e:
        print(f"seqgan live: cannot load the model: {e}", file=sys.stderr)
        return 2
    if not is_streamable(enhancer.generator):
        print(
            f"seqgan live: {args.model} holds {type(enhancer.generator).__name__}, which is not causal; "
            "use a causal model (preset metricgan_causal_small)",
            file=sys.stderr,
        )
        return 2
    rate = args.rate or enhancer.sample_rate
    block = max(1, round(args.block_ms * rate / 1000))
    proc = LiveProcessor(StreamingEnhancer(enhancer, rate, args.channels))
    try:
        stream = open_device_stream(
            samplerate=rate,
            blocksize=block,
            channels=args.channels,
            dtype="float32",
            latency="low",
            device=(_device(args.input_device), _device(args.output_device)),
            callback=proc.callback,
        )
    except (OSError, ValueError) as e:
        print(
            f"seqgan live: cannot open the sound devices at {rate} Hz, {args.channels} channel(s) ({e}); "
            "see them with `seqgan live --list-devices`, choose with --input-device / --output-device",
            file=sys.stderr,
        )
        return 1
    print(
        f"live: {rate} Hz, {args.channels} channel(s), blocks of {block} samples "
        f"({1000 * block / rate:.1f} ms); the model adds {1000 * proc.delay / rate:.1f} ms "
        f"(algorithmic latency {1000 * proc.engine.latency_seconds:.1f} ms); Ctrl-C stops",
        file=sys.stderr,
    )
    start = time.monotonic()
    last = start
    try:
        with stream:
            while stream.active:
                now = time.monotonic()
                if args.duration is not None and now - start >= args.duration:
                    break
                if now - last >= args.report_s:
                    print(_status(proc, stream), file=sys.stderr)
                    last = now
                time.sleep(min(0.05, args.report_s))
    except KeyboardInterrupt:
        pass
    print(_status(proc, stream), file=sys.stderr)
    return 0


def _status(proc: Any, stream: Any) -> str:
    line = proc.report(stream).line()
    load = getattr(stream, "cpu_load", None)
    return f"{line}, stream CPU load {100 * load:.1f} %" if load is not None else line
