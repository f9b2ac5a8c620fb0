"""Model families: ``segan``, ``metricgan``, ``cmgan`` and ``hifigan`` (waveform discriminators) for speech
enhancement, ``frame_gan`` (next-frame prediction); ``stft`` is the spectral models' shared front end.

Every class is registered in ``MODELS`` under its class name. Names are resolved lazily so that
importing one family does not import the other.
"""

from __future__ import annotations

import importlib
from typing import Any

from seqgan.models.base import MODELS, count_parameters, register_model

_FAMILIES = (
    "seqgan.models.segan",
    "seqgan.models.frame_gan",
    "seqgan.models.frame_temporal",
    "seqgan.models.metricgan",
    "seqgan.models.causal",
    "seqgan.models.cmgan",
    "seqgan.models.hifigan",
)


def load_families() -> None:
    """Imports every model family so that ``MODELS`` lists all of them."""
    for module in _FAMILIES:
        importlib.import_module(module)


def __getattr__(name: str) -> Any:
    for module in _FAMILIES:
        mod = importlib.import_module(module)
        if hasattr(mod, name):
            return getattr(mod, name)
    raise AttributeError(f"module 'seqgan.models' has no attribute '{name}'")


__all__ = ["MODELS", "count_parameters", "load_families", "register_model"]
