"""`seqgan export`: training checkpoint -> exported ``.safetensors`` model or ONNX graph."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "export a training checkpoint's generator to a .safetensors model or an ONNX graph"

DESCRIPTION = """\
Export the generator of a training checkpoint (its EMA weights when the run kept them) to one
.safetensors file: the weights plus header metadata (architecture, constructor arguments, sample rate /
frame geometry, pre-emphasis, training step, seqgan version). The file holds no pickle; load it with
`seqgan enhance -m`, `seqgan predict -m`, `seqgan.load_model` or `Enhancer.from_pretrained`.

--format onnx (the default for an output ending in .onnx) writes the enhancement generator as an ONNX
graph instead, with the same metadata in its metadata_props, and checks it with onnxruntime on random
input (the largest difference from PyTorch is printed; more than --atol refuses the file). The graph
maps `noisy` float32 (batch, 1, samples) to `enhanced` float32 (batch, 1, samples), both at the model's
rate, pre-emphasised as in training; batch and samples are dynamic. Run it with
`seqgan enhance --backend onnxruntime -m model.onnx` (needs seqgan[onnx]). The input may also be an
exported .safetensors model.

examples:
  seqgan export exp/train_segan/checkpoints/last.pt -o segan.safetensors
  seqgan export exp/train_segan -o segan.safetensors          (an experiment folder: its last.pt)
  seqgan export exp/train_segan -o segan.onnx                 (an ONNX graph, checked with onnxruntime)
  seqgan export segan.safetensors --format onnx -o segan.onnx
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint", help="a .pt training checkpoint or an experiment folder (onnx: or a .safetensors model)"
    )
    parser.add_argument("-o", "--output", required=True, help="the .safetensors or .onnx file to write")
    parser.add_argument(
        "--format",
        choices=("safetensors", "onnx"),
        default=None,
        help="what to write (default: onnx for an output ending in .onnx, else safetensors)",
    )
    parser.add_argument(
        "--atol",
        type=float,
        default=1e-4,
        help="onnx: the largest difference from PyTorch accepted by the check (default 1e-4)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def run(args: argparse.Namespace) -> int:
    from seqgan.export import ModelFileError, export_checkpoint

    out = Path(args.output)
    fmt = args.format or ("onnx" if out.suffix.lower() == ".onnx" else "safetensors")
    if out.exists() and not args.overwrite:
        print(f"seqgan export: {out} exists; pass --overwrite to replace it", file=sys.stderr)
        return 1
    try:
        if fmt == "onnx":
            return _export_onnx(args.checkpoint, out, args.atol)
        metadata = export_checkpoint(args.checkpoint, out)
    except ModelFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {out}: cannot write ({e.strerror or e})", file=sys.stderr)
        return 1
    print(f"exported {metadata.get('weights', 'generator')} at step {metadata.get('step', '?')} to {out}")
    return 0


def _export_onnx(source: str, out: Path, atol: float) -> int:
    from seqgan._optional import MissingExtraError
    from seqgan.export import load_generator
    from seqgan.onnx_export import OnnxExportError, export_onnx

    module, metadata = load_generator(source)
    window = metadata.get("window")
    if not isinstance(window, int) or window < 1:
        print(
            f"error: {source}: metadata 'window' is missing; it is not an enhancement model", file=sys.stderr
        )
        return 1
    metadata.pop("window")
    try:
        written = export_onnx(module, out, window=window, atol=atol, **metadata)
    except (OnnxExportError, MissingExtraError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        f"exported {written.get('architecture')} ({written.get('weights', 'generator')} at step "
        f"{written.get('step', '?')}) to {out}; onnxruntime agrees with PyTorch within "
        f"{written['max_abs_diff']:.2g}"
    )
    return 0
