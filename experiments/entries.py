"""Entries of ``science.json``: scores of a trained model (and of its equivariant
component), kriging peers, and paired differences between counterparts.

Everything is scored by the one scorer (:func:`pipelines.evaluate.scores.score`) through
the evaluation Predictor protocol.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from pipelines.evaluate.predictors import Gaussian, KrigingPredictor, ModelPredictor
from pipelines.evaluate.scores import TaskScores, score, score_predictions
from pipelines.tasks.task import Task

from .config import APPROX, Context
from .training import Trained

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


def entry(scores: TaskScores, y_std: float | None, trained: Trained | None, **extra: Any) -> dict:
    """One model's record in science.json."""
    out: dict[str, Any] = scores.science(y_std)
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
    component (``strict``) and the paper's Delta-equiv: the mean absolute difference of the
    two predictive means over real targets (what :func:`models.equivariance_deviation`
    computes for one batch)."""
    full = [ModelPredictor(t.model).predict(b) for b in tasks]
    scores = score_predictions(tasks, full)
    extra: dict[str, Any] = {"delta_equiv": 0.0}
    if name in APPROX:
        strict = [ModelPredictor(t.model, strict=True).predict(b) for b in tasks]
        devs = [
            float(np.mean(np.abs(a.mean - b.mean)))
            for fa, fb in zip(full, strict, strict=True)
            for a, b in zip(fa, fb, strict=True)
            if isinstance(a, Gaussian) and isinstance(b, Gaussian)
        ]
        equi = score_predictions(tasks, strict)
        extra = {
            "delta_equiv": float(np.mean(devs)),
            "ll_strict": equi.science()["ll"],
            "d_ll_strict": paired_difference(scores.ll, equi.ll),
        }
    return entry(scores, y_std, t, **extra)


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


def kriging_entries(
    ctx: Context, tasks: list[Task], y_std: float, *, with_drift: bool
) -> dict[str, dict]:
    """GSTools kriging (variogram fitted per task) on the same tasks: ordinary, and with
    orography (the tasks' point-wise auxiliary) as external drift when ``with_drift``."""
    variants = {"kriging_ordinary": False}
    if with_drift:
        variants["kriging_orog_drift"] = True
    out = {}
    for key, drift in variants.items():
        t0 = time.perf_counter()
        scores = score(KrigingPredictor(drift=drift), tasks)
        ctx.log(f"[{key}] {len(scores.ll)} tasks in {time.perf_counter() - t0:.0f} s")
        out[key] = entry(scores, y_std, None)
    return out
