"""Training the world model on the mixture of sources in the shared data folder.

    equigrid train --data ../shared/data --config configs/default_model.toml \\
        --out models/weights/default

The run configuration is the one of every ``equigrid train`` run (:mod:`.config`): ``model``,
``[architecture]``, ``[train]``, plus ``[data]`` -- the mixture of sources and their weights
(:mod:`pipelines.tasks.world`, read by :mod:`pipelines.tasks.sources`) -- ``[validation]``:
fixed UK tasks on the validation days (22-24) and fixed simulated tasks, checkpoints
selected on the mean NLL of both -- and ``[calibration]``. The run's resumable state lives
in ``<out>.run`` (or ``--run-dir``); rerunning the command continues it.
"""

from __future__ import annotations

import hashlib
import platform
import time
from pathlib import Path

import torch
from torch import nn

import models
from inference.bundle import save_bundle
from inference.errors import ConfigError, one_line

from ..data.era5 import UK_DOMAIN
from ..data.store import DEFAULT_SPLIT_DAYS
from ..tasks.sources import (
    ERA5_CONUS,
    ERA5_UK,
    TERRAIN_FILES,
    UK_OROGRAPHY,
    era5_conus,
    era5_uk,
    load_terrains,
)
from ..tasks.task import Task, TaskSampler
from ..tasks.world import (
    MixtureSampler,
    SimulatedSampler,
    reanalysis_sampler,
    simulated_validation_tasks,
)
from .config import RunConfig
from .loop import FitResult, evaluate_nll, fit
from .run import check_resume, validation_tasks

COMMAND = (
    "equigrid train --data ../shared/data --config configs/default_model.toml "
    "--out models/weights/default"
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(cfg: RunConfig) -> nn.Module:
    """The model: anomalies on by default, the point elevation (m) as ``dim_aux=1``, fixed
    inputs on the UK box."""
    arch = dict(cfg.architecture)
    arch.setdefault("anomalies", True)
    arch["dim_aux"] = 1
    if cfg.model.startswith(("ae", "relaxed")):
        arch["domain"] = [list(r) for r in UK_DOMAIN]
    try:
        return models.build_model(cfg.model, **arch)
    except (TypeError, ValueError) as e:  # unknown model name or architecture keys
        raise ConfigError(one_line(e)) from None


def sources(cfg: RunConfig, data_dir: Path) -> MixtureSampler:
    """The training mixture of ``[data]``: sources with a positive weight."""
    d = cfg.data
    mix: list[tuple[float, TaskSampler]] = []
    if d.simulated:
        terrains = load_terrains(data_dir, d.terrains)
        sim = SimulatedSampler(terrains, d.sim_max_targets, d.sim_stations, d.sim_box_deg)
        mix.append((d.simulated, sim))
    if d.era5_uk:
        mix.append((d.era5_uk, reanalysis_sampler(era5_uk(data_dir, "train"), d.uk_stations)))
    if d.era5_conus:
        prism = load_terrains(data_dir, ["conus"])[0]
        conus = reanalysis_sampler(era5_conus(data_dir, prism), d.uk_stations, d.conus_box_deg)
        mix.append((d.era5_conus, conus))
    return MixtureSampler(mix)


def validation(cfg: RunConfig, data_dir: Path) -> tuple[list[Task], list[Task]]:
    """The fixed validation tasks of every run (:func:`.run.validation_tasks`) on the UK
    validation days, and fixed simulated tasks (one seed later)."""
    v = cfg.validation
    uk = validation_tasks(cfg, era5_uk(data_dir, "val"), point_aux=True)
    terrains = load_terrains(data_dir, cfg.data.terrains) if v.simulated_tasks else []
    sim = simulated_validation_tasks(terrains, v.simulated_tasks, v.seed + 1) if terrains else []
    return uk, sim


@torch.no_grad()
def variance_scale(model: nn.Module, tasks: list[Task]) -> float:
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


def run_world_training(
    data_dir: Path,
    out: Path,
    cfg: RunConfig,
    *,
    run_dir: Path | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> tuple[FitResult, dict[str, float]]:
    """Everything ``equigrid train --data`` does; the fit and the validation NLL (K)."""
    cfg.check_for(world=True)
    torch.manual_seed(cfg.train.seed)
    model = build(cfg)
    sampler = sources(cfg, data_dir)
    uk_val, sim_val = validation(cfg, data_dir)
    run_dir = run_dir if run_dir is not None else out.with_name(out.name + ".run")
    check_resume(run_dir, cfg, True)
    started = time.time()
    # checkpoints are chosen on the pooled list: UK validation hours and simulated tasks
    result = fit(
        model, sampler, uk_val + sim_val, cfg.train, run_dir, device=device, progress=progress
    )
    model.cpu()
    nll = {"era5_uk_days_22_24": evaluate_nll(model, uk_val)}
    if sim_val:
        nll["simulated"] = evaluate_nll(model, sim_val)
    # one scalar fitted on the validation tasks (UK days 22-24 and simulated), see results.md
    scale = variance_scale(model, uk_val + sim_val) if cfg.calibration.fit_scale else 1.0
    files = [ERA5_UK, UK_OROGRAPHY, ERA5_CONUS, *(TERRAIN_FILES[t] for t in cfg.data.terrains)]
    extra = {
        "inputs": {
            "values": "K; the model sees anomalies of the task (exact shift equivariance)",
            "elevation": "m; relative to the stations' mean elevation",
        },
        "training": {
            "command": COMMAND,
            "data": [{"file": f, "sha256": _sha(data_dir / f)} for f in sorted(set(files))],
            "uk_train_days": list(DEFAULT_SPLIT_DAYS[0]),
            "uk_validation_days": list(DEFAULT_SPLIT_DAYS[1]),
            "config": cfg.model_dump(mode="json", exclude={"sampler"}),
            "steps": result.steps,
            "best_step": result.best_step,
            "train_seconds": round(result.train_seconds, 1),
            "wall_seconds_last_run": round(time.time() - started, 1),
            "machine": f"{device} ({platform.machine()}), {torch.get_num_threads()} torch threads",
        },
        "metrics": {"val_nll_per_target_k": nll},
        "calibration": {
            "variance_scale": round(scale, 4),
            "variance_floor_k2": cfg.calibration.variance_floor_k2,
            "fitted_on": "the validation tasks: ERA5 UK days 22-24 and simulated fields",
        },
    }
    save_bundle(
        model,
        out,
        normalisation={"t2m": {"mean": 0.0, "std": 1.0}, "elevation": {"mean": 0.0, "std": 1.0}},
        point_aux=["elevation"],
        domain=[list(r) for r in UK_DOMAIN],
        extra=extra,
    )
    return result, nll
