"""Maps of one evaluation task: truth, stations, predictive mean, std and error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..tasks.field import Field
from ..tasks.task import Task
from .predictors import Predictive


def _on_grid(data: Field, x: NDArray[np.float64], v: NDArray[np.float64]) -> np.ndarray:
    """Values at grid-cell positions ``x [n, 2]`` -> ``[n_lat, n_lon]`` (NaN elsewhere)."""
    lat, lon = data.lat.double().numpy(), data.lon.double().numpy()
    out = np.full((len(lat), len(lon)), np.nan)
    i = np.rint((x[:, 0] - lat[0]) / (lat[1] - lat[0])).astype(int)
    j = np.rint((x[:, 1] - lon[0]) / (lon[1] - lon[0])).astype(int)
    out[i, j] = v
    return out


def plot_task(data: Field, task: Task, pred: Predictive, path: Path) -> Path:
    """Write a five-panel PNG for one task in kelvin (:func:`.run.kelvin_task`) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert hasattr(pred, "mean") and hasattr(pred, "var")
    mean, var = pred.mean, pred.var
    xc, yc = task.xc[0].numpy(), task.yc[0, :, 0].numpy()
    xt, yt = task.xt[0].numpy(), task.yt[0, :, 0].numpy()
    truth = _on_grid(data, np.r_[xc, xt], np.r_[yc, yt])
    extent = (
        float(data.lon[0]),
        float(data.lon[-1]),
        float(data.lat[0]),
        float(data.lat[-1]),
    )
    vmin, vmax = np.nanmin(truth), np.nanmax(truth)
    panels = [
        ("truth (K)", truth, "coolwarm", vmin, vmax),
        ("stations (K)", _on_grid(data, xc, yc), "coolwarm", vmin, vmax),
        ("mean (K)", _on_grid(data, xt, mean), "coolwarm", vmin, vmax),
        ("std (K)", _on_grid(data, xt, np.sqrt(var)), "viridis", None, None),
        ("mean - truth (K)", _on_grid(data, xt, mean - yt), "RdBu_r", None, None),
    ]
    fig, axes = plt.subplots(1, 5, figsize=(22, 4.5))
    for ax, (title, img, cmap, lo, hi) in zip(axes, panels, strict=True):
        if title.startswith("mean -"):
            lim = float(np.nanmax(np.abs(img)))
            lo, hi = -lim, lim
        im = ax.imshow(img, origin="lower", extent=extent, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8)
    axes[1].scatter(xc[:, 1], xc[:, 0], s=4, c="k")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
