"""Target grids: bbox and axes rules, sizes without overflow."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import GridError
from inference.targets import TargetGrid, bbox_counts, check_axes, check_bbox


def test_bbox_grid() -> None:
    g = TargetGrid.from_bbox(-3, 50, 1, 54, 0.5)
    assert g.shape == (9, 9) and g.size == 81
    np.testing.assert_allclose(g.lat[[0, -1]], [50, 54])
    la, lo = g.mesh()
    assert la.shape == lo.shape == (9, 9) and la[1, 0] == 50.5 and lo[0, 1] == -2.5
    assert bbox_counts(-180, -90, 180, 90, 1e-300)[0] > 1e300  # a float: no overflow


@pytest.mark.parametrize(
    ("bbox", "says"),
    [
        ((2, 50, 2, 58, 0.5), r"west \(2\) must be less than east"),
        ((-3, 55, 2, 50, 0.5), r"south \(55\) must be less than north"),
        ((-3, 50, 2, 55, 0), "positive"),
        ((-180, 0, 200, 10, 1), "more than 360"),
        ((-3, -95, 2, 55, 0.5), r"\[-90, 90\]"),
    ],
)
def test_bad_bbox(bbox: tuple[float, ...], says: str) -> None:
    with pytest.raises(GridError, match=says):
        check_bbox(*bbox)


def test_axes_must_increase() -> None:
    check_axes([50, 51], [0, 1])
    with pytest.raises(GridError, match=r"grid\.lat must be strictly increasing"):
        check_axes([52, 51], [0, 1])
