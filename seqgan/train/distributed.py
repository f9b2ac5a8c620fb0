"""Multi-process training through ``torchrun`` (DistributedDataParallel), and its no-op single-process form.

Launch on one node with N GPUs (or N CPU processes with the gloo backend)::

    torchrun --standalone --nproc_per_node N -m seqgan train -c conf.yaml -o exp/run

on several nodes (run on every node, same rendezvous endpoint)::

    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 \\
        -m seqgan train -c conf.yaml -o exp/run
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_type: str) -> DistInfo:
    """Joins the process group when launched by torchrun (``WORLD_SIZE`` > 1); otherwise a no-op."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank)


def any_flag(flag: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """``flag`` (a boolean tensor) or-ed over the ranks, on the device: no host sync."""
    if not info.enabled:
        return flag
    t = flag.to(torch.int32)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.bool()


def cleanup(info: DistInfo) -> None:
    """Leaves the process group (when this process joined one)."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
