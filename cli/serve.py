"""``equigrid serve``: run the REST API (:mod:`service`) with uvicorn.

Flags override ``EQUIGRID_*`` environment settings. The model bundle is checked before the
server starts, so a missing, corrupt or incompatible bundle ends the command with one line
on stderr and exit status 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from inference.bundle import load_bundle
from inference.errors import ConfigError
from service.settings import LogLevel, Precision, Settings

from .options import device_parser

WORKER_HEALTHCHECK_S = 120


def _env_for_workers(settings: Settings) -> dict[str, str]:
    """The settings as ``EQUIGRID_*`` variables, for worker processes that rebuild them."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        text = ",".join(sorted(value)) if isinstance(value, frozenset) else str(value)
        env[f"EQUIGRID_{name.upper()}"] = text
    return env


def _opt(name: str, what: str = "", **kw: Any) -> Any:
    """A flag for the setting ``name``: its help says what it is, its default (from
    :class:`service.settings.Settings`, the one place defaults live) and its variable."""
    field = Settings.model_fields[name]
    for bound in field.metadata:  # the flag's range is the setting's (the one place it lives;
        # an open bound, gt, is checked by Settings.load)
        if getattr(bound, "ge", None) is not None:
            kw.setdefault("min", bound.ge)
        if getattr(bound, "le", None) is not None:
            kw.setdefault("max", bound.le)
    default = field.default
    shown = {None: "none"}.get(default, str(default)) if not isinstance(default, Path) else default
    shown = getattr(default, "value", shown)
    if name == "model":
        shown = "the shipped model"
    elif name == "batch_max_size":
        shown = "8 on CUDA, 1 on CPU"
    text = what or field.description or ""
    # parentheses, not brackets: typer renders help as rich markup, which eats [tags]
    return typer.Option(help=f"{text} (default: {shown}; env EQUIGRID_{name.upper()})", **kw)


def serve(
    model: Annotated[Path | None, _opt("model", "model bundle directory")] = None,
    host: Annotated[str | None, _opt("host", "address to listen on")] = None,
    port: Annotated[int | None, _opt("port", "port to listen on")] = None,
    device: Annotated[
        str | None,
        _opt("device", "auto, cpu, cuda, cuda:N", metavar="DEVICE", parser=device_parser()),
    ] = None,
    dem: Annotated[
        Path | None, _opt("dem", "DEM file or directory (CF netCDF, GeoTIFF) for cell elevations")
    ] = None,
    workers: Annotated[int | None, _opt("workers", "processes, one model each")] = None,
    batch_max_size: Annotated[int | None, _opt("batch_max_size", "requests per model call")] = None,
    batch_wait_ms: Annotated[float | None, _opt("batch_wait_ms")] = None,
    max_cost_gmac: Annotated[
        float | None, _opt("max_cost_gmac", "most estimated work per request, 1e9 MACs")
    ] = None,
    request_timeout_s: Annotated[
        float | None, _opt("request_timeout_s", "deadline per request, seconds")
    ] = None,
    precision: Annotated[
        Precision | None, _opt("precision", "CUDA arithmetic", case_sensitive=False)
    ] = None,
    log_level: Annotated[LogLevel | None, _opt("log_level", "", case_sensitive=False)] = None,
) -> None:
    """Serve station-to-grid temperature predictions over HTTP (settings: EQUIGRID_*)."""
    import uvicorn

    from inference.dems import Dems
    from service.app import create_app
    from service.memory import trim
    from service.middleware import configure_logging

    settings = Settings.load(  # a bad flag or EQUIGRID_* value: one line, exit 2
        model=model,
        host=host,
        port=port,
        device=device,
        dem=dem,
        workers=workers,
        batch_max_size=batch_max_size,
        batch_wait_ms=batch_wait_ms,
        max_cost_gmac=max_cost_gmac,
        request_timeout_s=request_timeout_s,
        precision=precision,
        log_level=log_level,
    )
    _check_address(settings.host, settings.port)  # before minutes of model loading
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


def _check_address(host: str, port: int) -> None:
    """Refuse, in one line, an address this process cannot listen on (a port in use, a host
    that is not this machine's) instead of uvicorn's log lines and exit 3 after start-up."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(address)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
