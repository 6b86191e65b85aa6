"""Admission and fairness: lanes, bounded queues, deadlines, off-loop parsing, the honest
OpenAPI document and the offline docs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from inference.bundle import load_bundle
from inference.predictor import BundlePredictor, Prediction
from inference.query import Query
from service.batching import BatchMetrics, Scheduler
from service.errors import DeadlineExceeded, Overloaded
from service.settings import Settings

from .conftest import make_client
from .test_api import BODY, GRID, STATIONS


@pytest.fixture(scope="module")
def predictor(bundle_dir) -> BundlePredictor:
    """The small trained model of the service tests (a real checkpoint, no stand-in)."""
    return BundlePredictor(load_bundle(bundle_dir))


def _held(predictor: BundlePredictor, started: threading.Event, release: threading.Event):
    """The model's batched prediction, held after it ran until ``release`` is set, so that a
    test can keep a lane busy for as long as it needs (the predictions are the model's)."""

    def predict(queries: Sequence[Query]) -> list[Prediction]:
        out = predictor.predict_batch(queries)
        started.set()
        release.wait(timeout=30)
        return out

    return predict


def _scheduler(predict, timeout_s: float = 5.0, max_queue: tuple[int, int] = (4, 1)) -> Scheduler:
    return Scheduler(
        predict,
        max_size=1,
        wait_s=0.0,
        small_cost=1.0,
        max_queue=max_queue,
        timeout_s=timeout_s,
        metrics=BatchMetrics(CollectorRegistry()),
    )


Q = Query([52.0, 53.5], [-1.0, -2.5], [281.0, 279.0], [[52.5]], [[-1.5]])
BIG = Query([52.0], [-1.0], [281.0], *np.meshgrid(np.linspace(50, 58, 60), np.linspace(-10, 2, 80),
                                                  indexing="ij"))  # fmt: skip


def test_small_requests_are_not_held_up_by_a_large_one(predictor: BundlePredictor) -> None:
    """While the slow lane's model thread is busy with a large request, a small one is
    answered by the fast lane: it returns before the large one is let go."""
    started, release = threading.Event(), threading.Event()
    real = predictor.predict_batch

    def predict(queries: Sequence[Query]) -> list[Prediction]:
        if np.size(queries[0].target_lat) == np.size(BIG.target_lat):
            return _held(predictor, started, release)(queries)
        return real(queries)

    s = _scheduler(predict)
    s.start()
    try:

        async def scenario() -> tuple[Prediction, bool]:
            task = asyncio.ensure_future(s.submit(BIG, cost=100.0))
            await asyncio.to_thread(started.wait, 30)
            small = await asyncio.wait_for(s.submit(Q, cost=0.1), timeout=10)
            still_held = not task.done()
            release.set()
            big = await task
            assert big.mean.shape == (60, 80) and np.isfinite(big.mean).all()
            return small, still_held

        small, still_held = asyncio.run(scenario())
        assert still_held  # the small answer came while the large request held its lane
        np.testing.assert_allclose(small.mean, predictor.predict(Q).mean, rtol=1e-5)
    finally:
        release.set()
        s.stop()


def test_full_queue_is_503_with_retry_after_and_deadline_is_504(
    predictor: BundlePredictor,
) -> None:
    started, release = threading.Event(), threading.Event()
    s = _scheduler(_held(predictor, started, release), timeout_s=0.3, max_queue=(4, 1))
    s.start()
    try:

        async def scenario() -> None:
            running = asyncio.ensure_future(s.submit(Q, cost=50.0))  # runs (slow lane)
            await asyncio.to_thread(started.wait, 30)
            queued = asyncio.ensure_future(s.submit(Q, cost=50.0))  # waits in the queue
            await asyncio.sleep(0.05)
            with pytest.raises(Overloaded) as e:
                await s.submit(Q, cost=50.0)  # the queue of one is full
            assert int(e.value.headers["Retry-After"]) >= 1
            for fut in (running, queued):
                with pytest.raises(DeadlineExceeded):
                    await fut

        asyncio.run(scenario())
    finally:
        release.set()
        s.stop()


def test_health_answers_while_a_large_body_is_parsed(app_settings: Settings) -> None:
    settings = app_settings.model_copy(update={"max_body_bytes": 40_000_000, "max_stations": 10**6})
    for c in make_client(settings):
        app = c.app
        assert isinstance(app, FastAPI)
        big = BODY | {
            "stations": [{"lat": 52 + i * 1e-5, "lon": 0.0, "value": 300.0} for i in range(200_000)]
        }

        async def scenario(app: FastAPI, big: dict) -> tuple[int, int]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as ac:
                post = asyncio.ensure_future(ac.post("/v1/grid", json=big))
                await asyncio.sleep(0.05)
                answered = 0
                while not post.done():
                    assert (await ac.get("/healthz")).status_code == 200
                    answered += 1 if not post.done() else 0
                    await asyncio.sleep(0.01)
                return (await post).status_code, answered

        status, answered = asyncio.run(scenario(app, big))
        assert status == 422  # 300 degC is implausible
        # parsed off the event loop: health answers again and again while the body is parsed
        # (parsed on the loop, the first health request would wait for the whole parse)
        assert answered >= 3, answered


def test_keys_are_checked_before_the_body_is_read(app_settings: Settings) -> None:
    settings = app_settings.model_copy(update={"api_keys": frozenset({"k"})})
    for c in make_client(settings):
        r = c.post("/v1/grid", content=b"{" * 100_000, headers={"content-type": "application/json"})
        assert r.status_code == 401  # not 413 (body limit) nor 400 (not JSON)


def test_openapi_declares_keys_only_when_configured(
    client: TestClient, app_settings: Settings
) -> None:
    doc = client.get("/openapi.json").json()
    assert "X-API-Key" not in str(doc) and "securitySchemes" not in doc["components"]
    op = doc["paths"]["/v1/grid"]["post"]
    assert "401" not in op["responses"] and op["requestBody"]["required"]
    assert {"400", "406", "413", "415", "422", "503", "504"} <= op["responses"].keys()
    req = doc["components"]["schemas"]["GridRequest"]
    assert "stations at the same position" in req["description"]  # a cross-field rule
    assert "-90..60 degC, 183.15..333.15 K" in req["description"]
    assert req["properties"]["stations"]["maxItems"] == app_settings.max_stations
    assert "422" not in doc["paths"]["/v1/model"]["get"]["responses"]
    with_keys = app_settings.model_copy(update={"api_keys": frozenset({"k"})})
    for c in make_client(with_keys):
        doc = c.get("/openapi.json").json()
        assert doc["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == "X-API-Key"
        assert doc["paths"]["/v1/grid"]["post"]["security"] == [{"ApiKeyAuth": []}]
        assert "401" in doc["paths"]["/v1/grid"]["post"]["responses"]
        assert "security" not in doc["paths"]["/healthz"]["get"]


def test_docs_are_served_offline(client: TestClient) -> None:
    for page, asset in (
        ("/docs", "/static/swagger-ui-bundle.js"),
        ("/redoc", "/static/redoc.standalone.js"),
    ):
        html = client.get(page).text
        assert asset in html and "cdn" not in html.lower() and "googleapis" not in html
        assert client.get(asset).status_code == 200


def test_npz_response(client: TestClient) -> None:
    import io

    r = client.post("/v1/grid", json=BODY, headers={"Accept": "application/x-npz"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-npz"
    js = client.post("/v1/grid", json=BODY).json()
    with np.load(io.BytesIO(r.content)) as z:
        assert z["mean"].dtype == np.float32 and z["mean"].shape == (7, 9)
        np.testing.assert_allclose(z["mean"], js["mean"], rtol=1e-6)
        assert str(z["units"]) == "degC" and str(z["variance_units"]) == "degC2"
        assert list(z["notes"]) == js["notes"]


def test_openapi_states_the_grid_forms_and_the_value_range_per_unit(client: TestClient) -> None:
    """What the schema says a request may be is what the server accepts: a null for the
    other grid form's field is not giving it (the oneOf used to count such a grid as both
    forms, so schema-valid data was refused as invalid and the reverse), and station values
    lie in the plausible range of the request's units (-90..60 degC, 183.15..333.15 K)."""
    import jsonschema_rs

    doc = client.get("/openapi.json").json()
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": "#/components/schemas/GridRequest", "components": doc["components"]}
    )
    axes = {"lat": [52.0, 53.0], "lon": [-2.0, -1.0]}
    kelvin = [s | {"value": s["value"] + 273.15} for s in STATIONS]
    cases = [
        (BODY | {"grid": GRID | {"lat": None, "lon": None}}, True),
        (BODY | {"grid": axes | {"bbox": None, "resolution_deg": None}}, True),
        (BODY | {"grid": GRID | axes}, False),  # both forms
        (BODY | {"grid": {"bbox": None, "lat": None}}, False),  # neither
        (BODY | {"units": "K", "stations": kelvin}, True),
        (BODY | {"units": "degC", "stations": kelvin}, False),  # 281 degC
        ({k: v for k, v in BODY.items() if k != "units"} | {"stations": kelvin}, False),
        (BODY | {"units": "K"}, False),  # 8.2 K
    ]
    for body, valid in cases:
        assert validator.is_valid(body) is valid, body
        status = client.post("/v1/grid", json=body).status_code
        assert status == (200 if valid else 422), (body, status)
