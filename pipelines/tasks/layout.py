"""Station layouts: real station positions (CSV) used as the context points of tasks."""

from __future__ import annotations

import csv
from pathlib import Path

import torch
from torch import Tensor

from inference.errors import TaskError


def read_layout(path: str | Path) -> Tensor:
    """Station positions from a CSV with latitude/longitude (or lat/lon) columns: ``[n, 2]``."""
    p = Path(path)
    if not p.is_file():
        raise TaskError(f"station layout not found: {p}")
    with p.open(newline="") as f:
        reader = csv.DictReader(f)
        cols = {c.strip().lower(): c for c in reader.fieldnames or []}
        la = cols.get("latitude", cols.get("lat"))
        lo = cols.get("longitude", cols.get("lon"))
        if la is None or lo is None:
            raise TaskError(f"{p}: needs latitude and longitude columns")
        try:
            rows = {(float(r[la]), float(r[lo])) for r in reader}
        except (TypeError, ValueError):
            raise TaskError(f"{p}: latitude/longitude must be numbers on every row") from None
    if not rows:
        raise TaskError(f"{p}: no stations")
    return torch.tensor(sorted(rows), dtype=torch.float32)
