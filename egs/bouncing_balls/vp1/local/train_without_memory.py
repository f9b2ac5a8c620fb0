#!/usr/bin/env python3
"""``seqgan train`` with a recurrent generator whose state is dropped at every step: the capacity
control of conf/tiny_recurrent.yaml (the same ConvGRU cells and parameters, no memory across steps).
Score its export with ``local/state_ablation.py`` (the "state reset every step" row).

    python local/train_without_memory.py train -c conf/tiny_recurrent.yaml -o exp/bb_zerostate \\
        data.train_scp=data/train/episodes.scp data.valid_scp=data/dev/episodes.scp train.device=cpu
"""

from __future__ import annotations

import sys

from seqgan.models.frame_gan import MultiScaleGenerator

_forward = MultiScaleGenerator.forward


def _forward_without_memory(self, context, actions=None, state=None, return_state=False):  # type: ignore[no-untyped-def]
    return _forward(self, context, actions, None, return_state)


MultiScaleGenerator.forward = _forward_without_memory  # type: ignore[method-assign]

from seqgan.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
