"""Normalisation statistics: ``(v - mean) / std``; they travel with bundles and results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from numpy.typing import NDArray

_Arr = TypeVar("_Arr", torch.Tensor, NDArray[np.float64])


@dataclass(frozen=True)
class Stats:
    """Mean and (population) standard deviation of one variable."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values: NDArray[np.floating[Any]]) -> Stats:
        return cls(float(np.mean(values)), float(np.std(values)))

    def normalise(self, v: _Arr) -> _Arr:
        return (v - self.mean) / self.std

    def denormalise(self, v: _Arr) -> _Arr:
        return v * self.std + self.mean

    def to_dict(self) -> dict[str, float]:
        return {"mean": float(self.mean), "std": float(self.std)}
