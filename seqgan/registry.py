"""A small name -> object registry with errors that list the choices."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """Raised for a name that is not registered; the message lists the choices."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Generic[T]):
    """Maps names to classes or factories.

    A name may also be *declared* with the module that registers it (:meth:`declare`): the module is
    imported on the first :meth:`get` of that name, so a package can list its entries without importing
    them, and the registry's user needs no import of the module.

    Args:
        kind: what the registry holds, used in error messages ("objective", "model", ...).
        base: optional base class every registered class must derive from.
    """

    def __init__(self, kind: str, base: type | None = None) -> None:
        self.kind = kind
        self.base = base
        self._items: dict[str, T] = {}
        self._modules: dict[str, str] = {}  # declared name -> module that registers it

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``."""

        def deco(obj: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.kind} '{name}' is already registered")
            if self.base is not None and isinstance(obj, type) and not issubclass(obj, self.base):
                raise TypeError(f"{self.kind} '{name}' must derive from {self.base.__name__}")
            self._items[name] = obj
            return obj

        return deco

    def declare(self, name: str, module: str) -> None:
        """Says that importing ``module`` registers ``name`` (imported on the first :meth:`get`)."""
        self._modules[name] = module

    def get(self, name: str) -> T:
        if name not in self._items and name in self._modules:
            importlib.import_module(self._modules[name])
        try:
            return self._items[name]
        except KeyError:
            choices = ", ".join(self.names()) or "(none registered)"
            raise UnknownNameError(f"unknown {self.kind} '{name}'; choose from: {choices}") from None

    def names(self) -> list[str]:
        """Registered and declared names, sorted."""
        return sorted({*self._items, *self._modules})

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
