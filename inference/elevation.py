"""Elevation filling for a bundle's point-wise elevation input.

Where a query gives no elevation (``None`` or NaN), it is taken from the model's own
orography raster, else the training mean elevation; the source is reported so responses can
say what was done (``"given"``, ``"model orography"``, ``"training mean"`` or a mix).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .bundle import Bundle
from .errors import EquigridError


def fill_elevation(
    bundle: Bundle,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    given: ArrayLike | None,
    grid: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> tuple[NDArray[np.float64], str]:
    """Elevations (m) at points, missing ones filled, and where they came from.

    ``grid``: the points' (lat, lon) axes when they form a rectilinear grid (row-major):
    the model's orography is then read separably."""
    elev = np.full(lat.shape, np.nan) if given is None else np.asarray(given, np.float64).ravel()
    if elev.shape != lat.shape:
        raise EquigridError("elevation must have one value per point")
    missing = ~np.isfinite(elev)
    if not missing.any():
        return elev, "given"
    src = "model orography"
    elev = elev.copy()
    if grid is not None:
        elev[missing] = bundle.model_elevation(*grid, grid=True).ravel()[missing]
    else:
        elev[missing] = bundle.model_elevation(lat[missing], lon[missing])
    still = ~np.isfinite(elev)
    if still.any():
        elev[still] = bundle.normalisation["elevation"].mean
        src = "training mean" if still.all() and missing.all() else "model orography, training mean"
    if not missing.all():
        src = "given, " + src
    return elev, src
