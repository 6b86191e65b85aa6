"""DistributedDataParallel plumbing: ranks, process-group setup and teardown.

Launched under ``torchrun`` (``WORLD_SIZE`` > 1) training uses nccl on CUDA, gloo on CPU;
each rank draws its own tasks and only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch import distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str) -> tuple[Dist, str]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), device
    cuda = device.startswith("cuda")
    if cuda:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size()), device


def is_main_process() -> bool:
    """True outside DDP and on rank 0: the process that writes results."""
    return not dist.is_initialized() or dist.get_rank() == 0


def shutdown_distributed() -> None:
    """Wait for every rank, then tear the process group down.

    A rank that exits while another still talks to the group can abort ("terminate called
    without an active exception") and make torchrun report a failed run.
    """
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def gather_generators(gen: torch.Generator, d: Dist) -> dict[str, Tensor]:
    """Every rank's sampler-generator state, keyed ``gen.<rank>`` (collective under DDP)."""
    states: list[Any] = [gen.get_state()]
    if d.world > 1:
        states = [None] * d.world
        dist.all_gather_object(states, gen.get_state())
    return {f"gen.{r}": s for r, s in enumerate(states)}
