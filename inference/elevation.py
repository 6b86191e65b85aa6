"""Elevation handling for a bundle's point-wise elevation input.

Two policies, by the kind of model:

- anomaly models (the shipped default, :func:`elevation_policy`): elevations are physical
  inputs in metres, relative to the request; nothing is ever filled in next to given values;
- older normalised models (:func:`fill_elevation`): where a query gives no elevation
  (``None`` or NaN), it is taken from the model's own orography raster, else the training
  mean elevation; the source is reported (``"given"``, ``"model orography"``,
  ``"training mean"`` or a mix).
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


def elevation_policy(
    station_elevation: ArrayLike | None,
    target_elevation: ArrayLike | None,
    n_stations: int,
    n_targets: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], str, list[str]]:
    """Elevations (m) for an anomaly model, the elevation source and notes.

    - Every station has an elevation: they are used; a target without one (NaN) is passed
      as NaN, and the model predicts it at the stations' mean elevation with the spread of
      the station elevations (times the fitted lapse rate) added to its variance.
    - Some or all stations lack one: no elevation is used for the request (every point is
      seen at one height); nothing is filled in next to given values.
    """

    def arr(a: ArrayLike | None, n: int) -> NDArray[np.float64]:
        e = np.full(n, np.nan) if a is None else np.asarray(a, np.float64).ravel()
        if e.shape != (n,):
            raise EquigridError("elevation must have one value per point")
        return e

    ec, et = arr(station_elevation, n_stations), arr(target_elevation, n_targets)
    missing_c = int((~np.isfinite(ec)).sum())
    if missing_c:
        note = (
            "no station has an elevation: elevation was not used"
            if missing_c == n_stations
            else f"{missing_c} of {n_stations} stations have no elevation: elevation was not "
            "used for this request (give it for every station or for none)"
        )
        return np.zeros(n_stations), np.zeros(n_targets), "none", [note]
    missing_t = int((~np.isfinite(et)).sum())
    if not missing_t:
        return ec, et, "given", []
    note = (
        f"{missing_t} of {n_targets} targets have no elevation: predicted at the stations' "
        f"mean elevation ({float(np.mean(ec)):.0f} m), with the spread of the station "
        "elevations times the fitted lapse rate added to the variance"
    )
    return ec, np.where(np.isfinite(et), et, np.nan), "given, stations' mean elevation", [note]


Axes = tuple[NDArray[np.float64], NDArray[np.float64]]


def model_elevations(
    bundle: Bundle,
    stations: Axes,
    targets: Axes,
    given: tuple[ArrayLike | None, ArrayLike | None],
    grid: Axes | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], str, list[str]]:
    """The model's elevation inputs at stations and targets ((lat, lon) each), the source
    and notes: in m by :func:`elevation_policy` for anomaly models, else filled
    (:func:`fill_elevation`) and normalised with the bundle's statistics."""
    if bundle.anomalies:
        return elevation_policy(given[0], given[1], len(stations[0]), len(targets[0]))
    (c_elev, src_c), (t_elev, src_t) = (
        fill_elevation(bundle, *stations, given[0]),
        fill_elevation(bundle, *targets, given[1], grid),
    )
    parts = {p for src in (src_c, src_t) for p in src.split(", ")}
    notes = []
    if parts != {"given"}:
        filled = ", ".join(sorted(parts - {"given"}))
        notes.append(f"elevation not given everywhere; filled from {filled}")
    e = bundle.normalisation["elevation"]
    return e.normalise(c_elev), e.normalise(t_elev), ", ".join(sorted(parts)), notes
