"""Coordinates: longitude wrapping and ranges."""

from __future__ import annotations

import numpy as np
import pytest

from inference.coords import lat_ok, lon_ok, longitude_frame, wrap_into, wrap_longitude


def test_wrap_longitude() -> None:
    np.testing.assert_allclose(
        wrap_longitude(np.array([0, 359.75, 180, -180, 2])), [0, -0.25, -180, -180, 2]
    )


def test_ranges_accept_both_longitude_conventions() -> None:
    assert lat_ok([-90, 0, 90]).all() and not lat_ok([90.5]).any()
    assert lon_ok([-180, 0, 359.9, 360]).all() and not lon_ok([-180.1, 360.5]).any()


def test_longitude_frame_keeps_targets_contiguous() -> None:

    assert longitude_frame([-10.0, 0.0, 2.0]) == -180.0  # the usual frame
    assert longitude_frame(np.arange(-180.0, 180.0, 0.5)) == -180.0  # global: no better seam
    pacific = np.arange(170.0, 195.01, 0.25)  # 170 E .. 165 W
    west = longitude_frame(pacific)
    framed = wrap_into(pacific, west)
    assert (np.diff(framed) > 0).all() and framed[0] == 170.0 and framed[-1] == 195.0
    assert wrap_into([-171.8], west)[0] == pytest.approx(188.2)
