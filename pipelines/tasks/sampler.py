"""The one sampler family: simulated stations on the cells of a gridded field.

:class:`CellSampler` implements :class:`~pipelines.tasks.task.TaskSampler`. Per batch it
draws the hours, then per task, in this order of random draws:

1. a window: a random ``(n_lat, n_lon)`` window of the grid (random position, so the
   field's lattice phase varies), or the whole grid;
2. with a station layout, whether this task uses it (probability ``layout_prob``);
3. the number of stations: a count uniform in ``count``, or a fraction of the candidate
   cells uniform in ``fraction`` (rounded, at least 1);
4. which: a random permutation of the candidates (all cells, or land cells with
   ``land_only``), or of the layout's stations (values bilinear from the grid);
5. the targets: the other cells in random order (the rest of the same permutation when
   every cell is a candidate), at most ``max_targets``.

With ``point_aux`` each point also carries its normalised elevation. Rows are padded by the
one padding rule (:func:`~pipelines.tasks.task.assemble`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from inference.errors import StoreError, TaskError

from .field import Field, bilinear
from .task import Row, Task, assemble


class CellSampler:
    """Tasks from a :class:`Field` (see the module docstring).

    Args:
        fraction: (low, high) fraction of candidate cells used as stations, uniform per task.
        count: (low, high) station count per task instead of ``fraction``.
        window: crop a random ``(n_lat, n_lon)`` window per task.
        land_only: only cells with land fraction >= 0.5 become stations.
        max_targets: at most this many targets per task (None: every other cell).
        layout: ``[n, 2]`` real station positions; used for a task with ``layout_prob``.
        point_aux: add the elevation at each point as ``aux_c``/``aux_t``.
    """

    def __init__(
        self,
        data: Field,
        *,
        fraction: tuple[float, float] = (0.01, 0.30),
        count: tuple[int, int] | None = None,
        window: tuple[int, int] | None = None,
        land_only: bool = False,
        max_targets: int | None = None,
        layout: Tensor | None = None,
        layout_prob: float = 0.5,
        point_aux: bool = False,
    ) -> None:
        if not 0 < fraction[0] <= fraction[1] < 1:
            raise TaskError("station fraction must satisfy 0 < low <= high < 1")
        h, w = window or data.shape
        if not (1 <= h <= data.shape[0] and 1 <= w <= data.shape[1]):
            raise TaskError(f"window {window} does not fit the {data.shape} grid")
        if count is not None and not 1 <= count[0] <= count[1] < h * w:
            raise TaskError(f"station count must satisfy 1 <= low <= high < {h * w}")
        if point_aux and data.orog is None:
            raise StoreError("point elevation needs orography in the store")
        if land_only:
            if data.land is None:
                raise StoreError("--land-only needs land_fraction in the store")
            if int(torch.count_nonzero(data.land >= 0.5)) < 2:
                raise StoreError("the store has fewer than 2 land cells")
        self.data, self.window = data, window
        self.fraction, self.count = fraction, count
        self.land_only, self.max_targets = land_only, max_targets
        self.point_aux, self.layout_prob = point_aux, layout_prob
        self.aux = data.cell_elevation() if point_aux else None
        self.layout = None
        if layout is not None:
            if window is not None:
                raise TaskError("a station layout needs the whole grid (no window)")
            inside = (
                (layout[:, 0] >= data.lat[0])
                & (layout[:, 0] <= data.lat[-1])
                & (layout[:, 1] >= data.lon[0])
                & (layout[:, 1] <= data.lon[-1])
            )
            if not inside.any():
                raise TaskError("no station of the layout lies inside the store's grid")
            self.layout = layout[inside]

    def sample(self, batch_size: int, generator: torch.Generator) -> Task:
        times = torch.randint(len(self.data.values), (batch_size,), generator=generator).tolist()
        return self.task(times, generator)

    def task(self, times: list[int], gen: torch.Generator) -> Task:
        """The task batch for the given time indices."""
        return assemble([self._one(t, gen) for t in times])

    def _n_stations(self, available: int, gen: torch.Generator) -> int:
        if self.count is not None:
            lo, hi = (max(1, min(c, available)) for c in self.count)
            return int(torch.randint(lo, hi + 1, (1,), generator=gen))
        lo_f, hi_f = self.fraction
        frac = lo_f + (hi_f - lo_f) * float(torch.rand(1, generator=gen))
        return max(1, round(frac * available))

    def _one(self, t: int, gen: torch.Generator) -> Row:
        d = self.data
        field, lat, lon, aux, land = d.values[t], d.lat, d.lon, self.aux, d.land
        if self.window is not None:
            h, w = self.window
            i = int(torch.randint(field.shape[0] - h + 1, (1,), generator=gen))
            j = int(torch.randint(field.shape[1] - w + 1, (1,), generator=gen))
            field, lat, lon = field[i : i + h, j : j + w], lat[i : i + h], lon[j : j + w]
            aux = None if aux is None else aux[i : i + h, j : j + w]
            land = None if land is None else land[i : i + h, j : j + w]
        glat, glon = torch.meshgrid(lat, lon, indexing="ij")
        x = torch.stack([glat.reshape(-1), glon.reshape(-1)], dim=-1)
        y = field.reshape(-1, 1)
        a = None if aux is None else aux.reshape(-1, 1)
        use_layout = self.layout is not None and (
            float(torch.rand(1, generator=gen)) < self.layout_prob
        )
        if use_layout:
            assert self.layout is not None
            n = self._n_stations(len(self.layout), gen)
            xc = self.layout[torch.randperm(len(self.layout), generator=gen)[:n]]
            yc = bilinear(field, lat, lon, xc)[:, None]
            aux_c = None if a is None else d.elevation(xc)
            targets = torch.randperm(len(x), generator=gen)
            row: list[Tensor] = [xc, yc]
        else:
            if self.land_only:
                assert land is not None
                candidates = torch.nonzero(land.reshape(-1) >= 0.5).squeeze(-1)
            else:
                candidates = None
            pool = len(x) if candidates is None else len(candidates)
            n = self._n_stations(pool, gen)
            perm = torch.randperm(pool, generator=gen)
            if candidates is None:
                ctx, targets = perm[:n], perm[n:]
            else:
                ctx = candidates[perm[:n]]
                is_ctx = torch.zeros(len(x), dtype=torch.bool)
                is_ctx[ctx] = True
                others = torch.nonzero(~is_ctx).squeeze(-1)
                targets = others[torch.randperm(len(others), generator=gen)]
            aux_c = None if a is None else a[ctx]
            row = [x[ctx], y[ctx]]
        if self.max_targets is not None:
            targets = targets[: self.max_targets]
        row += [x[targets], y[targets]]
        if a is not None:
            assert aux_c is not None
            row += [aux_c, a[targets]]
        return row
