"""The one sampler family: simulated stations on the cells of a gridded field.

:class:`CellSampler` implements :class:`~pipelines.tasks.task.TaskSampler`. Per batch it
draws the hours, then per task, in this order of random draws:

1. a window: a random ``(n_lat, n_lon)`` window of the grid, or one whose side is uniform in
   ``window_deg`` degrees (the longitude side over the cosine of the grid's mean latitude)
   (its size first, then its position, so the field's lattice phase varies), or the whole
   grid;
2. with a station layout, whether this task uses it (probability ``layout_prob``);
3. with ``land_only``, whether the stations are land cells only: always when ``land_prob``
   is 1, else with that probability; never when the window has :data:`MIN_LAND_CELLS` land
   cells or fewer (no draw then);
4. the number of stations: a count uniform (``log_count``: log-uniform) in ``count``, or a
   fraction of the candidate cells uniform in ``fraction`` (rounded, at least 1); at most
   ``max_share`` of the candidates;
5. which: a random permutation of the candidates (all cells, or land cells), or of the
   layout's stations (values bilinear from the grid);
6. the targets: the other cells in random order (the rest of the same permutation when
   every cell is a candidate), at most ``max_targets``.

With ``point_aux`` each point also carries its elevation (normalised with the field's
statistics: metres for the world's physical fields). Rows are padded by the one padding
rule (:func:`~pipelines.tasks.task.assemble`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from inference.errors import StoreError, TaskError

from .field import Field, bilinear
from .task import Row, Task, assemble

MIN_LAND_CELLS = 20  # a window with no more land cells than this draws from every cell


class CellSampler:
    """Tasks from a :class:`Field` (see the module docstring).

    Args:
        fraction: (low, high) fraction of candidate cells used as stations, uniform per task.
        count: (low, high) station count per task instead of ``fraction``.
        log_count: draw the count log-uniformly.
        window: crop a random ``(n_lat, n_lon)`` window per task.
        window_deg: (low, high) side in degrees of a random window per task instead.
        land_only: only cells with land fraction >= 0.5 become stations.
        land_prob: with ``land_only``, the probability that a task's stations are land only.
        max_share: at most this share of the candidate cells become stations.
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
        log_count: bool = False,
        window: tuple[int, int] | None = None,
        window_deg: tuple[float, float] | None = None,
        land_only: bool = False,
        land_prob: float = 1.0,
        max_share: float = 1.0,
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
        if window_deg is not None and (
            window is not None or not 0 < window_deg[0] <= window_deg[1]
        ):
            raise TaskError("window_deg needs 0 < low <= high and no window in cells")
        if count is not None and not 1 <= count[0] <= count[1] < h * w:
            raise TaskError(f"station count must satisfy 1 <= low <= high < {h * w}")
        if not (0 <= land_prob <= 1 and 0 < max_share <= 1):
            raise TaskError("land_prob must lie in [0, 1] and max_share in (0, 1]")
        if point_aux and data.orog is None:
            raise StoreError("point elevation needs orography in the store")
        if land_only:
            if data.land is None:
                raise StoreError("--land-only needs land_fraction in the store")
            if int(torch.count_nonzero(data.land >= 0.5)) < 2:
                raise StoreError("the store has fewer than 2 land cells")
        self.data, self.window, self.window_deg = data, window, window_deg
        self.fraction, self.count, self.log_count = fraction, count, log_count
        self.land_only, self.land_prob, self.max_share = land_only, land_prob, max_share
        self.max_targets = max_targets
        # cells per degree of latitude and of longitude (at the grid's mean latitude)
        step = (float(data.lat[1] - data.lat[0]), float(data.lon[1] - data.lon[0]))
        cos = math.cos(math.radians(float(data.lat.double().mean())))
        self.per_deg = (1.0 / step[0], 1.0 / (step[1] * cos))
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
        cap = max(1, int(self.max_share * available))
        if self.count is not None and self.log_count:
            lo, hi = self.count
            u = float(torch.rand(1, generator=gen))
            n = int(math.exp(math.log(lo) + u * (math.log(hi + 1) - math.log(lo))))
            return min(n, hi, cap)
        if self.count is not None:
            lo, hi = (max(1, min(c, available)) for c in self.count)
            return min(int(torch.randint(lo, hi + 1, (1,), generator=gen)), cap)
        lo_f, hi_f = self.fraction
        frac = lo_f + (hi_f - lo_f) * float(torch.rand(1, generator=gen))
        return min(max(1, round(frac * available)), cap)

    def _window(self, gen: torch.Generator) -> tuple[int, int] | None:
        if self.window_deg is None:
            return self.window
        lo, hi = self.window_deg
        side = lo + (hi - lo) * float(torch.rand(1, generator=gen))
        n_lat, n_lon = self.data.shape
        return min(n_lat, max(2, int(side * self.per_deg[0]))), min(
            n_lon, max(2, int(side * self.per_deg[1]))
        )

    def _one(self, t: int, gen: torch.Generator) -> Row:
        d = self.data
        field, lat, lon, aux, land = d.values[t], d.lat, d.lon, self.aux, d.land
        window = self._window(gen)
        if window is not None:
            h, w = window
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
            candidates = None
            if self.land_only:
                assert land is not None
                on_land = torch.nonzero(land.reshape(-1) >= 0.5).squeeze(-1)
                if len(on_land) > MIN_LAND_CELLS and (
                    self.land_prob == 1 or float(torch.rand(1, generator=gen)) < self.land_prob
                ):
                    candidates = on_land
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
