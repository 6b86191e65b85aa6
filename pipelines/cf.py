"""Target grids and CF-1.10 output of gridded predictions, shared by batch jobs and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

UNITS = {"K": ("K", "K2"), "degC": ("degC", "degC2")}
KELVIN_OFFSET = 273.15


class GridError(ValueError):
    """A target grid specification is invalid."""


def bbox_counts(
    west: float, south: float, east: float, north: float, resolution: float
) -> tuple[float, float]:
    """Rows and columns of a bbox grid, as floats so huge requests cannot overflow."""
    return (
        float(np.floor((north - south) / resolution + 1e-9) + 1),
        float(np.floor((east - west) / resolution + 1e-9) + 1),
    )


@dataclass(frozen=True)
class GridSpec:
    """A regular or irregular lat/lon target grid (both ascending, degrees)."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.lat), len(self.lon)

    @property
    def size(self) -> int:
        return len(self.lat) * len(self.lon)

    def mesh(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(lat, lon)`` arrays of shape ``[n_lat, n_lon]``."""
        la, lo = np.meshgrid(self.lat, self.lon, indexing="ij")
        return la, lo

    @classmethod
    def from_bbox(
        cls, west: float, south: float, east: float, north: float, resolution: float
    ) -> GridSpec:
        if not all(np.isfinite([west, south, east, north, resolution])):
            raise GridError("bbox and resolution must be finite")
        if resolution <= 0:
            raise GridError("resolution_deg must be positive")
        if west >= east:
            raise GridError("bbox west must be less than east")
        if south >= north:
            raise GridError("bbox south must be less than north")
        if south < -90 or north > 90:
            raise GridError("bbox latitudes must lie in [-90, 90]")
        n_lat, n_lon = (int(n) for n in bbox_counts(west, south, east, north, resolution))
        lat = np.round(south + resolution * np.arange(n_lat, dtype=np.float64), 9)
        lon = np.round(west + resolution * np.arange(n_lon, dtype=np.float64), 9)
        return cls(lat, lon)

    @classmethod
    def from_axes(cls, lat: Any, lon: Any) -> GridSpec:
        la, lo = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        if la.ndim != 1 or lo.ndim != 1 or la.size == 0 or lo.size == 0:
            raise GridError("grid lat and lon must be non-empty lists")
        if not (np.isfinite(la).all() and np.isfinite(lo).all()):
            raise GridError("grid lat and lon must be finite")
        if (np.abs(la) > 90).any():
            raise GridError("grid lat must lie in [-90, 90]")
        return cls(la, lo)


def from_kelvin(values_k: NDArray[np.float64], units: str) -> NDArray[np.float64]:
    return values_k - KELVIN_OFFSET if units == "degC" else values_k


def to_kelvin(values: NDArray[np.float64], units: str) -> NDArray[np.float64]:
    if units not in UNITS:
        raise ValueError(f"unknown units {units!r}; use one of {sorted(UNITS)}")
    return values + KELVIN_OFFSET if units == "degC" else values


def coordinate_attrs() -> dict[str, dict[str, str]]:
    return {
        "lat": {
            "standard_name": "latitude",
            "long_name": "latitude",
            "units": "degrees_north",
            "axis": "Y",
        },
        "lon": {
            "standard_name": "longitude",
            "long_name": "longitude",
            "units": "degrees_east",
            "axis": "X",
        },
    }


def variable_attrs(units: str) -> dict[str, dict[str, Any]]:
    """CF attributes of the output variables ``tas``, ``tas_variance`` and ``in_domain``."""
    unit, var_unit = UNITS[units]
    return {
        "tas": {
            "standard_name": "air_temperature",
            "long_name": "near-surface air temperature (predictive mean)",
            "units": unit,
        },
        "tas_variance": {
            "long_name": "predictive variance of near-surface air temperature",
            "units": var_unit,
        },
        "in_domain": {
            "long_name": "cell lies in the model's trained domain (fixed inputs active)",
            "flag_values": np.array([0, 1], dtype=np.int8),
            "flag_meanings": "equivariant_component full_model",
        },
    }


def cf_dataset(
    grid: GridSpec,
    mean: NDArray[np.float64],
    variance: NDArray[np.float64],
    in_domain: NDArray[np.bool_],
    units: str,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """One gridded prediction (``[n_lat, n_lon]`` arrays in ``units``) as a CF-1.10 dataset."""
    va, c, dims = variable_attrs(units), coordinate_attrs(), ("lat", "lon")
    return xr.Dataset(
        {
            "tas": (dims, mean.astype(np.float32), va["tas"]),
            "tas_variance": (dims, variance.astype(np.float32), va["tas_variance"]),
            "in_domain": (dims, in_domain.astype(np.int8), va["in_domain"]),
        },
        coords={"lat": ("lat", grid.lat, c["lat"]), "lon": ("lon", grid.lon, c["lon"])},
        attrs={"Conventions": "CF-1.10", **(attrs or {})},
    )
