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
version and all other metadata of an exported .safetensors model, of an exported .onnx graph (with its
inputs and outputs), of a training checkpoint (.pt file or experiment folder), or of a model shipped in the package (by name: what it is, the recipe
command that trained it and its results). Without MODEL: the shipped models, one line each.

examples:
  seqgan info                                  # the shipped models
  seqgan info synth_metricgan                  # the default speech enhancer (seqgan enhance without -m)
  seqgan info segan.safetensors
  seqgan info causal.onnx                      # its metadata, inputs and outputs (the state too)
  seqgan info exp/train_segan/checkpoints/last.pt
"""

_FIRST = (
    "shipped",
    "description",
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
    parser.add_argument(
        "model",
        nargs="?",
        default=None,
        help="a .safetensors model, a .pt checkpoint, an experiment folder or a shipped model's name "
        "(default: list the shipped models)",
    )
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


def _onnx_info(path: Path) -> dict[str, Any]:
    """An exported ONNX graph: its metadata, inputs and outputs (onnxruntime reads it)."""
    from seqgan.onnx_backend import OnnxGenerator

    graph = OnnxGenerator(path, threads=1)
    info: dict[str, Any] = {"file": str(path), "format": "seqgan ONNX graph (onnxruntime)"}
    info.update(graph.metadata)

    def signature(args: list[Any]) -> str:
        return ", ".join(f"{a.name} {a.type} {list(a.shape)}" for a in args)

    info["inputs"] = signature(graph.session.get_inputs())
    info["outputs"] = signature(graph.session.get_outputs())
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


def _shipped() -> list[dict[str, Any]]:
    """One row per model shipped in the package."""
    from seqgan import pretrained

    rows = []
    for name in pretrained.names():
        entry = pretrained.PRETRAINED[name]
        size = entry.path.stat().st_size if entry.path.is_file() else None
        rows.append(
            {
                "name": name,
                "task": entry.task,
                "default": entry.default,
                "size_mb": None if size is None else round(size / 2**20, 2),
                "description": entry.description,
            }
        )
    return rows


def _list_shipped(as_json: bool) -> int:
    rows = _shipped()
    if as_json:
        print(json.dumps(rows, sort_keys=True, indent=1))
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        size = "missing" if r["size_mb"] is None else f"{r['size_mb']:.1f} MB"
        mark = " (default)" if r["default"] else ""
        print(f"{r['name']:<{width}}  {r['task']}{mark}, {size}: {r['description']}")
    print("\nseqgan info NAME shows one of them in full")
    return 0


def run(args: argparse.Namespace) -> int:
    from seqgan import pretrained
    from seqgan._optional import MissingExtraError
    from seqgan.export import ModelFileError

    if args.model is None:
        return _list_shipped(args.json)
    path = Path(args.model)
    entry = pretrained.PRETRAINED.get(args.model) if not path.exists() else None
    try:
        if entry is not None:
            path = pretrained.get(args.model).path
        if path.suffix.lower() == ".onnx":
            info = _onnx_info(path)
        elif _looks_like_safetensors(path):
            info = _model_info(path)
        else:
            info = _checkpoint_info(args.model)
    except (ModelFileError, ValueError, MissingExtraError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if entry is not None:
        info.update(
            shipped=f"{entry.name} ({entry.task}{', default' if entry.default else ''})",
            description=entry.description,
            recipe=entry.recipe,
            results=entry.results,
        )
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
