"""One station's observed series against the gridded value at its location, as a PNG
(``equigrid plot --station``), in the style of :mod:`inference.maps`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .maps import DPI, WIDTH_IN, png_bytes


def render_station_series(
    times: Sequence[datetime] | NDArray[Any],
    observed: NDArray[np.float64],
    gridded: NDArray[np.float64],
    units: str,
    *,
    station: str,
    gridded_std: NDArray[np.float64] | None = None,
    mark: datetime | None = None,
    out: str | Path | None = None,
    dpi: int = DPI,
) -> bytes:
    """A station's observed series against the gridded value at its location (with a 95 %
    band when ``gridded_std`` is given; a vertical line at ``mark``), as PNG bytes (also
    written to ``out``)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, 4.0), dpi=dpi, layout="constrained")
    ax = fig.subplots()
    t = np.asarray(times)
    g = np.asarray(gridded, np.float64)
    if gridded_std is not None:
        sd = np.asarray(gridded_std, np.float64)
        ax.fill_between(
            t,
            g - 1.96 * sd,
            g + 1.96 * sd,
            color="tab:blue",
            alpha=0.2,
            label="gridded 95 % interval",
        )
    ax.plot(t, g, color="tab:blue", label="gridded mean at the station")
    ax.plot(t, observed, "o", color="black", markersize=3, label=f"station {station}")
    if mark is not None:
        low, high = ax.get_ylim()
        at = np.array([mark, mark], dtype="datetime64[ns]")
        ax.plot(at, [low, high], color="tab:red", linewidth=1, label=f"{mark:%Y-%m-%d %H:%M}")
        ax.set_ylim(low, high)
    ax.set_ylabel(f"temperature ({units})")
    ax.set_title(f"station {station}: observed vs gridded")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return png_bytes(fig, out, dpi)
