"""What the app holds while it runs, and the dependencies that hand it to the routes."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import Depends, Request

from inference.bundle import Bundle
from inference.dems import Dems
from inference.predictor import BundlePredictor

from .batching import BatchMetrics, Scheduler
from .errors import NotReady
from .settings import Settings


@dataclass
class ServiceState:
    settings: Settings
    metrics: BatchMetrics
    bundle: Bundle | None = None
    predictor: BundlePredictor | None = None
    scheduler: Scheduler | None = None
    dems: Dems | None = None
    ready: bool = False


@dataclass(frozen=True)
class Ready:
    """A loaded, warmed-up model and its scheduler."""

    settings: Settings
    bundle: Bundle
    predictor: BundlePredictor
    scheduler: Scheduler
    dems: Dems


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.equigrid
    return state


def get_ready(state: ServiceState = Depends(get_state)) -> Ready:
    if (
        not state.ready
        or state.bundle is None
        or state.predictor is None
        or state.scheduler is None
        or state.dems is None
    ):
        raise NotReady("the model is not loaded and warmed up yet")
    return Ready(state.settings, state.bundle, state.predictor, state.scheduler, state.dems)


def key_is_valid(given: str | None, keys: Iterable[str]) -> bool:
    """Constant-time comparison of ``given`` with every configured key."""
    g = (given or "").encode()
    return any(hmac.compare_digest(g, k.encode()) for k in keys)
