"""Seeded, fixed task lists for validation and testing.

- :func:`station_count_tasks` (the ``equigrid evaluate`` protocol and training validation):
  per task one hour (distinct while hours last), exactly ``n_stations`` random cells as
  context and every other cell as a target, one task per batch;
- :func:`hour_tasks` (the paper experiments): the sampler's own draws at given hours,
  batched, from one seeded generator.
"""

from __future__ import annotations

import torch

from inference.errors import TaskError

from .field import Field
from .sampler import CellSampler
from .task import Task, assemble


def station_count_tasks(
    data: Field, n_tasks: int, n_stations: int, seed: int, *, point_aux: bool = False
) -> tuple[list[Task], list[int]]:
    """Fixed tasks (see the module docstring) and the time index of each."""
    if not 1 <= n_stations < data.n_cells:
        raise TaskError(f"stations must lie in 1..{data.n_cells - 1}")
    gen = torch.Generator().manual_seed(seed)
    n_time = len(data.values)
    order = torch.cat([torch.randperm(n_time, generator=gen) for _ in range(-(-n_tasks // n_time))])
    hours = [int(h) for h in order[:n_tasks]]
    cells = data.points
    aux = data.cell_elevation().reshape(-1, 1) if point_aux else None
    tasks = []
    for h in hours:
        values = data.values[h].reshape(-1, 1)
        perm = torch.randperm(data.n_cells, generator=gen)
        ctx, tgt = perm[:n_stations].sort().values, perm[n_stations:].sort().values
        row = [cells[ctx], values[ctx], cells[tgt], values[tgt]]
        if aux is not None:
            row += [aux[ctx], aux[tgt]]
        tasks.append(assemble([row]))
    return tasks, hours


def hour_tasks(
    sampler: CellSampler, times: list[int], seed: int, batch_size: int = 8
) -> list[Task]:
    """Deterministic tasks, one per entry of ``times``, in batches of ``batch_size``."""
    gen = torch.Generator().manual_seed(seed)
    return [sampler.task(times[s : s + batch_size], gen) for s in range(0, len(times), batch_size)]
