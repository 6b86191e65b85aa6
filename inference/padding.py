"""The one padding rule for sets of points of different sizes in one batch.

Shorter sets are padded by repeating their first (real) point, and a mask marks the real
points. Zero padding would put points at (0, 0), which stretches a ConvCNP's lattice
window and costs memory even where the mask hides them; a repeated real point stays
inside the set's extent. Models ignore masked context points; masked targets are not scored.
"""

from __future__ import annotations

import torch
from torch import Tensor


def pad_repeat(rows: list[Tensor], length: int | None = None) -> tuple[Tensor, Tensor]:
    """Stack ``[n_i, c]`` tensors into ``[batch, n, c]`` and a ``[batch, n]`` mask (1 = real)."""
    n = max(r.shape[0] for r in rows) if length is None else length
    full = [torch.cat([r, r[:1].expand(n - r.shape[0], -1)]) for r in rows]
    mask = rows[0].new_zeros(len(rows), n)
    for i, r in enumerate(rows):
        mask[i, : r.shape[0]] = 1
    return torch.stack(full), mask


def pad_last(rows: list[torch.Tensor], n: int) -> torch.Tensor:
    """Stack ``[n_i, c]`` into ``[batch, n, c]`` repeating each set's *last* row: padded grid
    axes stay ascending, so the padded cells lie beyond the real ones and are cropped."""
    return torch.stack([torch.cat([r, r[-1:].expand(n - len(r), -1)]) for r in rows])


def pad_grid(
    x: torch.Tensor, grid: tuple[torch.Tensor, torch.Tensor] | None, shape: tuple[int, int]
) -> torch.Tensor:
    """``[n_lat * n_lon, k]`` values on one task's grid -> ``[prod(shape), k]``, edge cells
    repeated (the padded rows and columns of :func:`pad_last`)."""
    assert grid is not None
    p, q = len(grid[0]), len(grid[1])
    g = x.reshape(p, q, -1)
    g = torch.cat([g, g[:, -1:].expand(p, shape[1] - q, -1)], 1)
    g = torch.cat([g, g[-1:].expand(shape[0] - p, shape[1], -1)], 0)
    return g.reshape(shape[0] * shape[1], -1)
