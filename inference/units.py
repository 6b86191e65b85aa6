"""The one units module: temperature units, their conversions and every unit spelling.

- :class:`TemperatureUnit` is what users choose (``K`` or ``degC``), in the CLI (an enum in
  ``--help``), the API schema and station tables;
- :func:`to_kelvin` / :func:`from_kelvin` convert values (NumPy arrays, xarray objects, lazy
  or not, and floats) by the offset; variances are the same in both units;
- :func:`variance_units` is the one spelling of a variance's units (UDUNITS: ``K2``,
  ``degC2``) in netCDF output and JSON responses;
- :data:`PLAUSIBLE_K` is the one plausible range of near-surface air temperature
  (-90..60 degC): values outside it mean wrong units, not weather;
- :func:`canonical_units` recognises the units attributes of source files: anything that
  UDUNITS (through ``cf-units``) says equals one of ours, plus the non-UDUNITS spellings that
  real files carry (``gpm``, ``(0-1)``, ``degrees K`` ...).

Conversions are plain arithmetic rather than ``cf_units.Unit.convert``, which converts only
in-memory NumPy arrays: ours must also work on lazy (dask-backed) xarray data.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import TypeVar

import cf_units
import numpy as np
import xarray as xr
from numpy.typing import NDArray

from .errors import EquigridError

KELVIN_OFFSET = 273.15
# -90 .. +60 degC: outside this a temperature is a units mistake, not weather
PLAUSIBLE_K = (183.15, 333.15)


class TemperatureUnit(StrEnum):
    """Units of temperature values that users give and get back."""

    K = "K"
    degC = "degC"


_V = TypeVar("_V", NDArray[np.float64], xr.DataArray, float)


def temperature_unit(unit: str | TemperatureUnit) -> TemperatureUnit:
    """``unit`` as a :class:`TemperatureUnit`; anything else is an error naming the choices."""
    try:
        return TemperatureUnit(unit)
    except ValueError:
        choices = ", ".join(u.value for u in TemperatureUnit)
        raise EquigridError(f"unknown units {unit!r}; use one of {choices}") from None


def to_kelvin(values: _V, unit: str | TemperatureUnit) -> _V:
    """Temperatures in ``unit`` converted to K."""
    if temperature_unit(unit) is TemperatureUnit.degC:
        return values + KELVIN_OFFSET
    return values


def from_kelvin(values: _V, unit: str | TemperatureUnit) -> _V:
    """Temperatures in K converted to ``unit``."""
    if temperature_unit(unit) is TemperatureUnit.degC:
        return values - KELVIN_OFFSET
    return values


def variance_units(unit: str | TemperatureUnit) -> str:
    """UDUNITS spelling of the units of a temperature variance: ``K2`` or ``degC2``."""
    return f"{temperature_unit(unit).value}2"


def plausible_range(unit: str | TemperatureUnit) -> tuple[float, float]:
    """:data:`PLAUSIBLE_K` expressed in ``unit``."""
    lo, hi = PLAUSIBLE_K
    return float(from_kelvin(lo, unit)), float(from_kelvin(hi, unit))


# our spellings -> spellings seen in files that UDUNITS does not read as the same unit,
# compared after `_unit_key` (lower case; spaces, * ^ _ removed)
ALIASES: dict[str, tuple[str, ...]] = {
    "K": ("k", "kelvin", "degk", "degreesk", "degreek"),
    "degC": ("degc", "°c", "celsius", "degreescelsius", "degreecelsius", "degreesc", "c"),
    "m": ("m", "metre", "metres", "meter", "meters", "mabovesealevel", "gpm"),
    "m2 s-2": ("m2s-2", "m2/s2", "m2s**-2"),
    "1": ("1", "(0-1)", "0-1", "fraction", "", "dimensionless"),
    "%": ("%", "percent"),
}


def _unit_key(units: str) -> str:
    return "".join(units.split()).lower().replace("*", "").replace("^", "").replace("_", "")


@cache
def _udunits(text: str) -> cf_units.Unit | None:
    try:
        with cf_units.suppress_errors():  # UDUNITS would print its parse errors on stderr
            unit = cf_units.Unit(text)
    except ValueError:
        return None
    return None if unit.is_unknown() or unit.is_no_unit() else unit


def canonical_units(units: object) -> str | None:
    """Our spelling (a key of :data:`ALIASES`) of a units attribute, or None if unknown."""
    if not isinstance(units, str):
        return None
    key = _unit_key(units)
    for ours, spellings in ALIASES.items():
        if key in {_unit_key(s) for s in spellings}:
            return ours
    given = _udunits(units)
    if given is not None:
        for ours in ALIASES:
            mine = _udunits(ours)
            if mine is not None and given == mine:
                return ours
    return None
