"""UNet receptive field, checked empirically (weights one, perturb one cell, count changes)."""

from __future__ import annotations

import pytest
import torch

from models.unet import UNet


def empirical_receptive_field(net: UNet, size: int) -> int:
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.fill_(0.0 if name.endswith("bias") else 1.0)
        best = 0
        for pos in range(size // 2 - 8, size // 2 + 8):  # every alignment with the strides
            shape = (1, 1) + (size,) * net.dim
            x = torch.zeros(shape)
            x[(0, 0) + (pos,) * net.dim] = 1.0
            moved = net(x)[0, 0] > 0
            line = moved if net.dim == 1 else moved[:, pos]
            best = max(best, int(line.sum()))
    return best


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize(
    ("channels", "k"), [((4,), 5), ((4, 4), 5), ((4, 4, 4), 3), ((4, 4, 4, 4), 5)]
)
def test_receptive_field_matches_perturbation(dim: int, channels: tuple, k: int) -> None:
    net = UNet(dim, 1, 1, channels, k)
    size = 256 if dim == 1 else 160
    assert empirical_receptive_field(net, size) == net.receptive_field


def test_grid_sides_must_fit_the_down_sampling() -> None:
    net = UNet(2, 1, 1, (4, 4, 4), 3)
    assert net.multiple == 4
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.zeros(1, 1, 10, 12))
