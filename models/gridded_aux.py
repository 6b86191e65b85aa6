"""Gridded auxiliary inputs (orography, land fraction) sampled onto the model's grid.

The model keeps a regular raster ``[channels, *raster]`` (with its origin and spacing per
dimension) as buffers, normalised with stored means and standard deviations, and samples it
at the internal grid's cells by separable linear interpolation. Cells outside the raster get
0 and a coverage channel says where the raster was present, so "sea level" and "unknown" are
not confused.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class GriddedAux(nn.Module):
    values: Tensor
    mean: Tensor
    std: Tensor

    def __init__(
        self,
        names: Sequence[str],
        origin: Sequence[float],
        spacing: Sequence[float],
        shape: Sequence[int],
    ) -> None:
        super().__init__()
        if not (len(origin) == len(spacing) == len(shape)) or len(shape) not in (1, 2):
            raise ValueError("origin, spacing and shape must have one entry per dimension (1-2)")
        if any(s <= 0 for s in spacing) or any(n < 2 for n in shape):
            raise ValueError("raster needs positive spacing and at least 2 points per side")
        self.names = list(names)
        self.origin = [float(o) for o in origin]
        self.spacing = [float(s) for s in spacing]
        self.shape = [int(n) for n in shape]
        k = len(self.names)
        self.register_buffer("values", torch.zeros(k, *self.shape))
        self.register_buffer("mean", torch.zeros(k))
        self.register_buffer("std", torch.ones(k))

    @property
    def num_channels(self) -> int:
        """Channels added to the grid: one per variable plus coverage."""
        return len(self.names) + 1

    def config(self) -> dict[str, object]:
        return {
            "names": self.names,
            "origin": self.origin,
            "spacing": self.spacing,
            "shape": self.shape,
        }

    def set_raster(self, values: Tensor, fit_normalisation: bool = True) -> None:
        """Store raw raster values ``[channels, *shape]``.

        ``fit_normalisation`` recomputes the per-channel mean and std (do it once, on the
        training raster); ``False`` keeps the stored statistics, so a swapped raster is seen
        in the units the model was trained with.
        """
        if tuple(values.shape) != (len(self.names), *self.shape):
            raise ValueError(
                f"raster shape {tuple(values.shape)} != {(len(self.names), *self.shape)}"
            )
        v = values.to(self.values)
        if not torch.isfinite(v).all():
            raise ValueError("raster values must be finite")
        self.values.copy_(v)
        if not fit_normalisation:
            return
        flat = v.reshape(len(self.names), -1)
        self.mean.copy_(flat.mean(dim=1))
        self.std.copy_(flat.std(dim=1).clamp_min(1e-6))

    def _interp(self, coords: Tensor, d: int) -> Tensor:
        """Hat-function interpolation weights ``[..., shape[d]]`` for coordinates ``[...]``."""
        pos = (coords.double() - self.origin[d]) / self.spacing[d]
        idx = torch.arange(self.shape[d], dtype=torch.float64, device=coords.device)
        return (1.0 - (pos[..., None] - idx).abs()).clamp_min(0.0).to(self.values.dtype)

    def on_grid(self, axes: list[Tensor]) -> Tensor:
        """Normalised channels plus coverage at the grid: ``[1, channels + 1, *grid]``."""
        norm = (self.values - self.mean.reshape(-1, *[1] * len(self.shape))) / self.std.reshape(
            -1, *[1] * len(self.shape)
        )
        ws = [self._interp(a, d) for d, a in enumerate(axes)]
        if len(axes) == 1:
            vals = torch.einsum("kr,gr->kg", norm, ws[0])
            cover = ws[0].sum(-1)[None]
        else:
            vals = torch.einsum("krs,gr,hs->kgh", norm, ws[0], ws[1])
            cover = (ws[0].sum(-1)[:, None] * ws[1].sum(-1)[None, :])[None]
        return torch.cat([vals, cover], dim=0)[None]

    def at_points(self, x: Tensor) -> Tensor:
        """Raw (unnormalised) values at points ``[..., dim_x]`` -> ``[..., channels]``.

        Points outside the raster get NaN, so a caller cannot mistake them for real values.
        """
        ws = [self._interp(x[..., d], d) for d in range(len(self.shape))]
        if len(ws) == 1:
            vals = torch.einsum("kr,...r->...k", self.values, ws[0])
            cover = ws[0].sum(-1)
        else:
            vals = torch.einsum("krs,...r,...s->...k", self.values, ws[0], ws[1])
            cover = ws[0].sum(-1) * ws[1].sum(-1)
        return torch.where(
            cover[..., None] > 0.999, vals / cover[..., None].clamp_min(1e-9), torch.nan
        )

    def at_axes(self, axes: list[Tensor]) -> Tensor:
        """Raw values on the rectilinear grid spanned by ``axes`` (``[n_d]`` each):
        ``[*n_d, channels]``, NaN outside the raster; :meth:`at_points` of the grid's
        points, computed separably."""
        ws = [self._interp(a, d) for d, a in enumerate(axes)]
        if len(ws) == 1:
            vals = torch.einsum("kr,gr->gk", self.values, ws[0])
            cover = ws[0].sum(-1)
        else:
            vals = torch.einsum("krs,gr,hs->ghk", self.values, ws[0], ws[1])
            cover = ws[0].sum(-1)[:, None] * ws[1].sum(-1)[None, :]
        return torch.where(
            cover[..., None] > 0.999, vals / cover[..., None].clamp_min(1e-9), torch.nan
        )
