"""Exported models: one ``.safetensors`` file holding a generator's weights and how to rebuild it.

Format (no pickle anywhere):

* tensors: the module's ``state_dict()`` (parameters and persistent buffers), saved as they are;
* header metadata (string -> string):

  ``architecture``   the registered model class name (``seqgan.models.MODELS``)
  ``hparams``        its constructor arguments, JSON
  ``seqgan_version`` the seqgan version that wrote the file
  ``sample_rate``, ``preemphasis``, ``window``, ``step``, ... task metadata and any extra keys
  ``json_keys``      JSON list of the keys whose values are JSON-encoded (every non-string value)

:func:`load_model` rebuilds the module through the registry as ``MODELS.get(architecture)(**hparams)``,
loads the weights strictly and returns it in eval mode with ``module.metadata`` (the decoded dict).

``seqgan export --format onnx`` writes the same generator and metadata as an ONNX graph instead
(:mod:`seqgan.onnx_export`, which documents the graph's inputs and outputs), run by onnxruntime
(:mod:`seqgan.onnx_backend`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqgan import __version__
from seqgan.atomic import AtomicFile
from seqgan.models.base import MODELS
from seqgan.train.checkpoint import ModelFileError, read_checkpoint, resolve_checkpoint

# ModelFileError, read_checkpoint and resolve_checkpoint live in seqgan.train.checkpoint (one module
# reads every training checkpoint); they are imported here for the export and CLI code that uses them

_RESERVED = ("architecture", "hparams", "seqgan_version", "json_keys")
# safetensors stores an 8-byte header length, then a JSON header that starts with "{"
_HEADER_LIMIT = 100_000_000


def architecture_name(module: nn.Module) -> str:
    """The name ``type(module)`` is registered under in ``MODELS``.

    Raises:
        ValueError: the class is not registered (decorate it with ``@register_model()``).
    """
    for name in MODELS.names():
        if MODELS.get(name) is type(module):
            return name
    raise ValueError(
        f"{type(module).__name__} is not a registered model; decorate the class with "
        "@seqgan.models.base.register_model() so that it can be exported"
    )


def encode_metadata(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Strings stay as they are; every other value is JSON-encoded and listed under ``json_keys``."""
    out: dict[str, str] = {}
    json_keys: list[str] = []
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be strings, got {key!r}")
        if isinstance(value, str):
            out[key] = value
            continue
        try:
            out[key] = json.dumps(value, sort_keys=True)
        except TypeError as e:
            raise TypeError(f"metadata '{key}' is not JSON-serialisable ({e})") from None
        json_keys.append(key)
    out["json_keys"] = json.dumps(sorted(json_keys))
    return out


def decode_metadata(raw: Mapping[str, str]) -> dict[str, Any]:
    """Inverse of :func:`encode_metadata` (``json_keys`` itself is dropped)."""
    try:
        json_keys = set(json.loads(raw.get("json_keys", "[]")))
    except json.JSONDecodeError:
        json_keys = set()
    json_keys.add("hparams")  # always JSON
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "json_keys":
            continue
        out[key] = json.loads(value) if key in json_keys else value
    return out


def save_model(module: nn.Module, path: str | os.PathLike, **metadata: Any) -> None:
    """Writes ``module`` and ``metadata`` to one ``.safetensors`` file (atomically).

    Args:
        module: an instance of a registered model class (it has ``hparams``).
        path: destination file, conventionally ``*.safetensors``.
        **metadata: extra header entries, e.g. ``sample_rate=16000, preemphasis=0.95, window=16384,
            step=100000``. Non-string values are JSON-encoded and decoded again by :func:`load_model`.

    Raises:
        ValueError: the module is not a registered model or a metadata key is reserved.
    """
    from safetensors.torch import save_file

    name = architecture_name(module)
    hparams = getattr(module, "hparams", None)
    if not isinstance(hparams, dict):
        raise ValueError(f"{name} has no hparams dict; register the class with @register_model()")
    for key in _RESERVED:
        if key in metadata:
            raise ValueError(f"metadata key '{key}' is reserved by the file format")
    try:
        hparams_json = json.dumps(hparams, sort_keys=True)
    except TypeError as e:
        raise ValueError(f"{name}.hparams is not JSON-serialisable ({e})") from None
    header = encode_metadata(metadata)
    header.update(architecture=name, hparams=hparams_json, seqgan_version=__version__)
    # clone: safetensors refuses tensors that share storage (tied weights) and views
    tensors = {k: v.detach().to("cpu").clone().contiguous() for k, v in module.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with AtomicFile(path, ".part") as out:
        save_file(tensors, str(out.tmp), metadata=header)


def read_header(path: str | os.PathLike) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Reads a safetensors header without loading the tensors.

    Returns:
        ``(raw metadata, {tensor name: {"dtype": ..., "shape": [...]}})``.

    Raises:
        ModelFileError: missing file, or not a safetensors file (a ``.pt`` checkpoint is recognised
            and the message says to export it).
    """
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such model file")
    try:
        with open(p, "rb") as f:
            head = f.read(9)
            # safetensors: an 8-byte little-endian header length, then the header's "{" (a length
            # whose low byte is 0x80 starts like a pickle)
            if head[8:9] != b"{" and (head[:2] == b"PK" or head[:1] == b"\x80"):
                raise ModelFileError(
                    f"{p}: this is a PyTorch checkpoint (pickle/zip), not an exported model; "
                    f"export it first: seqgan export {p} -o model.safetensors"
                )
            if len(head) < 8:
                raise ModelFileError(f"{p}: not a safetensors file (too short)")
            size = int.from_bytes(head[:8], "little")
            if size <= 1 or size > _HEADER_LIMIT or size > p.stat().st_size - 8:
                raise ModelFileError(f"{p}: not a safetensors file (bad header length)")
            f.seek(8)
            header = json.loads(f.read(size).decode("utf-8"))
    except OSError as e:
        raise ModelFileError(f"{p}: cannot read ({e.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{p}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{p}: not a safetensors file (header is not a JSON object)")
    raw = header.pop("__metadata__", None) or {}
    return dict(raw), {k: v for k, v in header.items() if isinstance(v, dict)}


def _ensure_registered(architecture: str) -> None:
    """Imports the model families so that ``architecture`` can be found."""
    if architecture not in MODELS:
        from seqgan.models import load_families

        load_families()


def build_model(architecture: str, hparams: dict[str, Any], source: str = "") -> nn.Module:
    """``MODELS.get(architecture)(**hparams)`` with errors that name ``source`` and list the choices."""
    _ensure_registered(architecture)
    where = f"{source}: " if source else ""
    if architecture not in MODELS:
        choices = ", ".join(MODELS.names()) or "(none registered)"
        raise ModelFileError(
            f"{where}unknown architecture '{architecture}'; this seqgan knows: {choices} "
            "(was the file written by a newer seqgan, or by a plugin not imported?)"
        )
    try:
        return MODELS.get(architecture)(**hparams)
    except TypeError as e:
        raise ModelFileError(f"{where}cannot build {architecture} from its hparams ({e})") from None


def load_state_dict_checked(module: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Strict ``load_state_dict`` whose error lists missing, unexpected and mis-shaped tensors."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [
        f"{k} {tuple(state[k].shape)} (model expects {tuple(own[k].shape)})"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing tensors: {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    if unexpected:
        problems.append(
            f"unexpected tensors: {', '.join(unexpected[:8])}{' ...' if len(unexpected) > 8 else ''}"
        )
    if mismatched:
        problems.append(f"shape mismatch: {'; '.join(mismatched[:8])}{' ...' if len(mismatched) > 8 else ''}")
    if problems:
        raise ModelFileError(
            f"{source}: the weights do not fit {type(module).__name__} with the stored "
            f"hparams: {' | '.join(problems)}"
        )
    module.load_state_dict(state, strict=True)


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Loads an exported model.

    Args:
        path: a ``.safetensors`` file written by :func:`save_model` or ``seqgan export``.
        device: where to put the module.

    Returns:
        The rebuilt module in eval mode, with ``module.metadata`` = the decoded header (``architecture``,
        ``hparams``, ``seqgan_version``, ``sample_rate``, ...).

    Raises:
        ModelFileError: not a safetensors file, metadata missing, unknown architecture, or weights that
            do not fit the architecture.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    raw, _ = read_header(path)
    for key in ("architecture", "hparams"):
        if key not in raw:
            raise ModelFileError(
                f"{path}: metadata '{key}' is missing; this safetensors file was not "
                "written by seqgan (export models with `seqgan export` or seqgan.save_model)"
            )
    try:
        metadata = decode_metadata(raw)
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: corrupt metadata ({e})") from None
    if not isinstance(metadata["hparams"], dict):
        raise ModelFileError(f"{path}: metadata 'hparams' is not a JSON object")
    module = build_model(metadata["architecture"], metadata["hparams"], source=str(path))
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as e:
        raise ModelFileError(f"{path}: cannot read the weights ({e}); the file may be truncated") from None
    load_state_dict_checked(module, state, str(path))
    module.eval()
    module.to(device)
    module.metadata = metadata
    return module


# -- checkpoints --------------------------------------------------------------------------------


def generator_from_checkpoint(ckpt: Mapping[str, Any], source: str = "") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuilds the generator of a training checkpoint (EMA weights when present).

    Returns:
        ``(module in eval mode, metadata)`` where metadata = the task's export metadata + ``step`` +
        ``task`` + ``weights`` ("generator_ema" or "generator").
    """
    export = ckpt.get("export")
    if not isinstance(export, dict) or "architecture" not in export:
        raise ModelFileError(
            f"{source}: the checkpoint has no 'export' entry (architecture, hparams); "
            "it was not written by the seqgan trainer"
        )
    models = ckpt["models"]
    which = "generator_ema" if models.get("generator_ema") else "generator"
    if which not in models:
        raise ModelFileError(f"{source}: the checkpoint holds no generator weights")
    module = build_model(export["architecture"], dict(export.get("hparams") or {}), source=source)
    load_state_dict_checked(module, models[which], source)
    module.eval()
    metadata = dict(export.get("metadata") or {})
    metadata.setdefault("step", int(ckpt.get("step", 0)))
    if "task" in ckpt:
        metadata.setdefault("task", str(ckpt["task"]))
    metadata["weights"] = which
    return module, metadata


def load_generator(source: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """The generator and metadata of a ``.safetensors`` model, a ``.pt`` checkpoint or an experiment folder.

    Returns:
        ``(module in eval mode, metadata)``; for a model file, the metadata without the file format's own
        keys (``architecture``, ``hparams``, ``seqgan_version``).
    """
    p = Path(source)
    if p.is_file() and p.suffix == ".safetensors":
        module = load_model(p)
        metadata = {k: v for k, v in module.metadata.items() if k not in _RESERVED}
        return module, metadata
    resolved = str(resolve_checkpoint(source))
    return generator_from_checkpoint(read_checkpoint(resolved), source=resolved)


def export_checkpoint(checkpoint_path: str | os.PathLike, out_path: str | os.PathLike) -> dict[str, Any]:
    """Exports the generator of a training checkpoint to a ``.safetensors`` model.

    Args:
        checkpoint_path: a ``.pt`` training checkpoint, or an experiment folder (its
            ``checkpoints/last.pt``).
        out_path: the ``.safetensors`` file to write.

    Returns:
        The metadata written beside the architecture and hparams.
    """
    source = str(resolve_checkpoint(checkpoint_path))
    module, metadata = generator_from_checkpoint(read_checkpoint(source), source=source)
    save_model(module, out_path, **metadata)
    return metadata
