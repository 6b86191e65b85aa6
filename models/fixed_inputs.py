"""Fixed inputs: the mechanism that makes an equivariant model approximately equivariant.

Ashman et al. (NeurIPS 2024) show that any approximately equivariant map can be written as an
equivariant map applied to the data *and* a few fixed, learned functions of absolute position.
This module is those functions, written once for any backbone:

- a small MLP of absolute coordinates (optionally on Fourier features of them) with ``C_t``
  output channels;
- multiplied by a mask that is 1 inside a declared domain box and exactly 0 outside, with an
  optional smooth (raised-cosine) taper of width ``taper`` just inside the box edge;
- dropped for a whole task with probability ``p_drop`` during training (one Bernoulli draw per
  task, no rescaling), so the backbone also learns to work from the data alone;
- ``strict=True`` zeroes them: the model's equivariant component.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


class FixedInputs(nn.Module):
    domain: Tensor

    def __init__(
        self,
        dim_x: int,
        num_channels: int,
        domain: Sequence[Sequence[float]],
        hidden: int = 64,
        num_layers: int = 2,
        num_fourier: int = 0,
        taper: float = 0.0,
        p_drop: float = 0.5,
    ) -> None:
        super().__init__()
        box = torch.as_tensor(domain, dtype=torch.float64)
        if box.shape != (dim_x, 2) or not bool((box[:, 0] < box[:, 1]).all()):
            raise ValueError(f"domain must be {dim_x} (low, high) pairs with low < high")
        if not 0.0 <= p_drop <= 1.0:
            raise ValueError("p_drop must lie in [0, 1]")
        if taper < 0:
            raise ValueError("taper must be non-negative")
        self.dim_x = dim_x
        self.num_channels = num_channels
        self.num_fourier = num_fourier
        self.taper = float(taper)
        self.p_drop = float(p_drop)
        self.register_buffer("domain", box.float(), persistent=False)
        width = dim_x * (1 + 2 * num_fourier)
        layers: list[nn.Module] = []
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden), nn.GELU()]
            width = hidden
        layers.append(nn.Linear(width, num_channels))
        self.mlp = nn.Sequential(*layers)

    def mask(self, x: Tensor) -> Tensor:
        """``x: [..., dim_x]`` -> ``[..., 1]``: 1 inside the domain, 0 outside, tapered edge."""
        low, high = self.domain[:, 0].to(x), self.domain[:, 1].to(x)
        inside = ((x >= low) & (x <= high)).all(dim=-1, keepdim=True).to(x.dtype)
        if self.taper == 0.0:
            return inside
        s = (torch.minimum(x - low, high - x) / self.taper).clamp(0.0, 1.0)
        ramp = 0.5 - 0.5 * torch.cos(math.pi * s)
        return inside * ramp.prod(dim=-1, keepdim=True)

    def features(self, x: Tensor) -> Tensor:
        """Masked fixed-input values, no dropout: ``[..., dim_x]`` -> ``[..., C_t]``."""
        x = x.to(self.domain.dtype)
        low, high = self.domain[:, 0], self.domain[:, 1]
        u = 2.0 * (x - low) / (high - low) - 1.0
        if self.num_fourier:
            freqs = math.pi * torch.arange(1, self.num_fourier + 1, device=x.device, dtype=x.dtype)
            ang = (u[..., None] * freqs).flatten(-2)
            u = torch.cat([u, torch.sin(ang), torch.cos(ang)], dim=-1)
        m = self.mask(x)
        if x.device.type == "cpu" and x.dim() == 2:
            # only the points inside the domain (a UK request's window is ~80 % outside);
            # on accelerators the whole batch is cheaper than the host sync this needs
            inside = m[:, 0] > 0
            out = x.new_zeros(x.shape[0], self.num_channels)
            out[inside] = self.mlp(u[inside]) * m[inside]
            return out
        out = self.mlp(u)
        return torch.where(m > 0, out * m, torch.zeros_like(out))

    def keep(self, batch: int, device: torch.device, strict: bool = False) -> Tensor:
        """Per-task multiplier ``[batch]``: 0 for strict, Bernoulli(1 - p) when training."""
        if strict:
            return torch.zeros(batch, device=device)
        if self.training and self.p_drop > 0:
            return (torch.rand(batch, device=device) >= self.p_drop).float()
        return torch.ones(batch, device=device)

    def forward(self, x: Tensor, strict: bool = False) -> Tensor:
        """``x: [batch, n, dim_x]`` -> ``[batch, n, C_t]`` with per-task dropout."""
        keep = self.keep(x.shape[0], x.device, strict)
        return self.features(x) * keep[:, None, None]
