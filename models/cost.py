"""Work estimates of a ConvCNP forward pass, in multiply-adds, from shapes alone.

The service admits or refuses a request by what the model will really spend on it, before
spending anything: the set-conv encoder (``stations x internal cells x channels``), the CNN
(internal cells x its multiply-adds per cell, counted once per model by running it on a small
probe under :class:`torch.utils.flop_counter.FlopCounterMode`), the fixed-input network (per
internal cell), the decoder (separable for target grids, ``targets x internal cells x
channels`` for points, or each point's neighbourhood of cells when the decoder reads only
that: :meth:`models.setconv.SetConvDecoder.cells_per_target`) and the point-wise head (per
target). Element-wise work (kernel weights, activations) is not counted: the estimate is
the matrix products' and convolutions' multiply-adds, as
:class:`~torch.utils.flop_counter.FlopCounterMode` counts them (tested within a factor of
two of its count for grid and point targets).
"""

from __future__ import annotations

import math
import weakref

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .convcnp import ConvCNP

_PER_CELL: weakref.WeakKeyDictionary[nn.Module, tuple[float, float, float]] = (
    weakref.WeakKeyDictionary()
)


def _macs(fn: object, *args: torch.Tensor) -> float:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(*args)  # type: ignore[operator]
    return counter.get_total_flops() / 2


def _linear_macs(module: nn.Module) -> float:
    """Multiply-adds per input row of a stack of linear layers (their weights' sizes)."""
    return float(sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Linear)))


def per_cell_and_target(model: ConvCNP) -> tuple[float, float, float]:
    """(CNN + fixed inputs per internal cell, head per target, decoder channels); cached."""
    if model in _PER_CELL:
        return _PER_CELL[model]
    side = 4 * model.cnn.multiple
    stem = model.cnn.stem.op
    in_ch = getattr(stem, "in_channels", None) or getattr(stem, "cin", None)
    cells = side**model.dim_x
    cnn: float
    if in_ch is not None and not model.cnn.stem.relaxed:
        probe = torch.zeros(1, int(in_ch), *[side] * model.dim_x, device=_device(model))
        cnn = _macs(model.cnn, probe) / cells
    else:  # relaxed convolutions: weights x cells is close enough
        cnn = float(sum(p.numel() for p in model.cnn.parameters()))
    for extra in (model.fixed_inputs, model.relaxed_weights):
        if extra is not None:
            cnn += _linear_macs(extra)
    head = _linear_macs(model.head)
    channels = float(model.cnn.out.out_channels)
    _PER_CELL[model] = (cnn, head, channels)
    return _PER_CELL[model]


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def forward_macs(
    model: nn.Module,
    n_context: int,
    window_shape: tuple[int, ...] | None,
    targets: int | tuple[int, ...],
) -> float:
    """Estimated multiply-adds of one task's forward pass.

    Args:
        n_context: context points.
        window_shape: the internal grid's shape (``model.window(...).shape``); None for
            models without one (then a transformer-style ``context x target`` estimate).
        targets: the number of target points, or a target grid's shape (separable read-out).
    """
    n_t = targets if isinstance(targets, int) else math.prod(targets)
    if not isinstance(model, ConvCNP) or window_shape is None:
        width = float(sum(p.numel() for p in model.parameters())) ** 0.5
        return float(n_context * n_t * width + (n_context + n_t) * width**2)
    cnn, head, channels = per_cell_and_target(model)
    cells = math.prod(window_shape)
    encoder = n_context * cells * (1 + model.dim_y + model.dim_aux)
    if isinstance(targets, int) or len(targets) != len(window_shape):
        step = [1.0 / model.points_per_unit] * len(window_shape)
        read = model.decoder.cells_per_target(tuple(window_shape), step)
        if read < cells:  # the local read-out: each target's neighbourhood, as a bmm
            decoder = n_t * read * channels
        else:  # dense and separable: the last internal axis, then the first
            decoder = n_t * cells * channels + n_t * window_shape[0] * channels
    else:  # separable: contract the last internal axis, then each earlier one
        decoder, shape = 0.0, list(window_shape)
        for d in reversed(range(len(shape))):
            decoder += channels * math.prod(shape) * targets[d]
            shape[d] = targets[d]
    return float(encoder + cells * cnn + decoder + n_t * head)
