"""The world model's sources and samplers: physical units, the store's day split, seeds, and
the sampler family's options the world uses (windows in degrees, land probability)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from inference.errors import DataError
from pipelines.tasks.sampler import CellSampler
from pipelines.tasks.sources import UK_OROGRAPHY, era5_uk, load_terrains
from pipelines.tasks.task import Task
from pipelines.tasks.world import MixtureSampler, reanalysis_sampler


def same(a: Task, b: Task) -> bool:
    return all(torch.equal(getattr(a, k), getattr(b, k)) for k in ("xc", "yc", "xt", "yt", "aux_c"))


def test_uk_split_follows_the_store_rule_in_kelvin_and_metres(shared_data: Path) -> None:
    train, val = era5_uk(shared_data, "train"), era5_uk(shared_data, "val")
    assert len(train.values) == 21 * 24 and len(val.values) == 3 * 24
    days = val.times.astype("datetime64[D]").astype(object)
    assert {d.day for d in days} == {22, 23, 24}
    assert 250 < float(train.values.mean()) < 300  # K, not normalised
    orog = xr.open_dataset(shared_data / UK_OROGRAPHY)["orog"].values
    assert train.orog is not None
    np.testing.assert_allclose(train.orog.numpy(), orog, atol=1e-3)  # m, not normalised
    assert train.cell_elevation().max() == pytest.approx(float(orog.max()), abs=1e-3)


def test_grid_tasks_are_cells_at_their_elevation_and_seeded(shared_data: Path) -> None:
    src = era5_uk(shared_data, "val")
    sampler = reanalysis_sampler(src, (10, 30), max_targets=50)
    task = sampler.sample(2, torch.Generator().manual_seed(3))
    assert task.aux_c is not None and task.aux_t is not None and task.mask_c is not None
    i = ((task.xc[0, :, 0] - src.lat[0]) / 0.25).round().long()
    j = ((task.xc[0, :, 1] - src.lon[0]) / 0.25).round().long()
    assert src.orog is not None
    assert torch.equal(task.aux_c[0, :, 0], src.orog[i, j])
    yc = task.yc[0, :, 0]
    hours = [h for h in range(len(src.values)) if torch.equal(src.values[h, i, j], yc)]
    assert len(hours) == 1  # the station values are one hour's cells, in K
    again = sampler.sample(2, torch.Generator().manual_seed(3))
    other = sampler.sample(2, torch.Generator().manual_seed(4))
    assert same(task, again) and not same(task, other)


def test_mixture_never_draws_a_source_of_weight_zero(shared_data: Path) -> None:
    src = era5_uk(shared_data, "val")
    small, large = reanalysis_sampler(src, (10, 10)), reanalysis_sampler(src, (30, 30))
    mix = MixtureSampler([(0.0, small), (1.0, large)])
    gen = torch.Generator().manual_seed(0)
    assert all(mix.sample(1, gen).xc.shape[1] == 30 for _ in range(5))


def test_windows_in_degrees_and_at_most_half_the_cells_as_stations(shared_data: Path) -> None:
    src = era5_uk(shared_data, "val")
    sampler = reanalysis_sampler(src, (10, 400), box_deg=(2.0, 3.0))
    gen = torch.Generator().manual_seed(1)
    cos = np.cos(np.deg2rad(float(src.lat.mean())))
    for _ in range(10):
        for t in sampler.sample(2, gen).unbatch():
            pts = torch.cat([t.xc, t.xt], 1)[0]
            span = pts.max(0).values - pts.min(0).values
            assert span[0] <= 3.0 and span[1] <= 3.0 / cos + 1e-4
            n_cells = round(float((span[0] / 0.25 + 1) * (span[1] / 0.25 + 1)))
            assert t.xc.shape[1] <= n_cells // 2


def test_land_only_windows_at_sea_draw_from_every_cell(shared_data: Path) -> None:
    """A window with (almost) no land used to give tasks without stations (a traceback)."""
    src = era5_uk(shared_data, "val")
    sampler = CellSampler(src, land_only=True, window=(4, 4), count=(1, 5))
    gen = torch.Generator().manual_seed(0)
    tasks = [sampler.sample(4, gen) for _ in range(30)]
    assert all(bool(t.mask_c.sum(1).min() >= 1) for t in tasks if t.mask_c is not None)


def test_unknown_or_missing_terrain_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown terrain 'mars'"):
        load_terrains(tmp_path, ["mars"])
    with pytest.raises(DataError, match="file not found"):
        load_terrains(tmp_path, ["alps"])
