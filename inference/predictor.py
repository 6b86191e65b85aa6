"""The Predictor: stations + targets -> mean, variance, in-domain flags and notes.

:class:`Query` (:mod:`inference.query`, re-exported here) is one prediction request in
physical units, :class:`Prediction` its answer; :class:`Predictor` is the protocol the
service's batcher and batch gridding call, and :class:`BundlePredictor` implements it with a
model bundle: the query's checked coordinates (:attr:`Query.coordinates`), missing
elevations filled (:mod:`inference.elevation`), values
normalised, queries that share the model's lattice window coalesced into one padded and
masked model call (:mod:`inference.padding`), and the results de-normalised to K and K².

Targets of shape ``[n_lat, n_lon]`` that form a rectilinear grid (``meshgrid(lat, lon,
indexing="ij")``) reach a ConvCNP as their axes (:class:`models.TargetAxes`), which its
decoder reads out separably: the same numbers, far fewer operations.
:meth:`BundlePredictor.cost` estimates a query's work before any is spent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from numpy.typing import NDArray

from models.convcnp import ConvCNP
from models.cost import forward_macs
from models.setconv import TargetAxes

from .bundle import Bundle
from .coalesce import groups
from .elevation import model_elevations
from .padding import pad_grid, pad_last, pad_repeat
from .query import Query


@dataclass
class Prediction:
    """Predictions in physical units; arrays have the targets' shape."""

    mean: NDArray[np.float64]
    variance: NDArray[np.float64]
    in_domain: NDArray[np.bool_]
    # "given", "given, stations' mean elevation" (anomaly models), "model orography",
    # "training mean" (older models), mixes of those, or "none" (elevation not used)
    elevation_source: str = "none"
    notes: list[str] = field(default_factory=list)


class Predictor(Protocol):
    """What the service and batch gridding need from a model: predictions for queries."""

    def predict(self, query: Query) -> Prediction: ...

    def predict_batch(self, queries: Sequence[Query]) -> list[Prediction]: ...


_Window = tuple[tuple[int, ...], tuple[int, ...]]  # a lattice window's (start, shape)


@dataclass
class _Task:
    """A query as model-ready tensors (one task, no batch dimension)."""

    xc: torch.Tensor  # [n_context, 2]
    yc: torch.Tensor  # [n_context, 1], normalised
    xt: torch.Tensor  # [n_target, 2]; for a grid target only its two corners
    shape: tuple[int, ...]
    equivariant_only: bool
    in_domain: NDArray[np.bool_]
    aux_c: torch.Tensor | None = None  # [n_context, dim_aux], normalised
    aux_t: torch.Tensor | None = None  # [n_target, dim_aux], normalised
    elevation_source: str = "none"
    notes: list[str] = field(default_factory=list)
    window: _Window | None = None
    ref: float = 0.0  # anomaly models: the stations' mean (K), added back in float64
    grid: tuple[torch.Tensor, torch.Tensor] | None = None  # target axes ([n_lat], [n_lon])
    n_target: int = 0


def _corners(
    grid: tuple[NDArray[np.float64], NDArray[np.float64]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two points spanning a grid's extent (enough for a lattice window)."""
    lat, lon = grid
    return np.array([lat.min(), lat.max()]), np.array([lon.min(), lon.max()])


def _grid_points(grid: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """A grid's points, row-major: ``[n_lat * n_lon, 2]``."""
    return torch.stack(torch.meshgrid(*grid, indexing="ij"), -1).reshape(-1, 2)


class BundlePredictor:
    """A :class:`Predictor` backed by a loaded :class:`~inference.bundle.Bundle`."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle

    def predict(self, query: Query) -> Prediction:
        """Temperature (K) and its variance (K²) at the targets of one query.

        Elevations (m) may be ``None`` or contain NaN where unknown; what is done with them
        depends on the model (:mod:`inference.elevation`) and the result says which.
        """
        return self.predict_batch([query])[0]

    def grid_cells(self, query: Query) -> int:
        """Cells of the internal grid the model computes on for ``query`` (0: no grid)."""
        return self.cost(query)[1]

    def cost(self, query: Query) -> tuple[float, int]:
        """(estimated multiply-adds, internal grid cells) of ``query`` run alone.

        Cheap (no elevation filling, no model call): lets callers refuse queries whose
        stations and targets span too large an area before any memory is spent on them.
        """
        c = query.coordinates
        grid = c.grid if isinstance(self.bundle.model, ConvCNP) else None
        targets = len(c.t_lat) if grid is None else (len(grid[0]), len(grid[1]))
        window = self._plan(query)[2]
        shape = window[1] if window else None
        macs = forward_macs(self.bundle.model, len(c.s_lat), shape, targets)
        return macs, math.prod(shape) if shape else 0

    @torch.inference_mode()
    def predict_batch(self, queries: Sequence[Query]) -> list[Prediction]:
        """Predict several independent queries, coalescing them into few model calls.

        Queries that agree on ``equivariant_only`` and whose lattice windows may share one
        (:mod:`inference.coalesce`: the same window, or ones in the same stride phase that
        together stay small) run as one batch, padded by the one padding rule and masked, so
        each query sees exactly the computation it would see alone. Others run one model
        call each. Results keep the input order.
        """
        tasks = [self._prepare(q) for q in queries]
        cnn = getattr(self.bundle.model, "cnn", None)
        multiple = int(getattr(cnn, "multiple", 1))
        together = groups([t.window for t in tasks], [t.equivariant_only for t in tasks], multiple)
        out: list[Prediction | None] = [None] * len(tasks)
        for idx in together:
            for i, pred in zip(idx, self._run([tasks[i] for i in idx]), strict=True):
                out[i] = pred
        return [p for p in out if p is not None]

    def _points(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> torch.Tensor:
        """``[n, 2]`` float32 (lat, lon) on the model's device."""
        pts = np.stack([lat, lon], -1)
        return torch.tensor(pts, dtype=torch.float32, device=self.bundle.device)

    def _window(self, xc: torch.Tensor, xt: torch.Tensor) -> _Window | None:
        """(start, shape) of the model's lattice window, None for grid-free models."""
        window = getattr(self.bundle.model, "window", None)
        if window is None:
            return None
        w = window(xc[None], xt[None])
        return w.start, w.shape

    def _plan(self, q: Query) -> tuple[torch.Tensor, torch.Tensor, _Window | None]:
        """Station points, target points (a grid's two corners: a grid goes to the model as
        its axes) and the lattice window; once per query and predictor (the admission's
        estimate, then the prediction)."""
        memo = q.__dict__.get("_plan")
        if memo is not None and memo[0] is self:
            return memo[1]  # type: ignore[no-any-return]
        c = q.coordinates
        grid = c.grid if isinstance(self.bundle.model, ConvCNP) else None
        xc = self._points(c.s_lat, c.s_lon)
        xt = self._points(c.t_lat, c.t_lon) if grid is None else self._points(*_corners(grid))
        plan = (xc, xt, self._window(xc, xt))
        q.__dict__["_plan"] = (self, plan)
        return plan

    def _prepare(self, q: Query) -> _Task:
        """Model-ready tensors: anomaly models get values relative to the stations' mean
        (float64, added back in ``_run``: shifts are exact), older ones normalised values."""
        b, c = self.bundle, q.coordinates
        dev, f32 = b.device, torch.float32
        grid = c.grid if isinstance(b.model, ConvCNP) else None
        xc, xt, window = self._plan(q)
        ref = float(np.mean(c.s_val)) if b.anomalies else 0.0
        vals = c.s_val - ref if b.anomalies else b.normalisation["t2m"].normalise(c.s_val)
        yc = torch.tensor(vals, dtype=f32, device=dev)[:, None]
        task = _Task(xc, yc, xt, c.shape, q.equivariant_only, b.in_domain(c.t_lat, c.t_lon))
        task.ref = ref
        task.n_target = len(c.t_lat)
        if grid is not None:
            task.grid = (
                torch.tensor(grid[0], dtype=f32, device=dev),
                torch.tensor(grid[1], dtype=f32, device=dev),
            )
        if b.point_aux:
            ec, et, task.elevation_source, task.notes = model_elevations(
                b, (c.s_lat, c.s_lon), (c.t_lat, c.t_lon),
                (q.station_elevation, q.target_elevation), grid,
            )  # fmt: skip
            task.aux_c = torch.tensor(ec, dtype=f32, device=dev)[:, None]
            task.aux_t = torch.tensor(et, dtype=f32, device=dev)[:, None]
        task.window = window
        return task

    def _run(self, tasks: list[_Task]) -> list[Prediction]:
        """One model call for ``tasks`` (padded to common sizes); predictions in K.

        When every task's targets form a rectilinear grid, the model gets the grids' axes
        (:class:`models.TargetAxes`: a separable read-out), each axis padded by repeating its
        last coordinate and the target auxiliaries by repeating edge cells, then cropped;
        otherwise the targets go as points, padded by the one padding rule."""
        grids = [t.grid for t in tasks]
        shape: tuple[int, int] | None = None
        if all(g is not None for g in grids):
            shape = (
                max(len(g[0]) for g in grids if g is not None),
                max(len(g[1]) for g in grids if g is not None),
            )
        kwargs: dict[str, Any] = {}
        xc, mask_c = pad_repeat([t.xc for t in tasks])
        if len(tasks) > 1:
            kwargs["mask_c"] = mask_c
        if self.bundle.point_aux:
            kwargs["aux_c"] = pad_repeat([t.aux_c for t in tasks if t.aux_c is not None])[0]
            aux_t = [t.aux_t for t in tasks if t.aux_t is not None]
            if shape is None:
                kwargs["aux_t"] = pad_repeat(aux_t)[0]
            else:
                kwargs["aux_t"] = torch.stack(
                    [pad_grid(a, t.grid, shape) for a, t in zip(aux_t, tasks, strict=True)]
                )
        xt: torch.Tensor | TargetAxes
        if shape is None:
            xt = pad_repeat([t.xt if t.grid is None else _grid_points(t.grid) for t in tasks])[0]
        else:
            lat = [g[0][:, None] for g in grids if g is not None]
            lon = [g[1][:, None] for g in grids if g is not None]
            xt = TargetAxes((pad_last(lat, shape[0])[..., 0], pad_last(lon, shape[1])[..., 0]))
        dist = self.bundle.model(
            xc,
            pad_repeat([t.yc for t in tasks])[0],
            xt,
            strict=tasks[0].equivariant_only,
            **kwargs,
        )
        y = self.bundle.normalisation["t2m"]
        means = dist.mean[..., 0].double().cpu().numpy() * y.std + y.mean
        variances = dist.variance[..., 0].double().cpu().numpy() * y.std**2
        variances = variances * self.bundle.variance_scale + self.bundle.variance_floor
        preds = []
        for t, mean, var in zip(tasks, means, variances, strict=True):
            n = t.n_target
            if shape is not None and t.grid is not None:  # crop the padded grid
                p, q = len(t.grid[0]), len(t.grid[1])
                mean = mean.reshape(shape)[:p, :q].ravel()
                var = var.reshape(shape)[:p, :q].ravel()
            mean = mean + t.ref
            in_dom = np.zeros_like(t.in_domain) if t.equivariant_only else t.in_domain
            preds.append(
                Prediction(
                    mean[:n].reshape(t.shape),
                    var[:n].reshape(t.shape),
                    in_dom.reshape(t.shape),
                    t.elevation_source,
                    list(t.notes),
                )
            )
        return preds
