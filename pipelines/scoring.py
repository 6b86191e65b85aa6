"""Per-task scores of a Gaussian predictive, and their summary with standard errors.

Every predictor (a neural process, kriging, the exact GP) is scored the same way: per task,
the mean log-likelihood per real target point, the squared error and the share of targets
inside the central 95 % interval; then means and standard errors *over tasks*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from .evaluate import gaussian_scores
from .tasks import Task


@dataclass
class TaskScores:
    """Per-task values, appended batch by batch."""

    ll: list[float] = field(default_factory=list)
    mse: list[float] = field(default_factory=list)
    cover: list[float] = field(default_factory=list)

    def add(self, mean: Tensor, std: Tensor, y: Tensor, mask: Tensor | None) -> None:
        """Score a batch (scores per task by :func:`pipelines.evaluate.gaussian_scores`):
        ``mean``, ``std``, ``y``: ``[batch, n_target, 1]``; ``mask`` ``[batch, n_target]``."""
        for i in range(y.shape[0]):
            keep = slice(None) if mask is None else mask[i].bool()
            s = gaussian_scores(
                y[i, keep, 0].double().numpy(),
                mean[i, keep, 0].double().numpy(),
                std[i, keep, 0].double().numpy() ** 2,
            )
            self.ll.append(-s["nll"])
            self.mse.append(s["rmse"] ** 2)
            self.cover.append(s["coverage95"])

    def extend(self, ll: list[float]) -> None:
        """Tasks scored by log-likelihood only (e.g. the exact GP mixture)."""
        self.ll += ll

    def summary(self, y_std: float | None = None) -> dict[str, float | None]:
        """``ll`` and ``ll_se`` in normalised units; with ``y_std`` (kelvin per unit) also
        ``ll_k``, ``rmse_k`` and ``coverage95``."""
        ll = np.asarray(self.ll)
        out: dict[str, float | None] = {
            "ll": float(ll.mean()),
            "ll_se": float(ll.std(ddof=1) / math.sqrt(len(ll))) if len(ll) > 1 else math.nan,
            "rmse_k": None,
            "coverage95": None,
            "n_test_tasks": len(ll),
        }
        if y_std is not None and self.mse:
            out["ll_k"] = float(ll.mean() - math.log(y_std))
            out["rmse_k"] = float(math.sqrt(np.mean(self.mse)) * y_std)
            out["coverage95"] = float(np.mean(self.cover))
        return out


@torch.no_grad()
def score_model(
    model: nn.Module, tasks: list[Task], *, component: bool = False
) -> tuple[TaskScores, TaskScores | None, float]:
    """Scores of ``model`` on ``tasks``; with ``component`` also those of its equivariant
    component (``strict=True``) and the paper's Delta-equiv from the same predictions: the
    mean absolute difference of the two predictive means over real targets (the quantity
    :func:`models.equivariance_deviation` computes for one batch)."""
    was_training = model.training
    model.eval()
    full, equi, devs = TaskScores(), TaskScores() if component else None, []
    for t in tasks:
        pred = model(t.xc, t.yc, t.xt, **t.model_kwargs())
        full.add(pred.mean, pred.stddev, t.yt, t.mask_t)
        if equi is not None:
            strict = model(t.xc, t.yc, t.xt, strict=True, **t.model_kwargs())
            equi.add(strict.mean, strict.stddev, t.yt, t.mask_t)
            dev = (pred.mean - strict.mean).abs()[..., 0]
            m = torch.ones_like(dev) if t.mask_t is None else t.mask_t.to(dev)
            devs += ((dev * m).sum(-1) / m.sum(-1)).tolist()
    model.train(was_training)
    return full, equi, float(np.mean(devs)) if devs else 0.0
