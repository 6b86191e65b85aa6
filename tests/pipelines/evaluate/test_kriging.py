"""GSTools kriging peers."""

from __future__ import annotations

import numpy as np

from pipelines.evaluate.kriging import krige


def test_kriging_with_drift_uses_the_drift() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform([50, -10], [58, 2], size=(260, 2))
    height = 300 * np.exp(-((x[:, 0] - 54) ** 2 + (x[:, 1] + 4) ** 2) / 2)  # one hill
    y = 285 - 0.0065 * height + 0.5 * np.sin(x[:, 0]) + rng.normal(0, 0.05, len(x))
    c, t = slice(0, 60), slice(60, None)
    ed = krige(x[c], y[c], x[t], height[None, c], height[None, t])
    ok = krige(x[c], y[c], x[t])
    rmse = {k: np.sqrt(np.mean((r.mean - y[t]) ** 2)) for k, r in (("ed", ed), ("ok", ok))}
    assert rmse["ed"] < rmse["ok"] and rmse["ed"] < 0.3
    assert (ed.variance >= ed.nugget).all()  # observations: kriging variance plus nugget
