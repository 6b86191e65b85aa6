"""``equigrid serve``: run the REST API (:mod:`service`) with uvicorn.

Flags override ``EQUIGRID_*`` environment settings. The model bundle is checked before the
server starts, so a missing, corrupt or incompatible bundle ends the command with one line
on stderr and exit status 2.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inference.bundle import load_bundle
from inference.errors import ConfigError

from .options import LogLevel

if TYPE_CHECKING:
    from service.settings import Settings

WORKER_HEALTHCHECK_S = 120


class Precision(StrEnum):
    """Arithmetic on CUDA devices (CPU computes in fp32)."""

    fp32 = "fp32"
    tf32 = "tf32"
    bf16 = "bf16"


def _env_for_workers(settings: Settings) -> dict[str, str]:
    """The settings as ``EQUIGRID_*`` variables, for worker processes that rebuild them."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        text = ",".join(sorted(value)) if isinstance(value, frozenset) else str(value)
        env[f"EQUIGRID_{name.upper()}"] = text
    return env


def serve(
    model: Annotated[
        Path | None, typer.Option(help="model bundle directory [default: the shipped model]")
    ] = None,
    host: Annotated[str | None, typer.Option(help="[default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[default: 8000]")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N")] = None,
    dem: Annotated[
        Path | None, typer.Option(help="DEM file or directory (CF netCDF) for cell elevations")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="processes, one model each")] = None,
    batch_max_size: Annotated[
        int | None, typer.Option(help="[default: 8 on CUDA, 1 on CPU]")
    ] = None,
    batch_wait_ms: Annotated[float | None, typer.Option(help="[default: 2]")] = None,
    max_cost_gmac: Annotated[
        float | None, typer.Option(help="most estimated work per request, 1e9 MACs [default: 200]")
    ] = None,
    request_timeout_s: Annotated[
        float | None, typer.Option(help="deadline per request, seconds [default: 60]")
    ] = None,
    precision: Annotated[
        Precision | None, typer.Option(help="CUDA arithmetic [default: tf32]", case_sensitive=False)
    ] = None,
    log_level: Annotated[
        LogLevel | None, typer.Option(help="[default: info]", case_sensitive=False)
    ] = None,
) -> None:
    """Serve station-to-grid temperature predictions over HTTP (settings: EQUIGRID_*)."""
    import uvicorn
    from pydantic import ValidationError

    from service.app import create_app
    from service.dem import Dems
    from service.memory import trim
    from service.middleware import configure_logging
    from service.settings import Settings

    flags: dict[str, Any] = {
        "model": model,
        "host": host,
        "port": port,
        "device": device,
        "dem": dem,
        "workers": workers,
        "batch_max_size": batch_max_size,
        "batch_wait_ms": batch_wait_ms,
        "max_cost_gmac": max_cost_gmac,
        "request_timeout_s": request_timeout_s,
        "precision": None if precision is None else precision.value,
        "log_level": None if log_level is None else log_level.value,
    }
    try:
        settings = Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigError(f"bad setting {first['loc']}: {first['msg']}") from None
    load_bundle(settings.model, settings.torch_device)  # a bad bundle fails before serving
    Dems.load(settings.dem)  # and so does a bad DEM
    trim()  # the checked bundle is gone; with several workers this process only supervises
    configure_logging(settings.log_level)
    common = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,  # the service logs each request with its id
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
    else:
        # each worker process imports service.app and builds its app (and loads its model)
        # from these variables; uvicorn's factory mode calls app_from_env() per worker
        os.environ.update(_env_for_workers(settings))
        uvicorn.run(
            "service.app:app_from_env",
            factory=True,
            workers=settings.workers,
            # a worker imports torch and loads its model before it answers the supervisor's
            # pings; uvicorn's default 5 s kills slow starters on a busy machine (seen here)
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            **common,  # type: ignore[arg-type]
        )
