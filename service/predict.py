"""From a validated request to a prediction: admission, content negotiation, the model call,
the warnings users need and the response fields every prediction endpoint shares."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from starlette.concurrency import run_in_threadpool

from inference.notes import prediction_notes
from inference.predictor import Prediction
from inference.query import Query
from inference.stations import Stations
from inference.units import from_kelvin, variance_units

from .errors import NotAcceptable, TooLarge
from .schemas import StationsRequest
from .state import Ready

JSON, NETCDF, PNG, NPZ = (
    "application/json",
    "application/x-netcdf",
    "image/png",
    "application/x-npz",
)


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


@dataclass
class Outcome:
    prediction: Prediction
    notes: list[str]
    model_ms: float
    cost_gmac: float


def admit(ready: Ready, query: Query) -> float:
    """The query's estimated work in 1e9 multiply-adds; 413 over a configured limit.

    Runs in a worker thread: it touches the model's device (window computation)."""
    s = ready.settings
    macs, cells = ready.predictor.cost(query)
    if cells > s.max_internal_cells:
        raise TooLarge(
            ("body",),
            f"stations and targets span too large an area: the model's internal grid would "
            f"have {cells} cells (at most {s.max_internal_cells}, max_internal_cells); "
            "split the request",
        )
    gmac = macs / 1e9
    if gmac > s.max_cost_gmac:
        raise TooLarge(
            ("body",),
            f"the request would cost about {gmac:.1f}e9 multiply-adds (at most "
            f"{s.max_cost_gmac:g}e9, max_cost_gmac); split the grid or coarsen it",
        )
    return gmac


async def run(
    ready: Ready,
    stations: Stations,
    target_lat: NDArray[np.float64],
    target_lon: NDArray[np.float64],
    target_elevation: NDArray[np.float64] | None,
    equivariant_only: bool,
    grid: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> Outcome:
    """Admit, queue and run one prediction (K); ``grid`` gives the target axes of a grid.

    Target elevations not given come from the service's DEMs where they cover the targets."""

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
    gmac = await run_in_threadpool(admit, ready, query)  # before any work
    dem_note = None
    uses_elevation = bool(ready.bundle.point_aux)
    if ready.dems and uses_elevation:
        filled = await run_in_threadpool(ready.dems.fill, target_lat, target_lon, target_elevation)
        target_elevation = filled.elevation
        dem_note = ready.dems.note(filled, int(np.size(target_lat)), uses_elevation)
    start = time.perf_counter()
    pred = await ready.scheduler.submit(query.with_target_elevation(target_elevation), gmac)
    model_ms = 1000 * (time.perf_counter() - start)
    # the DEMs' note only where elevation was used (not when the stations had none)
    notes = [dem_note] if dem_note and pred.elevation_source != "none" else []
    notes += await run_in_threadpool(
        prediction_notes,
        ready.bundle,
        pred,
        stations,
        target_lat,
        target_lon,
        grid,
        equivariant_only,
        target_elevation is not None and bool(np.isfinite(target_elevation).any()),
    )
    return Outcome(pred, notes, model_ms, gmac)


def prediction_fields(
    ready: Ready, out: Outcome, body: StationsRequest, request_id: str
) -> dict[str, Any]:
    """The fields every prediction response shares (see ``_PredictionResponse``), with
    mean (in the request's units; the variance is the same in K^2 and degC^2), variance
    and in-domain flags as arrays in the targets' shape. Timing is left to the caller."""
    pred, b = out.prediction, ready.bundle
    return {
        "request_id": request_id,
        "units": body.units,
        "variance_units": variance_units(body.units),
        "in_domain_fraction": float(pred.in_domain.mean()),
        "elevation_source": pred.elevation_source,
        "notes": out.notes,
        "time": body.time,
        "equivariant_only": body.equivariant_only,
        "model": {"name": b.name, "version": b.version, "sha256": b.sha256},
        "mean": from_kelvin(pred.mean, body.units),
        "variance": pred.variance,
        "in_domain": pred.in_domain,
        "cost_gmac": round(out.cost_gmac, 4),
    }


def timing(start: float, **parts: float) -> dict[str, float]:
    return {**{k: round(v, 2) for k, v in parts.items()}, "total": round(_ms(start), 2)}


def _ms(start: float) -> float:
    return 1000 * (time.perf_counter() - start)
