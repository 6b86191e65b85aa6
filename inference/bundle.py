"""Model bundles: a trained network plus what turns it into a temperature model.

A bundle is a :mod:`models.checkpoint` directory (``model.safetensors`` + ``model.json``)
whose ``metadata`` carries::

    {"kind": "equigrid-bundle", "bundle_version": 1,
     "variable": "t2m", "units": "K",
     "normalisation": {"t2m": {"mean": 279.3, "std": 3.1},
                       "elevation": {"mean": 120.0, "std": 150.0}},
     "point_aux": ["elevation"],          # names of the model's dim_aux channels, in order
     "domain": [[50, 58], [-10, 2]],      # trained domain box (lat, lon), degrees
     "training": {...}, "metrics": {...}, "code_version": "0.1.0"}

:func:`load_bundle` validates all of it and raises :class:`~inference.errors.BundleError`
with a one-line reason; a bundle is never returned half-loaded. Predictions are made by
:class:`inference.predictor.BundlePredictor`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

import models
from models.checkpoint import CheckpointError

from .errors import BundleError, one_line
from .normalisation import Stats

BUNDLE_KIND = "equigrid-bundle"
BUNDLE_VERSION = 1
DEFAULT_BUNDLE = Path(models.__file__).resolve().parent / "weights" / "default"
POINT_AUX_KNOWN = ("elevation",)


@dataclass
class Bundle:
    """A loaded, validated bundle on ``device``."""

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
    def variance_floor(self) -> float:
        """Observation-noise variance (K²) added to every prediction (0 if none)."""
        cal = self.metadata.get("calibration") or {}
        return float(cal.get("variance_floor_k2", 0.0))

    @property
    def version(self) -> str:
        return str(self.metadata.get("code_version", "unknown"))

    def in_domain(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which points lie in the trained domain box (none without one)."""
        if self.domain is None:
            return np.zeros(np.shape(lat), dtype=bool)
        (la0, la1), (lo0, lo1) = self.domain
        inside: NDArray[np.bool_] = (lat >= la0) & (lat <= la1) & (lon >= lo0) & (lon <= lo1)
        return inside

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
            on_grid: NDArray[np.float64] = aux.at_axes(axes)[..., k].double().cpu().numpy()
            return on_grid
        pts = torch.tensor(np.stack([lat, lon], axis=-1), dtype=torch.float32).reshape(-1, 2)
        # chunks bound the [points, raster side] interpolation weights for large grids
        step = 1 << 16
        chunks = [pts[i : i + step] for i in range(0, len(pts), step)]
        vals = [aux.at_points(c.to(self.device))[:, k] for c in chunks]
        out: NDArray[np.float64] = torch.cat(vals).double().cpu().numpy()
        return out.reshape(np.shape(lat))


def code_version() -> str:
    """The installed equigrid version (recorded in bundles and stores)."""
    try:
        return version("equigrid")
    except PackageNotFoundError:
        return "unknown"


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
    norm = {k: v.to_dict() if isinstance(v, Stats) else dict(v) for k, v in normalisation.items()}
    meta = {
        "kind": BUNDLE_KIND,
        "bundle_version": BUNDLE_VERSION,
        "variable": "t2m",
        "units": "K",
        "normalisation": norm,
        "point_aux": list(point_aux or []),
        "domain": domain if domain is not None else getattr(model, "config", {}).get("domain"),
        "code_version": code_version(),
        **(extra or {}),
    }
    validate_metadata(meta, model)
    path: Path = models.save(model, directory, metadata=meta)
    return path


def validate_metadata(meta: dict[str, Any], model: nn.Module) -> None:
    """Raise :class:`BundleError` unless ``meta`` describes a temperature model for ``model``."""
    if not isinstance(meta, dict):
        raise BundleError("bundle metadata must be a JSON object")
    if meta.get("kind") != BUNDLE_KIND or meta.get("bundle_version") != BUNDLE_VERSION:
        raise BundleError("not an equigrid model bundle (metadata.kind/bundle_version)")
    cal = meta.get("calibration") or {}
    for key, low in (("variance_scale", 0.0), ("variance_floor_k2", -1e-12)):
        v = cal.get(key) if isinstance(cal, dict) else None
        if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > low):
            raise BundleError(f"bad calibration.{key} {v!r}")
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
        raise BundleError(f"cannot load {d} on {device}: {one_line(e)}") from None
    meta = doc.get("metadata", {})
    try:
        validate_metadata(meta, model)
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
