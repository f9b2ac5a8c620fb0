"""seqgan: audio and sequence GANs on one adversarial core.

Speech enhancement (SEGAN-style, conditional discriminator on (clean or enhanced, noisy) pairs) and
next-frame prediction (video and action-conditioned game frames) share the objectives, the trainer,
checkpoints, data handling and recipes.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load_model(path: str, device: str = "cpu") -> Any:
    """Loads an exported ``.safetensors`` model; returns the module with ``.metadata`` set."""
    from seqgan.export import load_model as _load

    return _load(path, device=device)


def save_model(module: Any, path: str, **metadata: Any) -> None:
    """Writes ``module`` (a registered model) and ``metadata`` to one ``.safetensors`` file."""
    from seqgan.export import save_model as _save

    _save(module, path, **metadata)


__all__ = ["__version__", "load_model", "save_model"]
