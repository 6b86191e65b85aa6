"""From a validated request to a prediction: limits, content negotiation, the model call,
and the response fields every prediction endpoint shares."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from inference.predictor import Prediction, Query
from inference.stations import Stations
from inference.units import from_kelvin, variance_units

from .errors import InvalidRequest, NotAcceptable
from .schemas import ModelRef, StationsRequest
from .state import Ready

JSON, NETCDF, PNG = "application/json", "application/x-netcdf", "image/png"


def negotiate(accept: str | None, offered: list[str]) -> str:
    """The best of ``offered`` (first is the default) for an ``Accept`` header; 406 if none.

    Honours q-values and ``type/*`` / ``*/*`` wildcards.
    """
    if not accept or not accept.strip():
        return offered[0]
    ranges: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((q, -i, media.lower()))
    for q, _, media in sorted(ranges, reverse=True):
        if q <= 0:
            continue
        for o in offered:
            if media in (o, "*/*") or (media.endswith("/*") and o.startswith(media[:-1])):
                return o
    raise NotAcceptable(f"cannot produce {accept!r}; available: {', '.join(offered)}")


def check_counts(ready: Ready, n_stations: int, n_targets: float, targets_loc: str) -> None:
    s = ready.settings
    if n_stations > s.max_stations:
        raise InvalidRequest(
            ("body", "stations"), f"{n_stations} stations; at most {s.max_stations} allowed"
        )
    if n_targets > s.max_grid_cells:
        raise InvalidRequest(
            ("body", targets_loc),
            f"{n_targets:.0f} {targets_loc} cells/points; at most {s.max_grid_cells} allowed",
        )


async def run(
    ready: Ready,
    stations: Stations,
    target_lat: NDArray[np.float64],
    target_lon: NDArray[np.float64],
    target_elevation: NDArray[np.float64] | None,
    equivariant_only: bool,
) -> tuple[Prediction, float]:
    """The prediction (K) and the milliseconds spent queued and in the model."""
    query = Query(
        stations.lat,
        stations.lon,
        stations.value_k,
        target_lat,
        target_lon,
        station_elevation=stations.elevation_m,
        target_elevation=target_elevation,
        equivariant_only=equivariant_only,
    )
    cells, limit = ready.predictor.grid_cells(query), ready.settings.max_internal_cells
    if cells > limit:
        raise InvalidRequest(
            ("body",),
            f"stations and targets span too large an area: the model's internal grid would "
            f"have {cells} cells (at most {limit}); split the request",
        )
    start = time.perf_counter()
    pred = await ready.batcher.submit(query)
    return pred, 1000 * (time.perf_counter() - start)


def prediction_fields(
    ready: Ready, pred: Prediction, body: StationsRequest, request_id: str
) -> dict[str, Any]:
    """The fields every prediction response shares (see ``_PredictionResponse``), with
    mean (in the request's units; the variance is the same in K^2 and degC^2), variance
    and in-domain flags in the targets' shape. Timing is left to the caller."""
    notes = list(pred.notes)
    outside = int((~pred.in_domain).sum())
    if outside:
        where = "" if body.equivariant_only else " outside the trained domain"
        notes.append(
            f"{outside} of {pred.in_domain.size} targets{where} are served by the model's "
            "equivariant component"
        )
    b = ready.bundle
    return {
        "request_id": request_id,
        "units": body.units,
        "variance_units": variance_units(body.units),
        "in_domain_fraction": float(pred.in_domain.mean()),
        "elevation_source": pred.elevation_source,
        "notes": notes,
        "time": body.time,
        "equivariant_only": body.equivariant_only,
        "model": ModelRef(name=b.name, version=b.version, sha256=b.sha256),
        "mean": from_kelvin(pred.mean, body.units).tolist(),
        "variance": pred.variance.tolist(),
        "in_domain": pred.in_domain.tolist(),
    }
