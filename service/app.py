"""The app factory: ``create_app(settings)`` builds the API; the model is loaded once, in the
lifespan handler, and warmed up before ``/readyz`` turns true.

A missing, corrupt or incompatible bundle raises :class:`inference.errors.BundleError` from
the lifespan, so start-up fails and nothing is served half-loaded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator

from inference.bundle import Bundle, load_bundle
from inference.predictor import BundlePredictor, Query

from . import errors
from .batching import Batcher, BatchMetrics
from .middleware import RequestContext, RequestIdFilter
from .routers import grid, health, model, points
from .settings import Settings
from .state import ServiceState

log = logging.getLogger("equigrid.service")


def _warm_up_query(bundle: Bundle) -> Query:
    """A small query inside the trained domain (around 0, 0 without one)."""
    (la0, la1), (lo0, lo1) = bundle.domain or [[-1.0, 1.0], [-1.0, 1.0]]
    lat, lon = np.meshgrid(np.linspace(la0, la1, 8), np.linspace(lo0, lo1, 8), indexing="ij")
    mean = bundle.normalisation["t2m"].mean
    s_lat, s_lon = lat.ravel()[::9], lon.ravel()[::9]
    return Query(s_lat, s_lon, np.full(s_lat.shape, mean), lat, lon)


@asynccontextmanager
async def _serve_model(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.equigrid
    s = state.settings
    device = s.torch_device
    bundle = await asyncio.to_thread(load_bundle, s.model, device)
    predictor = BundlePredictor(bundle)
    batcher = Batcher(predictor.predict_batch, s.batch_size, s.batch_wait_ms / 1000, state.metrics)
    batcher.start()
    state.bundle, state.predictor, state.batcher = bundle, predictor, batcher
    try:
        warm = [batcher.submit(_warm_up_query(bundle)) for _ in range(min(s.batch_size, 4))]
        await asyncio.gather(*warm)
        state.ready = True
        log.info(
            "serving %s (sha256 %s) from %s on %s, batches of up to %d",
            bundle.name,
            bundle.sha256[:12],
            bundle.path,
            device,
            s.batch_size,
        )
        yield
    finally:
        state.ready = False
        batcher.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings()
    registry = CollectorRegistry()
    app = FastAPI(
        title="equigrid",
        summary="Station temperatures in; gridded temperature mean and variance out.",
        version="1",
        lifespan=_serve_model,
    )
    app.state.equigrid = ServiceState(settings, BatchMetrics(registry))
    errors.install(app)
    for r in (health.router, model.router, grid.router, points.router):
        app.include_router(r)
    Instrumentator(registry=registry, excluded_handlers=["/metrics"]).instrument(app).expose(
        app, include_in_schema=False
    )
    app.add_middleware(RequestContext, max_body_bytes=settings.max_body_bytes)
    if not any(isinstance(f, RequestIdFilter) for f in log.filters):
        log.addFilter(RequestIdFilter())
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (several workers): settings from ``EQUIGRID_*``."""
    return create_app(Settings())
