"""Gaussian likelihood head: mean and variance per target, and the per-point NLL."""

from __future__ import annotations

from torch import Tensor, nn
from torch.distributions import Normal
from torch.nn import functional as F


class GaussianLikelihood(nn.Module):
    """``[batch, n, 2 * dim_y]`` -> ``Normal`` with batch shape ``[batch, n, dim_y]``.

    The variance is ``softplus(raw) + min_variance``, so it is positive and never collapses.
    """

    def __init__(self, dim_y: int, min_variance: float = 1e-4) -> None:
        super().__init__()
        if min_variance <= 0:
            raise ValueError("min_variance must be positive")
        self.dim_y = dim_y
        self.min_variance = float(min_variance)

    @property
    def num_params(self) -> int:
        return 2 * self.dim_y

    def forward(self, z: Tensor) -> Normal:
        mean, raw = z.split(self.dim_y, dim=-1)
        var = F.softplus(raw) + self.min_variance
        return Normal(mean, var.sqrt())


def gaussian_nll(dist: Normal, y: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean negative log-likelihood per target point (summed over ``dim_y``).

    Args:
        dist: predictive with batch shape ``[batch, n_target, dim_y]``.
        y: ``[batch, n_target, dim_y]`` observed values.
        mask: optional ``[batch, n_target]``; zeros exclude padded targets.
    """
    lp = dist.log_prob(y).sum(dim=-1)
    if mask is None:
        return -lp.mean()
    m = mask.to(lp.dtype)
    return -(lp * m).sum() / m.sum().clamp_min(1.0)
