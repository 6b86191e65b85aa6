"""The paper-reproduction experiments, one command each: ``equigrid experiment NAME``.

Ashman et al. (NeurIPS 2024) claim approximately equivariant NPs beat their strictly
equivariant and their non-equivariant counterparts. Each experiment trains the model family
with one budget (steps, batch; AdamW through :func:`pipelines.training.fit`) on the same
tasks, scores every model on the same seeded test tasks and merges its entries into
``benchmarks/results/science.json``; :mod:`pipelines.results` renders that file.

- ``gp1d``: the 1-D mixture of six Gibbs-kernel GPs, with the exact mixture ground truth;
- ``era5`` / ``era5_orog``: one hour of UK ERA5 t2m, 1-30 % of the cells as context, inputs
  (lat, lon), and in the second variant orography as well; with kriging peers;
- ``ood``: the ``era5`` models on 33 x 49 windows of the US snapshot (UK statistics);
- ``ablation_channels`` / ``ablation_dropout``: the AE-ConvCNP's fixed inputs on ``era5``.

Training runs live in ``runs/science/<setup>/<model>-<hash>``; ``fit`` resumes a finished
run at once, so experiments that share a run (``ood``, the ablations) reuse it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer
import xarray as xr
from torch import nn

import models

from .gp import GibbsGPSampler, ground_truth
from .gridtasks import UK_DOMAIN, GriddedData, fixed_tasks, load_conus, load_uk
from .scoring import TaskScores, score_model
from .tasks import Task, TaskSampler
from .training import TrainConfig, fit

FAMILY = ("tnp", "tetnp", "aetetnp", "convcnp", "aeconvcnp", "relaxed_convcnp")
APPROX = ("aetetnp", "aeconvcnp", "relaxed_convcnp")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = REPO / "benchmarks" / "results" / "science.json"
DEFAULT_RUNS = REPO / "runs" / "science"
DEFAULT_DATA = REPO.parent / "shared" / "data"
GP_DOMAIN = [[-2.0, 2.0]]
GP_SET_SIZE = 4096  # the seeded validation and test sets; evaluation may use a prefix
GP_SEEDS = {"val": 10_000, "test": 20_000}
ERA5_TRAIN_WINDOW = (16, 24)  # training tasks: random windows, 1-30 % of their cells
ERA5_TRAIN_TARGETS = 128


@dataclass(frozen=True)
class Budget:
    """Training and evaluation sizes of one experiment (the same for all its models)."""

    steps: int
    batch_size: int
    n_val: int  # validation tasks used for model selection during training
    n_test: int  # test tasks scored (a prefix / seeded subset of the fixed test set)
    lr: float = 1e-3


BUDGETS = {
    "gp1d": Budget(steps=1000, batch_size=16, n_val=128, n_test=GP_SET_SIZE),
    # investigation: is the ConvCNP pair's ordering a matter of training length?
    "gp1d_long": Budget(steps=2000, batch_size=16, n_val=128, n_test=GP_SET_SIZE),
    "era5": Budget(steps=1000, batch_size=8, n_val=32, n_test=64),
}
QUICK = Budget(steps=2, batch_size=2, n_val=2, n_test=2)


@dataclass
class Context:
    """What every experiment needs: paths, the budget, and whether this is a quick check."""

    results: Path
    runs: Path
    data: Path
    budget: Budget
    quick: bool
    device: str = "cpu"
    progress: bool = False

    def log(self, msg: str) -> None:
        typer.echo(msg, err=True)


# ---------------------------------------------------------------------------- models


def model_config(name: str, dim_x: int, domain: list[list[float]], quick: bool) -> dict[str, Any]:
    """The (small, CPU-sized) configuration of ``name`` used in every experiment."""
    if name.endswith("convcnp"):
        if quick:
            cfg: dict[str, Any] = {"unet_channels": [4, 4], "kernel_size": 3, "head_width": 8}
        elif dim_x == 1:  # radius 130 cells = 8 units: every target sees every context
            cfg = {"unet_channels": [16, 32, 32, 32, 32], "kernel_size": 5, "head_width": 32}
        else:  # radius 15 cells = 3.75 degrees
            cfg = {"unet_channels": [16, 32, 32], "kernel_size": 3, "head_width": 32}
        cfg["points_per_unit"] = 16.0 if dim_x == 1 else 4.0
    else:
        cfg = {"d_model": 8 if quick else 32, "num_heads": 2 if quick else 4, "num_layers": 2}
    if name in APPROX or name == "tnp":
        cfg["domain"] = domain  # the TNP uses it only to scale its absolute inputs
    if name in ("aeconvcnp", "aetetnp"):
        cfg |= {"fixed_channels": 4, "fourier_features": 4, "fixed_width": 32, "p_drop": 0.5}
    return {"dim_x": dim_x} | cfg


def _run_dir(runs: Path, setup: str, key: str, cfg: dict[str, Any], tc: TrainConfig) -> Path:
    blob = json.dumps({"model": cfg, "train": tc.model_dump()}, sort_keys=True, default=str)
    return runs / setup / f"{key}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


@dataclass
class Trained:
    model: nn.Module
    steps: int
    seconds: float


def build(
    name: str, cfg: dict[str, Any], prepare: Callable[[nn.Module], None] | None = None
) -> nn.Module:
    """``models.build_model`` from a fixed seed, then ``prepare`` (e.g. set a raster)."""
    torch.manual_seed(0)
    model = models.build_model(name, **cfg)
    if prepare is not None:
        prepare(model)
    return model


def train(
    ctx: Context,
    setup: str,
    key: str,
    model: nn.Module,
    cfg: dict[str, Any],
    sampler: TaskSampler,
    val: list[Task],
) -> Trained:
    """Train ``model`` (configured by ``cfg``) with the experiment's budget on one thread."""
    b = ctx.budget
    tc = TrainConfig(
        steps=b.steps,
        batch_size=b.batch_size,
        lr=b.lr,
        val_every=max(b.steps // 10, 1),
        checkpoint_every=max(b.steps // 10, 1),
        threads=1,
        seed=0,
    )
    run_dir = _run_dir(ctx.runs, setup, key, cfg, tc)
    ctx.log(f"[{setup}] {key}: training in {run_dir}")
    res = fit(model, sampler, val, tc, run_dir, device=ctx.device, progress=ctx.progress)
    return Trained(model, res.steps, res.train_seconds)


def entry(scores: TaskScores, y_std: float | None, trained: Trained | None, **extra: Any) -> dict:
    """One model's record in science.json."""
    out: dict[str, Any] = scores.summary(y_std)
    out |= {
        "train_steps": trained.steps if trained else 0,
        "train_seconds": round(trained.seconds, 1) if trained else 0.0,
        "device": "cpu (1 thread)" if trained else "cpu",
    }
    if trained is not None:
        out["params"] = sum(p.numel() for p in trained.model.parameters())
    return out | extra | {"_ll": scores.ll}


def model_entry(t: Trained, tasks: list[Task], y_std: float | None, name: str) -> dict[str, Any]:
    """Score a trained model; for approximately equivariant ones also its equivariant
    component (``strict``) and the Delta-equiv diagnostic."""
    scores, strict, delta = score_model(t.model, tasks, component=name in APPROX)
    extra: dict[str, Any] = {"delta_equiv": delta}
    if strict is not None:
        extra["ll_strict"] = strict.summary(y_std)["ll"]
        extra["d_ll_strict"] = paired_difference(scores.ll, strict.ll)
    return entry(scores, y_std, t, **extra)


# the paired comparisons reported beside each entry: model -> its counterpart
COUNTERPART = {
    "tetnp": "tnp",
    "aetetnp": "tetnp",
    "aeconvcnp": "convcnp",
    "relaxed_convcnp": "convcnp",
    "deepsensor_convnp": "convcnp",
    "kriging_orog_drift": "kriging_ordinary",
    "C_t=1": "C_t=0 (convcnp)",
    "C_t=2": "C_t=0 (convcnp)",
    "C_t=4": "C_t=0 (convcnp)",
    "C_t=8": "C_t=0 (convcnp)",
    "C_t=16": "C_t=0 (convcnp)",
    "p=0.5": "p=0.0",
}


def paired_difference(a: list[float], b: list[float]) -> list[float]:
    """Mean and standard error over tasks of ``a - b`` (the same tasks, so paired)."""
    d = np.asarray(a) - np.asarray(b)
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return [float(d.mean()), se]


def with_paired(entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Add ``d_ll = [mean, se]`` of each entry against its counterpart (``vs``), then drop
    the per-task values."""
    out = {}
    for key, e in entries.items():
        base = COUNTERPART.get(key)
        extra: dict[str, Any] = {}
        if base in entries:
            extra = {"vs": base, "d_ll": paired_difference(e["_ll"], entries[base]["_ll"])}
        out[key] = {k: v for k, v in e.items() if k != "_ll"} | extra
    return out


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


def run_gp1d(ctx: Context, names: tuple[str, ...] = FAMILY) -> dict[str, dict[str, Any]]:
    sampler = GibbsGPSampler()
    val = gp_tasks("val", ctx.budget.n_val, sampler)
    test = gp_tasks("test", ctx.budget.n_test, sampler)
    truth = TaskScores()
    for batch in test:
        truth.extend(ground_truth(batch, sampler).tolist())
    out = {"gp_ground_truth": entry(truth, None, None)}
    for name in names:
        cfg = model_config(name, 1, GP_DOMAIN, ctx.quick)
        t = train(ctx, "gp1d", name, build(name, cfg), cfg, sampler, val)
        out[name] = model_entry(t, test, None, name)
    return out


# ---------------------------------------------------------------------------- ERA5


@dataclass
class Era5:
    """The UK month split by days, and the samplers/task sets of the ERA5 experiments."""

    data: GriddedData
    split: dict[str, np.ndarray]
    ctx: Context

    @classmethod
    def load(cls, ctx: Context) -> Era5:
        data, split = load_uk(ctx.data)
        return cls(data, split, ctx)

    def train_sampler(self, with_orog: bool) -> TaskSampler:
        return self.data.sampler(
            self.split["train"],
            with_orog=with_orog,
            window=ERA5_TRAIN_WINDOW,
            max_targets=ERA5_TRAIN_TARGETS,
        )

    def val_tasks(self, with_orog: bool) -> list[Task]:
        s = self.data.sampler(
            self.split["val"],
            with_orog=with_orog,
            window=ERA5_TRAIN_WINDOW,
            max_targets=ERA5_TRAIN_TARGETS,
        )
        return fixed_tasks(s, list(range(self.ctx.budget.n_val)), seed=1)

    def test_hours(self, split: str = "test") -> list[int]:
        """A seeded subset of ``n_test`` hours of the split's days (test: 25-31), in order."""
        rng = np.random.default_rng(2019)
        hours = rng.choice(len(self.split[split]), self.ctx.budget.n_test, replace=False)
        return sorted(int(h) for h in hours)

    def test_tasks(self, with_orog: bool, split: str = "test") -> list[Task]:
        """Full-grid tasks: 1-30 % of all cells as context, every other cell a target."""
        s = self.data.sampler(self.split[split], with_orog=with_orog)
        return fixed_tasks(s, self.test_hours(split), seed=3, batch_size=4)

    def aux_grid(self) -> dict[str, Any]:
        lat, lon = self.data.lat, self.data.lon
        return {
            "names": ["orog"],
            "origin": [float(lat[0]), float(lon[0])],
            "spacing": [float(lat[1] - lat[0]), float(lon[1] - lon[0])],
            "shape": [len(lat), len(lon)],
        }

    def set_orography(self, model: nn.Module) -> None:
        if self.data.orog_raw is None:
            raise ValueError("no orography loaded")
        raster = torch.as_tensor(self.data.orog_raw, dtype=torch.float32)[None]
        model.gridded_aux.set_raster(raster)  # type: ignore[union-attr, operator]

    def train_family(
        self, names: tuple[str, ...] = FAMILY, overrides: dict[str, Any] | None = None
    ) -> dict[str, Trained]:
        """The (lat, lon) models of experiment 2, trained (or reloaded from their runs)."""
        s, val = self.train_sampler(False), self.val_tasks(False)
        out = {}
        for name in names:
            cfg = model_config(name, 2, UK_DOMAIN, self.ctx.quick) | (overrides or {})
            out[name] = train(self.ctx, "era5", name, build(name, cfg), cfg, s, val)
        return out

    def train_deepsensor(self) -> Trained | None:
        """DeepSensor's ConvNP on the same tasks and budget (None if not installed)."""
        from . import deepsensor_peer

        if not deepsensor_peer.available():
            self.ctx.log("deepsensor is not installed (extra `benchmark`): peer skipped")
            return None
        d = self.data
        train_days = xr.DataArray(
            d.values[torch.as_tensor(self.split["train"])].numpy() * d.norm.std + d.norm.mean,
            coords={"time": d.times[self.split["train"]], "latitude": d.lat, "longitude": d.lon},
            dims=("time", "latitude", "longitude"),
            name="t2m",
        )
        lat, lon = UK_DOMAIN  # equal spans of latitude and longitude, centred on the box
        span = max(lat[1] - lat[0], lon[1] - lon[0])
        mid = (lat[0] + lat[1]) / 2
        x1_map, x2_map = (mid - span / 2, mid + span / 2), (lon[0], lon[0] + span)
        cfg: dict[str, Any] = {
            "unet_channels": [4, 4] if self.ctx.quick else [16, 32, 32],
            "unet_kernels": 3,  # as our 2-D ConvCNPs
            "likelihood": "het",
        }
        torch.manual_seed(0)
        model = deepsensor_peer.DeepSensorConvNP(
            train_days, x1_map, x2_map, **cfg | {"unet_channels": tuple(cfg["unet_channels"])}
        )
        return train(
            self.ctx,
            "era5",
            "deepsensor_convnp",
            model,
            cfg | {"x1_map": x1_map, "x2_map": x2_map},
            self.train_sampler(False),
            self.val_tasks(False),
        )


def run_era5(ctx: Context, split: str = "test") -> dict[str, dict[str, Any]]:
    e = Era5.load(ctx)
    test = e.test_tasks(False, split)
    trained = e.train_family()
    std = e.data.norm.std
    out = {name: model_entry(t, test, std, name) for name, t in trained.items()}
    if (ds := e.train_deepsensor()) is not None:
        out["deepsensor_convnp"] = model_entry(ds, test, std, "deepsensor_convnp")
    out |= kriging_entries(e, test, with_drift=False)
    if split == "test":
        from .figures import era5_maps

        era5_maps(trained["convcnp"].model, trained["aeconvcnp"].model, e, ctx)
    return out


def run_era5_orog(ctx: Context) -> dict[str, dict[str, Any]]:
    e = Era5.load(ctx)
    out: dict[str, dict[str, Any]] = {}
    for name in FAMILY:
        cfg = model_config(name, 2, UK_DOMAIN, ctx.quick)
        conv = name.endswith("convcnp")
        cfg |= {"aux_grid": e.aux_grid()} if conv else {"dim_aux": 1}
        model = build(name, cfg, e.set_orography if conv else None)
        point_aux = not conv
        t = train(
            ctx, "era5_orog", name, model, cfg, e.train_sampler(point_aux), e.val_tasks(point_aux)
        )
        out[name] = model_entry(t, e.test_tasks(point_aux), e.data.norm.std, name)
    out |= kriging_entries(e, e.test_tasks(True), with_drift=True)
    return out


def run_ood(ctx: Context) -> dict[str, dict[str, Any]]:
    e = Era5.load(ctx)
    conus = load_conus(ctx.data, e.data.norm)
    s = conus.sampler(window=(len(e.data.lat), len(e.data.lon)))
    tasks = fixed_tasks(s, [0] * ctx.budget.n_test, seed=4, batch_size=4)
    std = e.data.norm.std
    trained = e.train_family()
    if (ds := e.train_deepsensor()) is not None:
        trained["deepsensor_convnp"] = ds
    out = {name: model_entry(t, tasks, std, name) for name, t in trained.items()}
    return out | kriging_entries(e, tasks, with_drift=False)


def _ablation(ctx: Context, variants: dict[str, tuple[str, dict[str, Any]]]) -> dict:
    e = Era5.load(ctx)
    test, std = e.test_tasks(False), e.data.norm.std
    s, val = e.train_sampler(False), e.val_tasks(False)
    out = {}
    for key, (name, override) in variants.items():
        cfg = model_config(name, 2, UK_DOMAIN, ctx.quick) | override
        t = train(ctx, "era5", name, build(name, cfg), cfg, s, val)
        out[key] = model_entry(t, test, std, name) | override
    return out


def run_ablation_channels(ctx: Context) -> dict[str, dict[str, Any]]:
    variants: dict[str, tuple[str, dict[str, Any]]] = {"C_t=0 (convcnp)": ("convcnp", {})}
    for c in (1, 2, 4, 8, 16):
        variants[f"C_t={c}"] = ("aeconvcnp", {"fixed_channels": c})
    return _ablation(ctx, variants)


def run_ablation_dropout(ctx: Context) -> dict[str, dict[str, Any]]:
    return _ablation(ctx, {f"p={p}": ("aeconvcnp", {"p_drop": p}) for p in (0.0, 0.5)})


# ---------------------------------------------------------------------------- kriging


def kriging_entries(e: Era5, tasks: list[Task], *, with_drift: bool) -> dict[str, dict]:
    """GSTools kriging (:func:`pipelines.kriging.krige`, variogram fitted per task) on the
    same tasks: ordinary, and with orography as external drift when ``with_drift``."""
    from .kriging import krige

    variants = {"kriging_ordinary": False}
    if with_drift:
        variants["kriging_orog_drift"] = True
    out = {}
    for key, drift in variants.items():
        scores = TaskScores()
        t0 = time.perf_counter()
        for batch in tasks:
            for t in _unbatch(batch):
                dc = dt = None
                if drift:
                    if t.aux_c is None or t.aux_t is None:
                        raise ValueError("kriging with drift needs tasks with orography")
                    dc, dt = t.aux_c[0].T.double().numpy(), t.aux_t[0].T.double().numpy()
                r = krige(
                    t.xc[0].double().numpy(),
                    t.yc[0, :, 0].double().numpy(),
                    t.xt[0].double().numpy(),
                    dc,
                    dt,
                )
                mean = torch.as_tensor(r.mean)[None, :, None]
                std = torch.as_tensor(np.sqrt(r.variance))[None, :, None]
                scores.add(mean, std, t.yt, None)
        e.ctx.log(f"[{key}] {len(scores.ll)} tasks in {time.perf_counter() - t0:.0f} s")
        out[key] = entry(scores, e.data.norm.std, None)
    return out


def _unbatch(task: Task) -> list[Task]:
    """Single-task batches with the padding removed."""
    out = []
    for i in range(task.batch_size):
        mc = task.mask_c[i].bool() if task.mask_c is not None else slice(None)
        mt = task.mask_t[i].bool() if task.mask_t is not None else slice(None)
        out.append(
            Task(
                task.xc[i, mc][None],
                task.yc[i, mc][None],
                task.xt[i, mt][None],
                task.yt[i, mt][None],
                aux_c=None if task.aux_c is None else task.aux_c[i, mc][None],
                aux_t=None if task.aux_t is None else task.aux_t[i, mt][None],
            )
        )
    return out


# ---------------------------------------------------------------------------- results + CLI


EXPERIMENTS: dict[str, tuple[str, Callable[[Context], dict[str, dict[str, Any]]]]] = {
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
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """Run experiment ``name`` and merge its entries into ``results``."""
    from .results import merge

    budget_key, fn = EXPERIMENTS[name]
    budget = QUICK if quick else BUDGETS[budget_key]
    if steps is not None:
        budget = replace(budget, steps=steps)
    torch.set_num_threads(1)
    ctx = Context(results, runs, data, budget, quick, progress=progress)
    entries = with_paired(fn(ctx))
    merge(results, name, entries)
    return entries


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="The paper-reproduction experiments (see docs/results.md).")

    def make(name: str) -> Callable[..., None]:
        def command(
            steps: int = typer.Option(None, help="override the training steps"),
            quick: bool = typer.Option(False, help="tiny models, steps and task counts"),
            results: Path = typer.Option(DEFAULT_RESULTS, help="science.json to merge into"),
            runs: Path = typer.Option(DEFAULT_RUNS, help="training run directories"),
            data: Path = typer.Option(DEFAULT_DATA, help="the shared data folder"),
            progress: bool = typer.Option(False, help="progress bars"),
        ) -> None:
            entries = run_experiment(
                name,
                steps=steps,
                quick=quick,
                results=results,
                runs=runs,
                data=data,
                progress=progress,
            )
            for key, val in entries.items():
                typer.echo(f"{name:18s} {key:22s} ll={val['ll']:.3f} ± {val['ll_se']:.3f}")

        command.__doc__ = f"Run the `{name}` experiment and merge it into science.json."
        return command

    for name in EXPERIMENTS:
        sub.command(name)(make(name))

    @sub.command("render")
    def render_cmd(
        results: Path = typer.Option(DEFAULT_RESULTS),
        doc: Path = typer.Option(REPO / "docs" / "results.md"),
    ) -> None:
        """Render science.json into the "Paper reproduction" section of docs/results.md."""
        from .results import render

        render(results, doc)

    app.add_typer(sub, name="experiment")
