"""Checkpoints: weights in safetensors, configuration in JSON. Loading never unpickles.

A checkpoint directory holds ``model.safetensors`` and ``model.json``::

    {"format": 1, "name": "aeconvcnp", "config": {...}, "sha256": "<of the weights file>",
     "metadata": {...}}

``metadata`` is free-form JSON for the pipelines (normalisation, provenance, metrics). The
weights' SHA-256 is recorded so a torn or swapped pair of files is detected at load time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .atomic import atomic_write
from .registry import MODELS, build_model

FORMAT = 1
WEIGHTS = "model.safetensors"
CONFIG = "model.json"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or incompatible with this code."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save(model: nn.Module, directory: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (built by :func:`models.build_model`) to ``directory``."""
    name = getattr(model, "name", None)
    config = getattr(model, "config", None)
    if name not in MODELS or not isinstance(config, dict):
        raise CheckpointError("only models made by models.build_model can be saved")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write(d / WEIGHTS, lambda p: save_file(tensors, p, metadata={"format": str(FORMAT)}))
    doc = {
        "format": FORMAT,
        "name": name,
        "config": config,
        "sha256": _sha256(d / WEIGHTS),
        "metadata": metadata or {},
    }
    text = json.dumps(doc, indent=2, sort_keys=True)
    atomic_write(d / CONFIG, lambda p: Path(p).write_text(text + "\n"))
    return d


def read_config(directory: str | Path) -> dict[str, Any]:
    """The parsed ``model.json`` of a checkpoint, validated."""
    path = Path(directory) / CONFIG
    if not path.is_file():
        raise CheckpointError(f"no {CONFIG} in {directory}")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path}: not a checkpoint description (a JSON object)")
    if doc.get("format") != FORMAT:
        raise CheckpointError(f"{path}: unsupported checkpoint format {doc.get('format')!r}")
    name = doc.get("name")
    if not isinstance(name, str) or name not in MODELS:
        raise CheckpointError(f"{path}: unknown model {name!r}")
    if not isinstance(doc.get("config"), dict):
        raise CheckpointError(f"{path}: 'config' must be an object")
    if not isinstance(doc.get("metadata", {}), dict):
        raise CheckpointError(f"{path}: 'metadata' must be an object")
    if not isinstance(doc.get("sha256", ""), str):
        raise CheckpointError(f"{path}: 'sha256' must be a string")
    return doc


def load(directory: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model from a checkpoint directory, in eval mode, on ``device``."""
    d = Path(directory)
    doc = read_config(d)
    weights = d / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"no {WEIGHTS} in {directory}")
    if doc.get("sha256") and _sha256(weights) != doc["sha256"]:
        raise CheckpointError(f"{weights}: checksum does not match {CONFIG} (corrupt or swapped)")
    try:
        model = build_model(doc["name"], **doc["config"])
    except Exception as e:  # any malformed configuration value
        first = (str(e).splitlines() or [type(e).__name__])[0]
        raise CheckpointError(f"{d}: configuration not understood: {first}") from None
    try:
        state = load_file(str(weights))
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError(f"{weights}: unreadable weights: {e}") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[0] if str(e) else "mismatch"
        raise CheckpointError(f"{weights}: weights do not fit the configuration: {first}") from None
    return model.to(device).eval()
