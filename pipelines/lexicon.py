"""The one place where the names and units of ERA5/DEM files are mapped to ours.

Sources disagree on almost everything: old CDS netCDF says ``t2m``/``time``, the new CDS
says ``valid_time``, cfgrib says ``2t`` or ``t2m``, CMIP-style files say ``lat``/``lon``,
COSMO says ``HSURF``/``FR_LAND``. Everything downstream sees only our names:
``t2m``, ``orog``, ``land_fraction``, ``time``, ``latitude``, ``longitude``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import xarray as xr

from pipelines.errors import IngestError

# our name -> the names sources use for it, in order of preference
VARIABLES: dict[str, tuple[str, ...]] = {
    "t2m": ("t2m", "2t", "2m_temperature", "VAR_2T", "tas", "T_2M"),
    # surface geopotential (m2 s-2); converted to height by orography.py
    "geopotential": ("z", "geopotential", "FIS"),
    "orog": ("orog", "elevation", "HSURF", "height_above_sea_level", "topo", "hgt"),
    "land_fraction": ("land_fraction", "lsm", "FR_LAND", "sftlf", "land_sea_mask"),
}

COORDS: dict[str, tuple[str, ...]] = {
    # valid_time first: it is the time the value is valid at (cfgrib also has ``time`` = init)
    "time": ("valid_time", "time"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon"),
}

STANDARD_GRAVITY = 9.80665  # m s-2, the constant ECMWF uses for geopotential height

# unit spellings, compared after `_unit_key` (lower case, no spaces, * ^ _ removed)
UNITS: dict[str, tuple[str, ...]] = {
    "K": ("k", "kelvin", "degk", "degreesk", "degreek"),
    "degC": ("degc", "°c", "celsius", "degreescelsius", "degreecelsius", "degreesc", "c"),
    "m": ("m", "metre", "metres", "meter", "meters", "mabovesealevel", "gpm"),
    "m2 s-2": ("m2s-2", "m2/s2", "m2s**-2"),
    "1": ("1", "(0-1)", "0-1", "fraction", "", "dimensionless"),
    "%": ("%", "percent"),
}


def _unit_key(units: str) -> str:
    return "".join(units.split()).lower().replace("*", "").replace("^", "").replace("_", "")


def canonical_units(units: object) -> str | None:
    """Our spelling (a key of :data:`UNITS`) of ``units``, or None if unknown."""
    if not isinstance(units, str):
        return None
    key = _unit_key(units)
    for ours, spellings in UNITS.items():
        if key in {_unit_key(s) for s in spellings}:
            return ours
    return None


def find_variable(ds: xr.Dataset, ours: str) -> Hashable | None:
    """The name in ``ds`` of our variable ``ours`` (case-sensitive first, then not), or None."""
    names = VARIABLES[ours]
    for wanted in names:
        if wanted in ds.data_vars:
            return wanted
    lowered = {n.lower() for n in names}
    for name in ds.data_vars:
        if str(name).lower() in lowered:
            return name
    return None


def rename_coords(
    obj: xr.Dataset, keep: Iterable[str] = ("time", "latitude", "longitude")
) -> xr.Dataset:
    """Rename coordinates/dimensions to our names; a preferred source name wins.

    When a file has both (cfgrib: ``time`` = initialisation and ``valid_time``), the
    preferred one takes our name and the other is dropped.
    """
    out = obj
    for ours in keep:
        present = [n for n in COORDS[ours] if n in out.variables or n in out.dims]
        if not present:
            continue
        chosen = present[0]
        if chosen in out.variables and out[chosen].ndim > 1:
            raise IngestError(
                f"coordinate {chosen} is {out[chosen].ndim}-D (forecast steps?); "
                "only analysis/reanalysis fields are supported"
            )
        others = [n for n in present[1:] if n in out.variables and n not in out.dims]
        out = out.drop_vars(others)
        if chosen != ours:
            if ours in out.dims:  # e.g. a `time` dim indexed by a non-dim `valid_time`
                out = out.drop_vars([ours], errors="ignore").swap_dims({ours: chosen})
            out = out.rename({chosen: ours})
    return out


def names_tried(ours: str) -> str:
    """The source names we look for, for error messages."""
    return "/".join(VARIABLES[ours])
