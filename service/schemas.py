"""Request and response schemas, one per use, with the field limits that do not depend on
settings (the per-deployment maxima are written into the OpenAPI document by
:mod:`service.openapi` and checked by :mod:`service.body` before validation).

Types are strict: JSON numbers only where numbers are expected (no ``false`` for a latitude,
no ``0`` for a boolean), strings only for strings. Rules stated here, as the API promises
them (the cross-field ones also in the request schemas' descriptions); the station rules
are those of every station source, applied by converting the request into
:func:`inference.stations.validate_stations`:

- temperatures must lie in a plausible range: -90..60 degC, i.e. 183.15..333.15 K;
- latitude in [-90, 90], longitude in [-180, 360] (both conventions; wrapped internally);
- stations at the same position (same latitude, and longitude after wrapping, to 1e-6 deg)
  must agree within 0.1 K; agreeing duplicates are averaged into one station, conflicting
  ones are refused with 422;
- grid axes must be strictly increasing; a bbox needs west < east, south < north, and
  spans at most 360 deg of longitude (:mod:`inference.targets`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from inference.errors import GridError, StationError
from inference.stations import ELEVATION_RANGE_M, Stations, validate_stations
from inference.targets import TargetGrid, bbox_counts, check_axes, check_bbox
from inference.units import to_kelvin

Units = Literal["degC", "K"]  # the values of inference.units.TemperatureUnit

Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=360, allow_inf_nan=False)]
Elevation = Annotated[
    float, Field(ge=ELEVATION_RANGE_M[0], le=ELEVATION_RANGE_M[1], allow_inf_nan=False)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Station(_Strict):
    lat: Lat
    lon: Lon
    value: float = Field(
        ge=-90,
        le=333.15,
        allow_inf_nan=False,
        description="temperature in the request's units (-90..60 degC, 183.15..333.15 K)",
    )
    elevation_m: Elevation | None = None
    id: str | None = Field(default=None, max_length=64)


class Target(_Strict):
    lat: Lat
    lon: Lon
    elevation_m: Elevation | None = None
    id: str | None = Field(default=None, max_length=64)


CROSS_FIELD_RULES = (
    "Rules across fields (refused with 422 naming the field): every station value lies in "
    "the plausible range of the request's units (-90..60 degC, 183.15..333.15 K); stations "
    "at the same position (latitude, and longitude after wrapping, to 1e-6 deg) agree within "
    "0.1 K and are averaged, else the request is refused; `time` is a real calendar instant. "
    "Limits of the deployment (refused with 413 naming the limit): the number of stations, "
    "of grid cells or points, the cells of the model's internal grid (it spans the stations "
    "and targets plus a margin) and the estimated work of the request."
)
GRID_RULES = (
    " Grid rules (422): give either `bbox` + `resolution_deg` or both `lat` and `lon` axes; "
    "a bbox has west < east, south < north and spans at most 360 deg of longitude; axes are "
    "strictly increasing; `elevation_m`, when given, has the grid's shape [lat][lon]."
)


class StationsRequest(_Strict):
    stations: list[Station] = Field(min_length=1)
    units: Units = "degC"
    time: datetime | None = Field(
        default=None, description="valid time (ISO 8601); echoed, not used"
    )
    equivariant_only: bool = Field(default=False, description="use only the equivariant component")

    _stations: Stations | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _valid_stations(self) -> StationsRequest:
        values = np.array([s.value for s in self.stations], dtype=np.float64)
        try:
            self._stations = validate_stations(
                [s.lat for s in self.stations],
                [s.lon for s in self.stations],
                to_kelvin(values, self.units),
                [np.nan if s.elevation_m is None else s.elevation_m for s in self.stations],
                units=self.units,
            )
        except StationError as e:
            raise ValueError(str(e)) from None
        return self

    def station_set(self) -> Stations:
        """The validated stations (agreeing duplicates averaged), values in K."""
        assert self._stations is not None
        return self._stations


class GridSpec(_Strict):
    """Either ``bbox`` + ``resolution_deg`` or explicit ``lat`` and ``lon`` axes."""

    bbox: tuple[Lon, Lat, Lon, Lat] | None = Field(
        default=None, description="[west, south, east, north]"
    )
    resolution_deg: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    lat: list[Lat] | None = Field(default=None, min_length=1)
    lon: list[Lon] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> GridSpec:
        try:
            if self.bbox is not None:
                if self.resolution_deg is None or self.lat is not None or self.lon is not None:
                    raise ValueError("give bbox with resolution_deg, and not lat/lon axes")
                check_bbox(*self.bbox, self.resolution_deg)
            elif self.lat is not None and self.lon is not None:
                if self.resolution_deg is not None:
                    raise ValueError("resolution_deg goes with bbox, not with lat/lon axes")
                check_axes(self.lat, self.lon)
            else:
                raise ValueError("grid needs bbox + resolution_deg, or both lat and lon")
        except GridError as e:
            raise ValueError(str(e)) from None
        return self

    def _counts(self) -> tuple[float, float]:
        if self.lat is not None and self.lon is not None:
            return float(len(self.lat)), float(len(self.lon))
        assert self.bbox is not None and self.resolution_deg is not None
        return bbox_counts(*self.bbox, self.resolution_deg)

    def num_cells(self) -> float:
        """Cells of the output grid (a float: huge requests must not overflow)."""
        n_lat, n_lon = self._counts()
        return n_lat * n_lon

    def axes(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if self.lat is not None and self.lon is not None:
            return np.asarray(self.lat, np.float64), np.asarray(self.lon, np.float64)
        assert self.bbox is not None and self.resolution_deg is not None
        grid = TargetGrid.from_bbox(*self.bbox, self.resolution_deg)
        return grid.lat, grid.lon


class GridRequest(StationsRequest):
    __doc__ = "Stations in, a gridded field out. " + CROSS_FIELD_RULES + GRID_RULES

    grid: GridSpec
    elevation_m: list[list[Elevation | None]] | None = Field(
        default=None,
        description="target cell elevations in metres, [lat][lon] in the grid's shape (null: "
        "unknown there); without it, elevations come from the service's DEM or the model",
    )

    @model_validator(mode="after")
    def _elevation_shape(self) -> GridRequest:
        if self.elevation_m is None:
            return self
        n_lat, n_lon = self.grid._counts()
        if len(self.elevation_m) != n_lat or any(len(r) != n_lon for r in self.elevation_m):
            raise ValueError(
                f"elevation_m must have the grid's shape [{n_lat:.0f}][{n_lon:.0f}] ([lat][lon])"
            )
        return self

    def elevation_array(self) -> NDArray[np.float64] | None:
        if self.elevation_m is None:
            return None
        return np.array(
            [[np.nan if v is None else v for v in row] for row in self.elevation_m], np.float64
        )


class PointsRequest(StationsRequest):
    __doc__ = "Stations in, predictions at target points out. " + CROSS_FIELD_RULES

    targets: list[Target] = Field(min_length=1)


class ModelRef(BaseModel):
    name: str
    version: str
    sha256: str


class _PredictionResponse(BaseModel):
    request_id: str
    units: Units
    variance_units: str = Field(description="the request's units squared (UDUNITS: K2, degC2)")
    in_domain_fraction: float = Field(
        description="share of targets inside the trained domain; outside it the model's "
        "equivariant component serves them"
    )
    elevation_source: str = Field(
        description="'given', or where missing elevations came from (DEM, model orography, "
        "training mean); 'none' if the model uses no point-wise elevation"
    )
    notes: list[str] = Field(
        description="warnings a user needs: stations far from the targets, targets outside "
        "every trained domain, elevations not used"
    )
    time: datetime | None
    equivariant_only: bool
    model: ModelRef
    cost_gmac: float = Field(description="the request's estimated work, 1e9 multiply-adds")
    timing_ms: dict[str, float]


class GridResponse(_PredictionResponse):
    lat: list[float]
    lon: list[float]
    mean: list[list[float]] = Field(description="[lat][lon], in the request's units")
    variance: list[list[float]] = Field(description="[lat][lon], in units squared")
    in_domain: list[list[bool]]


class PointsResponse(_PredictionResponse):
    lat: list[float]
    lon: list[float]
    id: list[str | None]
    mean: list[float]
    variance: list[float]
    in_domain: list[bool]


class ModelDescription(BaseModel):
    name: str
    version: str
    sha256: str
    device: str
    units: str = "K"
    point_aux: list[str]
    domain: list[list[float]] | None = Field(
        description="trained domain [[lat0, lat1], [lon0, lon1]]"
    )
    training: dict[str, Any] = Field(description="training provenance, incl. the data window")
    metrics: dict[str, Any] = Field(description="test metrics recorded with the bundle")
    reach_deg: float | None = Field(
        default=None,
        description="how far (deg of latitude and longitude) a station informs a target: the "
        "far-station notes' rule (inference/reach.py; also `equigrid model-info`)",
    )


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    model: str | None = None
    detail: str | None = None
