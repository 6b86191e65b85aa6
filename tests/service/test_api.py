"""In-process API tests against ``create_app(settings)`` with a small trained bundle."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import xarray as xr
from fastapi import FastAPI
from fastapi.testclient import TestClient
from matplotlib import image

from inference.errors import BundleError
from service.app import create_app
from service.settings import Settings
from tests.conftest import cf_compliance
from tests.service.conftest import make_client

STATIONS = [
    {"lat": 51.48, "lon": -0.45, "value": 8.2, "elevation_m": 25, "id": "EGLL"},
    {"lat": 55.95, "lon": -3.36, "value": 6.1, "elevation_m": 41, "id": "EGPH"},
    {"lat": 53.35, "lon": -2.27, "value": 7.4, "id": "EGCC"},
    {"lat": 54.0, "lon": -6.0, "value": 7.0},
]
GRID = {"bbox": [-4.0, 52.0, 0.0, 55.0], "resolution_deg": 0.5}
BODY = {"stations": STATIONS, "units": "degC", "grid": GRID}


def grid(client: TestClient, **changes: object) -> httpx.Response:
    return client.post("/v1/grid", json=BODY | changes)


def test_health_ready_and_model(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    info = client.get("/v1/model").json()
    assert info["name"] == "aeconvcnp" and len(info["sha256"]) == 64
    assert info["domain"] == [[50.0, 58.0], [-10.0, 2.0]]
    assert info["training"]["window"] == ["2019-03-01T00:00", "2019-03-02T21:00"]
    assert info["metrics"]["train_nll_last"] < info["metrics"]["train_nll_first"]
    assert info["reach_deg"] > 0  # the far-station notes' reach; the docs point here for it
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/v1/grid", "/v1/points"}
    assert client.get("/docs").status_code == 200


def test_grid_json(client: TestClient) -> None:
    r = grid(client, time="2019-03-27T12:00:00Z")
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["request_id"] == r.headers["x-request-id"]
    assert g["lat"] == [52.0, 52.5, 53.0, 53.5, 54.0, 54.5, 55.0] and len(g["lon"]) == 9
    mean, var = np.array(g["mean"]), np.array(g["variance"])
    assert mean.shape == var.shape == (7, 9) and (var > 0).all()
    assert 0 < mean.mean() < 15  # degC, near the stations' values
    assert np.array(g["in_domain"]).all() and g["in_domain_fraction"] == 1.0
    assert g["units"] == "degC" and g["variance_units"] == "degC2"
    assert g["model"]["name"] == "aeconvcnp" and g["time"].startswith("2019-03-27T12:00")
    # stations without elevation are filled from the model's orography, and it says so
    assert g["elevation_source"] == "given, model orography"
    assert any("model orography" in n for n in g["notes"])
    assert {"model", "total"} <= g["timing_ms"].keys()


def test_units_longitude_conventions_and_explicit_axes(client: TestClient) -> None:
    c = grid(client).json()
    kelvin = [s | {"value": s["value"] + 273.15, "lon": s["lon"] % 360} for s in STATIONS]
    axes = {"lat": c["lat"], "lon": [x + 360 for x in c["lon"]]}  # 356..360
    k = grid(client, stations=kelvin, units="K", grid=axes).json()
    np.testing.assert_allclose(np.array(k["mean"]) - 273.15, c["mean"], atol=1e-3)
    np.testing.assert_allclose(k["variance"], c["variance"], rtol=1e-4)
    assert k["variance_units"] == "K2"


def test_elevation_reaches_the_model(client: TestClient) -> None:
    given = [s | {"elevation_m": 500.0} for s in STATIONS]
    a = grid(client).json()
    b = grid(client, stations=given).json()
    assert not np.allclose(a["mean"], b["mean"], atol=1e-3)
    # at targets, elevation comes from the model's orography (grid) or the request (points)
    pts = [{"lat": 53.0, "lon": -2.0, "elevation_m": e} for e in (0.0, 800.0)]
    p = client.post("/v1/points", json={"stations": given, "targets": pts}).json()
    assert p["elevation_source"] == "given" and p["mean"][0] != pytest.approx(p["mean"][1])


def test_stations_without_elevation_say_why_once(default_client: TestClient) -> None:
    # the model takes elevation; the stations give none: the note says the stations lack it,
    # not that the model cannot use it
    bare = [{k: v for k, v in s.items() if k != "elevation_m"} for s in STATIONS]
    pts = [{"lat": 53.0, "lon": -2.0, "elevation_m": 300.0}]
    p = default_client.post("/v1/points", json={"stations": bare, "targets": pts}).json()
    assert p["elevation_source"] == "none"
    assert any("no station has an elevation" in n for n in p["notes"])
    assert not any("takes no point-wise elevation" in n for n in p["notes"])


def test_points_match_grid(client: TestClient) -> None:
    g = grid(client).json()
    targets = [{"lat": 53.0, "lon": -2.0, "id": "a"}, {"lat": 54.5, "lon": -0.5}]
    r = client.post("/v1/points", json={"stations": STATIONS, "targets": targets})
    p = r.json()
    assert r.status_code == 200 and p["id"] == ["a", None]
    i, j = g["lat"].index(53.0), g["lon"].index(-2.0)
    assert p["mean"][0] == pytest.approx(g["mean"][i][j], abs=1e-3)
    assert p["variance"][0] == pytest.approx(g["variance"][i][j], rel=1e-3)


def test_out_of_domain_and_equivariant_only(client: TestClient) -> None:
    far = [{"lat": 40.0 + i, "lon": -100.0 + i, "value": 20.0 + i} for i in range(3)]
    r = client.post(
        "/v1/grid",
        json={"stations": far, "grid": {"bbox": [-101, 39, -97, 43], "resolution_deg": 1}},
    ).json()
    assert r["in_domain_fraction"] == 0 and not np.array(r["in_domain"]).any()
    assert any("outside every trained domain" in n for n in r["notes"])
    assert r["elevation_source"] == "training mean"  # no orography outside the raster
    full = grid(client).json()
    eq = grid(client, equivariant_only=True).json()
    assert eq["equivariant_only"] and not np.array(eq["in_domain"]).any()
    assert not np.allclose(eq["mean"], full["mean"], atol=1e-4)


def test_far_stations_are_a_warning(client: TestClient) -> None:
    """A Madrid station on a UK grid: answered, but the notes say the field is the prior."""
    madrid = [{"lat": 40.4, "lon": -3.7, "value": 12.0}]  # near enough: the grid is small
    r = client.post(
        "/v1/grid",
        json={"stations": madrid, "grid": {"bbox": [-4, 52, 0, 55], "resolution_deg": 0.5}},
    )
    assert r.status_code == 200
    assert any("no station lies within the model's reach" in n for n in r.json()["notes"])
    near = grid(client).json()["notes"]
    assert not any("far from" in n for n in near)
    half = [*STATIONS, *madrid]
    pts = [{"lat": 53.0, "lon": -2.0}, {"lat": 44.0, "lon": -12.0}]
    p = client.post("/v1/points", json={"stations": half, "targets": pts}).json()
    assert any("1 of 2 targets" in n for n in p["notes"])


def test_agreeing_duplicates_are_merged(client: TestClient) -> None:
    dup = [*STATIONS, STATIONS[0] | {"value": STATIONS[0]["value"] + 0.05, "lon": 359.55}]
    # merged = one station at the average value: exactly what that request gives (the
    # tolerance no longer depends on how sensitive the small test model is to one value)
    avg = [STATIONS[0] | {"value": STATIONS[0]["value"] + 0.025}, *STATIONS[1:]]
    a, b = grid(client, stations=avg).json(), grid(client, stations=dup).json()
    np.testing.assert_allclose(a["mean"], b["mean"], atol=1e-6)


def _bad(**changes: object) -> dict[str, object]:
    return BODY | changes


def _station(**changes: object) -> list[dict[str, object]]:
    return [STATIONS[0] | changes, *STATIONS[1:]]


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        (_bad(stations=_station(lat=91.0)), "lat", "less than or equal to 90"),
        (_bad(stations=_station(lat=-90.5)), "lat", "greater than or equal to -90"),
        (_bad(stations=_station(lon=400.0)), "lon", "less than or equal to 360"),
        (_bad(stations=_station(value=75.0)), "stations[0] value", "plausible range [-90, 60]"),
        (_bad(stations=_station(value=20.0), units="K"), "stations[0] value", "[183.15, 333.15]"),
        (_bad(units="F"), "units", "'degC' or 'K'"),
        (_bad(stations=[]), "stations", "at least 1"),
        (
            _bad(stations=[STATIONS[0]] * 2 + [STATIONS[0] | {"value": 9.0}]),
            "stations[0] and stations[2]",
            "share the position",
        ),
        (
            _bad(grid={"bbox": [2, 50, 2, 58], "resolution_deg": 0.5}),
            "grid",
            "west (2.0) must be less than east",
        ),
        (
            _bad(grid={"bbox": [-3, 55, 2, 50], "resolution_deg": 0.5}),
            "grid",
            "south (55.0) must be less than north",
        ),
        (
            _bad(grid={"bbox": [-3, 50, 2, 55], "resolution_deg": 0}),
            "resolution_deg",
            "greater than 0",
        ),
        (
            _bad(grid={"bbox": [-3, 50, 2, 55], "resolution_deg": -1}),
            "resolution_deg",
            "greater than 0",
        ),
        (_bad(grid={"bbox": [-3, 50, 2, 55]}), "grid", "bbox with resolution_deg"),
        (
            _bad(grid={"lat": [52, 51], "lon": [0, 1]}),
            "grid",
            "grid.lat must be strictly increasing",
        ),
    ],
)
def test_validation_422_names_the_field(client: TestClient, body, where: str, says: str) -> None:
    r = client.post(
        "/v1/grid", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    text = " ".join(f"{'.'.join(map(str, d['loc']))} {d['msg']}" for d in detail)
    assert where in text and says in text, text
    assert "input" not in detail[0]  # the request is not echoed back


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            _bad(stations=[{"lat": 52 + i / 100, "lon": 0, "value": 5} for i in range(51)]),
            "at most 50",
        ),
        (_bad(grid={"bbox": [-10, 50, 2, 58], "resolution_deg": 0.1}), "at most 5000"),
        (_bad(grid={"bbox": [-10, 50, 2, 58], "resolution_deg": 1e-300}), "at most 5000"),
        (_bad(grid={"lat": [50 + i / 100 for i in range(80)], "lon": list(range(80))}), "5000"),
        (
            _bad(
                stations=[
                    {"lat": -80, "lon": -170, "value": 0},
                    {"lat": 80, "lon": 170, "value": 0},
                ]
            ),
            "internal grid",
        ),
    ],
)
def test_limits_413_name_the_limit(client: TestClient, body, says: str) -> None:
    r = client.post("/v1/grid", json=body)
    assert r.status_code == 413, r.text
    assert says in r.json()["detail"][0]["msg"]


def test_cost_budget_is_413_before_any_work(app_settings: Settings) -> None:
    """The issue's ~100-byte global request: refused by its estimated work, at once."""
    s = app_settings.model_copy(
        update={"max_grid_cells": 10**7, "max_internal_cells": 10**8, "max_cost_gmac": 5.0}
    )
    for c in make_client(s):
        body = {
            "stations": [{"lat": 51, "lon": 0, "value": 5}],
            "grid": {"bbox": [-180, -90, 180, 90], "resolution_deg": 0.5},
        }
        r = c.post("/v1/grid", json=body)
        assert r.status_code == 413 and "max_cost_gmac" in r.text, r.text
        assert r.elapsed.total_seconds() < 2


def test_strict_types_are_not_coerced(client: TestClient) -> None:
    for body in (
        BODY | {"equivariant_only": 0},
        BODY | {"stations": _station(lat=False)},
        BODY | {"stations": _station(value="8.2")},
        BODY | {"stations": _station(id=5)},
        BODY | {"time": 1553688000},
    ):
        assert client.post("/v1/grid", json=body).status_code == 422, body


def test_points_validation(client: TestClient) -> None:
    r = client.post("/v1/points", json={"stations": STATIONS, "targets": []})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "targets"]
    many = [{"lat": 52.0, "lon": 0.0}] * 5001
    r = client.post("/v1/points", json={"stations": STATIONS, "targets": many})
    assert r.status_code == 413 and "at most" in r.text


def test_body_over_limit_is_413_before_parsing(client: TestClient) -> None:
    big = b'{"stations": [' + b" " * 300_000 + b"]}"  # not even JSON: never parsed
    r = client.post("/v1/grid", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["request_id"] == r.headers["x-request-id"]

    def chunks():  # no Content-Length: counted while read
        for _ in range(40):
            yield b" " * 10_000

    r = client.post("/v1/grid", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_malformed_bodies_are_4xx(client: TestClient) -> None:
    nan = json.dumps(BODY | {"stations": _station(value=float("nan"))}).encode()
    inf = json.dumps(BODY | {"stations": _station(elevation_m=float("inf"))}).encode()
    for content in (b"{", "ü".encode("latin-1"), b"", nan, inf):  # NaN is not JSON
        r = client.post("/v1/grid", content=content, headers={"content-type": "application/json"})
        assert r.status_code == 400, (content, r.status_code)
    for content in (b"[]", b"null", b'{"stations": "x"}'):
        r = client.post("/v1/grid", content=content, headers={"content-type": "application/json"})
        assert r.status_code == 422, (content, r.status_code)
    r = client.post("/v1/grid", content=b"a=1", headers={"content-type": "text/plain"})
    assert r.status_code == 415


def test_request_id_is_passed_through(client: TestClient) -> None:
    r = grid(client, stations=STATIONS[:1])
    assert len(r.headers["x-request-id"]) == 32
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"


def test_content_negotiation(client: TestClient) -> None:
    assert grid(client).headers["content-type"] == "application/json"
    r = client.post("/v1/grid", json=BODY, headers={"Accept": "text/csv"})
    assert r.status_code == 406 and "image/png" in r.json()["detail"]
    r = client.post(
        "/v1/points",
        json={"stations": STATIONS, "targets": [{"lat": 52, "lon": 0}]},
        headers={"Accept": "image/png"},
    )
    assert r.status_code == 406
    r = client.post(
        "/v1/grid", json=BODY, headers={"Accept": "image/png;q=0.5, application/x-netcdf"}
    )
    assert r.headers["content-type"] == "application/x-netcdf"


def test_netcdf_is_cf(client: TestClient, tmp_path: Path) -> None:
    body = BODY | {"units": "K", "time": "2019-03-27T12:00:00Z"}
    body["stations"] = [s | {"value": s["value"] + 273.15} for s in STATIONS]
    js = client.post("/v1/grid", json=body).json()
    r = client.post("/v1/grid", json=body, headers={"Accept": "application/x-netcdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-netcdf"
    (tmp_path / "g.nc").write_bytes(r.content)
    with xr.open_dataset(tmp_path / "g.nc") as ds:
        assert ds.attrs["Conventions"] == "CF-1.10"
        assert ds["tas"].attrs["standard_name"] == "air_temperature"
        assert ds["tas"].attrs["units"] == "K" and ds["tas_variance"].attrs["units"] == "K2"
        for c in ("lat", "lon", "time"):
            assert "_FillValue" not in ds[c].encoding or ds[c].encoding["_FillValue"] is None
        assert (
            ds["lat"].attrs["units"] == "degrees_north"
            and ds["lon"].attrs["standard_name"] == "longitude"
        )
        assert ds["tas"].dims == ("lat", "lon")
        np.testing.assert_allclose(ds["tas"].values, js["mean"], rtol=1e-6)
        np.testing.assert_allclose(ds["tas_variance"].values, js["variance"], rtol=1e-6)
        np.testing.assert_array_equal(ds["lat"].values, js["lat"])
        assert str(ds["time"].values).startswith("2019-03-27T12:00")


def test_png_map(client: TestClient) -> None:
    r = client.post("/v1/grid", json=BODY, headers={"Accept": "image/png"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = image.imread(io.BytesIO(r.content), format="png")
    assert 300 < img.shape[0] < 1400 and 800 < img.shape[1] <= 1300
    assert img[..., :3].std() > 0.05  # not blank: fields, coastlines, stations


def test_metrics(client: TestClient) -> None:
    grid(client)
    text = client.get("/metrics").text
    for name in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "equigrid_batch_size_bucket",
        "equigrid_queue_depth",
        "equigrid_model_seconds",
    ):
        assert name in text


@pytest.mark.parametrize("keys", ["k1,k2"])
def test_api_keys(app_settings: Settings, keys: str) -> None:
    for c in make_client(app_settings.model_copy(update={"api_keys": frozenset(keys.split(","))})):
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200
        assert c.get("/v1/model").status_code == 401
        assert c.get("/v1/model", headers={"X-API-Key": "nope"}).status_code == 401
        r = c.post("/v1/grid", json=BODY)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "ApiKey"
        assert c.get("/v1/model", headers={"X-API-Key": "k2"}).status_code == 200
        assert c.post("/v1/grid", json=BODY, headers={"X-API-Key": "k1"}).status_code == 200


def test_api_keys_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EQUIGRID_API_KEYS", " a, b ,")
    monkeypatch.setenv("EQUIGRID_MAX_STATIONS", "7")
    s = Settings()
    assert s.api_keys == {"a", "b"} and s.max_stations == 7


def test_concurrent_requests_are_coalesced(app_settings: Settings) -> None:
    """The batching path on CPU: 4 concurrent requests, one batch, same answers."""
    settings = app_settings.model_copy(update={"batch_max_size": 4, "batch_wait_ms": 300.0})
    for c in make_client(settings):
        bodies = [BODY | {"stations": STATIONS[: 1 + i]} for i in range(4)]
        alone = [c.post("/v1/grid", json=b).json()["mean"] for b in bodies]
        before = _batch_count(c)
        app = c.app
        assert isinstance(app, FastAPI)

        async def together(app: FastAPI, bodies: list[dict]) -> list[httpx.Response]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as ac:
                return await asyncio.gather(*(ac.post("/v1/grid", json=b) for b in bodies))

        responses = asyncio.run(together(app, bodies))
        for r, a in zip(responses, alone, strict=True):
            np.testing.assert_allclose(r.json()["mean"], a, atol=1e-4)
        count, total = _batch_count(c)
        assert count - before[0] < 4 and total - before[1] == 4  # fewer batches than requests


def _batch_count(c: TestClient) -> tuple[float, float]:
    lines = c.get("/metrics").text.splitlines()

    def total(name: str) -> float:
        return sum(float(ln.split()[-1]) for ln in lines if ln.startswith(name + "{"))

    return total("equigrid_batch_size_count"), total("equigrid_batch_size_sum")


def test_broken_bundle_stops_start_up(bundle_dir: Path, tmp_path: Path) -> None:
    with (
        pytest.raises(BundleError, match="not found"),
        TestClient(create_app(Settings(model=tmp_path / "none"))),
    ):
        pass
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in bundle_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.safetensors").write_bytes(b"garbage")
    app = create_app(Settings(model=broken))
    with pytest.raises(BundleError) as e, TestClient(app):
        pass
    assert "\n" not in str(e.value) and not app.state.equigrid.ready


def test_netcdf_passes_the_cf_compliance_checker(client: TestClient, tmp_path: Path) -> None:
    """IOOS compliance-checker, CF-1.10 (the batch writer's output is checked too)."""
    r = client.post(
        "/v1/grid",
        json=BODY | {"time": "2019-03-27T12:00:00Z"},
        headers={"Accept": "application/x-netcdf"},
    )
    (tmp_path / "g.nc").write_bytes(r.content)
    cf_compliance(tmp_path / "g.nc")


def test_grid_elevation_array(client: TestClient) -> None:
    """Cell elevations in the request reach the model; a wrong shape is 422."""
    base = grid(client).json()
    shape = np.array(base["mean"]).shape
    high = np.full(shape, 800.0).tolist()
    r = grid(client, elevation_m=high)
    assert r.status_code == 200, r.text
    assert not np.allclose(r.json()["mean"], base["mean"], atol=1e-3)
    partial = np.full(shape, 800.0, dtype=object)
    partial[0, 0] = None
    assert grid(client, elevation_m=partial.tolist()).status_code == 200
    bad = grid(client, elevation_m=np.zeros((shape[0], shape[1] + 1)).tolist())
    assert bad.status_code == 422 and "elevation_m must have the grid's shape" in bad.text
