"""The app factory: ``create_app(settings)`` builds the API; the model is loaded once, in the
lifespan handler, and warmed up before ``/readyz`` turns true.

A missing, corrupt or incompatible bundle raises :class:`inference.errors.BundleError` from
the lifespan, so start-up fails and nothing is served half-loaded. ``/docs`` and ``/redoc``
are served from assets shipped in ``service/static`` (no CDN).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import torch
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator

from inference.bundle import Bundle, load_bundle
from inference.dems import Dems
from inference.geography import world
from inference.predictor import BundlePredictor, Prediction
from inference.query import Query

from . import errors, openapi
from .batching import BatchMetrics, Scheduler
from .memory import limit_arenas
from .middleware import RequestContext, RequestIdFilter, configure_logging
from .routers import grid, health, model, points
from .settings import Settings
from .state import ServiceState

log = logging.getLogger("equigrid.service")
STATIC = Path(__file__).resolve().parent / "static"


def _warm_up_query(bundle: Bundle) -> Query:
    """A small grid query inside the trained domain (around 0, 0 without one)."""
    (la0, la1), (lo0, lo1) = bundle.domain or [[-1.0, 1.0], [-1.0, 1.0]]
    lat, lon = np.meshgrid(np.linspace(la0, la1, 8), np.linspace(lo0, lo1, 8), indexing="ij")
    mean = bundle.normalisation["t2m"].mean
    s_lat, s_lon = lat.ravel()[::9], lon.ravel()[::9]
    return Query(s_lat, s_lon, np.full(s_lat.shape, mean), lat, lon)


def _configure_torch(settings: Settings) -> None:
    limit_arenas()  # freed memory goes back to the OS instead of idling in per-thread arenas
    torch.set_num_threads(settings.threads)
    if settings.torch_device.startswith("cuda"):
        # TF32 matmuls and convolutions where the GPU has them (Ampere and later)
        tf32 = settings.precision in ("tf32", "bf16")
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True


def _predict_fn(
    predict: Callable[[Sequence[Query]], list[Prediction]], settings: Settings
) -> Callable[[Sequence[Query]], list[Prediction]]:
    """``predict``, under bf16 autocast when asked for on CUDA (autocast is per thread, so
    it is entered in the lane thread that calls this)."""
    if settings.precision != "bf16" or not settings.torch_device.startswith("cuda"):
        return predict

    def bf16(queries: Sequence[Query]) -> list[Prediction]:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return predict(queries)

    return bf16


@asynccontextmanager
async def _serve_model(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.equigrid
    s = state.settings
    _configure_torch(s)
    bundle = await asyncio.to_thread(load_bundle, s.model, s.torch_device)
    predictor = BundlePredictor(bundle)
    state.dems = await asyncio.to_thread(Dems.load, s.dem)
    scheduler = Scheduler(
        _predict_fn(predictor.predict_batch, s),
        max_size=s.batch_size,
        wait_s=s.batch_wait_ms / 1000,
        small_cost=s.small_cost_gmac,
        max_queue=(s.max_queue_small, s.max_queue_large),
        timeout_s=s.request_timeout_s,
        metrics=state.metrics,
    )
    scheduler.start()
    state.bundle, state.predictor, state.scheduler = bundle, predictor, scheduler
    try:
        warm = [scheduler.submit(_warm_up_query(bundle)) for _ in range(min(s.batch_size, 4))]
        await asyncio.gather(*warm)
        await asyncio.to_thread(world)  # the map data, decoded once, before the first PNG
        state.ready = True
        log.info(
            "serving %s (sha256 %s) from %s on %s with %d threads, batches of up to %d",
            bundle.name,
            bundle.sha256[:12],
            bundle.path,
            s.torch_device,
            s.threads,
            s.batch_size,
        )
        yield
    finally:
        state.ready = False
        scheduler.stop()


def _docs(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="equigrid API",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/favicon-32x32.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="equigrid API",
            redoc_js_url="/static/redoc.standalone.js",
            redoc_favicon_url="/static/favicon-32x32.png",
            with_google_fonts=False,
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings()
    registry = CollectorRegistry()
    app = FastAPI(
        title="equigrid",
        summary="Station temperatures in; gridded temperature mean and variance out.",
        version="1",
        lifespan=_serve_model,
        docs_url=None,
        redoc_url=None,
    )
    app.state.equigrid = ServiceState(settings, BatchMetrics(registry))
    errors.install(app)
    for r in (health.router, model.router, grid.router, points.router):
        app.include_router(r)
    _docs(app)
    Instrumentator(registry=registry, excluded_handlers=["/metrics"]).instrument(app).expose(
        app, include_in_schema=False
    )
    app.add_middleware(
        RequestContext, max_body_bytes=settings.max_body_bytes, api_keys=settings.api_keys
    )
    openapi.install(app, settings)
    if not any(isinstance(f, RequestIdFilter) for f in log.filters):
        log.addFilter(RequestIdFilter())
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (several workers): settings from ``EQUIGRID_*``;
    each worker process configures its own logging (spawned processes inherit none)."""
    settings = Settings.load()
    configure_logging(settings.log_level)
    return create_app(settings)
