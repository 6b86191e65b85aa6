"""Relaxed group convolution for translations (Wang, Walters and Yu, ICML 2022).

A relaxed convolution keeps ``L`` kernels and mixes their responses with weights that may
vary over space: ``out(x) = sum_l w_l(x) (K_l * f)(x)``, with ``w_l(x) = a_l + delta_l(x)``.
``a`` is a learned constant per layer; ``delta`` is a learned function of absolute position
(produced by :class:`models.fixed_inputs.FixedInputs`, so it is zero outside the declared
domain and dropped per task during training). With ``delta = 0`` the layer is the plain
convolution with kernel ``sum_l a_l K_l``: the model falls back to a strict ConvCNP.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}


class RelaxedConv(nn.Module):
    """``L`` convolutions mixed by (possibly spatially varying) weights."""

    def __init__(
        self, dim: int, in_ch: int, out_ch: int, kernel_size: int, num_kernels: int, stride: int = 1
    ) -> None:
        super().__init__()
        self.num_kernels = num_kernels
        self.out_ch = out_ch
        self.stride = stride
        self.conv = _CONV[dim](
            in_ch, out_ch * num_kernels, kernel_size, stride=stride, padding=kernel_size // 2
        )
        base = torch.zeros(num_kernels)
        base[0] = 1.0
        self.base = nn.Parameter(base)

    def forward(self, h: Tensor, delta: Tensor | None = None) -> Tensor:
        """Args:
            h: ``[batch, in_ch, *grid]``.
            delta: ``[batch, L, *grid_out]`` spatial weight offsets at the output resolution,
                or ``None`` for the plain convolution.
        Returns:
            ``[batch, out_ch, *grid_out]``.
        """
        y = self.conv(h)
        b, _, *sp = y.shape
        y = y.reshape(b, self.num_kernels, self.out_ch, *sp)
        w = self.base.reshape(1, -1, *([1] * len(sp)))
        if delta is not None:
            w = w + delta
        return (w.unsqueeze(2) * y).sum(dim=1)


def pool_weights(delta: Tensor, factor: int) -> Tensor:
    """Average-pool a full-resolution weight map ``[batch, L, *grid]`` by ``factor``."""
    if factor == 1:
        return delta
    pool = F.avg_pool1d if delta.dim() == 3 else F.avg_pool2d
    return pool(delta, factor)
