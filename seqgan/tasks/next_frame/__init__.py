"""The ``next_frame`` task: multi-scale adversarial next-frame prediction (:class:`NextFrameTask`).

``config.py`` holds its configuration, ``task.py`` the task (networks, data, curriculum, turns),
``evaluation.py`` the validation rollouts, ``samples.py`` the PNG / GIF samples, ``counterfactual.py``
the evaluation against the Atari emulator under every action. The reconstruction
losses are :func:`seqgan.losses.lp_loss` and :func:`seqgan.losses.gradient_difference_loss`.
"""

from seqgan.tasks.next_frame.config import (
    CurriculumConfig,
    FrameDataConfig,
    FrameEvalConfig,
    FrameLossConfig,
    FrameModelConfig,
    NextFrameConfig,
)
from seqgan.tasks.next_frame.task import NextFrameTask

__all__ = [
    "CurriculumConfig",
    "FrameDataConfig",
    "FrameEvalConfig",
    "FrameLossConfig",
    "FrameModelConfig",
    "NextFrameConfig",
    "NextFrameTask",
]
