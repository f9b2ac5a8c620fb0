"""Tasks: the glue between a model family and the generic trainer.

``TASKS`` maps a task name (the ``task:`` key of a configuration) to its :class:`GANTask` subclass.
Task modules are imported lazily so that ``import seqgan`` stays light.
"""

from __future__ import annotations

import importlib

from seqgan.registry import Registry
from seqgan.tasks.base import GANTask, Nets, RegTurn, TurnOutput

TASKS: Registry[type[GANTask]] = Registry("task", base=GANTask)

# name -> module that registers it on import
_TASK_MODULES = {
    "toy": "seqgan.tasks.toy",
    "enhancement": "seqgan.tasks.enhancement",
    "next_frame": "seqgan.tasks.next_frame",
}


def get_task(name: str) -> type[GANTask]:
    """The task class registered as ``name`` (importing its module on first use)."""
    if name not in TASKS and name in _TASK_MODULES:
        importlib.import_module(_TASK_MODULES[name])
    if name not in TASKS:
        for module in _TASK_MODULES.values():  # so the error lists every available task
            try:
                importlib.import_module(module)
            except ImportError:
                pass
    return TASKS.get(name)


__all__ = ["TASKS", "GANTask", "Nets", "RegTurn", "TurnOutput", "get_task"]
