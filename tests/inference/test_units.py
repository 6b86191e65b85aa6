"""The one units module: conversions, spellings, and UDUNITS validity of what we write."""

from __future__ import annotations

import cf_units
import numpy as np
import pytest
import xarray as xr

from inference.cf import coordinate_attrs, variable_attrs
from inference.errors import EquigridError
from inference.units import (
    PLAUSIBLE_K,
    TemperatureUnit,
    canonical_units,
    from_kelvin,
    plausible_range,
    to_kelvin,
    variance_units,
)


def test_conversions_work_on_arrays_xarray_and_floats() -> None:
    np.testing.assert_allclose(to_kelvin(np.array([0.0, -273.15]), "degC"), [273.15, 0.0])
    assert from_kelvin(273.15, TemperatureUnit.degC) == 0.0 and to_kelvin(5.0, "K") == 5.0
    da = xr.DataArray(np.array([10.0]), dims="x").chunk()
    assert float(to_kelvin(da, "degC").compute()[0]) == pytest.approx(283.15)
    with pytest.raises(EquigridError, match="use one of K, degC"):
        to_kelvin(1.0, "F")


def test_one_plausible_range_in_every_unit() -> None:
    assert PLAUSIBLE_K == (183.15, 333.15)
    assert plausible_range("degC") == pytest.approx((-90.0, 60.0))


def _is_udunits(text: str) -> bool:
    """Whether UDUNITS reads ``text`` as a unit (the CF conventions' test)."""
    try:
        cf_units.Unit(text)
    except ValueError:
        return False
    return True


def test_our_spellings_are_udunits() -> None:
    """Every unit string equigrid writes is one UDUNITS (the CF conventions) reads."""
    written = [variance_units(u) for u in TemperatureUnit] + [u.value for u in TemperatureUnit]
    written += [a["units"] for a in coordinate_attrs().values()]
    written += [v["units"] for v in variable_attrs("degC").values() if "units" in v]
    assert variance_units("degC") == "degC2" and variance_units("K") == "K2"
    assert all(_is_udunits(u) for u in written), written
    assert not _is_udunits("degrees of warmth")


@pytest.mark.parametrize(
    ("given", "ours"),
    [
        ("K", "K"),
        ("kelvin", "K"),
        ("degrees K", "K"),
        ("degC", "degC"),
        ("degrees_Celsius", "degC"),  # through UDUNITS
        ("°C", "degC"),
        ("C", "degC"),  # UDUNITS reads coulomb; in a temperature file it is Celsius
        ("m", "m"),
        ("gpm", "m"),
        ("m**2 s**-2", "m2 s-2"),
        ("m^2/s^2", "m2 s-2"),  # through UDUNITS
        ("(0-1)", "1"),
        ("percent", "%"),
        ("degF", None),
        ("ft", None),
        (None, None),
    ],
)
def test_source_spellings(given: object, ours: str | None) -> None:
    assert canonical_units(given) == ours
