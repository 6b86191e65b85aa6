"""A plain multilayer perceptron, the point-wise building block of heads and embeddings."""

from __future__ import annotations

from torch import Tensor, nn


class MLP(nn.Module):
    """``[..., in_dim]`` -> ``[..., out_dim]`` with ``num_hidden`` GELU layers of ``width``."""

    def __init__(self, in_dim: int, out_dim: int, width: int = 64, num_hidden: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for _ in range(num_hidden):
            layers += [nn.Linear(d, width), nn.GELU()]
            d = width
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
