"""``equigrid train --data``: the world model through the one CLI and run configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.bundle import load_bundle
from tests.cli.test_train_cli import invoke
from tests.conftest import REPO

CONFIG = REPO / "configs" / "default_model.toml"

TINY = [
    "--set", "architecture.unet_channels=[8,8]",
    "--set", "architecture.head_width=16",
    "--set", "data.terrains=[\"uk\"]",
    "--set", "data.era5_conus=0",
    "--set", "validation.stations=[20]",
    "--set", "validation.tasks_per_n=1",
    "--set", "validation.simulated_tasks=2",
    "--set", "train.batch_size=2",
    "--set", "train.steps=4",
    "--set", "train.val_every=2",
    "--set", "train.warmup=0",
]  # fmt: skip


def test_world_training_writes_a_calibrated_bundle(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "world"
    code, stdout, err = invoke(
        "train", "--data", shared_data, "--out", out, "--config", CONFIG,
        *TINY, "--threads", "1", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert "4 steps" in stdout and "era5_uk_days_22_24" in stdout
    bundle = load_bundle(out)
    meta = bundle.metadata
    assert meta["domain"] == [[50.0, 58.0], [-10.0, 2.0]]
    assert bundle.point_aux == ["elevation"]
    assert meta["training"]["command"].startswith("equigrid train --data")
    assert meta["training"]["config"]["data"]["terrains"] == ["uk"]
    assert meta["calibration"]["variance_floor_k2"] == 0.5  # from the config file
    assert meta["calibration"]["variance_scale"] > 0
    assert set(meta["metrics"]["val_nll_per_target_k"]) == {"era5_uk_days_22_24", "simulated"}
    # the run's state is kept: continuing it under another configuration is refused
    code, _, err = invoke(
        "train", "--data", shared_data, "--out", out, "--config", CONFIG,
        *TINY, "--set", "data.simulated=0.2", "--no-progress",
    )  # fmt: skip
    assert code == 2 and "different configuration" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "data.terrains=[\"mars\"]"], "unknown terrain 'mars'"),
        (["--set", "data.simulated=much"], "data.simulated"),
        (["--set", "data.simulated=0", "--set", "data.era5_uk=0", "--set", "data.era5_conus=0"],
         "at least one source"),
        (["--set", "sampler.fraction=[0.1,0.2]"], "[sampler] applies to training with --store"),
        (["--set", "validation.simulated_tasks=-1"], "validation.simulated_tasks"),
        (["--set", "data.sim_stations=[0,-5]"], "1 <= low <= high"),
        (["--set", "data.uk_stations=[400,10]"], "1 <= low <= high"),
        (["--set", "data.sim_box_deg=[0,2]"], "0 < low <= high"),
    ],
)  # fmt: skip
def test_bad_world_config_is_one_line_exit_2(
    shared_data: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    code, _, err = invoke("train", "--data", shared_data, "--out", tmp_path / "b", *args)
    assert code == 2, err
    assert err.startswith("equigrid train:") and len(err.strip().splitlines()) == 1
    assert message in err
    assert not (tmp_path / "b").exists()


def test_store_or_data_exactly_one(tmp_path: Path) -> None:
    for args in ([], ["--store", tmp_path / "s.nc", "--data", tmp_path]):
        code, _, err = invoke("train", "--out", tmp_path / "b", *args)
        assert code == 2 and "either --store" in err and len(err.strip().splitlines()) == 1
    code, _, err = invoke("train", "--out", tmp_path / "b", "--data", tmp_path / "none")
    assert code == 2 and "not a directory" in err


def test_world_sections_are_refused_for_store_training(tmp_path: Path) -> None:
    code, _, err = invoke(
        "train", "--store", tmp_path / "s.nc", "--out", tmp_path / "b", "--set", "data.era5_uk=1"
    )
    assert code == 2 and "[data] applies to training with --data" in err
    code, _, err = invoke(
        "train", "--store", tmp_path / "s.nc", "--out", tmp_path / "b",
        "--set", "validation.simulated_tasks=8",
    )  # fmt: skip
    assert code == 2 and "simulated_tasks applies to training with --data" in err


def test_a_data_folder_without_the_sources_is_one_line(tmp_path: Path) -> None:
    code, _, err = invoke("train", "--data", tmp_path, "--out", tmp_path / "b")
    assert code == 2 and "file not found" in err and len(err.strip().splitlines()) == 1
    code, _, err = invoke(
        "train", "--data", tmp_path, "--out", tmp_path / "b", "--set", "data.simulated=0"
    )
    assert code == 2 and "era5_t2m_uk_2019-03_hourly.nc" in err and "file not found" in err
