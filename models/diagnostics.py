"""Diagnostics of approximate equivariance."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


@torch.no_grad()
def equivariance_deviation(
    model: nn.Module, xc: Tensor, yc: Tensor, xt: Tensor, **kwargs: Any
) -> float:
    """The paper's Delta-equiv: mean absolute difference between the predictive means with
    and without the fixed inputs (``strict=False`` vs ``strict=True``), in the units of y.

    Zero for strictly equivariant models and wherever the fixed inputs are masked out.
    """
    was_training = model.training
    model.eval()
    try:
        full = model(xc, yc, xt, strict=False, **kwargs).mean
        equi = model(xc, yc, xt, strict=True, **kwargs).mean
    finally:
        model.train(was_training)
    return float((full - equi).abs().mean())
