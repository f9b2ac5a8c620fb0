"""A seeded, resumable, infinite batch sampler shared by every task.

The global stream of examples is a sequence of epochs, each a permutation of the dataset drawn from
``(seed, epoch)``. Example number ``k`` of the stream gets its own integer seed, so any randomness a
dataset draws from it (random crops, noise remixing) is the same whenever the stream is replayed. With
``world_size`` processes, global batch ``b`` holds ``batch_size * world_size`` consecutive examples and
rank ``r`` takes the ``r``-th slice: the processes together see exactly what one process with the
combined batch would see. Restarting at batch ``b`` replays the stream from there (resume).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

_MIX = 0x9E3779B97F4A7C15  # golden-ratio constant: spreads (seed, k) over 63 bits


def example_seed(seed: int, k: int) -> int:
    """The per-example seed of stream position ``k``."""
    return (seed * _MIX + k * 0xBF58476D1CE4E5B9 + 1) % (2**63 - 1)


class InfiniteBatchSampler:
    """Yields batches of ``(index, seed)`` keys forever, starting at global batch ``start_batch``."""

    def __init__(
        self,
        dataset_size: int,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        start_batch: int = 0,
    ) -> None:
        if dataset_size <= 0:
            raise ValueError("the training set is empty")
        self.n = dataset_size
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start_batch = start_batch
        self._perm_epoch = -1
        self._perm: list[int] = []

    def _index(self, k: int) -> int:
        epoch, pos = divmod(k, self.n)
        if epoch != self._perm_epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.n, generator=g).tolist()
            self._perm_epoch = epoch
        return self._perm[pos]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        b = self.start_batch
        global_batch = self.batch_size * self.world_size
        while True:
            first = b * global_batch + self.rank * self.batch_size
            yield [
                (self._index(k), example_seed(self.seed, k)) for k in range(first, first + self.batch_size)
            ]
            b += 1
