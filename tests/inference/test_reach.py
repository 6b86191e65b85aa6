"""Which targets no station reaches: on grids and points, and across the antimeridian."""

from __future__ import annotations

import numpy as np

from inference.reach import uninformed


def test_stations_reach_targets_across_the_antimeridian() -> None:
    lat, lon = np.arange(-20.0, -10.0, 1.0), np.arange(176.0, 192.0, 1.0)  # 176 E .. 168 W
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    s_lat, s_lon = np.array([-13.8]), np.array([-178.8])  # given in -180..180: 181.2 here
    on_grid = uninformed(s_lat, s_lon, la.ravel(), lo.ravel(), (lat, lon), reach=5.0)
    as_points = uninformed(s_lat, s_lon, la.ravel(), lo.ravel(), None, reach=5.0)
    np.testing.assert_array_equal(on_grid, as_points)
    near = (la >= -18.8) & (lo >= 176.2) & (lo <= 186.2)  # within 5 deg of 181.2 E
    np.testing.assert_array_equal(~on_grid.reshape(la.shape), near)
    far = uninformed(np.array([-13.8]), np.array([10.0]), la.ravel(), lo.ravel(), (lat, lon), 5.0)
    assert far.all()
