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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Stats:
    mean: float
    std: float

    def normalise(self, v: torch.Tensor) -> torch.Tensor:
        return (v - self.mean) / self.std


@dataclass
class Prediction:
    """Predictions in physical units; arrays have the targets' shape."""

    mean: NDArray[np.float64]
    variance: NDArray[np.float64]
    in_domain: NDArray[np.bool_]
    elevation_source: str = "none"  # "given", "model orography", "training mean" or "none"
    notes: list[str] = field(default_factory=list)


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
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """The model's own orography (m) at points; NaN where it has none."""
        aux = getattr(self.model, "gridded_aux", None)
        if aux is None or "orog" not in aux.names:
            return np.full(np.shape(lat), np.nan)
        pts = torch.as_tensor(np.stack([lat, lon], axis=-1), dtype=torch.float32)
        vals = aux.at_points(pts.to(self.device))[..., aux.names.index("orog")]
        return vals.double().cpu().numpy()

    @torch.no_grad()
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
        s_lat = np.asarray(station_lat, dtype=np.float64).ravel()
        s_lon = wrap_longitude(np.asarray(station_lon, dtype=np.float64).ravel())
        s_val = np.asarray(station_value_k, dtype=np.float64).ravel()
        t_lat = np.asarray(target_lat, dtype=np.float64)
        shape = t_lat.shape
        t_lat = t_lat.ravel()
        t_lon = wrap_longitude(np.asarray(target_lon, dtype=np.float64).ravel())
        if not (len(s_lat) == len(s_lon) == len(s_val)) or len(s_lat) == 0:
            raise ValueError("stations need equally long, non-empty lat, lon and value arrays")
        if len(t_lat) != len(t_lon):
            raise ValueError("targets need equally long lat and lon arrays")
        for name, arr in (("station", np.r_[s_lat, s_lon, s_val]), ("target", np.r_[t_lat, t_lon])):
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} coordinates and values must be finite")
        dev, f32 = self.device, torch.float32
        y = self.normalisation["t2m"]
        xc = torch.tensor(np.stack([s_lat, s_lon], -1), dtype=f32, device=dev)[None]
        yc = y.normalise(torch.tensor(s_val, dtype=f32, device=dev))[None, :, None]
        xt = torch.tensor(np.stack([t_lat, t_lon], -1), dtype=f32, device=dev)[None]
        kwargs: dict[str, Any] = {}
        source, notes = "none", []
        if self.point_aux:
            (c_elev, src_c), (t_elev, src_t) = (
                self._fill_elevation(s_lat, s_lon, station_elevation),
                self._fill_elevation(t_lat, t_lon, target_elevation),
            )
            sources = {src_c, src_t}
            source = "given" if sources == {"given"} else ", ".join(sorted(sources - {"given"}))
            if source != "given":
                notes.append(f"elevation not given everywhere; filled from {source}")
            e = self.normalisation["elevation"]
            kwargs["aux_c"] = e.normalise(torch.tensor(c_elev, dtype=f32, device=dev))[
                None, :, None
            ]
            kwargs["aux_t"] = e.normalise(torch.tensor(t_elev, dtype=f32, device=dev))[
                None, :, None
            ]
        dist = self.model(xc, yc, xt, strict=equivariant_only, **kwargs)
        mean = dist.mean[0, :, 0].double().cpu().numpy() * y.std + y.mean
        var = dist.variance[0, :, 0].double().cpu().numpy() * y.std**2
        in_dom = self.in_domain(t_lat, t_lon)
        if equivariant_only:
            in_dom = np.zeros_like(in_dom)
        return Prediction(
            mean.reshape(shape), var.reshape(shape), in_dom.reshape(shape), source, notes
        )

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
