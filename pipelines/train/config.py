"""Configuration of an ``equigrid train`` run: a JSON/TOML file plus ``key=value`` overrides.

Sections (all optional; unknown keys are errors)::

    model = "aeconvcnp"
    [architecture]      # keyword arguments for models.build_model
    [train]             # TrainConfig: optimisation
    [sampler]           # station sampling for training tasks on a store (--store)
    [data]              # the world model's mixture of sources (--data; pipelines.tasks.world)
    [validation]        # the fixed validation tasks
    [calibration]       # world training: the variance scale and floor in the bundle

Overrides use dotted keys, ``train.steps=500`` or ``architecture.unet_channels=[32,32,64]``;
values are parsed as JSON where they can be and kept as strings otherwise.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from inference.errors import ConfigError, DataError

from ..tasks.sources import TERRAIN_FILES, check_terrains


class TrainConfig(BaseModel):
    """Optimisation settings; unknown keys are errors, values are type-checked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    steps: int = Field(default=2000, ge=1, description="total optimiser steps")
    batch_size: int = Field(default=8, ge=1, description="tasks per step (per rank)")
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    grad_clip: float = Field(
        default=1.0, ge=0, description="max gradient norm; 0 disables clipping"
    )
    schedule: Literal["constant", "cosine"] = "cosine"
    warmup: int = Field(default=0, ge=0, description="linear warm-up steps")
    val_every: int = Field(default=100, ge=1)
    patience: int = Field(
        default=0, ge=0, description="validations without improvement; 0 = never stop"
    )
    seed: int = 0
    amp: bool = Field(default=False, description="bfloat16 autocast (CUDA only)")
    log_every: int = Field(default=10, ge=1)
    checkpoint_every: int = Field(default=100, ge=1)
    threads: int | None = Field(default=None, ge=1, description="torch CPU threads")


class SamplerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fraction: tuple[float, float] = (0.01, 0.30)
    count: tuple[int, int] | None = None
    land_only: bool = False
    max_targets: int | None = Field(default=512, ge=1)
    layout: str | None = Field(default=None, description="CSV of station lat/lon used as context")
    layout_prob: float = Field(default=0.5, ge=0, le=1)


class DataConfig(BaseModel):
    """The world model's mixture of sources (:mod:`pipelines.tasks.world`) and their weights."""

    model_config = ConfigDict(extra="forbid")

    simulated: float = Field(default=0.7, ge=0, description="weight of simulated fields")
    era5_uk: float = Field(default=0.25, ge=0, description="weight of ERA5 UK (days 1-21)")
    era5_conus: float = Field(default=0.05, ge=0, description="weight of the ERA5 CONUS hour")
    terrains: list[str] = Field(
        default_factory=lambda: list(TERRAIN_FILES), description="DEMs for simulated fields"
    )
    sim_stations: tuple[int, int] = (10, 1000)
    sim_box_deg: tuple[float, float] = (1.5, 10.0)
    sim_max_targets: int = Field(default=256, ge=1)
    uk_stations: tuple[int, int] = (10, 400)
    conus_box_deg: tuple[float, float] = (4.0, 12.0)

    @field_validator("terrains")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        try:
            return check_terrains(names)
        except DataError as e:
            raise ValueError(str(e)) from None

    @field_validator("sim_stations", "uk_stations")
    @classmethod
    def _count_range(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1]:
            raise ValueError(f"a station-count range [low, high] needs 1 <= low <= high, not {v}")
        return v

    @field_validator("sim_box_deg", "conus_box_deg")
    @classmethod
    def _box_range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1]:
            raise ValueError(f"a box-size range [low, high] needs 0 < low <= high, not {v}")
        return v

    @model_validator(mode="after")
    def _some_source(self) -> DataConfig:
        if self.simulated + self.era5_uk + self.era5_conus <= 0:
            raise ValueError("give at least one source a positive weight")
        if self.simulated and not self.terrains:
            raise ValueError("simulated fields need at least one terrain")
        return self


class ValidationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stations: list[int] = Field(default_factory=lambda: [20, 100, 400], min_length=1)
    tasks_per_n: int = Field(default=8, ge=1)
    simulated_tasks: int = Field(
        default=48, ge=0, description="fixed simulated tasks (world training only)"
    )
    seed: int = 12345


class CalibrationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fit_scale: bool = Field(
        default=True, description="fit a variance scale on the validation tasks (else 1)"
    )
    variance_floor_k2: float = Field(
        default=0.0, ge=0, description="observation-noise variance added to every prediction"
    )


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = "aeconvcnp"
    architecture: dict[str, Any] = Field(default_factory=dict)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig())
    sampler: SamplerConfig = Field(default_factory=lambda: SamplerConfig())
    data: DataConfig = Field(default_factory=lambda: DataConfig())
    validation: ValidationConfig = Field(default_factory=lambda: ValidationConfig())
    calibration: CalibrationConfig = Field(default_factory=lambda: CalibrationConfig())

    @model_validator(mode="after")
    def _no_store_derived(self) -> RunConfig:
        taken = {"aux_grid", "domain", "dim_aux"} & set(self.architecture)
        if taken:
            name = sorted(taken)[0]
            raise ValueError(f"architecture.{name} is set from the store (or --data), not here")
        return self

    def check_for(self, world: bool) -> None:
        """Refuse sections that the other kind of training reads (store: ``[sampler]``;
        world, ``--data``: ``[data]`` and ``[calibration]``)."""
        unused = {"data", "calibration"} if not world else {"sampler"}
        given = sorted(unused & self.model_fields_set)
        if given:
            how = "--data (world training)" if not world else "--store"
            raise ConfigError(f"[{given[0]}] applies to training with {how}, not this run")
        if not world and "simulated_tasks" in self.validation.model_fields_set:
            raise ConfigError(
                "validation.simulated_tasks applies to training with --data (world training), "
                "not this run"
            )


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        if path.suffix == ".toml":
            return tomllib.loads(path.read_text())
        if path.suffix == ".json":
            doc = json.loads(path.read_text())
            if not isinstance(doc, dict):
                raise ConfigError(f"{path}: the top level must be an object")
            return doc
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from None
    raise ConfigError(f"{path}: config files must end in .json or .toml")


def _override(doc: dict[str, Any], item: str) -> None:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r} is not key=value")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    *parents, leaf = key.strip().split(".")
    node = doc
    for p in parents:
        child = node.setdefault(p, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {key!r}: {p!r} is not a section")
        node = child
    node[leaf] = value


def load_run_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """The run configuration from a file (or defaults) with ``key=value`` overrides."""
    doc = _read(Path(path)) if path is not None else {}
    for item in overrides or []:
        _override(doc, item)
    try:
        return RunConfig.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        raise ConfigError(f"bad configuration {where}: {err['msg']}") from None
