"""`seqgan info`: what an exported model or a training checkpoint holds."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HELP = "show an exported model's (or a checkpoint's) architecture, size and metadata"

DESCRIPTION = """\
Print the architecture, parameter count, sample rate, window, pre-emphasis, training step, seqgan
version and all other metadata of an exported .safetensors model, or of a training checkpoint (.pt
file or experiment folder).

examples:
  seqgan info segan.safetensors
  seqgan info exp/train_segan/checkpoints/last.pt
"""

_FIRST = (
    "file",
    "format",
    "architecture",
    "parameters",
    "sample_rate",
    "window",
    "preemphasis",
    "step",
    "seqgan_version",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .safetensors model, a .pt checkpoint or an experiment folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")


def _format(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _model_info(path: Path) -> dict[str, Any]:
    from seqgan.export import ModelFileError, decode_metadata, load_model, read_header

    raw, tensors = read_header(path)
    info: dict[str, Any] = {"file": str(path), "format": "seqgan exported model (safetensors)"}
    info.update(decode_metadata(raw))
    try:
        module = load_model(path)
        info["parameters"] = sum(p.numel() for p in module.parameters())
    except ModelFileError as e:  # still show what the header says
        info["parameters"] = "unknown (" + str(e) + ")"
    info["tensors"] = len(tensors)
    dtypes = sorted({t.get("dtype", "?") for t in tensors.values()})
    info["dtypes"] = ", ".join(dtypes)
    return info


def _checkpoint_info(path: str) -> dict[str, Any]:
    from seqgan.export import generator_from_checkpoint, read_checkpoint, resolve_checkpoint

    source = str(resolve_checkpoint(path))
    ckpt = read_checkpoint(source)
    export = ckpt.get("export") or {}
    info: dict[str, Any] = {
        "file": source,
        "format": f"seqgan training checkpoint (format {ckpt.get('format_version', '?')})",
    }
    info["architecture"] = export.get("architecture", "unknown")
    module, metadata = generator_from_checkpoint(ckpt, source=source)
    info["parameters"] = sum(p.numel() for p in module.parameters())
    info["step"] = int(ckpt.get("step", 0))
    info.update({k: v for k, v in metadata.items() if k not in info})
    info["hparams"] = export.get("hparams", {})
    info["networks"] = ", ".join(sorted(k for k, v in ckpt["models"].items() if v))
    return info


def _looks_like_safetensors(path: Path) -> bool:
    """A safetensors file starts with an 8-byte header length and a JSON object."""
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{"


def run(args: argparse.Namespace) -> int:
    from seqgan.export import ModelFileError

    path = Path(args.model)
    try:
        info = _model_info(path) if _looks_like_safetensors(path) else _checkpoint_info(args.model)
    except ModelFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(info, sort_keys=True, indent=1))
        return 0
    keys = [k for k in _FIRST if k in info] + sorted(k for k in info if k not in _FIRST)
    width = max(len(k) for k in keys)
    for key in keys:
        value = info[key]
        if key == "parameters" and isinstance(value, int):
            value = f"{value:,} ({value / 1e6:.2f} M)"
        print(f"{key:<{width}}  {_format(value)}")
    return 0
