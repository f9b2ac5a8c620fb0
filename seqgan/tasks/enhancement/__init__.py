"""The ``enhancement`` task: SEGAN-style speech enhancement (:class:`EnhancementTask`).

``config.py`` holds its configuration, ``task.py`` the task (networks, data, turns), ``evaluation.py``
the validation through :class:`seqgan.enhance.Enhancer`, ``samples.py`` the audio samples.
"""

from seqgan.tasks.enhancement.config import (
    EnhancementConfig,
    SEDataConfig,
    SEEvalConfig,
    SELossConfig,
    SEModelConfig,
    SEOptimizerConfig,
    SETrainConfig,
)
from seqgan.tasks.enhancement.task import EnhancementTask

__all__ = [
    "EnhancementConfig",
    "EnhancementTask",
    "SEDataConfig",
    "SEEvalConfig",
    "SELossConfig",
    "SEModelConfig",
    "SEOptimizerConfig",
    "SETrainConfig",
]
