"""The 1-D GP benchmark: sampler shapes and the exact mixture ground truth."""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal

from experiments.gp import (
    GibbsGPSampler,
    GibbsKernel,
    ground_truth,
    mixture_log_density,
    mixture_posterior,
    paper_kernels,
)

NOISE = 0.1


def _points(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, dtype=torch.float64)


def test_gibbs_kernel_is_symmetric_positive_definite_with_unit_variance() -> None:
    x = torch.linspace(-3, 3, 200, dtype=torch.float64)
    for k in paper_kernels():
        cov = k(x, x)
        torch.testing.assert_close(cov, cov.T)
        torch.testing.assert_close(torch.diagonal(cov), torch.ones(200, dtype=torch.float64))
        assert float(torch.linalg.eigvalsh(cov + 1e-8 * torch.eye(200)).min()) > 0


def test_sampler_draws_padded_contexts_and_fixed_targets() -> None:
    task = GibbsGPSampler().sample(8, torch.Generator().manual_seed(0))
    assert task.xt.shape == (8, 128, 1) and task.yt.shape == (8, 128, 1)
    assert task.mask_c is not None
    n = task.mask_c.sum(1)
    assert int(n.min()) >= 1 and int(n.max()) <= 64 and task.xc.shape[1] == int(n.max())
    real = task.xc[task.mask_c.bool()]
    assert float(real.abs().max()) <= 2.0 and float(task.xt.abs().max()) <= 4.0


def test_mixture_equals_single_gp_when_one_kernel_has_all_prior_weight() -> None:
    gen = torch.Generator().manual_seed(1)
    kernels = paper_kernels()
    xc, xt = _points(gen, 10, -2, 2), _points(gen, 30, -4, 4)
    yc, yt = torch.randn(10, generator=gen, dtype=torch.float64), torch.randn(30, generator=gen)
    prior = torch.zeros(6, dtype=torch.float64)
    prior[3] = 1.0
    logw, means, vars_ = mixture_posterior(kernels, xc, yc, xt, NOISE, prior)
    assert float(logw.exp()[3]) == 1.0
    single = Normal(means[3], vars_[3].sqrt()).log_prob(yt.double())
    torch.testing.assert_close(mixture_log_density(logw, means, vars_, yt.double()), single)


def test_posterior_weights_match_monte_carlo_marginal_likelihoods() -> None:
    """p(yc | k) = E_{f ~ GP_k}[N(yc; f, noise^2 I)], estimated by sampling f at two points."""
    gen = torch.Generator().manual_seed(2)
    kernels = [GibbsKernel(0.0, True), GibbsKernel(0.0, False)]
    xc = torch.tensor([-0.3, 0.25], dtype=torch.float64)
    yc = torch.tensor([0.4, -0.5], dtype=torch.float64)
    mc = []
    for k in kernels:
        chol = torch.linalg.cholesky(k(xc, xc) + 1e-10 * torch.eye(2, dtype=torch.float64))
        f = (chol @ torch.randn(2, 200_000, generator=gen, dtype=torch.float64)).T
        dens = Normal(f, NOISE).log_prob(yc).sum(-1).exp().mean()
        mc.append(float(dens))
    want = torch.tensor(mc) / sum(mc)
    logw, _, _ = mixture_posterior(kernels, xc, yc, xc, NOISE)
    torch.testing.assert_close(logw.exp().float(), want.float(), atol=0.02, rtol=0.0)


def test_ground_truth_beats_the_prior_predictive() -> None:
    sampler = GibbsGPSampler()
    task = sampler.sample(32, torch.Generator().manual_seed(3))
    truth = ground_truth(task, sampler)
    prior = Normal(0.0, math.sqrt(1.0 + NOISE**2)).log_prob(task.yt[..., 0]).mean(-1)
    assert truth.shape == (32,)
    assert float(truth.mean()) > float(prior.mean()) + 0.3
    # and it cannot beat a perfect mean with the noise alone by much on average
    assert float(truth.mean()) < Normal(0.0, NOISE).log_prob(torch.zeros(())).item()
