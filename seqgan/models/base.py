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
            # the outermost registered class wins (a subclass records its own arguments): it claims the
            # record before its __init__ runs the base class's wrapped one
            outermost = "_hparams_locked" not in self.__dict__
            if outermost:
                object.__setattr__(self, "_hparams_locked", True)
            init(self, *args, **kwargs)
            if outermost:
                self.hparams = hparams

        cls.__init__ = wrapped
        MODELS.register(name or cls.__name__)(cls)
        return cls

    return deco


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in module.parameters())
