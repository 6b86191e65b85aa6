"""Training a model on a store into a model bundle (the command is :mod:`cli.train`).

The run's resumable state lives in ``--run-dir`` (default: ``<out>.run`` beside the bundle),
so rerunning the same command after an interruption continues where it stopped. The bundle
(``model.safetensors`` + ``model.json``) is written only when training ends.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
import xarray as xr
from torch import nn

import models
from inference.bundle import save_bundle
from inference.errors import ConfigError, StoreError, one_line
from inference.files import write_text
from inference.normalisation import Stats

from ..data.store import open_store, provenance
from ..tasks.field import Field, load_split
from ..tasks.fixed import station_count_tasks
from ..tasks.layout import read_layout
from ..tasks.sampler import CellSampler
from ..tasks.task import Task
from .config import RunConfig
from .distributed import is_main_process, shutdown_distributed
from .loop import FitResult, fit

# what may change between an interrupted run and its continuation
_RESUMABLE_CHANGES = ("steps", "threads", "patience")


def store_domain(ds: xr.Dataset) -> list[list[float]]:
    lat, lon = ds["latitude"].values, ds["longitude"].values
    return [[float(lat[0]), float(lat[-1])], [float(lon[0]), float(lon[-1])]]


def build_for_store(cfg: RunConfig, ds: xr.Dataset, orography_aux: bool) -> nn.Module:
    """``models.build_model`` with the store's domain box and, if asked, its orography and
    land fraction as a gridded input and the point elevation as ``dim_aux=1``."""
    arch: dict[str, Any] = dict(cfg.architecture)
    if cfg.model.startswith(("ae", "relaxed")):
        arch["domain"] = store_domain(ds)
    names = [n for n in ("orog", "land_fraction") if n in ds]
    if orography_aux:
        if "orog" not in ds:
            raise StoreError("the store has no orography; train with --no-orography-aux")
        lat, lon = ds["latitude"].values, ds["longitude"].values
        arch["aux_grid"] = {
            "names": names,
            "origin": [float(lat[0]), float(lon[0])],
            "spacing": [float(lat[1] - lat[0]), float(lon[1] - lon[0])],
            "shape": [len(lat), len(lon)],
        }
        arch["dim_aux"] = 1
    try:
        model = models.build_model(cfg.model, **arch)
    except (TypeError, ValueError) as e:  # unknown model name or architecture keys
        raise ConfigError(one_line(e)) from None
    if orography_aux:
        raster = torch.tensor(ds[names].to_array().values, dtype=torch.float32)
        model.gridded_aux.set_raster(raster)  # type: ignore[union-attr,operator]
    return model


def validation_tasks(cfg: RunConfig, data: Field, point_aux: bool) -> list[Task]:
    v = cfg.validation
    tasks: list[Task] = []
    for i, n in enumerate(v.stations):
        n = min(n, data.n_cells - 1)
        tasks += station_count_tasks(data, v.tasks_per_n, n, v.seed + i, point_aux=point_aux)[0]
    return tasks


def check_resume(run_dir: Path, cfg: RunConfig, orography_aux: bool) -> None:
    """Record the configuration on the first run; refuse to continue under a different one."""
    config = cfg.model_dump(mode="json")
    for k in _RESUMABLE_CHANGES:
        config["train"].pop(k)
    doc = {"config": config, "orography_aux": orography_aux}
    path = run_dir / "run.json"
    if path.is_file():
        if json.loads(path.read_text()) != doc:
            raise ConfigError(
                f"{run_dir} holds a run with a different configuration; "
                "use another --run-dir or delete it"
            )
        return
    write_text(path, json.dumps(doc, indent=1) + "\n")


def _time_window(ds: xr.Dataset, code: int) -> list[str]:
    t = ds["time"].values[ds["split"].values == code]
    return [str(t.min())[:19], str(t.max())[:19]] if len(t) else []


def run_training(
    store: Path,
    out: Path,
    cfg: RunConfig,
    *,
    run_dir: Path | None = None,
    orography_aux: bool = True,
    device: str = "cpu",
    progress: bool = True,
) -> FitResult:
    """Everything ``equigrid train --store`` does, as a function."""
    cfg.check_for(world=False)
    ds = open_store(store)
    torch.manual_seed(cfg.train.seed)
    model = build_for_store(cfg, ds, orography_aux)
    train, val = load_split(ds, "train"), load_split(ds, "val")
    layout = read_layout(cfg.sampler.layout) if cfg.sampler.layout else None
    sampler = CellSampler(
        train,
        **cfg.sampler.model_dump(exclude={"layout"}),
        layout=layout,
        point_aux=orography_aux,
    )
    run_dir = run_dir if run_dir is not None else out.with_name(out.name + ".run")
    check_resume(run_dir, cfg, orography_aux)
    started = time.time()
    result = fit(
        model,
        sampler,
        validation_tasks(cfg, val, orography_aux),
        cfg.train,
        run_dir,
        device=device,
        progress=progress,
    )
    norm: dict[str, Stats] = {"t2m": train.stats["t2m"]}
    if orography_aux:
        norm["elevation"] = train.stats["elevation"]
    extra = {
        "training": {
            "store": str(store),
            "store_provenance": provenance(ds),
            "train_window": _time_window(ds, 0),
            "validation_window": _time_window(ds, 1),
            "config": cfg.model_dump(mode="json"),
            "orography_aux": orography_aux,
            "steps": result.steps,
            "best_step": result.best_step,
            "stopped_early": result.stopped_early,
            "train_seconds": round(result.train_seconds, 1),
            "wall_seconds_last_run": round(time.time() - started, 1),
            "device": device,
        },
        "metrics": {
            "val_nll_per_target_normalised": result.best_val_nll,
            # the same in kelvin: NLL of y = mean + std * z gains log(std)
            "val_nll_per_target_k": result.best_val_nll + math.log(norm["t2m"].std),
            "val_tasks": {"stations": cfg.validation.stations, "per_n": cfg.validation.tasks_per_n},
        },
    }
    if is_main_process():  # under DDP every rank holds the same weights; one writes
        save_bundle(
            model.cpu(),
            out,
            normalisation=dict(norm),
            point_aux=["elevation"] if orography_aux else [],
            domain=store_domain(ds),
            extra=extra,
        )
    shutdown_distributed()
    return result
