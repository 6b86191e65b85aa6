"""SetConv encoder (off-grid points -> grid) and decoder (grid -> off-grid points).

Both use a separable RBF kernel ``exp(-sum_d (x_d - g_d)^2 / (2 l_d^2))`` with one learnable
length-scale per input dimension, stored unconstrained behind a softplus. Separability makes
the 2-D case two small matrix products instead of a dense ``[points, cells]`` kernel matrix.
Differences are taken in float64 so that lattice shifts of large absolute coordinates
(latitudes ~ 50) change nothing beyond float32 rounding of the result.

Targets come as points (``[batch, n_target, dim_x]``) or, for a rectilinear target grid, as
:class:`TargetAxes` (one ``[batch, n_d]`` axis per dimension). For a target grid the kernel
factorises over the target axes too, so the decoder contracts one internal axis at a time
(``channels x internal cells x n_lon`` then ``x n_lat`` multiply-adds instead of
``channels x internal cells x n_lat x n_lon``): the same numbers, ~two orders of magnitude
fewer operations for a 200 x 200 grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

CUTOFF = 9.0  # length-scales beyond which a kernel weight is exactly zero (see _RBF.factor)


def _inverse_softplus(x: float) -> float:
    return x + math.log(-math.expm1(-x))


@dataclass(frozen=True)
class TargetAxes:
    """A rectilinear target grid: per input dimension ``[batch, n_d]`` coordinates.

    Its points are the Cartesian product of the axes in row-major (``ij``) order, so a
    prediction on it is ``[batch, prod(n_d), ...]`` and reshapes to ``[batch, *n_d, ...]``.
    """

    axes: tuple[Tensor, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.shape[-1] for a in self.axes)

    @property
    def num_points(self) -> int:
        return math.prod(self.shape)

    def points(self) -> Tensor:
        """All target points, row-major: ``[batch, prod(n_d), dim_x]``."""
        b = self.axes[0].shape[0]
        mesh = torch.meshgrid(
            *[torch.arange(n, device=self.axes[0].device) for n in self.shape], indexing="ij"
        )
        cols = [a[:, m.reshape(-1)] for a, m in zip(self.axes, mesh, strict=True)]
        return torch.stack(cols, dim=-1).reshape(b, -1, len(self.axes))

    def corners(self) -> Tensor:
        """The two extreme corners per batch element, ``[batch, 2, dim_x]`` (for windows)."""
        lo = torch.stack([a.min(dim=-1).values for a in self.axes], dim=-1)
        hi = torch.stack([a.max(dim=-1).values for a in self.axes], dim=-1)
        return torch.stack([lo, hi], dim=1)


class _RBF(nn.Module):
    def __init__(self, dim_x: int, init_lengthscale: float) -> None:
        super().__init__()
        raw = torch.full((dim_x,), _inverse_softplus(init_lengthscale))
        self.raw_lengthscale = nn.Parameter(raw)

    @property
    def lengthscale(self) -> Tensor:
        """``[dim_x]`` positive length-scales."""
        return F.softplus(self.raw_lengthscale) + 1e-5

    def weights(self, x: Tensor, axes: list[Tensor]) -> list[Tensor]:
        """Per-dimension kernel factors.

        Args:
            x: ``[batch, n, dim_x]`` points.
            axes: per dimension ``[n_d]`` grid coordinates (float64).
        Returns:
            per dimension ``[batch, n, n_d]``.
        """
        return [self.factor(x[..., d], axis, d) for d, axis in enumerate(axes)]

    def factor(self, coords: Tensor, axis: Tensor, d: int) -> Tensor:
        """The kernel factor of dimension ``d``: ``[..., n_d]`` for ``coords [...]``.

        Weights beyond :data:`CUTOFF` length-scales (below ``exp(-CUTOFF^2 / 2)``, 2.6e-18)
        are exactly zero: they change no sum beyond float32 rounding, and the subnormal
        floats they would otherwise produce a few cells further out (below 1.2e-38) make
        CPU matrix products several times slower.
        """
        diff = (coords[..., None].double() - axis).to(coords.dtype)
        scaled = diff / self.lengthscale[d]
        w = torch.exp(-0.5 * scaled**2)
        return w.masked_fill(scaled.abs() > CUTOFF, 0.0)


class SetConvEncoder(nn.Module):
    """Context set -> gridded density channel plus density-normalised data channels."""

    def __init__(self, dim_x: int, init_lengthscale: float, eps: float = 1e-6) -> None:
        super().__init__()
        self.rbf = _RBF(dim_x, init_lengthscale)
        self.eps = eps

    def forward(
        self, xc: Tensor, yc: Tensor, axes: list[Tensor], mask_c: Tensor | None = None
    ) -> Tensor:
        """Encode a context set onto the grid.

        Args:
            xc: ``[batch, n_context, dim_x]``.
            yc: ``[batch, n_context, c]`` values (targets plus any point-wise auxiliaries).
            axes: per dimension ``[n_d]`` grid coordinates.
            mask_c: optional ``[batch, n_context]``; zeros remove padded context points.
        Returns:
            ``[batch, 1 + c, *grid]``: density first, then data / density.
        """
        w = self.rbf.weights(xc, axes)
        ones = torch.ones_like(yc[..., :1])
        vals = torch.cat([ones, yc], dim=-1)
        if mask_c is not None:
            vals = vals * mask_c[..., None].to(vals.dtype)
        if len(axes) == 1:
            grid = torch.einsum("bnc,bni->bci", vals, w[0])
        elif len(axes) == 2:
            grid = torch.einsum("bnc,bni,bnj->bcij", vals, w[0], w[1])
        else:
            raise ValueError(f"only 1-D and 2-D inputs are supported, got {len(axes)}-D")
        density = grid[:, :1]
        data = grid[:, 1:] / (density + self.eps)
        return torch.cat([density, data], dim=1)


class SetConvDecoder(nn.Module):
    """Gridded features -> features at arbitrary target points (kernel smoothing).

    In 2-D, each target reads only the cells within :attr:`reach` length-scales of it (where
    the kernel exceeds ``exp(-reach^2 / 2)``, 2e-8 for the default 6): the cost is
    ``targets x channels x (2K+1)^2`` instead of ``targets x channels x window``, which keeps
    a 200 x 200 output grid cheap; the dropped weights change results by less than float32
    rounding.
    """

    def __init__(
        self,
        dim_x: int,
        init_lengthscale: float,
        max_intermediate: int = 2**24,
        reach: float = 6.0,
    ) -> None:
        super().__init__()
        self.rbf = _RBF(dim_x, init_lengthscale)
        self.max_intermediate = max_intermediate
        self.reach = float(reach)

    def _half_widths(self, steps: Sequence[float]) -> list[int]:
        """Cells (per dimension, each side) within :attr:`reach` length-scales."""
        ls = self.rbf.lengthscale.detach().tolist()
        return [math.ceil(self.reach * s / h) for s, h in zip(ls, steps, strict=True)]

    def cells_per_target(self, shape: tuple[int, ...], steps: Sequence[float]) -> int:
        """Internal cells one point target reads on a grid of ``shape`` with cell sizes
        ``steps``: in 2-D its ``(2 k_0 + 1) x (2 k_1 + 1)`` neighbourhood when that is under
        half the grid (the local read-out), else every cell. The cost estimate
        (:mod:`models.cost`) and :meth:`forward` both follow this rule."""
        if len(shape) != 2:
            return math.prod(shape)
        k = self._half_widths(steps)
        local = (2 * k[0] + 1) * (2 * k[1] + 1)
        return local if local < shape[0] * shape[1] // 2 else math.prod(shape)

    def _local(self, z: Tensor, xt: Tensor, axes: list[Tensor], k: list[int]) -> Tensor:
        """2-D decoding from the ``(2 k_d + 1)`` cells nearest each target: ``[b, t, c]``."""
        b, c, ni, nj = z.shape
        ls = self.rbf.lengthscale
        flat = z.permute(0, 2, 3, 1).reshape(b, ni * nj, c)
        chunk = max(1, self.max_intermediate // max(1, c * (2 * k[0] + 1) * (2 * k[1] + 1)))
        outs = []
        for s in range(0, xt.shape[1], chunk):
            x = xt[:, s : s + chunk]
            idx, wts = [], []
            for d, axis in enumerate(axes):
                step = float(axis[1] - axis[0]) if len(axis) > 1 else 1.0
                near = torch.round((x[..., d].double() - axis[0]) / step).long()
                cand = near[..., None] + torch.arange(-k[d], k[d] + 1, device=x.device)
                ok = (cand >= 0) & (cand < len(axis))
                cand = cand.clamp(0, len(axis) - 1)
                diff = (x[..., d, None].double() - axis[cand]).to(x.dtype)
                wts.append(torch.exp(-0.5 * (diff / ls[d]) ** 2) * ok.to(x.dtype))
                idx.append(cand)
            cells = (idx[0][..., :, None] * nj + idx[1][..., None, :]).reshape(b, -1)
            rows = torch.arange(b, device=x.device)[:, None]
            vals = flat[rows, cells]  # [b, t cells, c]
            vals = vals.reshape(b * x.shape[1], -1, c)  # [b t, cells, c]
            w = (wts[0][..., :, None] * wts[1][..., None, :]).reshape(b * x.shape[1], 1, -1)
            outs.append(torch.bmm(w, vals).reshape(b, x.shape[1], c))
        return torch.cat(outs, dim=1)

    def forward(self, z: Tensor, xt: Tensor | TargetAxes, axes: list[Tensor]) -> Tensor:
        """Read the grid at the targets.

        Args:
            z: ``[batch, channels, *grid]``.
            xt: ``[batch, n_target, dim_x]`` points, or a :class:`TargetAxes` grid (then
                ``n_target = prod(n_d)``, row-major).
            axes: per dimension ``[n_d]`` grid coordinates.
        Returns:
            ``[batch, n_target, channels]``.
        """
        if isinstance(xt, TargetAxes):
            return self._grid(z, xt, axes)
        b, c, *shape = z.shape
        steps = [float(a[1] - a[0]) if len(a) > 1 else 1.0 for a in axes]
        if self.cells_per_target(tuple(shape), steps) < math.prod(shape):
            return self._local(z, xt, axes, self._half_widths(steps))
        w = self.rbf.weights(xt, axes)
        if len(axes) == 1:
            return torch.einsum("bci,bti->btc", z, w[0])
        ni = shape[0]
        # Separable contraction; the [b, t, c, i] intermediate is bounded by chunking targets.
        chunk = max(1, self.max_intermediate // max(1, b * c * ni))
        outs = []
        for s in range(0, xt.shape[1], chunk):
            tmp = torch.einsum("bcij,btj->btci", z, w[1][:, s : s + chunk])
            outs.append(torch.einsum("btci,bti->btc", tmp, w[0][:, s : s + chunk]))
        return torch.cat(outs, dim=1)

    def _grid(self, z: Tensor, xt: TargetAxes, axes: list[Tensor]) -> Tensor:
        """Separable read-out on a target grid: ``[batch, prod(n_d), channels]``."""
        if len(xt.axes) != len(axes):
            raise ValueError(f"target grid has {len(xt.axes)} axes, internal grid {len(axes)}")
        # per dimension [batch, n_target_d, n_internal_d]
        w = [
            self.rbf.factor(t, axis, d)
            for d, (t, axis) in enumerate(zip(xt.axes, axes, strict=True))
        ]
        if len(axes) == 1:
            out = torch.einsum("bci,bpi->bpc", z, w[0])
        elif len(axes) == 2:
            # contract the internal lon axis first (it is the contiguous one), then lat
            tmp = torch.einsum("bcij,bqj->bciq", z, w[1])
            out = torch.einsum("bciq,bpi->bpqc", tmp, w[0])
        else:
            raise ValueError(f"only 1-D and 2-D inputs are supported, got {len(axes)}-D")
        return out.reshape(z.shape[0], xt.num_points, z.shape[1])
