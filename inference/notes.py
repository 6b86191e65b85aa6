"""The notes a user needs with a prediction, in words: one rule for the service's responses
(``notes``, netCDF attributes, the map) and batch gridding's outputs (per step and overall).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .bundle import Bundle
from .predictor import Prediction
from .reach import reach_deg, uninformed
from .stations import Stations


def prediction_notes(
    bundle: Bundle,
    pred: Prediction,
    stations: Stations,
    t_lat: NDArray[np.float64],
    t_lon: NDArray[np.float64],
    grid: tuple[NDArray[np.float64], NDArray[np.float64]] | None,
    equivariant_only: bool,
    target_elevation_given: bool = False,
) -> list[str]:
    """The prediction's notes plus what a user must know about it: targets that no station
    reaches (:mod:`.reach`), targets outside every trained domain, elevations not used.

    ``grid`` gives the target axes of a grid (``t_lat``, ``t_lon`` are then its mesh)."""
    notes = list(pred.notes)
    n = pred.in_domain.size
    reach = reach_deg(bundle)
    if reach is not None:
        far = uninformed(stations.lat, stations.lon, t_lat, t_lon, grid, reach)
        k = int(far.sum())
        if k == n:
            notes.append(
                f"stations far from the targets: no station lies within the model's reach "
                f"(±{reach:.1f} deg in latitude and longitude) of any target; the field is "
                "the model's prior and the request's overall trend, not an interpolation of "
                "nearby stations"
            )
        elif k:
            notes.append(
                f"stations far from some targets: {k} of {n} targets ({100 * k / n:.0f} %) "
                f"have no station within ±{reach:.1f} deg; no nearby station informs them"
            )
    outside = int((~pred.in_domain).sum())
    if equivariant_only:
        notes.append("equivariant_only: all targets are served by the equivariant component")
    elif outside == n and bundle.domain is not None:
        (a, b), (c, d) = bundle.domain
        notes.append(
            f"the targets lie outside every trained domain (lat {a:g}..{b:g}, lon "
            f"{c:g}..{d:g}): only the model's equivariant component serves them"
        )
    elif outside:
        notes.append(
            f"{outside} of {n} targets outside the trained domain are served by the model's "
            "equivariant component"
        )
    src = pred.elevation_source
    if (
        src == "none"
        and "elevation" not in bundle.point_aux
        and (np.isfinite(stations.elevation_m).any() or target_elevation_given)
    ):
        notes.append("elevation not used: this model takes no point-wise elevation")
    elif "training mean" in src and not any("training mean" in n for n in notes):
        notes.append(
            "cell elevations were not used where no elevation was given and no DEM or model "
            "orography covers the targets: the training mean elevation stood in"
        )
    return notes
