"""Batch and service agree: a time step gridded by ``equigrid grid`` equals ``POST /v1/grid``
for the same small trained model, stations and grid, without a DEM and with the same DEM
(``--dem`` / ``EQUIGRID_DEM``), to float tolerance (the batch runs several steps per padded
forward pass, the service one request; the output is float32)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from service.settings import Settings
from tests.pipelines.batch.conftest import grid, sao_hours
from tests.pipelines.batch.conftest import scheduler as scheduler  # the two-worker cluster

from .conftest import make_client

BOX = (-104.0, 35.0, -96.0, 41.0)  # Colorado to Kansas: the Front Range and the plains
RES = 0.5
DEM = "dem_conus_prism_2p5arcmin.nc"


def _stations(ds: xr.Dataset, step: int) -> list[dict[str, float]]:
    """The stations the batch gave the model at ``step``, in its order, as the API takes them."""
    at = ds.obs_step.values == step
    return [
        {"lat": float(la), "lon": float(lo), "value": float(v), "elevation_m": float(e)}
        for la, lo, v, e in zip(
            ds.obs_lat.values[at],
            ds.obs_lon.values[at],
            ds.obs_tas.values[at],
            ds.obs_elevation.values[at],
            strict=True,
        )
    ]


def test_a_batch_step_equals_the_service(tmp_path, shared_data, bundle_dir, scheduler) -> None:
    trained = bundle_dir  # the small trained bundle of the service tests
    csv = sao_hours(shared_data, tmp_path / "sao.csv", 3)
    bbox = ",".join(map(str, BOX))
    common = [csv, "--bbox", bbox, "--resolution", RES, "--batch-steps", 3]
    res = grid(*common, "--out", tmp_path / "plain.nc", model=trained, scheduler=scheduler)
    assert res.exit_code == 0, res.output
    res = grid(*common, "--out", tmp_path / "dem.nc", "--dem", shared_data / DEM,
               model=trained, scheduler=scheduler)  # fmt: skip
    assert res.exit_code == 0, res.output
    plain, dem = xr.open_dataset(tmp_path / "plain.nc"), xr.open_dataset(tmp_path / "dem.nc")
    assert dem.cell_elevations.startswith(f"cell elevations from the DEM ({DEM})")
    assert "not used" in plain.cell_elevations
    assert not np.allclose(plain.tas.values, dem.tas.values)  # the DEM's heights were used

    step = 1
    stations = _stations(plain, step)
    assert len(stations) == int(plain.n_stations[step]) > 50
    body = {
        "units": "degC",
        "stations": stations,
        "grid": {"bbox": BOX, "resolution_deg": RES},
    }
    settings = Settings(
        model=trained,
        device="cpu",
        max_stations=5000,
        max_grid_cells=10_000,
        max_body_bytes=5_000_000,
    )
    for batch, dem_file in ((plain, None), (dem, shared_data / DEM)):
        clients = make_client(settings.model_copy(update={"dem": dem_file}))
        client = next(clients)
        try:
            r = client.post("/v1/grid", json=body)
        finally:
            clients.close()
        assert r.status_code == 200, r.text
        api = r.json()
        np.testing.assert_array_equal(api["lat"], batch.lat.values)
        np.testing.assert_allclose(batch.tas.values[step], api["mean"], atol=2e-5)
        np.testing.assert_allclose(batch.tas_variance.values[step], api["variance"], rtol=1e-5)
        if dem_file is not None:
            assert any(f"cell elevations from the DEM ({DEM})" in n for n in api["notes"])
