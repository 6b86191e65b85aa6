"""Request and response schemas, one per use, with the field limits that do not depend on
settings (the per-deployment maxima are checked in :mod:`service.predict`).

Rules stated here, as the API promises them; the station rules are those of every station
source, applied by converting the request into :func:`inference.stations.validate_stations`:

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
from inference.stations import Stations, validate_stations
from inference.targets import TargetGrid, bbox_counts, check_axes, check_bbox
from inference.units import to_kelvin

Units = Literal["degC", "K"]  # the values of inference.units.TemperatureUnit

Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=360, allow_inf_nan=False)]
Elevation = Annotated[float, Field(ge=-500, le=9000, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Station(_Strict):
    lat: Lat
    lon: Lon
    value: float = Field(allow_inf_nan=False, description="temperature in the request's units")
    elevation_m: Elevation | None = None
    id: str | None = Field(default=None, max_length=64)


class Target(_Strict):
    lat: Lat
    lon: Lon
    elevation_m: Elevation | None = None
    id: str | None = Field(default=None, max_length=64)


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
    grid: GridSpec


class PointsRequest(StationsRequest):
    targets: list[Target] = Field(min_length=1)


class ModelRef(BaseModel):
    name: str
    version: str
    sha256: str


class _PredictionResponse(BaseModel):
    request_id: str
    units: Units
    variance_units: str = Field(description="the request's units squared")
    in_domain_fraction: float = Field(
        description="share of targets inside the trained domain; outside it the model's "
        "equivariant component serves them"
    )
    elevation_source: str = Field(
        description="'given', or where missing elevations came from (model orography, "
        "training mean); 'none' if the model uses no point-wise elevation"
    )
    notes: list[str]
    time: datetime | None
    equivariant_only: bool
    model: ModelRef
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


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    model: str | None = None
    detail: str | None = None
