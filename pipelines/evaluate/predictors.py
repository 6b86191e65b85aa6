"""The evaluation Predictor protocol over a :class:`~pipelines.tasks.task.Task`.

A :class:`TaskPredictor` returns, for each task of a batch, its predictive at the task's real
targets: a :class:`Gaussian` (mean, variance) or, for predictives that are not Gaussian
(the GP mixture of the experiments), a :class:`LogDensity` of the observed targets.
Implementations: :class:`ModelPredictor` (a raw model of the family on normalised tasks),
:class:`BundleTaskPredictor` (a model bundle through the service's prediction path, on
tasks in kelvin), :class:`KrigingPredictor` (GSTools, :mod:`.kriging`); the GP ground truth
lives with the experiments. The one scorer (:func:`pipelines.evaluate.scores.score`) feeds
on this protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from inference.errors import TaskError
from inference.predictor import BundlePredictor
from inference.query import Query

from ..tasks.task import Task
from .kriging import krige

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Gaussian:
    """Predictive mean and variance at one task's real targets: ``[n_target]``."""

    mean: Array
    var: Array


@dataclass(frozen=True)
class LogDensity:
    """Log predictive density of the observed value at each real target: ``[n_target]``."""

    log_prob: Array


Predictive = Gaussian | LogDensity


class TaskPredictor(Protocol):
    """Predictives for each task of a batch, at its real targets, in the task's units."""

    def predict(self, task: Task) -> list[Predictive]: ...


def _real(mask: torch.Tensor | None, i: int) -> slice | torch.Tensor:
    return slice(None) if mask is None else mask[i].bool()


@dataclass
class ModelPredictor:
    """A model of the family on normalised tasks; ``strict``: its equivariant component."""

    model: nn.Module
    strict: bool = False

    @torch.no_grad()
    def predict(self, task: Task) -> list[Predictive]:
        was_training = self.model.training
        self.model.eval()
        kwargs = task.model_kwargs() | ({"strict": True} if self.strict else {})
        pred = self.model(task.xc, task.yc, task.xt, **kwargs)
        self.model.train(was_training)
        out: list[Predictive] = []
        for i in range(task.batch_size):
            keep = _real(task.mask_t, i)
            out.append(
                Gaussian(
                    pred.mean[i, keep, 0].double().numpy(),
                    pred.stddev[i, keep, 0].double().numpy() ** 2,
                )
            )
        return out


@dataclass
class BundleTaskPredictor:
    """A bundle on tasks in kelvin whose ``aux`` columns start with the elevation (m)."""

    predictor: BundlePredictor
    strict: bool = False

    def predict(self, task: Task) -> list[Predictive]:
        out: list[Predictive] = []
        for t in task.unbatch():
            xc, xt = t.xc[0].double().numpy(), t.xt[0].double().numpy()
            p = self.predictor.predict(
                Query(
                    xc[:, 0],
                    xc[:, 1],
                    t.yc[0, :, 0].double().numpy(),
                    xt[:, 0],
                    xt[:, 1],
                    station_elevation=None if t.aux_c is None else t.aux_c[0, :, 0].numpy(),
                    target_elevation=None if t.aux_t is None else t.aux_t[0, :, 0].numpy(),
                    equivariant_only=self.strict,
                )
            )
            out.append(Gaussian(p.mean, p.variance))
        return out


@dataclass
class KrigingPredictor:
    """GSTools kriging per task; ``drift``: the tasks' ``aux`` columns as external drifts."""

    drift: bool = False

    def predict(self, task: Task) -> list[Predictive]:
        out: list[Predictive] = []
        for t in task.unbatch():
            dc = dt = None
            if self.drift:
                if t.aux_c is None or t.aux_t is None:
                    raise TaskError("kriging with drift needs tasks with auxiliary inputs")
                dc = np.ascontiguousarray(t.aux_c[0].T.double().numpy())
                dt = np.ascontiguousarray(t.aux_t[0].T.double().numpy())
            r = krige(
                t.xc[0].double().numpy(),
                t.yc[0, :, 0].double().numpy(),
                t.xt[0].double().numpy(),
                dc,
                dt,
            )
            out.append(Gaussian(r.mean, r.variance))
        return out
