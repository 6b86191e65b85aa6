"""The store task sampler, fixed evaluation tasks and the kriging baseline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference.errors import StoreError, TaskError
from pipelines.data.ingest import ingest
from pipelines.data.store import open_store
from pipelines.tasks.field import Field, load_split
from pipelines.tasks.fixed import station_count_tasks
from pipelines.tasks.layout import read_layout
from pipelines.tasks.sampler import CellSampler


@pytest.fixture(scope="module")
def field(tmp_path_factory: pytest.TempPathFactory) -> Field:
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    out = tmp_path_factory.mktemp("s") / "store.nc"
    ingest(
        [SHARED_DATA / "era5_t2m_uk_fixture_2019-03-01_3h.nc"],
        out,
        orography=SHARED_DATA / "orog_uk_era5grid_0p25.nc",
        split=((1, 1), (2, 2)),
    )
    return load_split(open_store(out), "train")


def cell_index(f: Field, x: torch.Tensor) -> torch.Tensor:
    i = torch.round((x[..., 0] - f.lat[0]) / 0.25).long()
    j = torch.round((x[..., 1] - f.lon[0]) / 0.25).long()
    return i * len(f.lon) + j


def test_fraction_targets_and_values(field: Field) -> None:
    s = CellSampler(field, fraction=(0.05, 0.05), max_targets=300, point_aux=True)
    t = s.sample(3, torch.Generator().manual_seed(0))
    assert t.xc.shape == (3, round(0.05 * 1617), 2) and t.xt.shape == (3, 300, 2)
    for b in range(3):
        ctx, tgt = (
            set(cell_index(field, t.xc[b]).tolist()),
            set(cell_index(field, t.xt[b]).tolist()),
        )
        assert not ctx & tgt
        # the values are one hour of the store at those cells
        hours = field.values.reshape(len(field.values), -1)[:, cell_index(field, t.xc[b])]
        assert any(torch.equal(h, t.yc[b, :, 0]) for h in hours)
    torch.testing.assert_close(t.aux_c[0], field.elevation(t.xc[0]))


def test_count_range_and_land_only(field: Field) -> None:
    assert field.land is not None
    s = CellSampler(field, count=(3, 9), land_only=True)
    gen = torch.Generator().manual_seed(1)
    sizes = set()
    for _ in range(10):
        t = s.sample(2, gen)
        mask = t.mask_c if t.mask_c is not None else torch.ones(t.xc.shape[:2])
        sizes |= set(mask.sum(1).int().tolist())
        land = field.land.reshape(-1)[cell_index(field, t.xc[mask.bool()])]
        assert bool((land >= 0.5).all())
    assert sizes <= set(range(3, 10)) and len(sizes) > 2
    with pytest.raises(TaskError, match="count"):
        CellSampler(field, count=(5, 2))


def test_layout_csv(field: Field, tmp_path: Path) -> None:
    csv = tmp_path / "stations.csv"
    csv.write_text("station,lat,lon\na,52.0,-1.0\nb,53.125,-2.125\nc,10.0,10.0\n")
    layout = read_layout(csv)
    s = CellSampler(field, layout=layout, layout_prob=1.0, fraction=(0.9, 0.9))
    t = s.sample(1, torch.Generator().manual_seed(0))
    assert {tuple(p) for p in t.xc[0].tolist()} == {(52.0, -1.0), (53.125, -2.125)}
    on_cell = t.xc[0].tolist().index([52.0, -1.0])
    hours = field.values.reshape(len(field.values), -1)[:, cell_index(field, t.xc[0, on_cell])]
    assert float(t.yc[0, on_cell, 0]) in hours.tolist()
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(TaskError, match="latitude and longitude"):
        read_layout(bad)
    with pytest.raises(TaskError, match="inside"):
        CellSampler(field, layout=torch.tensor([[0.0, 0.0]]))


def test_station_count_tasks_is_seeded_and_exact(field: Field) -> None:
    a, hours = station_count_tasks(field, 5, 20, seed=7)
    b, _ = station_count_tasks(field, 5, 20, seed=7)
    assert len(set(hours)) == 5  # distinct hours while there are enough
    for ta, tb in zip(a, b, strict=True):
        torch.testing.assert_close(ta.xc, tb.xc)
        assert ta.xc.shape == (1, 20, 2) and ta.xt.shape == (1, 1617 - 20, 2)
        assert bool(ta.mask_c.all()) and bool(ta.mask_t.all())  # one task: nothing padded
    c, _ = station_count_tasks(field, 5, 20, seed=8)
    assert not torch.equal(a[0].xc, c[0].xc)
    with pytest.raises(TaskError, match="stations"):
        station_count_tasks(field, 1, 1617, seed=0)


def test_land_only_needs_land_fraction(field: Field) -> None:
    from dataclasses import replace

    with pytest.raises(StoreError, match="land_fraction"):
        CellSampler(replace(field, land=None), land_only=True)
