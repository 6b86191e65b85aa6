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
        return cls(s_lat, wrap_longitude(s_lon), s_val, t_lat, wrap_longitude(t_lon), shape)


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
    ref: float = 0.0  # anomaly models: the stations' mean (K), added back in float64


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
    def anomalies(self) -> bool:
        """The model takes values in K and elevations in m and works on task anomalies."""
        return bool(getattr(self.model, "anomalies", False))

    @property
    def variance_scale(self) -> float:
        """Validation-fitted factor on the predictive variance (1 if the bundle has none)."""
        cal = self.metadata.get("calibration") or {}
        return float(cal.get("variance_scale", 1.0))

    @property
    def version(self) -> str:
        return str(self.metadata.get("code_version", "unknown"))

    def in_domain(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.bool_]:
        if self.domain is None:
            return np.zeros(np.shape(lat), dtype=bool)
        (la0, la1), (lo0, lo1) = self.domain
        return (lat >= la0) & (lat <= la1) & (lon >= lo0) & (lon <= lo1)

    def model_elevation(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """The model's own orography (m) at points; NaN where it has none."""
        aux = getattr(self.model, "gridded_aux", None)
        if aux is None or "orog" not in aux.names:
            return np.full(np.shape(lat), np.nan)
        pts = torch.tensor(np.stack([lat, lon], axis=-1), dtype=torch.float32).reshape(-1, 2)
        k = aux.names.index("orog")
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
        """Cells of the internal grid the model computes on for ``query`` (0: no grid).

        Cheap (no elevation filling, no model call): lets callers refuse queries whose
        stations and targets span too large an area before any memory is spent on them.
        """
        c = _Coordinates.of(query)
        window = self._window(self._points(c.s_lat, c.s_lon), self._points(c.t_lat, c.t_lon))
        return math.prod(window[1]) if window else 0

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
        if self.anomalies:
            return self._prepare_anomalies(q)
        c = _Coordinates.of(q)
        s_lat, s_lon, t_lat, t_lon = c.s_lat, c.s_lon, c.t_lat, c.t_lon
        dev, f32 = self.device, torch.float32
        xc, xt = self._points(s_lat, s_lon), self._points(t_lat, t_lon)
        yc = self.normalisation["t2m"].normalise(torch.tensor(c.s_val, dtype=f32, device=dev))
        shape = c.shape
        task = _Task(xc, yc[:, None], xt, shape, q.equivariant_only)
        task.in_domain = self.in_domain(t_lat, t_lon)
        if self.point_aux:
            (c_elev, src_c), (t_elev, src_t) = (
                self._fill_elevation(s_lat, s_lon, q.station_elevation),
                self._fill_elevation(t_lat, t_lon, q.target_elevation),
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
        window = self._window(xc, xt)
        if window is not None:
            task.window_start, task.window_shape = window
        return task

    def _prepare_anomalies(self, q: Query) -> _Task:
        """Values in K relative to the stations' mean (taken in float64, added back after the
        model), elevations in m; the elevation policy of :func:`elevation_policy`."""
        c = _Coordinates.of(q)
        dev, f32 = self.device, torch.float32
        xc, xt = self._points(c.s_lat, c.s_lon), self._points(c.t_lat, c.t_lon)
        ref = float(np.mean(c.s_val))
        yc = torch.tensor(c.s_val - ref, dtype=f32, device=dev)[:, None]
        task = _Task(xc, yc, xt, c.shape, q.equivariant_only, ref=ref)
        task.in_domain = self.in_domain(c.t_lat, c.t_lon)
        if self.point_aux:
            ec, et, task.elevation_source, task.notes = elevation_policy(
                q.station_elevation, q.target_elevation, len(c.s_lat), len(c.t_lat)
            )
            task.aux_c = torch.tensor(ec, dtype=f32, device=dev)[:, None]
            task.aux_t = torch.tensor(et, dtype=f32, device=dev)[:, None]
        window = self._window(xc, xt)
        if window is not None:
            task.window_start, task.window_shape = window
        return task

    def _run(self, tasks: list[_Task]) -> list[Prediction]:
        """One model call for ``tasks`` (padded to common sizes); predictions in K."""
        nc = max(len(t.xc) for t in tasks)
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
        if self.point_aux:
            kwargs["aux_c"] = torch.stack([pad(t.aux_c, nc) for t in tasks if t.aux_c is not None])
            kwargs["aux_t"] = torch.stack(
                [pad(t.aux_t, nt, True) for t in tasks if t.aux_t is not None]
            )
        dist = self.model(
            torch.stack([pad(t.xc, nc) for t in tasks]),
            torch.stack([pad(t.yc, nc) for t in tasks]),
            torch.stack([pad(t.xt, nt, True) for t in tasks]),
            strict=tasks[0].equivariant_only,
            **kwargs,
        )
        y = self.normalisation["t2m"]
        means = dist.mean[..., 0].double().cpu().numpy() * y.std + y.mean
        variances = dist.variance[..., 0].double().cpu().numpy() * y.std**2
        variances = variances * self.variance_scale
        preds = []
        for t, mean, var in zip(tasks, means, variances, strict=True):
            n = len(t.xt)
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

    def _fill_elevation(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64], given: ArrayLike | None
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


def elevation_policy(
    station_elevation: ArrayLike | None,
    target_elevation: ArrayLike | None,
    n_stations: int,
    n_targets: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], str, list[str]]:
    """Elevations (m) for an anomaly model, the elevation source and notes.

    - Every station has an elevation: they are used; a target without one (NaN) is passed as
      NaN, and the model predicts it at the stations' mean elevation with the spread of the
      station elevations (times the fitted lapse rate) added to its variance.
    - Some or all stations lack one: no elevation is used for the request (every point is
      seen at one height); nothing is filled in next to given values.
    """

    def arr(a: ArrayLike | None, n: int) -> NDArray[np.float64]:
        e = np.full(n, np.nan) if a is None else np.asarray(a, np.float64).ravel()
        if e.shape != (n,):
            raise ValueError("elevation must have one value per point")
        return e

    ec, et = arr(station_elevation, n_stations), arr(target_elevation, n_targets)
    missing_c = int((~np.isfinite(ec)).sum())
    if missing_c:
        note = (
            "no station has an elevation: elevation was not used"
            if missing_c == n_stations
            else f"{missing_c} of {n_stations} stations have no elevation: elevation was not "
            "used for this request (give it for every station or for none)"
        )
        return np.zeros(n_stations), np.zeros(n_targets), "none", [note]
    missing_t = int((~np.isfinite(et)).sum())
    if not missing_t:
        return ec, et, "given", []
    note = (
        f"{missing_t} of {n_targets} targets have no elevation: predicted at the stations' "
        f"mean elevation ({float(np.mean(ec)):.0f} m), with the spread of the station "
        "elevations times the fitted lapse rate added to the variance"
    )
    return ec, np.where(np.isfinite(et), et, np.nan), "given, stations' mean elevation", [note]


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
        not isinstance(dom, list) or len(dom) != 2 or any(len(p) != 2 or p[0] >= p[1] for p in dom)
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
    _validate_metadata(meta, model)
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
