"""Regenerate the service map screenshots in ``docs/images/`` (a script, not a test).

Each map is what ``POST /v1/grid`` with ``Accept: image/png`` returns from the shipped default
model, with a DEM of ``../shared/data`` configured as the service's DEM, for one hour of a real
station network (South Tyrol, the North American SAO file) and, for the UK, ERA5 2 m
temperature cells of a test-week hour used as stations at their cells' orography (no UK
station network is in the data).

    python docs/render_maps.py --data ../shared/data

The service runs in-process (the app factory and Starlette's test client); nothing listens on
a port. Station values are read with the data layer's station-table reader, as batch gridding
reads them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from inference.dem import read_dem, resample
from pipelines.data.era5 import read_t2m
from pipelines.data.station_files import read_table
from service.app import create_app
from service.settings import Settings

IMAGES = Path(__file__).resolve().parent / "images"


def _stations_at(path: Path, hour: str) -> list[dict[str, object]]:
    """The stations of ``path`` at ``hour`` as API station objects (values in degC)."""
    table = read_table(path)
    assert table.time is not None
    rows = np.flatnonzero(table.time == np.datetime64(hour, "ns"))
    if rows.size == 0:
        raise SystemExit(f"error: {path.name} has no observations at {hour}")
    return [
        {
            "lat": float(table.lat[i]),
            "lon": float(table.lon[i]),
            "value": float(table.value_k[i]) - 273.15,
            "elevation_m": None if np.isnan(table.elevation_m[i]) else float(table.elevation_m[i]),
        }
        for i in rows
    ]


def _era5_stations(
    path: Path, orography: Path, hour: str, count: int, seed: int
) -> list[dict[str, object]]:
    """``count`` random ERA5 cells (land or sea) of ``hour`` as stations (degC), each at its
    cell's orography (the ERA5 grid's, ``orography``)."""
    field = read_t2m(path).sel(time=np.datetime64(hour, "ns"))
    values = field.values
    lats, lons = field["latitude"].values, field["longitude"].values
    heights = resample(read_dem(orography), lats, lons, "ERA5 cells").values
    rng = np.random.default_rng(seed)
    flat = rng.choice(values.size, size=count, replace=False)
    i, j = np.unravel_index(flat, values.shape)
    return [
        {
            "lat": float(lats[a]),
            "lon": float(lons[b]),
            "value": float(values[a, b]) - 273.15,
            "elevation_m": float(heights[a, b]),
        }
        for a, b in zip(i, j, strict=True)
    ]


def _render(dem: Path, body: dict[str, object], out: Path) -> None:
    app = create_app(Settings(dem=dem))
    with TestClient(app) as client:
        r = client.post("/v1/grid", json=body, headers={"Accept": "image/png"})
    if r.status_code != 200:
        raise SystemExit(f"error: {out.name}: HTTP {r.status_code}: {r.text[:300]}")
    out.write_bytes(r.content)
    print(f"wrote {out}")


def main() -> None:
    """Render the three maps from the data folder given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=IMAGES)
    args = parser.parse_args()
    data: Path = args.data
    if not data.is_dir():
        raise SystemExit(f"error: no data folder at {data}")
    args.out.mkdir(parents=True, exist_ok=True)
    hour = "2021-01-01T12:00"
    _render(
        data / "orog_alps_0p1.nc",
        {
            "stations": _stations_at(data / "stations_suedtirol_2021-01-01_hourly.csv", hour),
            "time": hour,
            "grid": {"bbox": [10.3, 46.2, 12.6, 47.2], "resolution_deg": 0.02},
        },
        args.out / "service_map_alps.png",
    )
    hour = "1995-03-18T18:00"
    _render(
        data / "dem_conus_prism_2p5arcmin.nc",
        {
            "stations": _stations_at(
                data / "stations_sao_northamerica_1995-03-18_hourly.csv", hour
            ),
            "time": hour,
            "grid": {"bbox": [-125.0, 24.5, -66.5, 49.5], "resolution_deg": 0.25},
        },
        args.out / "service_map_us.png",
    )
    hour = "2019-03-27T12:00"
    _render(
        data / "orog_uk_0p1.nc",
        {
            "stations": _era5_stations(
                data / "era5_t2m_uk_2019-03_hourly.nc",
                data / "orog_uk_era5grid_0p25.nc",
                hour,
                200,
                0,
            ),
            "time": hour,
            "grid": {"bbox": [-10.0, 50.0, 2.0, 58.0], "resolution_deg": 0.05},
        },
        args.out / "service_map_uk.png",
    )


if __name__ == "__main__":
    main()
