"""Service settings: one class, read from ``EQUIGRID_*`` environment variables or flags.

Nothing reads the environment at import time; :class:`Settings` does when instantiated.
Closed sets of values are enums (:class:`LogLevel`, :class:`Precision`; the device names of
:mod:`inference.device`); :meth:`Settings.load` turns a bad value into one
:class:`inference.errors.ConfigError` line naming the variable (or flag) and what it allows.
"""

from __future__ import annotations

import os
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from inference.device import DEVICE_NAMES, check_device, resolve_device
from inference.errors import ConfigError, EquigridError


class LogLevel(StrEnum):
    """The service's log level."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


class Precision(StrEnum):
    """Arithmetic on CUDA devices (CPU computes in fp32)."""

    fp32 = "fp32"
    tf32 = "tf32"
    bf16 = "bf16"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EQUIGRID_", extra="ignore")

    model: Path | None = Field(
        default=None, description="model bundle directory; None: shipped default"
    )
    dem: Path | None = Field(
        default=None,
        description="a DEM file or a directory of DEMs (CF netCDF, GeoTIFF) for target "
        "elevations; an empty directory means no DEM",
    )
    device: str = Field(
        default="auto", description="'auto' (cuda when present), 'cpu', 'cuda', 'cuda:1'"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes, one model each")
    torch_threads: int | None = Field(
        default=None, ge=1, description="intra-op threads per worker; None: CPUs / workers"
    )
    max_stations: int = Field(default=10_000, ge=1)
    max_grid_cells: int = Field(default=1_000_000, ge=1, description="most /v1/grid cells")
    max_points: int = Field(default=100_000, ge=1, description="most /v1/points targets")
    max_internal_cells: int = Field(
        default=4_000_000, ge=1, description="most cells of the model's internal grid per request"
    )
    max_cost_gmac: float = Field(
        default=200.0,
        gt=0,
        description="most estimated model work per request, in 1e9 multiply-adds (each "
        "response's cost_gmac says what its request cost)",
    )
    small_cost_gmac: float = Field(
        default=5.0,
        gt=0,
        description="requests up to this estimated work use the fast lane; larger ones the "
        "slow lane, served by its own thread so they never delay small ones",
    )
    max_queue_small: int = Field(default=64, ge=1, description="queued fast-lane requests")
    max_queue_large: int = Field(default=4, ge=1, description="queued slow-lane requests")
    request_timeout_s: float = Field(
        default=60.0, gt=0, description="deadline from admission to answer (504 after it)"
    )
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1)
    api_keys: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), description="comma-separated; empty: no authentication"
    )
    batch_max_size: int | None = Field(
        default=None, ge=1, description="requests per model call; None: 8 on CUDA, 1 on CPU"
    )
    batch_wait_ms: float = Field(default=2.0, ge=0, description="how long a batch waits to fill")
    precision: Precision = Field(
        default=Precision.tf32,
        description="CUDA only: tf32 matmuls/convolutions (Ampere+), or bf16 autocast of the "
        "model (faster, not bit-equal to fp32); CPU always computes in fp32",
    )
    log_level: LogLevel = LogLevel.info

    @field_validator("model", "dem", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        """``EQUIGRID_MODEL=`` (empty, e.g. from a compose file) means unset, not the current
        directory."""
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("precision", "log_level", mode="before")
    @classmethod
    def _any_case(cls, v: object) -> object:
        """``EQUIGRID_LOG_LEVEL=INFO`` is ``info``."""
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        try:
            return check_device(v)
        except EquigridError as e:
            raise ValueError(str(e)) from None

    @classmethod
    def load(cls, **flags: Any) -> Settings:
        """The settings: ``flags`` (None: not given) over ``EQUIGRID_*`` variables over the
        defaults; a bad value is one :class:`ConfigError` line naming its flag or variable."""
        given = {k: v for k, v in flags.items() if v is not None}
        try:
            return cls(**given)
        except ValidationError as e:
            raise ConfigError(_problem(e, set(given))) from None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: object) -> object:
        if isinstance(v, str):
            return frozenset(k.strip() for k in v.split(",") if k.strip())
        return v

    @property
    def torch_device(self) -> str:
        """The device to load the model on (``auto`` resolved; a CUDA device this machine
        lacks is a :class:`ConfigError`)."""
        return resolve_device(self.device)

    @property
    def batch_size(self) -> int:
        if self.batch_max_size is not None:
            return self.batch_max_size
        return 8 if self.torch_device.startswith("cuda") else 1

    @property
    def threads(self) -> int:
        """Torch intra-op threads of one worker process."""
        if self.torch_threads is not None:
            return self.torch_threads
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return max(1, (cpus or 1) // self.workers)


def _problem(e: ValidationError, flags: set[str]) -> str:
    """The first problem of ``e`` as one line: the flag or variable, its value, what it allows."""
    first = e.errors(include_url=False)[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    where = f"--{name.replace('_', '-')} " if name in flags else f"EQUIGRID_{name.upper()}="
    field = Settings.model_fields.get(name)
    kind = field.annotation if field is not None else None
    if isinstance(kind, type) and issubclass(kind, Enum):
        allowed = f"use one of {', '.join(str(m.value) for m in kind)}"
    elif name == "device":
        allowed = f"use one of {DEVICE_NAMES}"
    else:
        allowed = " ".join(str(first["msg"]).split()).removeprefix("Value error, ")
    return f"{where}{first.get('input', '')}: {allowed}"
