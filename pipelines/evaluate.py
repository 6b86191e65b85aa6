"""``equigrid evaluate``: a bundle, its equivariant component and kriging on identical tasks.

Protocol (the peers' table in the issue): per task one hour of the chosen split, ``N`` random
grid cells as stations and every other cell as a target; metrics are averaged over the
tasks. Per method: Gaussian NLL per target in kelvin, RMSE, MAE (K), the fraction of
targets inside the central 95 % interval, and a 10-bin PIT histogram. Methods: ``model``
(the bundle through :meth:`Bundle.predict`, the service's path), ``model_strict`` (its
equivariant component, ``strict=True``) and ``kriging_ed`` (GSTools kriging with orography
and land fraction as external drift, see :mod:`pipelines.kriging`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import typer
from numpy.typing import NDArray
from scipy.stats import norm

from .bundle import Bundle, BundleError, load_bundle
from .kriging import krige
from .sampling import SplitField, bilinear, load_split, make_tasks
from .store import StoreError, open_store
from .tasks import Task

Array = NDArray[np.float64]
PIT_BINS = 10
METHODS = ("model", "model_strict", "kriging_ed")


def gaussian_scores(y: Array, mean: Array, var: Array) -> dict[str, Any]:
    """Scores of Gaussian predictions ``N(mean, var)`` for observations ``y`` (all in K)."""
    err = y - mean
    nll = 0.5 * np.log(2 * math.pi * var) + 0.5 * err**2 / var
    pit = norm.cdf(err / np.sqrt(var))
    return {
        "nll": float(nll.mean()),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "coverage95": float(np.mean(np.abs(err) <= norm.ppf(0.975) * np.sqrt(var))),
        "pit_counts": np.histogram(pit, bins=PIT_BINS, range=(0.0, 1.0))[0].tolist(),
    }


def summarise(per_task: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over tasks of the scalar scores; the PIT histogram as pooled frequencies."""
    out: dict[str, Any] = {
        k: float(np.mean([s[k] for s in per_task])) for k in ("nll", "rmse", "mae", "coverage95")
    }
    counts = np.sum([s["pit_counts"] for s in per_task], axis=0)
    out["pit_histogram"] = (counts / counts.sum()).round(5).tolist()
    out["n_tasks"] = len(per_task)
    return out


@dataclass
class TaskInK:
    """One evaluation task in physical units: positions (lat, lon), values K, orog, land."""

    xc: Array
    yc: Array
    xt: Array
    yt: Array
    static_c: Array  # [2, n_c]: orography (m), land fraction
    static_t: Array


def to_kelvin(task: Task, data: SplitField) -> TaskInK:
    st = data.stats["t2m"]

    def static(x: Any) -> Array:
        assert data.orog is not None and data.land is not None  # checked by evaluate()
        rows = [bilinear(g, data.lat, data.lon, x) for g in (data.orog, data.land)]
        return np.stack([r.double().numpy() for r in rows])

    return TaskInK(
        xc=task.xc[0].double().numpy(),
        yc=task.yc[0, :, 0].double().numpy() * st.std + st.mean,
        xt=task.xt[0].double().numpy(),
        yt=task.yt[0, :, 0].double().numpy() * st.std + st.mean,
        static_c=static(task.xc[0]),
        static_t=static(task.xt[0]),
    )


def predict_all(bundle: Bundle, t: TaskInK, kriging: bool) -> dict[str, tuple[Array, Array]]:
    """(mean, variance) at the targets per method."""
    out = {}
    for name, strict in (("model", False), ("model_strict", True)):
        p = bundle.predict(
            t.xc[:, 0],
            t.xc[:, 1],
            t.yc,
            t.xt[:, 0],
            t.xt[:, 1],
            station_elevation=t.static_c[0],
            target_elevation=t.static_t[0],
            equivariant_only=strict,
        )
        out[name] = (p.mean, p.variance)
    if kriging:
        k = krige(t.xc, t.yc, t.xt, t.static_c, t.static_t)
        out["kriging_ed"] = (k.mean, k.variance)
    return out


def evaluate(
    bundle: Bundle,
    data: SplitField,
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
    results: dict[str, Any] = {}
    for n in stations:
        tasks, hour_idx = make_tasks(data, hours, n, seed + n)
        scores: dict[str, list[dict[str, Any]]] = {}
        for i, task in enumerate(tasks):
            t = to_kelvin(task, data)
            preds = predict_all(bundle, t, kriging)
            for name, (mean, var) in preds.items():
                scores.setdefault(name, []).append(gaussian_scores(t.yt, mean, var))
            if plot_dir is not None and i == 0:
                from .maps import plot_task

                plot_task(data, t, preds["model"], plot_dir / f"task_n{n}_hour{hour_idx[0]}.png")
        results[str(n)] = {name: summarise(s) for name, s in scores.items()}
        results[str(n)]["times"] = [str(data.times[h])[:16] for h in hour_idx]
    return results


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        "| N | method | NLL per target (K) | RMSE (K) | MAE (K) | 95 % coverage |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for n, per_method in results.items():
        for m in METHODS:
            if m in per_method:
                s = per_method[m]
                lines.append(
                    f"| {n} | {m} | {s['nll']:.3f} | {s['rmse']:.3f} | {s['mae']:.3f} "
                    f"| {s['coverage95']:.3f} |"
                )
    return "\n".join(lines) + "\n"


def _parse_stations(text: str) -> list[int]:
    try:
        ns = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--stations must be comma-separated integers, got {text!r}") from None
    if not ns or min(ns) < 1:
        raise ValueError("--stations needs at least one positive count")
    return ns


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_cmd(
        model: Path = typer.Option(..., help="model bundle directory"),
        store: Path = typer.Option(..., help="store (equigrid ingest)"),
        split: str = typer.Option("test", help="train, val or test"),
        stations: str = typer.Option("20,100,400", help="station counts N"),
        hours: int = typer.Option(64, min=1, help="tasks (hours) per N"),
        seed: int = typer.Option(2024),
        out: Path | None = typer.Option(None, help="write the results as JSON"),
        markdown: bool = typer.Option(False, help="print a Markdown table"),
        kriging: bool = typer.Option(True, help="also score kriging with external drift"),
        plot: Path | None = typer.Option(None, help="directory for maps of one task per N"),
        threads: int | None = typer.Option(None, help="torch CPU threads"),
    ) -> None:
        """Score a model bundle on a store split against its equivariant part and kriging."""
        import torch

        if threads:
            torch.set_num_threads(threads)
        try:
            ns = _parse_stations(stations)
            bundle = load_bundle(model)
            ds = open_store(store)
            data = load_split(ds, split)
            results = evaluate(bundle, data, ns, hours, seed, kriging=kriging, plot_dir=plot)
        except (BundleError, StoreError, ValueError) as e:
            typer.echo(f"error: {str(e).splitlines()[0]}", err=True)
            raise typer.Exit(2) from None
        doc = {
            "model": str(model),
            "model_sha256": bundle.sha256,
            "store": str(store),
            "split": split,
            "hours": hours,
            "seed": seed,
            "protocol": "per task one hour, N random cells as stations, all other cells targets",
            "results": results,
        }
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(doc, indent=1) + "\n")
        if markdown or out is None:
            typer.echo(markdown_table(results))
