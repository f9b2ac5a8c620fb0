"""The model registry and the convention that makes every model exportable.

A model class registered with :func:`register_model` records its constructor arguments in
``self.hparams`` (a JSON-serialisable dict), so an exported file can rebuild it by name:
``MODELS.get(name)(**hparams)``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TypeVar

from torch import nn

from seqgan.registry import Registry

MODELS: Registry[type[nn.Module]] = Registry("model", base=nn.Module)

M = TypeVar("M", bound=type)


def register_model(name: str | None = None) -> Callable[[M], M]:
    """Registers a model class and records its constructor arguments in ``self.hparams``."""

    def deco(cls: M) -> M:
        init = cls.__init__
        signature = inspect.signature(init)

        @functools.wraps(init)
        def wrapped(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            hparams = {k: v for k, v in bound.arguments.items() if k != "self"}
            init(self, *args, **kwargs)
            # the outermost registered class wins (a subclass records its own arguments)
            if not getattr(self, "_hparams_locked", False):
                self.hparams = hparams
                self._hparams_locked = True

        cls.__init__ = wrapped
        MODELS.register(name or cls.__name__)(cls)
        return cls

    return deco


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in module.parameters())
