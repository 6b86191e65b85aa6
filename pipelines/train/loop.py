"""The generic, resumable training loop for every model in the family: ``fit``.

``fit(model, sampler, val_tasks, config, run_dir)`` trains on tasks drawn from any
:class:`~pipelines.tasks.task.TaskSampler` with the per-target Gaussian NLL, validates every
``val_every`` steps on a fixed task list, stops early when validation NLL has not improved
for ``patience`` validations, and leaves the best validated weights in the model.

With a ``run_dir`` the loop is resumable: ``run_dir/metrics.jsonl`` gets one JSON object per
log/validation event and ``run_dir/state/`` holds the latest state (:mod:`.state`, never
pickled). Calling ``fit`` again with the same ``run_dir`` continues from that state (a
finished run returns at once). Under ``torchrun`` the model is wrapped in
DistributedDataParallel (:mod:`.distributed`), each rank draws its own tasks, and only rank 0
writes files and shows progress. ``amp`` autocasts to bfloat16 on CUDA only.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch import distributed as dist
from torch.distributions import Normal
from tqdm import tqdm

from models import gaussian_nll

from ..tasks.task import Task, TaskSampler
from .config import TrainConfig
from .distributed import gather_generators, setup_distributed
from .state import Progress, StateDir, cpu_copy


@dataclass
class FitResult:
    best_val_nll: float  # NaN without validation tasks
    best_step: int
    steps: int  # steps done in total, across resumed runs
    train_seconds: float  # across resumed runs
    stopped_early: bool
    resumed_from: int  # 0 for a fresh run


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimiser step ``step`` (0-based)."""
    if cfg.warmup and step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "constant":
        return cfg.lr
    span = max(cfg.steps - cfg.warmup, 1)
    frac = min((step - cfg.warmup) / span, 1.0)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * frac)))


class _Moments(nn.Module):
    """Returns the predictive's (loc, scale) tensors, which DDP can trace, not a ``Normal``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
        pred = self.model(*args, **kwargs)
        return pred.loc, pred.scale


def task_nll(model: nn.Module, task: Task) -> Tensor:
    """Mean Gaussian NLL per target point of one task batch."""
    pred = model(task.xc, task.yc, task.xt, **task.model_kwargs())
    if isinstance(pred, tuple):
        pred = Normal(*pred)
    if pred.loc.dtype != torch.float32:  # autocast: score in float32
        pred = Normal(pred.loc.float(), pred.scale.float())
    return gaussian_nll(pred, task.yt, task.mask_t)


@torch.no_grad()
def evaluate_nll(model: nn.Module, tasks: list[Task], device: str | torch.device = "cpu") -> float:
    """Mean NLL per target over ``tasks`` (weighted by each task's number of real targets)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0.0
    for t in tasks:
        t = t.to(device)
        n = float(t.mask_t.sum()) if t.mask_t is not None else float(t.yt.shape[0] * t.yt.shape[1])
        total += float(task_nll(model, t)) * n
        count += n
    model.train(was_training)
    return total / count if count else math.nan


# ---------------------------------------------------------------------------- the loop


class _Metrics:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def write(self, **record: Any) -> None:
        if self.path is None:
            return
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def _autocast(device: str, amp: bool) -> contextlib.AbstractContextManager[Any]:
    if amp and device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _batches(sampler: TaskSampler, cfg: TrainConfig, gen: torch.Generator) -> Iterator[Task]:
    while True:
        yield sampler.sample(cfg.batch_size, gen)


def fit(
    model: nn.Module,
    sampler: TaskSampler,
    val_tasks: list[Task],
    config: TrainConfig,
    run_dir: Path | None,
    *,
    device: str = "cpu",
    progress: bool = True,
) -> FitResult:
    """Train ``model`` in place and load its best validated weights into it at the end."""
    cfg = config
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    d, device = setup_distributed(device)
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + d.rank)
    torch.manual_seed(cfg.seed + d.rank)  # per-task fixed-input dropout draws
    state = StateDir(Path(run_dir) / "state") if run_dir is not None else None
    metrics = _Metrics(Path(run_dir) / "metrics.jsonl" if run_dir is not None and d.main else None)
    if run_dir is not None and d.main:
        Path(run_dir).mkdir(parents=True, exist_ok=True)

    prog, best = Progress(), None
    if state is not None and state.exists():
        prog, rng, best = state.load(model, opt)
        if f"gen.{d.rank}" in rng:
            gen.set_state(rng[f"gen.{d.rank}"])
        else:  # resumed with more ranks than before: a fresh, distinct stream
            gen.manual_seed(cfg.seed * 1_000_003 + d.rank + 7919 * prog.step)
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
    resumed_from = prog.step
    if resumed_from and d.main:
        metrics.write(event="resume", step=prog.step, config=cfg.model_dump())
    elif d.main:
        metrics.write(event="start", step=0, config=cfg.model_dump())

    net: nn.Module = model
    if d.world > 1:
        ids = [torch.device(device).index] if device.startswith("cuda") else None
        # find_unused_parameters: a task batch may drop the fixed inputs on one rank only
        net = nn.parallel.DistributedDataParallel(
            _Moments(model), device_ids=ids, find_unused_parameters=True
        )

    def snapshot() -> None:
        if state is None:
            return
        rng = gather_generators(gen, d) | {"torch": torch.get_rng_state()}
        if d.main:
            state.save(model, opt, prog, rng, best, cfg)
        if d.world > 1:
            dist.barrier()

    def validate() -> None:
        nonlocal best
        if not val_tasks:
            return
        val = evaluate_nll(model, val_tasks, device)
        improved = val < prog.best_val_nll
        if improved:
            prog.best_val_nll, prog.best_step, prog.bad_validations = val, prog.step, 0
            best = cpu_copy(model.state_dict())
        else:
            prog.bad_validations += 1
        metrics.write(event="val", step=prog.step, val_nll=val, best_val_nll=prog.best_val_nll)
        if cfg.patience and prog.bad_validations >= cfg.patience:
            prog.stopped_early = True

    bar = tqdm(
        total=cfg.steps,
        initial=min(prog.step, cfg.steps),
        disable=not (progress and d.main),
        dynamic_ncols=True,
    )
    batches = _batches(sampler, cfg, gen)
    window_loss, window_tasks, window_start = 0.0, 0, time.perf_counter()
    try:
        while prog.step < cfg.steps and not prog.stopped_early:
            t0 = time.perf_counter()
            task = next(batches).to(device)
            for g in opt.param_groups:
                g["lr"] = lr_at(prog.step, cfg)
            with _autocast(device, cfg.amp):
                loss = task_nll(net, task)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite training loss at step {prog.step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            prog.step += 1
            prog.train_seconds += time.perf_counter() - t0
            window_loss += float(loss.detach()) * task.batch_size
            window_tasks += task.batch_size
            if prog.step % cfg.log_every == 0 or prog.step == cfg.steps:
                elapsed = time.perf_counter() - window_start
                rate = window_tasks * d.world / max(elapsed, 1e-9)
                mean_loss = window_loss / window_tasks
                metrics.write(
                    event="train",
                    step=prog.step,
                    loss=mean_loss,
                    lr=lr_at(prog.step - 1, cfg),
                    tasks_per_s=rate,
                    train_seconds=prog.train_seconds,
                )
                bar.set_postfix(loss=f"{mean_loss:.3f}", tasks_s=f"{rate:.1f}")
                window_loss, window_tasks, window_start = 0.0, 0, time.perf_counter()
            bar.update(1)
            if prog.step % cfg.val_every == 0 or prog.step == cfg.steps:
                validate()
            if prog.step % cfg.checkpoint_every == 0 or prog.step == cfg.steps:
                snapshot()
        if prog.stopped_early:
            snapshot()
    except KeyboardInterrupt:
        snapshot()
        raise
    finally:
        bar.close()

    if best is not None:
        model.load_state_dict(best)
    model.eval()
    if d.main:
        metrics.write(
            event="end",
            step=prog.step,
            best_val_nll=prog.best_val_nll,
            best_step=prog.best_step,
            stopped_early=prog.stopped_early,
            train_seconds=prog.train_seconds,
        )
    return FitResult(
        best_val_nll=prog.best_val_nll if math.isfinite(prog.best_val_nll) else math.nan,
        best_step=prog.best_step if best is not None else prog.step,
        steps=prog.step,
        train_seconds=prog.train_seconds,
        stopped_early=prog.stopped_early,
        resumed_from=resumed_from,
    )
