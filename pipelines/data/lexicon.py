"""The one place where the variable names of ERA5/DEM files are mapped to ours.

Sources disagree on almost everything: old CDS netCDF says ``t2m``/``time``, the new CDS
says ``valid_time``, cfgrib says ``2t`` or ``t2m``, CMIP-style files say ``lat``/``lon``,
COSMO says ``HSURF``/``FR_LAND``. Everything downstream sees only our names:
``t2m``, ``orog``, ``land_fraction``, ``time``, ``latitude``, ``longitude``. Coordinate
names are in :mod:`inference.coords`, height names in :mod:`inference.dem` (the inference
core reads DEMs too), unit spellings in :mod:`inference.units`.
"""

from __future__ import annotations

from collections.abc import Hashable

import xarray as xr

from inference.coords import find_name
from inference.dem import GEOPOTENTIAL_NAMES, HEIGHT_NAMES

# our name -> the names sources use for it, in order of preference
VARIABLES: dict[str, tuple[str, ...]] = {
    "t2m": ("t2m", "2t", "2m_temperature", "VAR_2T", "tas", "T_2M"),
    "geopotential": GEOPOTENTIAL_NAMES,
    "orog": HEIGHT_NAMES,
    "land_fraction": ("land_fraction", "lsm", "FR_LAND", "sftlf", "land_sea_mask"),
}


def find_variable(ds: xr.Dataset, ours: str) -> Hashable | None:
    """The name in ``ds`` of our variable ``ours`` (case-sensitive first, then not), or None."""
    return find_name(ds, VARIABLES[ours])


def names_tried(ours: str) -> str:
    """The source names we look for, for error messages."""
    return "/".join(VARIABLES[ours])
