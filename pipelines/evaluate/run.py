"""Production evaluation: a bundle, its equivariant component and kriging on identical tasks.

Protocol: per task one hour of the chosen split, ``N`` random grid cells as stations and
every other cell as a target (:func:`pipelines.tasks.fixed.station_count_tasks`); metrics
are averaged over the tasks by the one scorer (:mod:`.scores`). Per method: Gaussian NLL
per target in kelvin, RMSE, MAE (K), the fraction of targets inside the central 95 %
interval, and a 10-bin PIT histogram. Methods: ``model`` (the bundle through
:class:`inference.predictor.BundlePredictor`, the service's path), ``model_strict`` (its
equivariant component) and ``kriging_ed`` (GSTools kriging with orography and land fraction
as external drift). The command is :mod:`cli.evaluate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

from inference.bundle import Bundle
from inference.errors import ConfigError, StoreError
from inference.predictor import BundlePredictor

from ..data.era5 import read_t2m
from ..data.orography import read_orography
from ..data.store import SPLITS, STORE_VERSION, validate
from ..tasks.field import Field, bilinear, load_split
from ..tasks.fixed import station_count_tasks
from ..tasks.task import Task
from .predictors import BundleTaskPredictor, KrigingPredictor, TaskPredictor
from .scores import score

METHODS = ("model", "model_strict", "kriging_ed")


def kelvin_task(task: Task, data: Field) -> Task:
    """A one-task batch in physical units (float64): values in K and, as auxiliaries, the
    orography (m) and land fraction (1) at every point, bilinear from the store."""
    st = data.stats["t2m"]

    def static(x: torch.Tensor) -> torch.Tensor:
        assert data.orog is not None and data.land is not None  # checked by evaluate()
        rows = [bilinear(g, data.lat, data.lon, x).double() for g in (data.orog, data.land)]
        return torch.stack(rows, dim=-1)[None]

    return Task(
        xc=task.xc.double(),
        yc=task.yc.double() * st.std + st.mean,
        xt=task.xt.double(),
        yt=task.yt.double() * st.std + st.mean,
        aux_c=static(task.xc[0]),
        aux_t=static(task.xt[0]),
    )


def evaluate(
    bundle: Bundle,
    data: Field,
    stations: list[int],
    hours: int,
    seed: int,
    *,
    kriging: bool = True,
    plot_dir: Path | None = None,
) -> dict[str, Any]:
    """Scores per station count and method (see the module docstring)."""
    if data.orog is None or data.land is None:
        raise StoreError("evaluation needs orography and land fraction in the store")
    bp = BundlePredictor(bundle)
    methods: dict[str, TaskPredictor] = {
        "model": BundleTaskPredictor(bp),
        "model_strict": BundleTaskPredictor(bp, strict=True),
    }
    if kriging:
        methods["kriging_ed"] = KrigingPredictor(drift=True)
    results: dict[str, Any] = {}
    for n in stations:
        tasks, hour_idx = station_count_tasks(data, hours, n, seed + n)
        in_k = [kelvin_task(t, data) for t in tasks]
        results[str(n)] = {name: score(p, in_k).summary() for name, p in methods.items()}
        results[str(n)]["times"] = [str(data.times[h])[:16] for h in hour_idx]
        if plot_dir is not None:
            from .maps import plot_task

            path = plot_dir / f"task_n{n}_hour{hour_idx[0]}.png"
            plot_task(data, in_k[0], methods["model"].predict(in_k[0])[0], path)
    return results


def era5_field(path: Path, orography: Path | None, bundle: Bundle) -> Field:
    """Every time step of an ERA5 t2m file (any schema ingest reads) as one field, with the
    orography file regridded to it; normalised with the bundle's statistics."""
    if orography is None:
        raise ConfigError("--era5 needs --orography (orography and land fraction)")
    t2m = read_t2m(path).load()
    static = read_orography(orography, t2m)
    t, e = bundle.normalisation["t2m"], bundle.normalisation.get("elevation")
    attrs = {"equigrid_store_version": STORE_VERSION, "t2m_mean": t.mean, "t2m_std": t.std}
    if e is not None:
        attrs |= {"orog_mean": e.mean, "orog_std": e.std}
    split = np.full(t2m.sizes["time"], SPLITS["test"], dtype=np.int8)
    ds = xr.Dataset({"t2m": t2m, "split": ("time", split), **static.data_vars}, attrs=attrs)
    validate(ds)
    return load_split(ds, "test")
