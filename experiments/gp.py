"""The paper's 1-D synthetic benchmark: a mixture of non-stationary (Gibbs-kernel) GPs.

Each task draws one of six GPs. Their Gibbs kernel has a length-scale that switches between
a long (4.0) and a short (0.1) value at a changepoint ``x0`` in {-1, 0, 1}, with the long side
left or right; observations carry Gaussian noise (std 0.1). Contexts lie in [-2, 2], targets
in [-4, 4].

:func:`ground_truth` is the exact posterior predictive of that mixture: per kernel, the GP
posterior predictive at the targets; the weights over kernels are the prior weights times the
marginal likelihood of the context, normalised. Per target the predictive is therefore a
*mixture of Gaussians*, and the ground-truth log-likelihood is the log of that mixture density
at each noisy target value, averaged per target point. :class:`GPTruthPredictor` puts it
behind the evaluation Predictor protocol, so the one scorer scores it like every model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from inference.padding import pad_repeat
from pipelines.evaluate.predictors import LogDensity, Predictive
from pipelines.tasks.task import Task

_JITTER = 1e-8


@dataclass(frozen=True)
class GibbsKernel:
    """Gibbs kernel with a step length-scale: ``long`` on one side of ``x0``, ``short`` on the
    other (``long_left`` says which).

    ``k(x, x') = sqrt(2 l(x) l(x') / (l(x)^2 + l(x')^2)) exp(-(x - x')^2 / (l(x)^2 + l(x')^2))``,
    positive definite for any positive ``l``.
    """

    x0: float
    long_left: bool
    long: float = 4.0
    short: float = 0.1

    def lengthscale(self, x: Tensor) -> Tensor:
        left = x < self.x0
        on_long = left if self.long_left else ~left
        return torch.where(on_long, torch.full_like(x, self.long), torch.full_like(x, self.short))

    def __call__(self, x1: Tensor, x2: Tensor) -> Tensor:
        """``x1: [n1]``, ``x2: [n2]`` -> ``[n1, n2]``."""
        l1, l2 = self.lengthscale(x1)[:, None], self.lengthscale(x2)[None, :]
        s = l1**2 + l2**2
        return torch.sqrt(2 * l1 * l2 / s) * torch.exp(-((x1[:, None] - x2[None, :]) ** 2) / s)


def paper_kernels() -> list[GibbsKernel]:
    """The six GPs of the benchmark: changepoint in {-1, 0, 1} x long side left or right."""
    return [GibbsKernel(x0, left) for x0 in (-1.0, 0.0, 1.0) for left in (True, False)]


@dataclass
class GibbsGPSampler:
    """Tasks from the uniform mixture of :func:`paper_kernels` (a :class:`TaskSampler`).

    Each task has its own context size (uniform in ``n_context``), so contexts are padded and
    masked; targets always number ``n_target``.
    """

    kernels: list[GibbsKernel] = field(default_factory=paper_kernels)
    noise: float = 0.1
    n_context: tuple[int, int] = (1, 64)
    n_target: int = 128
    context_range: tuple[float, float] = (-2.0, 2.0)
    target_range: tuple[float, float] = (-4.0, 4.0)

    def sample(self, batch_size: int, generator: torch.Generator) -> Task:
        xcs, ycs, xts, yts = [], [], [], []
        lo_c, hi_c = self.context_range
        lo_t, hi_t = self.target_range
        for _ in range(batch_size):
            k = self.kernels[int(torch.randint(len(self.kernels), (1,), generator=generator))]
            nc = int(
                torch.randint(self.n_context[0], self.n_context[1] + 1, (1,), generator=generator)
            )
            xc = lo_c + (hi_c - lo_c) * torch.rand(nc, generator=generator, dtype=torch.float64)
            xt = lo_t + (hi_t - lo_t) * torch.rand(
                self.n_target, generator=generator, dtype=torch.float64
            )
            x = torch.cat([xc, xt])
            cov = k(x, x) + (self.noise**2 + _JITTER) * torch.eye(len(x), dtype=torch.float64)
            eps = torch.randn(len(x), generator=generator, dtype=torch.float64)
            y = torch.linalg.cholesky(cov) @ eps
            xcs.append(xc[:, None].float())
            ycs.append(y[:nc, None].float())
            xts.append(xt[:, None].float())
            yts.append(y[nc:, None].float())
        xc_b, mask_c = pad_repeat(xcs)
        yc_b, _ = pad_repeat(ycs)
        return Task(xc_b, yc_b, torch.stack(xts), torch.stack(yts), mask_c=mask_c)


def gp_posterior(
    kernel: GibbsKernel, xc: Tensor, yc: Tensor, xt: Tensor, noise: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Exact GP posterior predictive of noisy targets, and the context's log marginal likelihood.

    Args:
        xc: ``[n_c]``, yc: ``[n_c]``, xt: ``[n_t]`` (float64 recommended).
    Returns:
        mean ``[n_t]``, variance ``[n_t]`` (including the noise), ``log p(yc)`` (scalar).
    """
    kcc = kernel(xc, xc) + (noise**2 + _JITTER) * torch.eye(len(xc), dtype=xc.dtype)
    chol = torch.linalg.cholesky(kcc)
    alpha = torch.cholesky_solve(yc[:, None], chol)[:, 0]
    kct = kernel(xc, xt)
    v = torch.linalg.solve_triangular(chol, kct, upper=False)
    mean = kct.T @ alpha
    prior_var = torch.diagonal(kernel(xt, xt))
    var = (prior_var - (v**2).sum(0)).clamp_min(0.0) + noise**2
    logml = (
        -0.5 * (yc @ alpha)
        - torch.log(torch.diagonal(chol)).sum()
        - 0.5 * len(xc) * math.log(2 * math.pi)
    )
    return mean, var, logml


def mixture_posterior(
    kernels: list[GibbsKernel],
    xc: Tensor,
    yc: Tensor,
    xt: Tensor,
    noise: float,
    prior: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The exact predictive of a mixture of GPs for one task.

    Returns:
        log posterior weights ``[K]`` (prior x marginal likelihood, normalised), means
        ``[K, n_t]`` and variances ``[K, n_t]`` of the per-kernel predictives.
    """
    if prior is None:
        prior = torch.full((len(kernels),), 1.0 / len(kernels), dtype=torch.float64)
    posts = [gp_posterior(k, xc, yc, xt, noise) for k in kernels]
    means = torch.stack([p[0] for p in posts])
    vars_ = torch.stack([p[1] for p in posts])
    logml = torch.stack([p[2] for p in posts])
    logw = torch.log(prior.to(logml)) + logml
    return logw - torch.logsumexp(logw, 0), means, vars_


def mixture_log_density(logw: Tensor, means: Tensor, vars_: Tensor, y: Tensor) -> Tensor:
    """Per-target log of the Gaussian-mixture marginal: ``y: [n_t]`` -> ``[n_t]``."""
    comp = -0.5 * (torch.log(2 * math.pi * vars_) + (y[None] - means) ** 2 / vars_)
    return torch.logsumexp(logw[:, None] + comp, dim=0)


def truth_log_density(task: Task, sampler: GibbsGPSampler) -> list[Tensor]:
    """Per task of the batch, the exact predictive's log density at each target: ``[n_t]``."""
    out = []
    for i in range(task.batch_size):
        m = task.mask_c[i].bool() if task.mask_c is not None else slice(None)
        xc = task.xc[i, m, 0].double()
        yc = task.yc[i, m, 0].double()
        xt, yt = task.xt[i, :, 0].double(), task.yt[i, :, 0].double()
        logw, means, vars_ = mixture_posterior(sampler.kernels, xc, yc, xt, sampler.noise)
        out.append(mixture_log_density(logw, means, vars_, yt))
    return out


def ground_truth(task: Task, sampler: GibbsGPSampler) -> Tensor:
    """Ground-truth mean log-likelihood per target point of each task: ``[batch]``."""
    return torch.stack([lp.mean() for lp in truth_log_density(task, sampler)])


@dataclass
class GPTruthPredictor:
    """The exact mixture posterior as an evaluation predictor (log densities, not Gaussian)."""

    sampler: GibbsGPSampler

    def predict(self, task: Task) -> list[Predictive]:
        return [LogDensity(lp.numpy()) for lp in truth_log_density(task, self.sampler)]
