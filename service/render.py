"""Prediction responses as bytes: JSON (orjson), CF-1.10 netCDF, an ``.npz`` of float32
arrays, and a PNG map (drawn by the one renderer, :mod:`inference.maps`).

Every format carries the same fields and the same notes (warnings): JSON in ``notes``,
netCDF in the global ``comment`` and ``equigrid_notes`` attributes, ``.npz`` as a ``notes``
array, PNG under the map.
"""

from __future__ import annotations

import io
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from inference.cf import cf_dataset, netcdf_ready
from inference.maps import GriddedMap, StationsOnMap, render_map
from inference.stations import Stations
from inference.targets import TargetGrid
from inference.units import from_kelvin

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def to_json(fields: dict[str, Any]) -> bytes:
    """``fields`` (numpy arrays included) as JSON; float64 values keep full precision."""
    return orjson.dumps(fields, option=_JSON_OPTIONS)


def _cf_time(t: datetime) -> tuple[float, dict[str, str]]:
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    attrs = {
        "standard_name": "time",
        "long_name": "valid time",
        "units": "seconds since 1970-01-01 00:00:00",
        "calendar": "standard",
        "axis": "T",
    }
    return t.timestamp(), attrs


def to_netcdf(g: dict[str, Any]) -> bytes:
    """The grid as a CF-1.10 netCDF4 file: ``tas``, ``tas_variance``, ``in_domain``.

    Encoded by :func:`inference.cf.netcdf_ready` (as batch outputs are); the notes are
    global attributes.
    """
    grid = TargetGrid.from_axes(g["lat"], g["lon"])
    model = g["model"]
    notes = list(g["notes"])
    ds = cf_dataset(
        grid,
        np.asarray(g["mean"], np.float64),
        np.asarray(g["variance"], np.float64),
        np.asarray(g["in_domain"], bool),
        g["units"],
        attrs={
            "title": "equigrid gridded near-surface air temperature",
            "institution": "equigrid service",
            "source": f"equigrid model {model['name']} {model['version']} sha256 {model['sha256']}",
            "history": f"{datetime.now(UTC).isoformat(timespec='seconds')} equigrid service, "
            f"request {g['request_id']}",
            "references": "equigrid: approximately equivariant ConvCNPs for station gridding",
            "comment": "; ".join(notes) if notes else "no warnings",
            "equigrid_notes": "\n".join(notes),
            "equigrid_elevation_source": g["elevation_source"],
            "equigrid_in_domain_fraction": float(g["in_domain_fraction"]),
        },
    )
    extra: dict[str, dict[str, Any]] = {}
    if g["time"] is not None:
        seconds, attrs = _cf_time(g["time"])
        ds = ds.assign_coords(time=((), seconds, attrs))
        for v in ("tas", "tas_variance", "in_domain"):
            ds[v].attrs["coordinates"] = "time"
        extra["time"] = {"dtype": "float64"}
    ds, encoding = netcdf_ready(ds, extra)
    fd, tmp = tempfile.mkstemp(suffix=".nc")
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)


def to_npz(g: dict[str, Any]) -> bytes:
    """The arrays as an uncompressed NumPy ``.npz``: ``mean``, ``variance`` (float32,
    ``[n_lat, n_lon]`` or ``[n_points]``), ``in_domain`` (bool), ``lat``, ``lon`` (float64)
    and the metadata as 0-d string arrays (``units``, ``variance_units``, ``model``,
    ``request_id``, ``time``) and ``notes`` (1-d); read with ``numpy.load`` (no pickle)."""
    arrays: dict[str, NDArray[Any]] = {
        "mean": np.asarray(g["mean"], np.float32),
        "variance": np.asarray(g["variance"], np.float32),
        "in_domain": np.asarray(g["in_domain"], bool),
        "lat": np.asarray(g["lat"], np.float64),
        "lon": np.asarray(g["lon"], np.float64),
        "units": np.array(g["units"]),
        "variance_units": np.array(g["variance_units"]),
        "model": np.array(f"{g['model']['name']} {g['model']['version']} {g['model']['sha256']}"),
        "request_id": np.array(g["request_id"]),
        "time": np.array("" if g["time"] is None else g["time"].isoformat()),
        "notes": np.array(list(g["notes"]), dtype=str),
    }
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)
    return buf.getvalue()


def to_png(g: dict[str, Any], stations: Stations) -> bytes:
    """Mean and standard deviation maps with the stations, coastlines and borders."""
    model = g["model"]
    m = GriddedMap(
        lat=np.asarray(g["lat"], np.float64),
        lon=np.asarray(g["lon"], np.float64),
        mean=np.asarray(g["mean"], np.float64),
        std=np.sqrt(np.asarray(g["variance"], np.float64)),
        in_domain=np.asarray(g["in_domain"], bool),
        units=g["units"],
        time=g["time"],
        stations=StationsOnMap(
            stations.lat, stations.lon, from_kelvin(stations.value_k, g["units"])
        ),
        notes=list(g["notes"]),
        title=f"equigrid {model['name']} {model['version']}",
    )
    return render_map(m)
