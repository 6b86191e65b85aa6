"""The kriging peer's variance: GSTools (``exact=False``) already includes the nugget.

Ordinary kriging of a noisy observation at a target, written out: with ``C`` the covariance
of the stations (no nugget), ``n`` the nugget (measurement error), ``c0`` the covariance of
the stations with the target, the system ``[[C + n I, 1], [1', 0]] [w; mu] = [c0; 1]`` gives
the variance of a new observation ``var + n - c0' w - mu``. Adding the nugget once more (the
bug of issue 9) would exceed it by ``n``.
"""

from __future__ import annotations

import gstools as gs
import numpy as np
import pytest

from pipelines.evaluate import kriging


def test_kriging_variance_counts_the_nugget_once(monkeypatch: pytest.MonkeyPatch) -> None:
    model = gs.Exponential(dim=2, var=2.0, len_scale=1.5, nugget=0.5)
    monkeypatch.setattr(kriging, "fit_variogram", lambda pos, resid: model)
    rng = np.random.default_rng(0)
    xc = np.column_stack([rng.uniform(0, 3, 25), rng.uniform(0, 3, 25)])  # lat ~ 0: cos = 1
    yc = rng.normal(0, 1.5, 25)
    xt = np.array([[1.0, 1.0], [2.5, 0.2], [10.0, 10.0]])
    got = kriging.krige(xc, yc, xt)

    lat0 = float(np.mean(xc[:, 0]))
    scale = np.array([1.0, np.cos(np.deg2rad(lat0))])
    pc, pt = xc * scale, xt * scale
    dist = np.linalg.norm(pc[:, None] - pc[None], axis=-1)
    n = len(xc)
    a = np.zeros((n + 1, n + 1))
    a[:n, :n] = model.covariance(dist) + model.nugget * np.eye(n)
    a[:n, n] = a[n, :n] = 1.0
    for i, x in enumerate(pt):
        c0 = model.covariance(np.linalg.norm(pc - x, axis=-1))
        sol = np.linalg.solve(a, np.r_[c0, 1.0])
        want = model.var + model.nugget - c0 @ sol[:n] - sol[n]
        assert got.variance[i] == pytest.approx(want, rel=1e-6)
        assert got.mean[i] == pytest.approx(sol[:n] @ yc, rel=1e-6, abs=1e-9)
