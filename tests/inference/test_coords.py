"""Coordinates: longitude wrapping and ranges."""

from __future__ import annotations

import numpy as np

from inference.coords import lat_ok, lon_ok, wrap_longitude


def test_wrap_longitude() -> None:
    np.testing.assert_allclose(
        wrap_longitude(np.array([0, 359.75, 180, -180, 2])), [0, -0.25, -180, -180, 2]
    )


def test_ranges_accept_both_longitude_conventions() -> None:
    assert lat_ok([-90, 0, 90]).all() and not lat_ok([90.5]).any()
    assert lon_ok([-180, 0, 359.9, 360]).all() and not lon_ok([-180.1, 360.5]).any()
