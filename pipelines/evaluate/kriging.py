"""Kriging baselines (GSTools): ordinary kriging and kriging with external drift.

Per task, the variogram is fitted to the stations alone: the drift (a constant, or a
constant plus the external drifts such as orography and land fraction) is removed by least
squares, an isotropic empirical variogram of the residuals is estimated
(``gstools.vario_estimate``) and a Stable model with a nugget is fitted to it
(``fit_variogram``). Kriging (``gstools.krige.Ordinary`` / ``ExtDrift``) then treats the
nugget as measurement error at the stations (``exact=False``). The variance GSTools returns
is then already the **predictive variance of an observation** at a target: it is
``model.sill - k^T K^-1 k`` with ``sill = var + nugget`` and the nugget only on the
diagonal of ``K`` (``gstools/krige/base.py``: ``Krige.__call__`` and ``_get_krige_mat``;
``_get_krige_vecs`` uses ``model.covariance``, without the nugget, for ``exact=False``).
:func:`krige` returns it as it is. (Until issue 9 the nugget was added a second time,
which inflated the peer's variance.)

Positions are (lat, lon) in degrees, mapped to a local plane (longitude scaled by the cosine
of the mean latitude), so distances are in degrees of latitude.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import gstools as gs
import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
MIN_VARIANCE = 1e-6


@dataclass(frozen=True)
class KrigingResult:
    mean: Array  # [n_target]
    variance: Array  # [n_target], predictive variance of an observation
    nugget: float
    len_scale: float


def _plane(x: Array, lat0: float) -> tuple[Array, Array]:
    return x[:, 0], x[:, 1] * np.cos(np.deg2rad(lat0))


def fit_variogram(pos: tuple[Array, Array], resid: Array) -> gs.CovModel:
    """A Stable covariance model with nugget fitted to the residuals' empirical variogram."""
    span = float(np.hypot(np.ptp(pos[0]), np.ptp(pos[1])))
    edges = np.linspace(0.0, max(span / 2.0, 1e-3), 13)
    model = gs.Stable(dim=2, var=max(float(np.var(resid)), MIN_VARIANCE), len_scale=span / 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        centers, gamma = gs.vario_estimate(pos, resid, edges)
        ok = np.isfinite(gamma)
        # on a failed fit, keep the moment-based initial model
        if ok.sum() >= 4:
            with contextlib.suppress(RuntimeError, ValueError):
                model.fit_variogram(centers[ok], gamma[ok], nugget=True)
    return model


def krige(
    xc: Array,
    yc: Array,
    xt: Array,
    drift_c: Array | None = None,
    drift_t: Array | None = None,
) -> KrigingResult:
    """Krige station values ``yc [n_c]`` at ``xc [n_c, 2]`` to ``xt [n_t, 2]``.

    ``drift_c [n_drift, n_c]`` / ``drift_t [n_drift, n_t]`` select kriging with external drift;
    without them, ordinary kriging.
    """
    lat0 = float(np.mean(xc[:, 0]))
    pos_c, pos_t = _plane(xc, lat0), _plane(xt, lat0)
    design = np.ones((len(yc), 1))
    if drift_c is not None:
        design = np.column_stack([design, drift_c.T])
    coef, *_ = np.linalg.lstsq(design, yc, rcond=None)
    model = fit_variogram(pos_c, yc - design @ coef)
    krig: gs.krige.Krige
    if drift_c is not None:
        krig = gs.krige.ExtDrift(model, pos_c, yc, ext_drift=drift_c)
        mean, var = krig(pos_t, ext_drift=drift_t, return_var=True, store=False)
    else:
        krig = gs.krige.Ordinary(model, pos_c, yc)
        mean, var = krig(pos_t, return_var=True, store=False)
    # GSTools' variance already includes the nugget (see the module docstring)
    var = np.maximum(np.asarray(var, dtype=np.float64), 0.0)
    return KrigingResult(
        mean=np.asarray(mean, dtype=np.float64),
        variance=np.maximum(var, MIN_VARIANCE),
        nugget=float(model.nugget),
        len_scale=float(model.len_scale),
    )
