"""CF-1.10 description of one gridded prediction, shared by batch gridding and the API.

:func:`coordinate_attrs` and :func:`variable_attrs` are the attributes of ``lat``, ``lon``,
``tas``, ``tas_variance`` and ``in_domain``; :func:`cf_dataset` assembles one prediction on a
:class:`~inference.targets.TargetGrid` as an ``xarray.Dataset``. :func:`netcdf_ready` is the
one netCDF encoding of our outputs (the service's netCDF response and the batch writer):
no ``_FillValue`` on coordinates (CF 2.5.1), ``flag_values`` in the flagged variable's
type (CF 3.5; a Zarr round trip turns them into int64), data variables compressed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from .targets import TargetGrid
from .units import TemperatureUnit, temperature_unit, variance_units

CONVENTIONS = "CF-1.10"


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


def variable_attrs(units: str | TemperatureUnit) -> dict[str, dict[str, Any]]:
    """CF attributes of the output variables ``tas``, ``tas_variance`` and ``in_domain``."""
    unit = temperature_unit(units)
    return {
        "tas": {
            "standard_name": "air_temperature",
            "long_name": "near-surface air temperature (predictive mean)",
            "units": unit.value,
        },
        "tas_variance": {
            "long_name": "predictive variance of near-surface air temperature",
            "units": variance_units(unit),
        },
        "in_domain": {
            "long_name": "cell lies in the model's trained domain (fixed inputs active)",
            "flag_values": np.array([0, 1], dtype=np.int8),
            "flag_meanings": "equivariant_component full_model",
        },
    }


def netcdf_ready(
    ds: xr.Dataset, extra: dict[str, dict[str, Any]] | None = None
) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """``ds`` with CF-conformant flags and the encoding to write it with ``to_netcdf``.

    ``extra`` is merged into the encoding of each variable it names (chunk sizes, dtypes).
    """
    ds = ds.copy()
    for name in ds.data_vars:
        flags = ds[name].attrs.get("flag_values")
        if flags is not None:
            ds[name].attrs["flag_values"] = np.asarray(flags).astype(ds[name].dtype)
    encoding: dict[str, dict[str, Any]] = {str(c): {"_FillValue": None} for c in ds.coords}
    for name, v in ds.data_vars.items():
        if v.dtype.kind in "fiu":
            encoding[str(name)] = {"zlib": True, "complevel": 4}
    for name, e in (extra or {}).items():
        encoding[name] = encoding.get(name, {}) | e
    return ds, encoding


def cf_dataset(
    grid: TargetGrid,
    mean: NDArray[np.float64],
    variance: NDArray[np.float64],
    in_domain: NDArray[np.bool_],
    units: str | TemperatureUnit,
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
        attrs={"Conventions": CONVENTIONS, **(attrs or {})},
    )
