"""Per-task trend: Bayesian linear regression of the context values, fitted in closed form.

Inside each task the model regresses the context anomalies on a few physical covariates --
elevation relative to the context's mean elevation (km), and latitude/longitude relative to
the context centroid (degrees) -- with independent Gaussian priors on the coefficients
(weak: 10 K/km on elevation, 2 K/degree on position) and a noise variance estimated from the
residuals of a first pass. The posterior mean gives the trend at any point; the posterior
covariance gives its variance, which enters the predictive variance. Everything is batched
with context masks and differentiable.

This is what makes the response to elevation follow the data of the request: with a normal
lapse rate among the stations the fitted slope is negative and a higher target is colder;
with an inversion it is positive.

Far from the context the position slopes are not extrapolated: a target's latitude and
longitude enter the design clamped to the context's extent plus a ``bound`` (the model's
reach, :meth:`models.convcnp.ConvCNP.reach`). Targets within that box -- every target some
station can inform -- get exactly the unbounded trend; beyond it the trend and its variance
stay at their value on the box's edge (one Sydney station for a UK grid: a standard
deviation of about 15 K, not 350 K from a 2 K/degree prior slope over 150 degrees).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class TrendFit:
    """A fitted trend per task: coefficients ``[batch, p]``, covariance ``[batch, p, p]``,
    the noise variance ``[batch]`` and the centres the covariates are taken relative to."""

    coef: Tensor
    cov: Tensor
    noise: Tensor
    centre_x: Tensor  # [batch, 1, dim_x]
    centre_z: Tensor  # [batch, 1]
    low_x: Tensor | None = None  # [batch, 1, dim_x]: positions are clamped to low..high
    high_x: Tensor | None = None


def masked_mean(v: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``v [batch, n, ...]`` over real points (``mask [batch, n]``): ``[batch, 1, ...]``."""
    m = mask.reshape(*mask.shape, *[1] * (v.dim() - 2)).to(v.dtype)
    return (v * m).sum(dim=1, keepdim=True) / m.sum(dim=1, keepdim=True).clamp_min(1.0)


class TaskTrend(nn.Module):
    """Closed-form Bayesian linear trend of context values on elevation and position.

    Args:
        use_position: include latitude and longitude (relative to the context centroid).
        prior_std: prior standard deviations (K per unit) of the intercept, the elevation
            slope (K/km) and the position slopes (K/degree).
        noise_floor: smallest noise standard deviation (K) the fit assumes.
    """

    prior_var: Tensor

    def __init__(
        self,
        use_position: bool = True,
        prior_std: Sequence[float] = (10.0, 10.0, 2.0, 2.0),
        noise_floor: float = 0.1,
    ) -> None:
        super().__init__()
        self.use_position = use_position
        p = 4 if use_position else 2
        std = torch.as_tensor(list(prior_std)[:p], dtype=torch.float32)
        self.register_buffer("prior_var", std**2, persistent=False)
        self.noise_floor = float(noise_floor)

    @property
    def num_features(self) -> int:
        return int(self.prior_var.numel())

    def design(self, fit: TrendFit | None, x: Tensor, z_km: Tensor, centre: bool = True) -> Tensor:
        """Covariates ``[batch, n, p]`` of points ``x [batch, n, dim_x]`` at relative
        elevations ``z_km [batch, n]`` (already relative to the context mean)."""
        cols = [torch.ones_like(z_km), z_km]
        if self.use_position:
            assert fit is not None
            if fit.low_x is not None and fit.high_x is not None:
                x = torch.minimum(torch.maximum(x, fit.low_x), fit.high_x)
            rel = x - fit.centre_x
            cols += [rel[..., 0], rel[..., 1]]
        return torch.stack(cols, dim=-1)

    def fit(
        self,
        xc: Tensor,
        yc: Tensor,
        zc_km: Tensor,
        mask_c: Tensor,
        bound: Tensor | float | None = None,
    ) -> TrendFit:
        """Fit per task.

        Args:
            xc: ``[batch, n, dim_x]`` positions (degrees).
            yc: ``[batch, n]`` context anomalies (K), centred on the context mean.
            zc_km: ``[batch, n]`` elevations relative to the context mean (km).
            mask_c: ``[batch, n]`` 1 for real context points.
            bound: how far (degrees) beyond the context's extent the position slopes are
                extrapolated (see the module docstring); None: without limit.
        """
        centre_x = masked_mean(xc, mask_c)
        low = high = None
        if bound is not None:
            real = mask_c.bool()[..., None]
            low = torch.where(real, xc, torch.inf).amin(dim=1, keepdim=True) - bound
            high = torch.where(real, xc, -torch.inf).amax(dim=1, keepdim=True) + bound
        probe = TrendFit(
            coef=yc.new_zeros(0),
            cov=yc.new_zeros(0),
            noise=yc.new_zeros(0),
            centre_x=centre_x,
            centre_z=yc.new_zeros(yc.shape[0], 1),
            low_x=low,
            high_x=high,
        )
        m = mask_c.to(yc.dtype)
        X = self.design(probe, xc, zc_km) * m[..., None]  # [b, n, p]
        y = yc * m
        n = m.sum(dim=1)
        xtx = X.transpose(1, 2) @ X  # [b, p, p]
        xty = (X.transpose(1, 2) @ y[..., None]).squeeze(-1)  # [b, p]
        prior_prec = torch.diag_embed((1.0 / self.prior_var).to(yc).expand(yc.shape[0], -1))

        def solve(noise: Tensor) -> tuple[Tensor, Tensor]:
            prec = xtx / noise[:, None, None] + prior_prec
            cov = torch.linalg.inv(prec)
            cov = 0.5 * (cov + cov.transpose(1, 2))
            return (cov @ (xty / noise[:, None])[..., None]).squeeze(-1), cov

        floor = self.noise_floor**2
        first = ((y**2).sum(dim=1) / n.clamp_min(1.0)).clamp_min(floor)
        coef, _ = solve(first)
        resid = (y - (X @ coef[..., None]).squeeze(-1)) * m
        dof = (n - self.num_features).clamp_min(1.0)
        noise = ((resid**2).sum(dim=1) / dof).clamp_min(floor)
        coef, cov = solve(noise)
        return TrendFit(coef, cov, noise, centre_x, probe.centre_z, low, high)

    def predict(self, fit: TrendFit, x: Tensor, z_km: Tensor) -> tuple[Tensor, Tensor]:
        """Trend mean and its variance (coefficient uncertainty) at ``x [batch, n, dim_x]``
        with relative elevations ``z_km [batch, n]``: two ``[batch, n]`` tensors."""
        X = self.design(fit, x, z_km)
        mean = (X @ fit.coef[..., None]).squeeze(-1)
        var = torch.einsum("bnp,bpq,bnq->bn", X, fit.cov, X).clamp_min(0.0)
        return mean, var
