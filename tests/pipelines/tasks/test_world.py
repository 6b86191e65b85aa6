"""The world model's sources and samplers: physical units, the store's day split, seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from inference.errors import DataError
from pipelines.tasks.sources import UK_OROGRAPHY, era5_uk, load_terrains
from pipelines.tasks.task import Task
from pipelines.tasks.world import GridSampler, MixtureSampler, uk_validation_tasks


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
    sampler = GridSampler(src, (10, 30), max_targets=50)
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
    small, large = GridSampler(src, (10, 10)), GridSampler(src, (100, 100))
    mix = MixtureSampler([(0.0, small), (1.0, large)])
    gen = torch.Generator().manual_seed(0)
    assert all(mix.sample(1, gen).xc.shape[1] == 100 for _ in range(5))


def test_validation_tasks_are_fixed_by_their_seed(shared_data: Path) -> None:
    src = era5_uk(shared_data, "val")
    a, b = (uk_validation_tasks(src, [20, 100], 2, seed=5) for _ in range(2))
    assert [t.xc.shape[1] for t in a] == [20, 20, 100, 100]
    assert all(same(x, y) for x, y in zip(a, b, strict=True))
    n_cells = src.n_cells
    assert all(t.xc.shape[1] + t.xt.shape[1] == n_cells for t in a)


def test_unknown_or_missing_terrain_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown terrain 'mars'"):
        load_terrains(tmp_path, ["mars"])
    with pytest.raises(DataError, match="file not found"):
        load_terrains(tmp_path, ["alps"])
