"""UNet (1-D or 2-D) with an analytically computed receptive field.

Layout (``channels = (c0, c1, ..., c_{L-1})``): a stem convolution to ``c0``; per down level
a stride-2 convolution and a convolution; per up level a 2x2 (or 2) stride-2 transposed
convolution, a skip concatenation and a convolution; a 1x1 output convolution. Grid sides
must be multiples of ``2 ** (L - 1)`` (:attr:`UNet.multiple`). Every ``k``-convolution can be
a :class:`models.relaxed.RelaxedConv` (``relaxed_kernels > 0``); then ``forward`` takes the
full-resolution spatial weight offsets and pools them to each level.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .relaxed import RelaxedConv, pool_weights

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_TCONV = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}


class _Conv(nn.Module):
    """A convolution that is relaxed or plain, with one calling convention."""

    def __init__(
        self, dim: int, cin: int, cout: int, k: int, stride: int, relaxed_kernels: int
    ) -> None:
        super().__init__()
        self.relaxed = relaxed_kernels > 0
        self.op: nn.Module
        if self.relaxed:
            self.op = RelaxedConv(dim, cin, cout, k, relaxed_kernels, stride)
        else:
            self.op = _CONV[dim](cin, cout, k, stride=stride, padding=k // 2)

    def forward(self, h: Tensor, delta: Tensor | None) -> Tensor:
        return self.op(h, delta) if self.relaxed else self.op(h)


class UNet(nn.Module):
    def __init__(
        self,
        dim: int,
        in_channels: int,
        out_channels: int,
        channels: Sequence[int] = (32, 32, 64, 64),
        kernel_size: int = 5,
        relaxed_kernels: int = 0,
    ) -> None:
        super().__init__()
        if dim not in (1, 2):
            raise ValueError(f"UNet supports 1-D and 2-D grids, got dim={dim}")
        if kernel_size % 2 != 1:
            raise ValueError("kernel_size must be odd")
        self.dim = dim
        self.channels = tuple(channels)
        self.kernel_size = kernel_size
        k, r = kernel_size, relaxed_kernels
        c = self.channels
        self.stem = _Conv(dim, in_channels, c[0], k, 1, r)
        self.down_stride = nn.ModuleList(
            [_Conv(dim, c[i - 1], c[i], k, 2, r) for i in range(1, len(c))]
        )
        self.down_conv = nn.ModuleList([_Conv(dim, c[i], c[i], k, 1, r) for i in range(1, len(c))])
        self.up = nn.ModuleList(
            [_TCONV[dim](c[i], c[i - 1], 2, stride=2) for i in range(1, len(c))]
        )
        self.up_conv = nn.ModuleList(
            [_Conv(dim, 2 * c[i - 1], c[i - 1], k, 1, r) for i in range(1, len(c))]
        )
        self.out = _CONV[dim](c[0], out_channels, 1)
        self.act = nn.ReLU()

    @property
    def multiple(self) -> int:
        """Grid sides must be multiples of this."""
        return int(2 ** (len(self.channels) - 1))

    @property
    def receptive_field(self) -> int:
        """Width in grid cells of the input region that can influence one output cell."""
        k = self.kernel_size
        rf, jump = 1 + (k - 1), 1
        for _ in self.channels[1:]:
            rf += (k - 1) * jump  # stride-2 convolution, at the finer spacing
            jump *= 2
            rf += (k - 1) * jump  # convolution at the coarser spacing
        for _ in self.channels[1:]:
            jump //= 2
            rf += jump  # 2-stride transposed convolution: a coarse cell spans 2 finer ones
            rf += (k - 1) * jump  # convolution after the skip concatenation
        return rf

    @property
    def receptive_radius(self) -> int:
        """Cells on either side of an output cell that can influence it."""
        return self.receptive_field // 2

    def forward(self, h: Tensor, delta: Tensor | None = None) -> Tensor:
        """Args:
            h: ``[batch, in_channels, *grid]``, sides multiples of :attr:`multiple`.
            delta: relaxed-convolution weight offsets ``[batch, L, *grid]`` or ``None``.
        Returns:
            ``[batch, out_channels, *grid]``.
        """
        if any(s % self.multiple for s in h.shape[2:]):
            raise ValueError(f"grid sides {tuple(h.shape[2:])} not multiples of {self.multiple}")

        def at(level: int) -> Tensor | None:
            return None if delta is None else pool_weights(delta, 2**level)

        h = self.act(self.stem(h, at(0)))
        skips = [h]
        for i, (ds, conv) in enumerate(zip(self.down_stride, self.down_conv, strict=True)):
            h = self.act(ds(h, at(i + 1)))
            h = self.act(conv(h, at(i + 1)))
            skips.append(h)
        skips.pop()
        for i in reversed(range(len(self.up))):
            h = self.act(self.up[i](h))
            h = self.act(self.up_conv[i](torch.cat([h, skips.pop()], dim=1), at(i)))
        return self.out(h)
