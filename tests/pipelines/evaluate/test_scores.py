"""The one scorer through the evaluation Predictor protocol."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from scipy.stats import norm

from pipelines.evaluate.predictors import Gaussian, LogDensity, ModelPredictor, Predictive
from pipelines.evaluate.scores import gaussian_scores, score
from pipelines.tasks.task import Task, assemble


def _tasks() -> list[Task]:
    rows = [
        [torch.zeros(2, 1), torch.zeros(2, 1), torch.zeros(n, 1), torch.arange(n)[:, None] * 1.0]
        for n in (3, 5)
    ]
    return [assemble(rows)]  # the first task's targets are padded to 5 and masked


@dataclass
class Exact:
    """Predicts each target exactly with unit variance (or as a log density)."""

    density: bool = False

    def predict(self, task: Task) -> list[Predictive]:
        out: list[Predictive] = []
        for t in task.unbatch():
            y = t.yt[0, :, 0].double().numpy()
            lp = norm.logpdf(y, loc=y, scale=1.0)
            out.append(LogDensity(lp) if self.density else Gaussian(y, np.ones_like(y)))
        return out


def test_scores_use_real_targets_only() -> None:
    s = score(Exact(), _tasks())
    assert len(s.per_task) == 2 and [sum(t["pit_counts"]) for t in s.per_task] == [3, 5]
    summary = s.summary()
    assert summary["rmse"] == 0.0 and summary["coverage95"] == 1.0 and summary["n_tasks"] == 2
    assert summary["nll"] == pytest.approx(0.5 * math.log(2 * math.pi))
    science = s.science(y_std=2.0)
    assert science["rmse_k"] == 0.0 and science["ll_k"] == pytest.approx(s.ll[0] - math.log(2))


def test_log_density_predictives_score_log_likelihood_only() -> None:
    gaussian, density = score(Exact(), _tasks()), score(Exact(density=True), _tasks())
    np.testing.assert_allclose(density.ll, gaussian.ll)
    assert density.science(2.0)["rmse_k"] is None


def test_gaussian_scores() -> None:
    s = gaussian_scores(np.array([1.0, -1.0]), np.zeros(2), np.ones(2))
    assert s["rmse"] == 1.0 and s["mae"] == 1.0 and s["coverage95"] == 1.0


def test_model_predictor_masks_padding() -> None:
    class Mean(torch.nn.Module):
        def forward(self, xc, yc, xt, **kw):  # type: ignore[no-untyped-def]
            return torch.distributions.Normal(xt * 0 + 1.0, torch.ones_like(xt))

    preds = ModelPredictor(Mean()).predict(_tasks()[0])
    assert [len(p.mean) for p in preds if isinstance(p, Gaussian)] == [3, 5]
