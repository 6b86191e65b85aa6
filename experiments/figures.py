"""Maps for docs/img: one test hour, ConvCNP (T) beside AE-ConvCNP (T~).

Plain latitude/longitude axes (cartopy's coastlines need a download this project cannot
rely on); the coast is drawn as the 0.5 contour of the land fraction, the hills as
orography contours, so where the model departs from equivariance can be read off.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from .config import IMG, Context
from .data import Era5


def _grid_points(lat: np.ndarray, lon: np.ndarray) -> torch.Tensor:
    glat, glon = np.meshgrid(lat, lon, indexing="ij")
    return torch.tensor(np.stack([glat.ravel(), glon.ravel()], -1), dtype=torch.float32)


@torch.no_grad()
def era5_maps(conv: nn.Module, ae: nn.Module, e: Era5, ctx: Context) -> list[Path]:
    """Write ``era5_hour_maps.png`` and ``era5_fixed_inputs.png``; returns their paths."""
    out_dir = ctx.runs / "img" if ctx.quick else IMG
    out_dir.mkdir(parents=True, exist_ok=True)
    lat, lon = e.data.lat.numpy(), e.data.lon.numpy()
    shape = (len(lat), len(lon))
    task = e.test_tasks(False)[0]  # the first test hour of the seeded set, first in batch
    std, mean0 = e.data.stats["t2m"].std, e.data.stats["t2m"].mean
    m = task.mask_c[0].bool() if task.mask_c is not None else slice(None)
    xc, yc = task.xc[0, m][None], task.yc[0, m][None]
    xt = _grid_points(lat, lon)[None]
    hour = e.split["test"][e.test_hours()[0]]
    truth = e.data.values[hour].numpy() * std + mean0
    assert e.data.orog is not None
    frac, orog = e.land, e.data.orog.numpy()

    preds = {}
    for name, model in (("ConvCNP (T)", conv), ("AE-ConvCNP (T~)", ae)):
        model.eval()
        p = model(xc, yc, xt)
        preds[name] = (
            p.mean[0, :, 0].numpy().reshape(shape) * std + mean0,
            p.stddev[0, :, 0].numpy().reshape(shape) * std,
        )
    strict = ae(xc, yc, xt, strict=True).mean[0, :, 0].numpy().reshape(shape) * std + mean0

    def decorate(ax: plt.Axes) -> None:
        ax.contour(lon, lat, frac, levels=[0.5], colors="k", linewidths=0.6)
        ax.contour(lon, lat, orog, levels=[200, 400], colors="0.4", linewidths=0.4)
        ax.set_aspect(1.6)

    vmin, vmax = float(truth.min()), float(truth.max())
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    im = axes[0, 0].pcolormesh(lon, lat, truth, vmin=vmin, vmax=vmax, cmap="coolwarm")
    axes[0, 0].set_title(f"truth {np.datetime_as_string(e.data.times[hour], unit='h')}")
    c = xc[0].numpy()
    axes[1, 0].scatter(
        c[:, 1],
        c[:, 0],
        c=yc[0, :, 0].numpy() * std + mean0,
        s=8,
        vmin=vmin,
        vmax=vmax,
        cmap="coolwarm",
    )
    axes[1, 0].set_title(f"context ({c.shape[0]} cells)")
    axes[1, 0].set_xlim(lon[0], lon[-1])
    axes[1, 0].set_ylim(lat[0], lat[-1])
    smax = max(float(s.max()) for _, s in preds.values())
    for j, (name, (mu, sd)) in enumerate(preds.items(), start=1):
        axes[0, j].pcolormesh(lon, lat, mu, vmin=vmin, vmax=vmax, cmap="coolwarm")
        axes[0, j].set_title(f"{name}: mean")
        ims = axes[1, j].pcolormesh(lon, lat, sd, vmin=0, vmax=smax, cmap="viridis")
        axes[1, j].set_title(f"{name}: std")
    for ax in axes.flat:
        decorate(ax)
    fig.colorbar(im, ax=axes[0, :], label="t2m (K)", shrink=0.8)
    fig.colorbar(ims, ax=axes[1, :], label="predictive std (K)", shrink=0.8)
    maps = out_dir / "era5_hour_maps.png"
    fig.savefig(maps, dpi=90)
    plt.close(fig)

    feats = ae.fixed_inputs.features(xt[0]).numpy()  # type: ignore[union-attr, operator]
    n = feats.shape[1]
    fig, axes = plt.subplots(1, n + 1, figsize=(3.2 * (n + 1), 3.2), constrained_layout=True)
    for k in range(n):
        axes[k].pcolormesh(lon, lat, feats[:, k].reshape(shape), cmap="PuOr")
        axes[k].set_title(f"fixed input {k + 1}")
    diff = preds["AE-ConvCNP (T~)"][0] - strict
    lim = float(np.abs(diff).max())
    imd = axes[n].pcolormesh(lon, lat, diff, vmin=-lim, vmax=lim, cmap="RdBu_r")
    axes[n].set_title("full − equivariant comp. (K)")
    fig.colorbar(imd, ax=axes[n], shrink=0.8)
    for ax in axes:
        decorate(ax)
    fixed = out_dir / "era5_fixed_inputs.png"
    fig.savefig(fixed, dpi=90)
    plt.close(fig)
    return [maps, fixed]
