"""The paper-reproduction experiments, one driver each: ``python3 -m experiments NAME``.

Ashman et al. (NeurIPS 2024) claim approximately equivariant NPs beat their strictly
equivariant and their non-equivariant counterparts. Each experiment trains the model family
with one budget (steps, batch; AdamW through :func:`pipelines.train.loop.fit`) on the same
tasks, scores every model on the same seeded test tasks and merges its entries into
``benchmarks/results/science.json``; :mod:`.results` renders that file.

- ``gp1d``: the 1-D mixture of six Gibbs-kernel GPs, with the exact mixture ground truth;
- ``era5`` / ``era5_orog``: one hour of UK ERA5 t2m, 1-30 % of the cells as context, inputs
  (lat, lon), and in the second variant orography as well; with kriging peers;
- ``ood``: the ``era5`` models on 33 x 49 windows of the US snapshot (UK statistics);
- ``ablation_channels`` / ``ablation_dropout``: the AE-ConvCNP's fixed inputs on ``era5``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from pipelines.data.era5 import UK_DOMAIN
from pipelines.evaluate.scores import score
from pipelines.tasks.fixed import hour_tasks
from pipelines.tasks.sampler import CellSampler
from pipelines.tasks.task import Task

from . import deepsensor_peer
from .config import (
    BUDGETS,
    DEFAULT_DATA,
    DEFAULT_RESULTS,
    DEFAULT_RUNS,
    DEFAULT_STORES,
    FAMILY,
    GP_DOMAIN,
    GP_SEEDS,
    GP_SET_SIZE,
    QUICK,
    Context,
    model_config,
)
from .data import Era5
from .entries import entry, kriging_entries, model_entry, with_paired
from .gp import GibbsGPSampler, GPTruthPredictor
from .results import merge
from .training import Trained, build, train

Entries = dict[str, dict[str, Any]]

# ---------------------------------------------------------------------------- 1-D GP


def gp_tasks(split: str, n: int, sampler: GibbsGPSampler, batch_size: int = 16) -> list[Task]:
    """The first ``n`` tasks of the seeded ``split`` set (4,096 tasks; batch ``i`` is drawn
    from seed ``GP_SEEDS[split] + i``, so any prefix is the same whatever ``n``)."""
    if n > GP_SET_SIZE:
        raise ValueError(f"the {split} set has {GP_SET_SIZE} tasks")
    out = []
    for i in range(-(-n // batch_size)):
        gen = torch.Generator().manual_seed(GP_SEEDS[split] + i)
        out.append(sampler.sample(min(batch_size, n - i * batch_size), gen))
    return out


def run_gp1d(ctx: Context, names: tuple[str, ...] = FAMILY) -> Entries:
    sampler = GibbsGPSampler()
    val = gp_tasks("val", ctx.budget.n_val, sampler)
    test = gp_tasks("test", ctx.budget.n_test, sampler)
    out = {"gp_ground_truth": entry(score(GPTruthPredictor(sampler), test), None, None)}
    for name in names:
        cfg = model_config(name, 1, GP_DOMAIN, ctx.quick)
        t = train(ctx, "gp1d", name, build(name, cfg), cfg, sampler, val)
        out[name] = model_entry(t, test, None, name)
    return out


# ---------------------------------------------------------------------------- ERA5


def train_family(
    e: Era5, names: tuple[str, ...] = FAMILY, overrides: dict[str, Any] | None = None
) -> dict[str, Trained]:
    """The (lat, lon) models of experiment 2, trained (or reloaded from their runs)."""
    s, val = e.train_sampler(False), e.val_tasks(False)
    out = {}
    for name in names:
        cfg = model_config(name, 2, UK_DOMAIN, e.ctx.quick) | (overrides or {})
        out[name] = train(e.ctx, "era5", name, build(name, cfg), cfg, s, val)
    return out


def train_deepsensor(e: Era5) -> Trained | None:
    """DeepSensor's ConvNP on the same tasks and budget (None if not installed)."""
    if not deepsensor_peer.available():
        e.ctx.log("deepsensor is not installed (extra `benchmark`): peer skipped")
        return None
    lat, lon = UK_DOMAIN  # equal spans of latitude and longitude, centred on the box
    span = max(lat[1] - lat[0], lon[1] - lon[0])
    mid = (lat[0] + lat[1]) / 2
    x1_map, x2_map = (mid - span / 2, mid + span / 2), (lon[0], lon[0] + span)
    cfg: dict[str, Any] = {
        "unet_channels": [4, 4] if e.ctx.quick else [16, 32, 32],
        "unet_kernels": 3,  # as our 2-D ConvCNPs
        "likelihood": "het",
    }
    torch.manual_seed(0)
    model = deepsensor_peer.DeepSensorConvNP(
        e.train_days_kelvin(),
        x1_map,
        x2_map,
        **cfg | {"unet_channels": tuple(cfg["unet_channels"])},
    )
    run_cfg = cfg | {"x1_map": x1_map, "x2_map": x2_map}
    sampler, val = e.train_sampler(False), e.val_tasks(False)
    return train(e.ctx, "era5", "deepsensor_convnp", model, run_cfg, sampler, val)


def run_era5(ctx: Context, split: str = "test") -> Entries:
    e = Era5.load(ctx)
    test = e.test_tasks(False, split)
    trained = train_family(e)
    out = {name: model_entry(t, test, e.y_std, name) for name, t in trained.items()}
    if (ds := train_deepsensor(e)) is not None:
        out["deepsensor_convnp"] = model_entry(ds, test, e.y_std, "deepsensor_convnp")
    out |= kriging_entries(ctx, test, e.y_std, with_drift=False)
    if split == "test":
        from .figures import era5_maps

        era5_maps(trained["convcnp"].model, trained["aeconvcnp"].model, e, ctx)
    return out


def run_era5_orog(ctx: Context) -> Entries:
    e = Era5.load(ctx)
    out: Entries = {}
    for name in FAMILY:
        cfg = model_config(name, 2, UK_DOMAIN, ctx.quick)
        conv = name.endswith("convcnp")
        cfg |= {"aux_grid": e.aux_grid()} if conv else {"dim_aux": 1}
        model = build(name, cfg, e.set_orography if conv else None)
        point_aux = not conv
        t = train(
            ctx, "era5_orog", name, model, cfg, e.train_sampler(point_aux), e.val_tasks(point_aux)
        )
        out[name] = model_entry(t, e.test_tasks(point_aux), e.y_std, name)
    return out | kriging_entries(ctx, e.test_tasks(True), e.y_std, with_drift=True)


def run_ood(ctx: Context) -> Entries:
    e = Era5.load(ctx)
    s = CellSampler(e.conus(), window=e.data.shape)
    tasks = hour_tasks(s, [0] * ctx.budget.n_test, seed=4, batch_size=4)
    trained = train_family(e)
    if (ds := train_deepsensor(e)) is not None:
        trained["deepsensor_convnp"] = ds
    out = {name: model_entry(t, tasks, e.y_std, name) for name, t in trained.items()}
    return out | kriging_entries(ctx, tasks, e.y_std, with_drift=False)


def _ablation(ctx: Context, variants: dict[str, tuple[str, dict[str, Any]]]) -> Entries:
    e = Era5.load(ctx)
    test = e.test_tasks(False)
    s, val = e.train_sampler(False), e.val_tasks(False)
    out = {}
    for key, (name, override) in variants.items():
        cfg = model_config(name, 2, UK_DOMAIN, ctx.quick) | override
        t = train(ctx, "era5", name, build(name, cfg), cfg, s, val)
        out[key] = model_entry(t, test, e.y_std, name) | override
    return out


def run_ablation_channels(ctx: Context) -> Entries:
    variants: dict[str, tuple[str, dict[str, Any]]] = {"C_t=0 (convcnp)": ("convcnp", {})}
    for c in (1, 2, 4, 8, 16):
        variants[f"C_t={c}"] = ("aeconvcnp", {"fixed_channels": c})
    return _ablation(ctx, variants)


def run_ablation_dropout(ctx: Context) -> Entries:
    return _ablation(ctx, {f"p={p}": ("aeconvcnp", {"p_drop": p}) for p in (0.0, 0.5)})


# ---------------------------------------------------------------------------- registry


EXPERIMENTS: dict[str, tuple[str, Callable[[Context], Entries]]] = {
    "gp1d": ("gp1d", run_gp1d),
    "gp1d_long": ("gp1d_long", lambda ctx: run_gp1d(ctx, ("convcnp", "aeconvcnp"))),
    "era5": ("era5", run_era5),
    # investigation: the era5 models on full-grid tasks of the validation days (22-24)
    "era5_valdays": ("era5", lambda ctx: run_era5(ctx, "val")),
    "era5_orog": ("era5", run_era5_orog),
    "ood": ("era5", run_ood),
    "ablation_channels": ("era5", run_ablation_channels),
    "ablation_dropout": ("era5", run_ablation_dropout),
}


def run_experiment(
    name: str,
    *,
    steps: int | None = None,
    quick: bool = False,
    results: Path = DEFAULT_RESULTS,
    runs: Path = DEFAULT_RUNS,
    data: Path = DEFAULT_DATA,
    stores: Path = DEFAULT_STORES,
    progress: bool = False,
) -> Entries:
    """Run experiment ``name`` and merge its entries into ``results``."""
    budget_key, fn = EXPERIMENTS[name]
    budget = QUICK if quick else BUDGETS[budget_key]
    if steps is not None:
        budget = replace(budget, steps=steps)
    torch.set_num_threads(1)
    ctx = Context(results, runs, data, budget, quick, stores=stores, progress=progress)
    entries = with_paired(fn(ctx))
    merge(results, name, entries)
    return entries
