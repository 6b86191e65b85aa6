"""What the app holds while it runs, and the dependencies that hand it to the routes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from inference.bundle import Bundle
from inference.predictor import BundlePredictor

from .batching import Batcher, BatchMetrics
from .errors import NotReady, Unauthorized
from .settings import Settings


@dataclass
class ServiceState:
    settings: Settings
    metrics: BatchMetrics
    bundle: Bundle | None = None
    predictor: BundlePredictor | None = None
    batcher: Batcher | None = None
    ready: bool = False


@dataclass(frozen=True)
class Ready:
    """A loaded, warmed-up model and its batcher."""

    settings: Settings
    bundle: Bundle
    predictor: BundlePredictor
    batcher: Batcher


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.equigrid
    return state


def get_ready(state: ServiceState = Depends(get_state)) -> Ready:
    if not state.ready or state.bundle is None or state.predictor is None or state.batcher is None:
        raise NotReady("the model is not loaded and warmed up yet")
    return Ready(state.settings, state.bundle, state.predictor, state.batcher)


_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def require_api_key(
    key: str | None = Depends(_api_key), state: ServiceState = Depends(get_state)
) -> None:
    """With ``EQUIGRID_API_KEYS`` set, a valid ``X-API-Key`` is needed (401 otherwise)."""
    keys = state.settings.api_keys
    if not keys:
        return
    given = (key or "").encode()
    if not any(hmac.compare_digest(given, k.encode()) for k in keys):
        raise Unauthorized("a valid X-API-Key header is required")
