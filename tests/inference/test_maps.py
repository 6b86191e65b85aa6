"""The one map renderer (service PNG and batch ``plot``): real geography from the shipped
Natural Earth data, hatching of out-of-domain cells, station series."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
from matplotlib import image

from inference.geography import lines_in, world
from inference.maps import (
    GriddedMap,
    StationsOnMap,
    render_map,
)
from inference.series import render_station_series


def test_shipped_world_has_coastlines_and_borders() -> None:
    w = world()
    assert len(w.coast) > 1000 and len(w.borders) > 300
    alps = lines_in(w.borders, w.border_box, [10.3, 12.6, 46.2, 47.2])  # Italy / Austria
    assert alps and all(a.shape[1] == 2 for a in alps)
    # a grid in 0..360 longitudes still finds the US coast (shifted by 360)
    assert lines_in(w.coast, w.coast_box, [235.0, 294.0, 25.0, 50.0])


def _map(in_domain: np.ndarray | None, notes: tuple[str, ...] = ()) -> GriddedMap:
    lat, lon = np.linspace(46.2, 47.2, 21), np.linspace(10.3, 12.6, 47)
    la = np.meshgrid(lat, lon, indexing="ij")[0]
    return GriddedMap(
        lat,
        lon,
        mean=2 - 3 * (la - 46.2),
        std=0.5 + 0 * la,
        in_domain=in_domain,
        units="degC",
        time=datetime(2021, 1, 1, 12, tzinfo=UTC),
        stations=StationsOnMap(
            np.array([46.5, 47.0]), np.array([11.3, 12.0]), np.array([1.0, -1.0])
        ),
        notes=notes,
        title="test",
    )


def test_render_map_writes_a_png(tmp_path) -> None:
    out = tmp_path / "m.png"
    mask = np.ones((21, 47), bool)
    mask[:, :10] = False
    data = render_map(_map(mask, ("stations far from the targets: a note",)), out)
    assert out.read_bytes() == data
    img = image.imread(io.BytesIO(data), format="png")
    assert img.shape[1] <= 1300 and img[..., :3].std() > 0.05
    plain = image.imread(io.BytesIO(render_map(_map(None))), format="png")
    assert plain.shape[0] < img.shape[0]  # the notes and legend take room


def test_station_series(tmp_path) -> None:
    t = np.array([np.datetime64("2021-01-01T00") + np.timedelta64(h, "h") for h in range(24)])
    g = np.sin(np.arange(24) / 4)
    data = render_station_series(
        t, g + 0.1, g, "degC", station="BZ01", gridded_std=0.2 + 0 * g, out=tmp_path / "s.png"
    )
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "s.png").is_file()
