"""`seqgan export`: training checkpoint -> exported ``.safetensors`` model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "export a training checkpoint's generator to a .safetensors model"

DESCRIPTION = """\
Export the generator of a training checkpoint (its EMA weights when the run kept them) to one
.safetensors file: the weights plus header metadata (architecture, constructor arguments, sample rate /
frame geometry, pre-emphasis, training step, seqgan version). The file holds no pickle; load it with
`seqgan enhance -m`, `seqgan predict -m`, `seqgan.load_model` or `Enhancer.from_pretrained`.

examples:
  seqgan export exp/train_segan/checkpoints/last.pt -o segan.safetensors
  seqgan export exp/train_segan -o segan.safetensors          (an experiment folder: its last.pt)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a .pt training checkpoint or an experiment folder")
    parser.add_argument("-o", "--output", required=True, help="the .safetensors file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def run(args: argparse.Namespace) -> int:
    from seqgan.export import ModelFileError, export_checkpoint

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        print(f"seqgan export: {out} exists; pass --overwrite to replace it", file=sys.stderr)
        return 1
    try:
        metadata = export_checkpoint(args.checkpoint, out)
    except ModelFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {out}: cannot write ({e.strerror or e})", file=sys.stderr)
        return 1
    print(f"exported {metadata.get('weights', 'generator')} at step {metadata.get('step', '?')} to {out}")
    return 0
