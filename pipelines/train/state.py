"""The resumable state of a training run: ``run_dir/state``, never pickled.

Tensors (model, optimizer moments, RNG states) go in ``step_XXXXXXXX.safetensors`` (and the
best validated weights in ``best_XXXXXXXX.safetensors``), everything else in
``state.json``, which is written last and atomically and names its tensor files, so a
process killed at any moment leaves a consistent state behind; the snapshot before it stays
(``state.prev.json``) and is loaded when the newest is corrupt.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from inference.errors import ConfigError, one_line
from inference.files import atomic_write, write_text

if TYPE_CHECKING:
    from .config import TrainConfig

STATE_VERSION = 1


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


def cpu_copy(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in sd.items()}


@dataclass
class Progress:
    step: int = 0
    train_seconds: float = 0.0
    best_val_nll: float = math.inf
    best_step: int = 0
    bad_validations: int = 0
    stopped_early: bool = False


class TrainingStateError(ConfigError):
    """No readable training state (every snapshot is missing or corrupt): exit 2."""


class StateDir:
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
        progress: Progress,
        rng: dict[str, Tensor],
        best: dict[str, Tensor] | None,
        config: TrainConfig,
    ) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        opt_tensors, opt_doc = _flatten_optimizer(opt.state_dict())
        tensors = {f"model.{k}": v for k, v in cpu_copy(model.state_dict()).items()}
        tensors |= cpu_copy(opt_tensors) | {f"rng.{k}": v.cpu() for k, v in rng.items()}
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
            write_text(self.prev, json.dumps(previous, indent=1) + "\n")
        write_text(self.json, json.dumps(doc, indent=1) + "\n")
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
    ) -> tuple[Progress, dict[str, Tensor], dict[str, Tensor] | None]:
        """The newest readable snapshot (the newest, else the previous one)."""
        errors = []
        for path in (self.json, self.prev):
            if not path.is_file():
                continue
            try:
                return self._load(path, model, opt)
            except Exception as e:  # any corruption: JSON, safetensors, shapes, fields
                errors.append(f"{path.name}: {one_line(e)}")
                if path == self.json:
                    warnings.warn(  # the command line prints it as its other warnings
                        f"newest training state unreadable ({one_line(e)}); "
                        "trying the previous snapshot",
                        UserWarning,
                        stacklevel=2,
                    )
        raise TrainingStateError(
            f"{self.root}: no readable training state ({'; '.join(errors) or 'none found'}); "
            "remove the directory to start afresh"
        )

    def _load(
        self, path: Path, model: nn.Module, opt: torch.optim.Optimizer
    ) -> tuple[Progress, dict[str, Tensor], dict[str, Tensor] | None]:
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
            raise ConfigError("unsupported training state version")
        tensors = load_file(str(self.root / str(doc["tensors"])))
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        opt.load_state_dict(_unflatten_optimizer(tensors, doc["optimizer"]))
        rng = {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")}
        best = load_file(str(self.root / str(doc["best"]))) if doc.get("best") else None
        return Progress(**doc["progress"]), rng, best
