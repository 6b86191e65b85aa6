"""Train the default temperature model on the mixture of sources in ``../shared/data``.

    python -m pipelines.train.world --data ../shared/data --config configs/default_model.toml \\
        --out models/weights/default

The run configuration is the usual one (``model``, ``[architecture]``, ``[train]``) plus a
``[data]`` section -- the mixture of sources and their weights (see
:mod:`pipelines.tasks.world`) -- and ``[validation]``: fixed UK tasks on the validation days
(22-24) and fixed simulated tasks; checkpoints are selected on the mean NLL of both. The
run's resumable state lives in ``<out>.run``; rerunning the command continues it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import time
import tomllib
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

import models
from inference.bundle import save_bundle

from ..tasks.task import Task
from ..tasks.world import (
    SIM_FILES,
    UK_DOMAIN,
    UK_TRAIN_DAYS,
    UK_VAL_DAYS,
    GridSampler,
    MixtureSampler,
    SimulatedSampler,
    load_terrains,
    read_era5_conus,
    read_era5_uk,
    read_terrain,
    simulated_validation_tasks,
    uk_validation_tasks,
)
from .config import TrainConfig
from .loop import evaluate_nll, fit


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    simulated: float = Field(default=0.7, ge=0, description="weight of simulated fields")
    era5_uk: float = Field(default=0.25, ge=0, description="weight of ERA5 UK (days 1-21)")
    era5_conus: float = Field(default=0.05, ge=0, description="weight of the ERA5 CONUS hour")
    terrains: list[str] = Field(default_factory=lambda: list(SIM_FILES))
    sim_stations: tuple[int, int] = (10, 1000)
    sim_box_deg: tuple[float, float] = (1.5, 10.0)
    sim_max_targets: int = 256
    uk_stations: tuple[int, int] = (10, 400)
    conus_box_deg: tuple[float, float] = (4.0, 12.0)


class ValConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uk_stations: list[int] = Field(default_factory=lambda: [20, 100, 400])
    uk_per_n: int = 8
    simulated_tasks: int = 48
    seed: int = 12345


class CalibrationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fit_scale: bool = Field(
        default=True, description="fit a variance scale on the validation tasks (else 1)"
    )
    variance_floor_k2: float = Field(
        default=0.0, ge=0, description="observation-noise variance added to every prediction"
    )


class WorldConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = "aeconvcnp"
    architecture: dict[str, Any] = Field(default_factory=dict)
    train: TrainConfig = Field(default_factory=lambda: TrainConfig())
    data: DataConfig = Field(default_factory=lambda: DataConfig())
    validation: ValConfig = Field(default_factory=lambda: ValConfig())
    calibration: CalibrationConfig = Field(default_factory=lambda: CalibrationConfig())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(cfg: WorldConfig) -> torch.nn.Module:
    arch = dict(cfg.architecture)
    arch.setdefault("anomalies", True)
    arch["dim_aux"] = 1
    if cfg.model.startswith(("ae", "relaxed")):
        arch["domain"] = [list(UK_DOMAIN[0]), list(UK_DOMAIN[1])]
    return models.build_model(cfg.model, **arch)


def sources(cfg: WorldConfig, data_dir: Path) -> MixtureSampler:
    d = cfg.data
    terrains = load_terrains(data_dir, d.terrains)
    mix: list[tuple[float, object]] = []
    if d.simulated:
        mix.append(
            (
                d.simulated,
                SimulatedSampler(terrains, d.sim_max_targets, d.sim_stations, d.sim_box_deg),
            )
        )
    if d.era5_uk:
        mix.append((d.era5_uk, GridSampler(read_era5_uk(data_dir, UK_TRAIN_DAYS), d.uk_stations)))
    if d.era5_conus:
        prism = read_terrain(data_dir / SIM_FILES["conus"], "conus")
        mix.append(
            (
                d.era5_conus,
                GridSampler(
                    read_era5_conus(data_dir, prism), d.uk_stations, box_deg=d.conus_box_deg
                ),
            )
        )
    return MixtureSampler(mix)


def validation(cfg: WorldConfig, data_dir: Path) -> tuple[list[Task], list[Task]]:
    v = cfg.validation
    uk = uk_validation_tasks(data_dir, v.uk_stations, v.uk_per_n, v.seed)
    sim = simulated_validation_tasks(
        load_terrains(data_dir, cfg.data.terrains), v.simulated_tasks, v.seed + 1
    )
    return uk, sim


@torch.no_grad()
def variance_scale(model: torch.nn.Module, tasks: list[Task]) -> float:
    """The factor on the predictive variance that minimises the Gaussian NLL on ``tasks``:
    the mean of ``(y - mean)^2 / variance`` over every real target."""
    model.eval()
    total, count = 0.0, 0.0
    for t in tasks:
        d = model(t.xc, t.yc, t.xt, **t.model_kwargs())
        z2 = ((t.yt - d.mean) ** 2 / d.variance)[..., 0]
        m = t.mask_t if t.mask_t is not None else torch.ones_like(z2)
        total += float((z2 * m).sum())
        count += float(m.sum())
    return total / count


def load_config(path: Path | None, overrides: list[str]) -> WorldConfig:
    doc: dict[str, Any] = tomllib.loads(path.read_text()) if path is not None else {}
    for item in overrides:
        key, _, raw = item.partition("=")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        *parents, leaf = key.split(".")
        node = doc
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return WorldConfig.model_validate(doc)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder")
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    cfg = load_config(a.config, a.overrides)
    if a.threads:
        cfg.train.threads = a.threads
    torch.manual_seed(cfg.train.seed)
    model = build(cfg)
    sampler = sources(cfg, a.data)
    uk_val, sim_val = validation(cfg, a.data)
    run_dir = a.out.with_name(a.out.name + ".run")
    started = time.time()
    # checkpoints are chosen on the pooled list: UK validation hours and simulated tasks
    result = fit(model, sampler, uk_val + sim_val, cfg.train, run_dir, progress=not a.no_progress)
    uk_nll = evaluate_nll(model, uk_val)
    sim_nll = evaluate_nll(model, sim_val)
    # one scalar fitted on the validation tasks (UK days 22-24 and simulated), see results.md
    scale = variance_scale(model, uk_val + sim_val) if cfg.calibration.fit_scale else 1.0
    files = sorted(
        {
            "era5_t2m_uk_2019-03_hourly.nc",
            "orog_uk_era5grid_0p25.nc",
            "era5_conus_1995-07-14T12.nc",
            *(SIM_FILES[t] for t in cfg.data.terrains),
        }
    )
    extra = {
        "inputs": {
            "values": "K; the model sees anomalies of the task (exact shift equivariance)",
            "elevation": "m; relative to the stations' mean elevation",
        },
        "training": {
            "command": "python -m pipelines.train.world --data ../shared/data "
            "--config configs/default_model.toml --out models/weights/default",
            "data": [{"file": f, "sha256": _sha(a.data / f)} for f in files],
            "uk_train_days": list(UK_TRAIN_DAYS),
            "uk_validation_days": list(UK_VAL_DAYS),
            "config": cfg.model_dump(mode="json"),
            "steps": result.steps,
            "best_step": result.best_step,
            "train_seconds": round(result.train_seconds, 1),
            "wall_seconds_last_run": round(time.time() - started, 1),
            "machine": f"CPU ({platform.machine()}), {torch.get_num_threads()} torch threads",
        },
        "metrics": {"val_nll_per_target_k": {"era5_uk_days_22_24": uk_nll, "simulated": sim_nll}},
        "calibration": {
            "variance_scale": round(scale, 4),
            "variance_floor_k2": cfg.calibration.variance_floor_k2,
            "fitted_on": "the validation tasks: ERA5 UK days 22-24 and simulated fields",
        },
    }
    save_bundle(
        model.cpu(),
        a.out,
        normalisation={"t2m": {"mean": 0.0, "std": 1.0}, "elevation": {"mean": 0.0, "std": 1.0}},
        point_aux=["elevation"],
        domain=[list(UK_DOMAIN[0]), list(UK_DOMAIN[1])],
        extra=extra,
    )
    print(
        f"wrote {a.out}: {result.steps} steps, val NLL (K) UK {uk_nll:.3f}, "
        f"simulated {sim_nll:.3f}" + ("" if math.isfinite(uk_nll) else " (non-finite!)")
    )


if __name__ == "__main__":
    main()
