"""The one scorer: per-task scores of a predictive, and their summaries over tasks.

Every predictor (a bundle, a raw model, kriging, the exact GP) is scored the same way
(:func:`score`, fed by the :class:`~pipelines.evaluate.predictors.TaskPredictor` protocol):
per task, over its real targets, the Gaussian NLL per target, RMSE, MAE, the share of targets
inside the central 95 % interval and a PIT histogram (:func:`gaussian_scores`); a predictive
that is not Gaussian (the GP mixture) gives its log-likelihood only. Two summaries:
:meth:`TaskScores.summary` (``equigrid evaluate``: means over tasks, pooled PIT) and
:meth:`TaskScores.science` (the experiments: mean log-likelihood with its standard error
over tasks, RMSE and coverage in kelvin).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from ..tasks.task import Task
from .predictors import Gaussian, Predictive, TaskPredictor

Array = NDArray[np.float64]
PIT_BINS = 10


def gaussian_scores(y: Array, mean: Array, var: Array) -> dict[str, Any]:
    """Scores of Gaussian predictions ``N(mean, var)`` for observations ``y``."""
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


@dataclass
class TaskScores:
    """Per-task scores, appended task by task."""

    per_task: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ll(self) -> list[float]:
        """Mean log-likelihood per target of each task."""
        return [-s["nll"] for s in self.per_task]

    def summary(self) -> dict[str, Any]:
        """Means over tasks of the scalar scores; the PIT histogram as pooled frequencies."""
        out: dict[str, Any] = {
            k: float(np.mean([s[k] for s in self.per_task]))
            for k in ("nll", "rmse", "mae", "coverage95")
        }
        counts = np.sum([s["pit_counts"] for s in self.per_task], axis=0)
        out["pit_histogram"] = (counts / counts.sum()).round(5).tolist()
        out["n_tasks"] = len(self.per_task)
        return out

    def science(self, y_std: float | None = None) -> dict[str, float | None]:
        """``ll`` and ``ll_se`` in the tasks' (normalised) units; with ``y_std`` (kelvin per
        unit) and Gaussian predictives also ``ll_k``, ``rmse_k`` and ``coverage95``."""
        ll = np.asarray(self.ll)
        out: dict[str, float | None] = {
            "ll": float(ll.mean()),
            "ll_se": float(ll.std(ddof=1) / math.sqrt(len(ll))) if len(ll) > 1 else math.nan,
            "rmse_k": None,
            "coverage95": None,
            "n_test_tasks": len(ll),
        }
        gaussian = [s for s in self.per_task if "rmse" in s]
        if y_std is not None and gaussian:
            out["ll_k"] = float(ll.mean() - math.log(y_std))
            out["rmse_k"] = float(math.sqrt(np.mean([s["rmse"] ** 2 for s in gaussian])) * y_std)
            out["coverage95"] = float(np.mean([s["coverage95"] for s in gaussian]))
        return out


def score(predictor: TaskPredictor, tasks: Iterable[Task]) -> TaskScores:
    """Score ``predictor`` on every task of every batch in ``tasks`` (real targets only)."""
    batches = list(tasks)
    return score_predictions(batches, [predictor.predict(b) for b in batches])


def score_predictions(tasks: list[Task], predictions: list[list[Predictive]]) -> TaskScores:
    """Score predictives already made (``predictions[b][i]``: task ``i`` of batch ``b``)."""
    scores = TaskScores()
    for batch, preds in zip(tasks, predictions, strict=True):
        for i, pred in enumerate(preds):
            keep = slice(None) if batch.mask_t is None else batch.mask_t[i].bool()
            y = batch.yt[i, keep, 0].double().numpy()
            if isinstance(pred, Gaussian):
                scores.per_task.append(gaussian_scores(y, pred.mean, pred.var))
            else:
                scores.per_task.append({"nll": -float(np.mean(pred.log_prob))})
    return scores
