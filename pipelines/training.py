"""A generic, resumable training loop for every model in the family.

``fit(model, sampler, val_tasks, config, run_dir)`` trains on tasks drawn from any
:class:`~pipelines.tasks.TaskSampler` with the per-target Gaussian NLL, validates every
``val_every`` steps on a fixed task list, stops early when validation NLL has not improved
for ``patience`` validations, and leaves the best validated weights in the model.

With a ``run_dir`` the loop is resumable: ``run_dir/metrics.jsonl`` gets one JSON object per
log/validation event and ``run_dir/state/`` holds the latest state. State is never pickled:
tensors (model, optimizer moments, RNG states) go in ``step_XXXXXXXX.safetensors``, everything
else in ``state.json``, which is written last and atomically and names its tensor file, so a
process killed at any moment leaves a consistent state behind. Calling ``fit`` again with the
same ``run_dir`` continues from that state (a finished run returns at once).

Launched under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in
DistributedDataParallel (nccl on CUDA, gloo on CPU), each rank draws its own tasks, and only
rank 0 writes files and shows progress. ``amp`` autocasts to bfloat16 on CUDA only.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from torch import distributed as dist
from torch.distributions import Normal
from tqdm import tqdm

from models import gaussian_nll
from models.checkpoint import atomic_write

from .tasks import Task, TaskSampler

STATE_VERSION = 1


class TrainConfig(BaseModel):
    """Optimisation settings; unknown keys are errors, values are type-checked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    steps: int = Field(default=2000, ge=1, description="total optimiser steps")
    batch_size: int = Field(default=8, ge=1, description="tasks per step (per rank)")
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    grad_clip: float = Field(
        default=1.0, ge=0, description="max gradient norm; 0 disables clipping"
    )
    schedule: Literal["constant", "cosine"] = "cosine"
    warmup: int = Field(default=0, ge=0, description="linear warm-up steps")
    val_every: int = Field(default=100, ge=1)
    patience: int = Field(
        default=0, ge=0, description="validations without improvement; 0 = never stop"
    )
    seed: int = 0
    amp: bool = Field(default=False, description="bfloat16 autocast (CUDA only)")
    log_every: int = Field(default=10, ge=1)
    checkpoint_every: int = Field(default=100, ge=1)
    threads: int | None = Field(default=None, ge=1, description="torch CPU threads")


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


# ---------------------------------------------------------------------------- state files


def _flatten_optimizer(sd: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Optimizer state dict -> (tensors for safetensors, JSON-able rest)."""
    tensors: dict[str, Tensor] = {}
    rest: dict[str, dict[str, Any]] = {}
    for idx, entry in sd["state"].items():
        rest[str(idx)] = {}
        for k, v in entry.items():
            if isinstance(v, Tensor):
                tensors[f"optim.{idx}.{k}"] = v
            else:
                rest[str(idx)][k] = v
    return tensors, {"state": rest, "param_groups": sd["param_groups"]}


def _unflatten_optimizer(tensors: dict[str, Tensor], doc: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in doc["state"].items()}
    for key, v in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = v
    return {"state": state, "param_groups": doc["param_groups"]}


def _cpu(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in sd.items()}


@dataclass
class _Progress:
    step: int = 0
    train_seconds: float = 0.0
    best_val_nll: float = math.inf
    best_step: int = 0
    bad_validations: int = 0
    stopped_early: bool = False


class TrainingStateError(ValueError):
    """No readable training state (every snapshot is missing or corrupt)."""


class _StateDir:
    """``run_dir/state``: ``state.json`` (written last) naming its tensor files, and
    ``state.prev.json``, the snapshot before it. Loading falls back to the previous snapshot
    when the newest is unreadable (a crash mid-write, a corrupt file)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.json = root / "state.json"
        self.prev = root / "state.prev.json"

    def exists(self) -> bool:
        return self.json.is_file() or self.prev.is_file()

    def save(
        self,
        model: nn.Module,
        opt: torch.optim.Optimizer,
        progress: _Progress,
        rng: dict[str, Tensor],
        best: dict[str, Tensor] | None,
        config: TrainConfig,
    ) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        opt_tensors, opt_doc = _flatten_optimizer(opt.state_dict())
        tensors = {f"model.{k}": v for k, v in _cpu(model.state_dict()).items()}
        tensors |= _cpu(opt_tensors) | {f"rng.{k}": v.cpu() for k, v in rng.items()}
        name = f"step_{progress.step:08d}.safetensors"
        atomic_write(self.root / name, lambda p: save_file(tensors, p))
        best_name = f"best_{progress.best_step:08d}.safetensors"
        if best is not None and not (self.root / best_name).is_file():
            atomic_write(self.root / best_name, lambda p: save_file(best, p))
        doc = {
            "version": STATE_VERSION,
            "tensors": name,
            "best": best_name if best is not None else None,
            "progress": progress.__dict__,
            "optimizer": opt_doc,
            "config": config.model_dump(),
        }
        previous = self._doc(self.json)
        if previous is not None and previous.get("tensors") != name:
            text_prev = json.dumps(previous, indent=1)
            atomic_write(self.prev, lambda p: Path(p).write_text(text_prev + "\n"))
        text = json.dumps(doc, indent=1)
        atomic_write(self.json, lambda p: Path(p).write_text(text + "\n"))
        keep = {name, doc["best"]}
        older = self._doc(self.prev)
        if older is not None:
            keep |= {older.get("tensors"), older.get("best")}
        for f in self.root.glob("*.safetensors"):
            if f.name not in keep:
                f.unlink(missing_ok=True)

    @staticmethod
    def _doc(path: Path) -> dict[str, Any] | None:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def load(
        self, model: nn.Module, opt: torch.optim.Optimizer
    ) -> tuple[_Progress, dict[str, Tensor], dict[str, Tensor] | None]:
        """The newest readable snapshot (newest first, then the previous one)."""
        errors = []
        for path in (self.json, self.prev):
            if not path.is_file():
                continue
            try:
                return self._load(path, model, opt)
            except Exception as e:  # any corruption: JSON, safetensors, shapes, fields
                first = (str(e).splitlines() or [type(e).__name__])[0]
                errors.append(f"{path.name}: {first}")
                if path == self.json:
                    print(
                        f"warning: newest training state unreadable ({first}); "
                        f"trying the previous snapshot",
                        file=sys.stderr,
                    )
        raise TrainingStateError(
            f"{self.root}: no readable training state ({'; '.join(errors) or 'none found'}); "
            "remove the directory to start afresh"
        )

    def _load(
        self, path: Path, model: nn.Module, opt: torch.optim.Optimizer
    ) -> tuple[_Progress, dict[str, Tensor], dict[str, Tensor] | None]:
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
            raise ValueError("unsupported training state version")
        tensors = load_file(str(self.root / str(doc["tensors"])))
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        opt.load_state_dict(_unflatten_optimizer(tensors, doc["optimizer"]))
        rng = {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")}
        best = load_file(str(self.root / str(doc["best"]))) if doc.get("best") else None
        return _Progress(**doc["progress"]), rng, best


# ---------------------------------------------------------------------------- distributed


@dataclass(frozen=True)
class _Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device: str) -> tuple[_Dist, str]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), device
    cuda = device.startswith("cuda")
    if cuda:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size()), device


def is_main_process() -> bool:
    """True outside DDP and on rank 0: the process that writes results."""
    return not dist.is_initialized() or dist.get_rank() == 0


def shutdown_distributed() -> None:
    """Wait for every rank, then tear the process group down.

    A rank that exits while another still talks to the group can abort ("terminate called
    without an active exception") and make torchrun report a failed run.
    """
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _gather_generators(gen: torch.Generator, d: _Dist) -> dict[str, Tensor]:
    """Every rank's sampler-generator state, keyed ``gen.<rank>`` (collective under DDP)."""
    states: list[Any] = [gen.get_state()]
    if d.world > 1:
        states = [None] * d.world
        dist.all_gather_object(states, gen.get_state())
    return {f"gen.{r}": s for r, s in enumerate(states)}


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
    d, device = _setup_distributed(device)
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + d.rank)
    torch.manual_seed(cfg.seed + d.rank)  # per-task fixed-input dropout draws
    state = _StateDir(Path(run_dir) / "state") if run_dir is not None else None
    metrics = _Metrics(Path(run_dir) / "metrics.jsonl" if run_dir is not None and d.main else None)
    if run_dir is not None and d.main:
        Path(run_dir).mkdir(parents=True, exist_ok=True)

    prog, best = _Progress(), None
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
        rng = _gather_generators(gen, d) | {"torch": torch.get_rng_state()}
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
            best = _cpu(model.state_dict())
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
