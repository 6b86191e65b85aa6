"""Model bundles: the one loading and prediction path shared by the service and the pipelines.

A bundle is a :mod:`models.checkpoint` directory (``model.safetensors`` + ``model.json``)
whose ``metadata`` carries what turns the network into a temperature model::

    {"kind": "equigrid-bundle", "bundle_version": 1,
     "variable": "t2m", "units": "K",
     "normalisation": {"t2m": {"mean": 279.3, "std": 3.1},
                       "elevation": {"mean": 120.0, "std": 150.0}},
     "point_aux": ["elevation"],          # names of the model's dim_aux channels, in order
     "domain": [[50, 58], [-10, 2]],      # trained domain box (lat, lon), degrees
     "training": {...}, "metrics": {...}, "code_version": "0.1.0"}

:func:`load_bundle` validates all of it and raises :class:`BundleError` with a one-line
reason; a bundle is never returned half-loaded. :meth:`Bundle.predict` does normalisation,
longitude wrapping, elevation filling and the in-domain flags, in physical units (K).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

import models
from models.checkpoint import CheckpointError
from models.convcnp import ConvCNP
from models.cost import forward_macs
from models.setconv import TargetAxes

from .grid import wrap_longitude

BUNDLE_KIND = "equigrid-bundle"
BUNDLE_VERSION = 1
DEFAULT_BUNDLE = Path(models.__file__).resolve().parent / "weights" / "default"
POINT_AUX_KNOWN = ("elevation",)


class BundleError(ValueError):
    """A model bundle is missing, corrupt or incompatible."""


_Arr = TypeVar("_Arr", torch.Tensor, NDArray[np.float64])


@dataclass(frozen=True)
class Stats:
    """Normalisation statistics: ``(v - mean) / std``; they travel with bundles and results."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values: NDArray[np.floating[Any]]) -> Stats:
        return cls(float(np.mean(values)), float(np.std(values)))

    def normalise(self, v: _Arr) -> _Arr:
        return (v - self.mean) / self.std


@dataclass
class Prediction:
    """Predictions in physical units; arrays have the targets' shape."""

    mean: NDArray[np.float64]
    variance: NDArray[np.float64]
    in_domain: NDArray[np.bool_]
    elevation_source: str = "none"  # "given", "model orography", "training mean" or "none"
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Query:
    """One prediction request in physical units: stations (K) and target points.

    Arrays may have any shape; the prediction has the targets' shape. Elevations (m) may be
    ``None`` or NaN where unknown.
    """

    station_lat: ArrayLike
    station_lon: ArrayLike
    station_value_k: ArrayLike
    target_lat: ArrayLike
    target_lon: ArrayLike
    station_elevation: ArrayLike | None = None
    target_elevation: ArrayLike | None = None
    equivariant_only: bool = False


@dataclass(frozen=True)
class _Coordinates:
    """A query's validated, flattened coordinates (longitudes wrapped) and station values."""

    s_lat: NDArray[np.float64]
    s_lon: NDArray[np.float64]
    s_val: NDArray[np.float64]
    t_lat: NDArray[np.float64]
    t_lon: NDArray[np.float64]
    shape: tuple[int, ...]
    grid: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None

    @classmethod
    def of(cls, q: Query) -> _Coordinates:
        def flat(a: ArrayLike) -> NDArray[np.float64]:
            return np.asarray(a, dtype=np.float64).ravel()

        s_lat, s_lon, s_val = flat(q.station_lat), flat(q.station_lon), flat(q.station_value_k)
        t_lat, t_lon = flat(q.target_lat), flat(q.target_lon)
        if not (len(s_lat) == len(s_lon) == len(s_val)) or len(s_lat) == 0:
            raise ValueError("stations need equally long, non-empty lat, lon and value arrays")
        if len(t_lat) != len(t_lon) or len(t_lat) == 0:
            raise ValueError("targets need equally long, non-empty lat and lon arrays")
        for name, arr in (("station", np.r_[s_lat, s_lon, s_val]), ("target", np.r_[t_lat, t_lon])):
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} coordinates and values must be finite")
        shape = np.shape(q.target_lat)
        t_lon = wrap_longitude(t_lon)
        return cls(
            s_lat,
            wrap_longitude(s_lon),
            s_val,
            t_lat,
            t_lon,
            shape,
            _grid_axes(shape, t_lat, t_lon),
        )


def _grid_axes(
    c_shape: tuple[int, ...], lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """``(lat axis, lon axis)`` when flattened targets of shape ``[n_lat, n_lon]`` form a
    rectilinear grid (``meshgrid(lat, lon, indexing="ij")``), else None."""
    if len(c_shape) != 2 or min(c_shape) < 2:
        return None
    la, lo = lat.reshape(c_shape), lon.reshape(c_shape)
    if not ((la == la[:, :1]).all() and (lo == lo[:1, :]).all()):
        return None
    return la[:, 0].copy(), lo[0].copy()


@dataclass
class _Task:
    """A query as model-ready tensors (one task, no batch dimension)."""

    xc: torch.Tensor  # [n_context, 2]
    yc: torch.Tensor  # [n_context, 1], normalised
    xt: torch.Tensor  # [n_target, 2]
    shape: tuple[int, ...]
    equivariant_only: bool
    in_domain: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    aux_c: torch.Tensor | None = None  # [n_context, dim_aux], normalised
    aux_t: torch.Tensor | None = None  # [n_target, dim_aux], normalised
    elevation_source: str = "none"
    notes: list[str] = field(default_factory=list)
    window_start: tuple[int, ...] | None = None
    window_shape: tuple[int, ...] | None = None
    grid: tuple[torch.Tensor, torch.Tensor] | None = None  # target axes ([n_lat], [n_lon])


@dataclass
class Bundle:
    model: nn.Module
    path: Path
    name: str
    sha256: str
    metadata: dict[str, Any]
    normalisation: dict[str, Stats]
    point_aux: list[str]
    domain: list[list[float]] | None
    device: torch.device

    @property
    def version(self) -> str:
        return str(self.metadata.get("code_version", "unknown"))

    def in_domain(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.bool_]:
        if self.domain is None:
            return np.zeros(np.shape(lat), dtype=bool)
        (la0, la1), (lo0, lo1) = self.domain
        return (lat >= la0) & (lat <= la1) & (lon >= lo0) & (lon <= lo1)

    def model_elevation(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64], *, grid: bool = False
    ) -> NDArray[np.float64]:
        """The model's own orography (m) at points; NaN where it has none.

        With ``grid=True``, ``lat`` and ``lon`` are the axes of a rectilinear grid and the
        result is ``[n_lat, n_lon]`` (computed separably)."""
        aux = getattr(self.model, "gridded_aux", None)
        shape = (len(lat), len(lon)) if grid else np.shape(lat)
        if aux is None or "orog" not in aux.names:
            return np.full(shape, np.nan)
        k = aux.names.index("orog")
        if grid:
            axes = [torch.tensor(a, dtype=torch.float32, device=self.device) for a in (lat, lon)]
            return aux.at_axes(axes)[..., k].double().cpu().numpy()
        pts = torch.tensor(np.stack([lat, lon], axis=-1), dtype=torch.float32).reshape(-1, 2)
        # chunks bound the [points, raster side] interpolation weights for large grids
        vals = [aux.at_points(c.to(self.device))[:, k] for c in pts.split(1 << 16)]
        return torch.cat(vals).double().cpu().numpy().reshape(np.shape(lat))

    def predict(
        self,
        station_lat: ArrayLike,
        station_lon: ArrayLike,
        station_value_k: ArrayLike,
        target_lat: ArrayLike,
        target_lon: ArrayLike,
        *,
        station_elevation: ArrayLike | None = None,
        target_elevation: ArrayLike | None = None,
        equivariant_only: bool = False,
    ) -> Prediction:
        """Predict temperature (K) and its variance (K^2) at the targets from one set of stations.

        Elevations (m) may be ``None`` or contain NaN where unknown: those are filled from the
        model's orography, else with the training mean elevation, and the result says which.
        """
        query = Query(
            station_lat,
            station_lon,
            station_value_k,
            target_lat,
            target_lon,
            station_elevation=station_elevation,
            target_elevation=target_elevation,
            equivariant_only=equivariant_only,
        )
        return self.predict_batch([query])[0]

    def grid_cells(self, query: Query) -> int:
        """Cells of the internal grid the model computes on for ``query`` (0: no grid)."""
        return self.cost(query)[1]

    def cost(self, query: Query) -> tuple[float, int]:
        """(estimated multiply-adds, internal grid cells) of ``query`` run alone.

        Cheap (no elevation filling, no model call): lets callers refuse queries whose
        stations and targets span too large an area before any memory is spent on them.
        """
        c = _Coordinates.of(query)
        xc = self._points(c.s_lat, c.s_lon)
        grid = c.grid if isinstance(self.model, ConvCNP) else None
        if grid is None:
            xt = self._points(c.t_lat, c.t_lon)
            targets: int | tuple[int, ...] = len(c.t_lat)
        else:
            lat, lon = grid
            xt = self._points(np.array([lat.min(), lat.max()]), np.array([lon.min(), lon.max()]))
            targets = (len(lat), len(lon))
        window = self._window(xc, xt)
        shape = window[1] if window else None
        macs = forward_macs(self.model, len(c.s_lat), shape, targets)
        return macs, math.prod(shape) if shape else 0

    def _points(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> torch.Tensor:
        """``[n, 2]`` float32 (lat, lon) on the model's device."""
        return torch.tensor(np.stack([lat, lon], -1), dtype=torch.float32, device=self.device)

    def _window(
        self, xc: torch.Tensor, xt: torch.Tensor
    ) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """(start, shape) of the model's internal grid window, None for grid-free models."""
        window = getattr(self.model, "window", None)
        if window is None:
            return None
        w = window(xc[None], xt[None])
        return w.start, w.shape

    @torch.no_grad()
    def predict_batch(self, queries: Sequence[Query]) -> list[Prediction]:
        """Predict several independent queries, coalescing them into few model calls.

        Queries whose internal grid window is identical (the usual case: the same output grid
        with stations inside it) and that agree on ``equivariant_only`` run as one batch:
        stations are padded and masked out with ``mask_c``, targets are padded by repeating
        the query's last target, so each query sees exactly the computation it would see
        alone. Queries that differ run one model call each. Results keep the input order.
        """
        tasks = [self._prepare(q) for q in queries]
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, t in enumerate(tasks):
            key = (t.equivariant_only, t.window_shape, t.window_start) if t.window_shape else (i,)
            groups.setdefault(key, []).append(i)
        out: list[Prediction | None] = [None] * len(tasks)
        for idx in groups.values():
            for i, pred in zip(idx, self._run([tasks[i] for i in idx]), strict=True):
                out[i] = pred
        return [p for p in out if p is not None]

    def _prepare(self, q: Query) -> _Task:
        c = _Coordinates.of(q)
        s_lat, s_lon, t_lat, t_lon = c.s_lat, c.s_lon, c.t_lat, c.t_lon
        dev, f32 = self.device, torch.float32
        xc, xt = self._points(s_lat, s_lon), self._points(t_lat, t_lon)
        yc = self.normalisation["t2m"].normalise(torch.tensor(c.s_val, dtype=f32, device=dev))
        shape = c.shape
        task = _Task(xc, yc[:, None], xt, shape, q.equivariant_only)
        if c.grid is not None and isinstance(self.model, ConvCNP):
            task.grid = (
                torch.tensor(c.grid[0], dtype=f32, device=dev),
                torch.tensor(c.grid[1], dtype=f32, device=dev),
            )
        task.in_domain = self.in_domain(t_lat, t_lon)
        if self.point_aux:
            (c_elev, src_c), (t_elev, src_t) = (
                self._fill_elevation(s_lat, s_lon, q.station_elevation),
                self._fill_elevation(t_lat, t_lon, q.target_elevation, c.grid),
            )
            parts = {p for src in (src_c, src_t) for p in src.split(", ")}
            source = ", ".join(sorted(parts))
            if parts != {"given"}:
                filled = ", ".join(sorted(parts - {"given"}))
                task.notes.append(f"elevation not given everywhere; filled from {filled}")
            e = self.normalisation["elevation"]
            task.aux_c = e.normalise(torch.tensor(c_elev, dtype=f32, device=dev))[:, None]
            task.aux_t = e.normalise(torch.tensor(t_elev, dtype=f32, device=dev))[:, None]
            task.elevation_source = source
        corners = None if task.grid is None else TargetAxes(tuple(g[None] for g in task.grid))
        window = self._window(xc, xt if corners is None else corners.corners()[0])
        if window is not None:
            task.window_start, task.window_shape = window
        return task

    def _run(self, tasks: list[_Task]) -> list[Prediction]:
        """One model call for ``tasks`` (padded to common sizes); predictions in K.

        When every task's targets form a rectilinear grid, the model gets the grid's axes
        (:class:`models.TargetAxes`: a separable read-out), each axis padded by repeating
        its last coordinate; otherwise it gets points."""
        if len({t.grid is None for t in tasks}) == 2:  # mixed: all as points
            for t in tasks:
                t.grid = None
        grid = tasks[0].grid is not None
        nc = max(len(t.xc) for t in tasks)
        if grid:
            n_lat = max(len(t.grid[0]) for t in tasks if t.grid is not None)
            n_lon = max(len(t.grid[1]) for t in tasks if t.grid is not None)
            nt = n_lat * n_lon
        else:
            nt = max(len(t.xt) for t in tasks)

        def pad(x: torch.Tensor, n: int, repeat_last: bool = False) -> torch.Tensor:
            if len(x) == n:
                return x
            fill = (
                x[-1:].expand(n - len(x), -1)
                if repeat_last
                else x.new_zeros(n - len(x), x.shape[1])
            )
            return torch.cat([x, fill])

        kwargs: dict[str, Any] = {}
        if len(tasks) > 1:
            mask = torch.zeros(len(tasks), nc, device=self.device)
            for i, t in enumerate(tasks):
                mask[i, : len(t.xc)] = 1.0
            kwargs["mask_c"] = mask

        def pad_grid(t: _Task, x: torch.Tensor) -> torch.Tensor:
            """``[n_lat * n_lon, k]`` of one task's grid -> ``[nt, k]``, edges repeated."""
            assert t.grid is not None
            p, q = len(t.grid[0]), len(t.grid[1])
            x = x.reshape(p, q, -1)
            x = torch.cat([x, x[:, -1:].expand(p, n_lon - q, -1)], 1)
            x = torch.cat([x, x[-1:].expand(n_lat - p, n_lon, -1)], 0)
            return x.reshape(nt, -1)

        def pad_t(t: _Task, x: torch.Tensor) -> torch.Tensor:
            return pad_grid(t, x) if grid else pad(x, nt, True)

        if self.point_aux:
            kwargs["aux_c"] = torch.stack([pad(t.aux_c, nc) for t in tasks if t.aux_c is not None])
            kwargs["aux_t"] = torch.stack([pad_t(t, t.aux_t) for t in tasks if t.aux_t is not None])
        xt: torch.Tensor | TargetAxes
        if grid:
            grids = [t.grid for t in tasks if t.grid is not None]
            xt = TargetAxes(
                (
                    torch.stack([pad(g[0][:, None], n_lat, True)[:, 0] for g in grids]),
                    torch.stack([pad(g[1][:, None], n_lon, True)[:, 0] for g in grids]),
                )
            )
        else:
            xt = torch.stack([pad(t.xt, nt, True) for t in tasks])
        dist = self.model(
            torch.stack([pad(t.xc, nc) for t in tasks]),
            torch.stack([pad(t.yc, nc) for t in tasks]),
            xt,
            strict=tasks[0].equivariant_only,
            **kwargs,
        )
        y = self.normalisation["t2m"]
        means = dist.mean[..., 0].double().cpu().numpy() * y.std + y.mean
        variances = dist.variance[..., 0].double().cpu().numpy() * y.std**2
        preds = []
        for t, mean, var in zip(tasks, means, variances, strict=True):
            n = len(t.xt)
            if t.grid is not None:  # crop the padded grid
                p, q = len(t.grid[0]), len(t.grid[1])
                mean = mean.reshape(n_lat, n_lon)[:p, :q].ravel()
                var = var.reshape(n_lat, n_lon)[:p, :q].ravel()
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

    def _fill_elevation(
        self,
        lat: NDArray[np.float64],
        lon: NDArray[np.float64],
        given: ArrayLike | None,
        grid: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
    ) -> tuple[NDArray[np.float64], str]:
        elev = (
            np.full(lat.shape, np.nan) if given is None else np.asarray(given, np.float64).ravel()
        )
        if elev.shape != lat.shape:
            raise ValueError("elevation must have one value per point")
        missing = ~np.isfinite(elev)
        if not missing.any():
            return elev, "given"
        src = "model orography"
        elev = elev.copy()
        if grid is not None:
            elev[missing] = self.model_elevation(*grid, grid=True).ravel()[missing]
        else:
            elev[missing] = self.model_elevation(lat[missing], lon[missing])
        still = ~np.isfinite(elev)
        if still.any():
            elev[still] = self.normalisation["elevation"].mean
            src = (
                "training mean"
                if still.all() and missing.all()
                else "model orography, training mean"
            )
        if not missing.all():
            src = "given, " + src
        return elev, src


def save_bundle(
    model: nn.Module,
    directory: str | Path,
    *,
    normalisation: dict[str, Stats | dict[str, float]],
    point_aux: list[str] | None = None,
    domain: list[list[float]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a bundle; ``extra`` (training provenance, metrics, ...) is merged into metadata."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        code_version = version("equigrid")
    except PackageNotFoundError:
        code_version = "unknown"
    norm = {
        k: {"mean": float(v.mean), "std": float(v.std)} if isinstance(v, Stats) else dict(v)
        for k, v in normalisation.items()
    }
    meta = {
        "kind": BUNDLE_KIND,
        "bundle_version": BUNDLE_VERSION,
        "variable": "t2m",
        "units": "K",
        "normalisation": norm,
        "point_aux": list(point_aux or []),
        "domain": domain if domain is not None else getattr(model, "config", {}).get("domain"),
        "code_version": code_version,
        **(extra or {}),
    }
    _validate_metadata(meta, model)
    return models.save(model, directory, metadata=meta)


def _validate_metadata(meta: dict[str, Any], model: nn.Module) -> None:
    if not isinstance(meta, dict):
        raise BundleError("bundle metadata must be a JSON object")
    if meta.get("kind") != BUNDLE_KIND or meta.get("bundle_version") != BUNDLE_VERSION:
        raise BundleError("not an equigrid model bundle (metadata.kind/bundle_version)")
    norm = meta.get("normalisation")
    if not isinstance(norm, dict) or "t2m" not in norm:
        raise BundleError("bundle metadata lacks normalisation statistics for t2m")
    for key, st in norm.items():
        ok = isinstance(st, dict) and all(
            isinstance(st.get(f), (int, float)) and math.isfinite(st[f]) for f in ("mean", "std")
        )
        if not ok or st["std"] <= 0:
            raise BundleError(f"bad normalisation statistics for {key!r}")
    aux = meta.get("point_aux", [])
    if not isinstance(aux, list) or any(a not in POINT_AUX_KNOWN for a in aux):
        raise BundleError(f"unknown point-wise auxiliaries {aux!r}; known: {POINT_AUX_KNOWN}")
    if len(aux) != getattr(model, "dim_aux", 0):
        raise BundleError(
            f"point_aux lists {len(aux)} channels but the model takes {model.dim_aux}"
        )
    for a in aux:
        if a not in norm:
            raise BundleError(f"no normalisation statistics for point-wise auxiliary {a!r}")
    if getattr(model, "dim_x", None) != 2 or getattr(model, "dim_y", None) != 1:
        raise BundleError("a temperature bundle needs a model with dim_x=2 (lat, lon) and dim_y=1")
    dom = meta.get("domain")
    if dom is not None and (
        not isinstance(dom, list)
        or len(dom) != 2
        or any(
            not isinstance(p, list)
            or len(p) != 2
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in p)
            or p[0] >= p[1]
            for p in dom
        )
    ):
        raise BundleError(f"bad domain box {dom!r}")


def load_bundle(directory: str | Path | None = None, device: str | torch.device = "cpu") -> Bundle:
    """Load and validate a bundle (the shipped default when ``directory`` is None)."""
    d = Path(directory) if directory is not None else DEFAULT_BUNDLE
    if not d.is_dir():
        raise BundleError(f"model bundle not found: {d}")
    try:
        doc = models.read_config(d)
        model = models.load(d, device=device)
    except CheckpointError as e:
        raise BundleError(str(e)) from None
    except (RuntimeError, OSError) as e:  # e.g. a CUDA device that is not there
        raise BundleError(f"cannot load {d} on {device}: {str(e).splitlines()[0]}") from None
    meta = doc.get("metadata", {})
    try:
        _validate_metadata(meta, model)
    except BundleError:
        raise
    except Exception as e:  # a malformed value where a list, number or object belongs
        raise BundleError(f"{d}: malformed bundle metadata ({type(e).__name__}: {e})") from None
    return Bundle(
        model=model,
        path=d,
        name=doc["name"],
        sha256=doc.get("sha256", ""),
        metadata=meta,
        normalisation={
            k: Stats(float(v["mean"]), float(v["std"])) for k, v in meta["normalisation"].items()
        },
        point_aux=list(meta.get("point_aux", [])),
        domain=meta.get("domain"),
        device=torch.device(device),
    )
