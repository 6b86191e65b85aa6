"""Training for the experiments: every model of an experiment with one budget, one thread.

Runs live in ``runs/science/<setup>/<model>-<hash>`` (the hash of the model and training
configuration); :func:`pipelines.train.loop.fit` resumes a finished run at once, so
experiments that share a run (``ood``, the ablations) reuse it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

import models
from pipelines.tasks.task import Task, TaskSampler
from pipelines.train.config import TrainConfig
from pipelines.train.loop import fit

from .config import Context


@dataclass
class Trained:
    model: nn.Module
    steps: int
    seconds: float


def _run_dir(runs: Path, setup: str, key: str, cfg: dict[str, Any], tc: TrainConfig) -> Path:
    blob = json.dumps({"model": cfg, "train": tc.model_dump()}, sort_keys=True, default=str)
    return runs / setup / f"{key}-{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


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
