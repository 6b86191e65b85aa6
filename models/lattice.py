"""The model's lattice window: the part of one global lattice a call computes on.

The lattice has origin 0 and spacing ``1 / points_per_unit`` in every input dimension. Each
call picks the window of lattice cells that covers the context and target inputs plus a
margin, so shifting every input by a lattice multiple shifts the window by the same number
of cells and leaves the computation on it unchanged. Cells carry their true absolute
coordinates, which is what the fixed inputs are evaluated at.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class LatticeWindow:
    """A rectangular window ``start[d] .. start[d] + shape[d] - 1`` of lattice indices."""

    start: tuple[int, ...]
    shape: tuple[int, ...]
    points_per_unit: float

    @property
    def dim(self) -> int:
        return len(self.shape)

    def axes(self, device: torch.device | None = None) -> list[Tensor]:
        """Absolute coordinates of the cells along each dimension, float64: ``[shape[d]]``."""
        return [
            (torch.arange(n, dtype=torch.float64, device=device) + s) / self.points_per_unit
            for s, n in zip(self.start, self.shape, strict=True)
        ]

    def points(self, device: torch.device | None = None) -> Tensor:
        """All cell coordinates, row-major (``ij``): ``[prod(shape), dim]``, float64."""
        mesh = torch.meshgrid(*self.axes(device), indexing="ij")
        return torch.stack([m.reshape(-1) for m in mesh], dim=-1)


def lattice_window(
    inputs: Sequence[Tensor],
    points_per_unit: float,
    margin: int,
    multiple: int = 1,
    masks: Sequence[Tensor | None] | None = None,
) -> LatticeWindow:
    """The smallest lattice window covering ``inputs`` plus ``margin`` cells on each side,
    its start anchored to a multiple of ``multiple`` on the global lattice.

    Anchoring matters for a UNet with stride-2 levels: its coarse cells group fine cells in
    pairs (quads, ...), and which cells pair up depends on the window's start modulo the
    total stride ``multiple``. With anchored starts every window groups cells as the global
    lattice does, so adding a target anywhere -- 1-3 cells to the south-west, or far away --
    changes no other prediction, and queries over one area share one window (the service
    coalesces them). The price: the strictly equivariant component is equivariant to shifts
    by whole multiples of ``multiple`` cells (1 deg for the shipped model), not to every
    lattice shift -- which is all a strided UNet can offer on a fixed lattice.

    Args:
        inputs: tensors ``[batch, n, dim_x]``; one window serves the whole batch.
        points_per_unit: lattice density (cells per unit of x).
        margin: cells added on each side (at least the CNN's receptive radius).
        multiple: each side length is rounded up to a multiple of this (UNet down-sampling).
        masks: optional ``[batch, n]`` booleans per input; masked-out points are ignored.
    """
    masks = list(masks) if masks is not None else [None] * len(inputs)
    dim = inputs[0].shape[-1]
    lows, highs = [], []
    for x, m in zip(inputs, masks, strict=True):
        pts = x.reshape(-1, dim) if m is None else x[m.bool()]
        if pts.numel() == 0:
            continue
        if not torch.isfinite(pts).all():
            raise ValueError("inputs contain non-finite coordinates")
        lows.append(pts.min(dim=0).values)
        highs.append(pts.max(dim=0).values)
    if not lows:
        raise ValueError("no input points to place a grid around")
    low = torch.stack(lows).min(dim=0).values.double() * points_per_unit
    high = torch.stack(highs).max(dim=0).values.double() * points_per_unit
    start, shape = [], []
    for lo, hi in zip(low.tolist(), high.tolist(), strict=True):
        first = (math.floor(lo) - margin) // multiple * multiple
        last = math.ceil(hi) + margin
        n = last - first + 1
        n = -(-n // multiple) * multiple
        start.append(first)
        shape.append(n)
    return LatticeWindow(tuple(start), tuple(shape), float(points_per_unit))
