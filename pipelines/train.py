"""``equigrid train``: train a model on a store and write a model bundle.

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
import typer
import xarray as xr
from torch import nn

import models

from .bundle import Stats, save_bundle
from .runconfig import ConfigError, RunConfig, load_run_config
from .sampling import SplitField, StoreSampler, load_split, make_tasks, read_layout
from .store import StoreError, open_store, provenance
from .tasks import Task
from .training import FitResult, fit, is_main_process, shutdown_distributed

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
    model = models.build_model(cfg.model, **arch)
    if orography_aux:
        raster = torch.tensor(ds[names].to_array().values, dtype=torch.float32)
        model.gridded_aux.set_raster(raster)  # type: ignore[union-attr,operator]
    return model


def validation_tasks(cfg: RunConfig, data: SplitField, point_aux: bool) -> list[Task]:
    v = cfg.validation
    tasks: list[Task] = []
    for i, n in enumerate(v.stations):
        n = min(n, data.n_cells - 1)
        tasks += make_tasks(data, v.tasks_per_n, n, v.seed + i, point_aux=point_aux)[0]
    return tasks


def _check_resume(run_dir: Path, cfg: RunConfig, orography_aux: bool) -> None:
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
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")


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
    """Everything ``equigrid train`` does, as a function."""
    ds = open_store(store)
    torch.manual_seed(cfg.train.seed)
    model = build_for_store(cfg, ds, orography_aux)
    train, val = load_split(ds, "train"), load_split(ds, "val")
    layout = read_layout(cfg.sampler.layout) if cfg.sampler.layout else None
    sampler = StoreSampler(
        train,
        **cfg.sampler.model_dump(exclude={"layout"}),
        layout=layout,
        point_aux=orography_aux,
    )
    run_dir = run_dir if run_dir is not None else out.with_name(out.name + ".run")
    _check_resume(run_dir, cfg, orography_aux)
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


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        store: Path = typer.Option(..., help="training store (equigrid ingest)"),
        out: Path = typer.Option(..., help="model bundle directory to write"),
        config: Path | None = typer.Option(None, help="run configuration (.json or .toml)"),
        set_: list[str] = typer.Option([], "--set", help="override, e.g. train.steps=500"),
        orography_aux: bool = typer.Option(
            True, help="orography + land fraction on the grid and point elevation as inputs"
        ),
        run_dir: Path | None = typer.Option(None, help="resumable state (default <out>.run)"),
        device: str = typer.Option("auto", help="auto, cpu or cuda"),
        threads: int | None = typer.Option(None, help="torch CPU threads"),
        progress: bool = typer.Option(True, help="show a progress bar"),
    ) -> None:
        """Train a model on a store and write a model bundle."""
        try:
            cfg = load_run_config(
                config, set_ + ([f"train.threads={threads}"] if threads is not None else [])
            )
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            if device.startswith("cuda") and not torch.cuda.is_available():
                raise ValueError("--device cuda but no CUDA device is available")
            result = run_training(
                store,
                out,
                cfg,
                run_dir=run_dir,
                orography_aux=orography_aux,
                device=device,
                progress=progress,
            )
        except (ConfigError, StoreError, ValueError, TypeError) as e:
            typer.echo(f"error: {str(e).splitlines()[0]}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: state saved; rerun the same command to continue", err=True)
            raise typer.Exit(130) from None
        typer.echo(
            f"wrote {out}: {result.steps} steps, best validation NLL "
            f"{result.best_val_nll:.4f} at step {result.best_step}"
        )
