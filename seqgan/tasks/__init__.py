"""Tasks: the glue between a model family and the generic trainer.

``TASKS`` maps a task name (the ``task:`` key of a configuration) to its :class:`GANTask` subclass, and
:data:`seqgan.config.CONFIGS` maps it to the task's configuration dataclass. The built-in tasks are
declared here and their modules imported on first use, so that ``import seqgan`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from seqgan.config import CONFIGS
from seqgan.registry import Registry
from seqgan.tasks.base import GANTask, Nets, RegTurn, TurnOutput

TASKS: Registry[type[GANTask]] = Registry("task", base=GANTask)

for _name, _module in {
    "toy": "seqgan.tasks.toy",
    "enhancement": "seqgan.tasks.enhancement",
    "next_frame": "seqgan.tasks.next_frame",
}.items():
    TASKS.declare(_name, _module)
    CONFIGS.declare(_name, _module)

T = TypeVar("T", bound=type[GANTask])


def register_task(name: str) -> Callable[[T], T]:
    """Class decorator: registers a task under ``name`` in ``TASKS`` and its ``config_class`` in
    :data:`seqgan.config.CONFIGS`."""

    def deco(cls: T) -> T:
        TASKS.register(name)(cls)
        CONFIGS.register(name)(cls.config_class)
        return cls

    return deco


def get_task(name: str) -> type[GANTask]:
    """The task class registered as ``name`` (importing its module on first use)."""
    return TASKS.get(name)


__all__ = ["TASKS", "GANTask", "Nets", "RegTurn", "TurnOutput", "get_task", "register_task"]
