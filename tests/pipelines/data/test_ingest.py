"""Ingestion: real shared files, each ERA5 schema, bad input via the CLI, CDS requests."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from cli import app
from inference.coords import SPATIAL
from inference.dem import STANDARD_GRAVITY
from pipelines.data.era5 import t2m_from
from pipelines.data.ingest import ingest
from pipelines.data.orography import read_orography
from pipelines.data.store import open_store, provenance

FIXTURE = "era5_t2m_uk_fixture_2019-03-01_3h.nc"
OROG = "orog_uk_era5grid_0p25.nc"


def test_real_fixture_round_trips_with_orography(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / FIXTURE
    out = ingest([src], tmp_path / "store.nc", orography=shared_data / OROG)
    store = open_store(out)
    with xr.open_dataset(src) as ref:
        xr.testing.assert_allclose(store["t2m"], ref["t2m"].drop_vars("height"))
    with xr.open_dataset(shared_data / OROG) as orog:
        # the orography file is on exactly this grid: interpolation must return it unchanged
        xr.testing.assert_allclose(store["orog"], orog["orog"])
        xr.testing.assert_allclose(store["land_fraction"], orog["land_fraction"])
    assert store["t2m"].dtype == np.float32
    assert (store["split"].values == 0).all()  # March 1-2: all training days
    assert store.attrs["orog_mean"] == pytest.approx(float(store["orog"].mean()), rel=1e-6)
    record = provenance(store)
    assert record["inputs"][0]["sha256"] == _sha256(src)
    assert record["orography"]["path"] == str((shared_data / OROG).resolve())


def test_statistics_come_from_the_training_split_only(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / FIXTURE
    store = open_store(ingest([src], tmp_path / "s.nc", split=((1, 1), (2, 2))))
    with xr.open_dataset(src) as ref:
        day1 = ref["t2m"].sel(time="2019-03-01").astype(np.float64)
        everything = float(ref["t2m"].astype(np.float64).mean())
    np.testing.assert_array_equal(store["split"].values, [0] * 8 + [1] * 8)
    assert store.attrs["t2m_mean"] == pytest.approx(float(day1.mean()), abs=1e-6)
    assert store.attrs["t2m_std"] == pytest.approx(float(day1.std()), abs=1e-6)
    assert abs(store.attrs["t2m_mean"] - everything) > 0.1  # the split really matters here


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_provenance_is_json(shared_data: Path, tmp_path: Path) -> None:
    out = ingest([shared_data / FIXTURE], tmp_path / "s.nc", command="equigrid ingest x")
    with xr.open_dataset(out) as ds:
        record = json.loads(ds.attrs["provenance"])
    assert record["command"] == "equigrid ingest x"
    assert {"inputs", "written_utc", "orography"} <= set(record)


# --- synthetic files in each ERA5 schema -------------------------------------------------

TIMES = np.arange("2019-03-20T00", "2019-03-26T00", 12, dtype="datetime64[h]").astype(
    "datetime64[ns]"
)


def field() -> xr.DataArray:
    """A smooth tidy t2m (K) on a small grid that crosses the Greenwich meridian."""
    lat = np.arange(50.0, 51.5, 0.25)
    lon = np.arange(-2.0, 1.75, 0.25)
    t = np.arange(TIMES.size)[:, None, None]
    values = 280.0 + 3 * np.sin(t / 2) + (lat[:, None] - 50) - 0.5 * lon[None, :] ** 2 / 4
    return xr.DataArray(
        values.astype(np.float32),
        dims=("time", "latitude", "longitude"),
        coords={"time": TIMES, "latitude": lat, "longitude": lon},
        name="t2m",
        attrs={"units": "K", "long_name": "2 metre temperature"},
    )


def write_tidy(da: xr.DataArray, path: Path) -> Path:
    da.to_dataset(name=da.name or "t2m").to_netcdf(path)
    return path


def write_old_cds(da: xr.DataArray, path: Path) -> Path:
    """netCDF3, int16 packed, latitude descending, longitude 0..360, expver 1 then 5."""
    d = da.assign_coords(longitude=da["longitude"] % 360).sortby("longitude")
    d = d.sortby("latitude", ascending=False)
    cut = d["time"].values[d.sizes["time"] // 2]
    expver = xr.DataArray(np.array([1, 5], dtype=np.int32), dims="expver")
    x = xr.concat([d.where(d["time"] < cut), d.where(d["time"] >= cut)], dim=expver)
    x = x.assign_coords(expver=expver).transpose("time", "expver", "latitude", "longitude")
    lo, hi = float(d.min()), float(d.max())
    packing = {
        "dtype": "int16",
        "scale_factor": (hi - lo) / (2**16 - 4),
        "add_offset": (hi + lo) / 2,
        "_FillValue": np.int16(-32767),
    }
    ds = x.to_dataset(name="t2m")
    ds["t2m"].attrs = dict(da.attrs)
    time_enc = {"units": "hours since 1900-01-01 00:00:00.0", "dtype": "int32"}
    ds.to_netcdf(path, format="NETCDF3_64BIT", encoding={"t2m": packing, "time": time_enc})
    return path


def write_new_cds(da: xr.DataArray, path: Path) -> Path:
    """netCDF4, time named valid_time, scalar number and per-time expver coordinates."""
    d = da.sortby("latitude", ascending=False).rename(time="valid_time")
    ds = d.to_dataset(name="t2m").assign_coords(
        number=0, expver=("valid_time", np.array(["0001"] * d.sizes["valid_time"]))
    )
    ds["t2m"].attrs |= {"GRIB_paramId": 167, "GRIB_shortName": "2t"}
    enc = {"valid_time": {"units": "seconds since 1970-01-01", "dtype": "int64"}}
    ds.to_netcdf(path, format="NETCDF4", encoding=enc)
    return path


@pytest.fixture
def stores(tmp_path: Path) -> dict[str, xr.Dataset]:
    da = field()
    celsius = (da - 273.15).rename("2m_temperature").rename(latitude="lat", longitude="lon")
    celsius.attrs = {"units": "degC"}
    files = {
        "tidy": write_tidy(da, tmp_path / "tidy.nc"),
        "old_cds": write_old_cds(da, tmp_path / "old.nc"),
        "new_cds": write_new_cds(da, tmp_path / "new.nc"),
        "celsius": write_tidy(celsius, tmp_path / "celsius.nc"),
    }
    return {k: open_store(ingest([f], tmp_path / f"{k}.store.nc")) for k, f in files.items()}


def test_every_schema_gives_the_same_store(stores: dict[str, xr.Dataset]) -> None:
    truth = field()
    assert truth["longitude"].values.min() < 0 < truth["longitude"].values.max()
    for name, store in stores.items():
        assert store["t2m"].dtype == np.float32, name
        assert store["t2m"].attrs["units"] == "K", name
        # int16 packing of a ~8 K range resolves ~1e-4 K
        xr.testing.assert_allclose(store["t2m"], truth, atol=1e-3, rtol=0)
        np.testing.assert_array_equal(store["split"].values, [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2])
        assert store.attrs["t2m_mean"] == pytest.approx(float(truth[:4].mean()), abs=1e-3)
    xr.testing.assert_allclose(stores["old_cds"]["t2m"], stores["new_cds"]["t2m"], atol=1e-3)


def test_files_concatenate_along_time_and_identical_duplicates_are_kept_once(
    tmp_path: Path,
) -> None:
    da = field()
    a = write_new_cds(da.isel(time=slice(0, 7)), tmp_path / "a.nc")
    b = write_old_cds(da.isel(time=slice(4, None)), tmp_path / "b.nc")  # overlaps a by 3
    store = open_store(ingest([b, a], tmp_path / "s.nc"))
    xr.testing.assert_allclose(store["t2m"], da, atol=1e-3, rtol=0)
    assert len(provenance(store)["inputs"]) == 2


# --- bad input through the CLI: one line on stderr, exit 2, nothing written --------------


def _with(da: xr.DataArray, **attrs: object) -> xr.DataArray:
    out = da.copy()
    out.attrs = {**da.attrs, **attrs}
    return out


def _values(da: xr.DataArray, values: np.ndarray) -> xr.DataArray:
    return da.copy(data=values.astype(da.dtype))


def _nan_step(da: xr.DataArray) -> xr.DataArray:
    v = da.values.copy()
    v[3] = np.nan
    return _values(da, v)


def _dem(path: Path, lat: np.ndarray, lon: np.ndarray, units: str = "m") -> Path:
    orog = xr.DataArray(
        np.full((lat.size, lon.size), 100.0, np.float32),
        dims=("lat", "lon"),
        coords={"lat": lat, "lon": lon},
        attrs={"units": units},
    )
    orog.to_dataset(name="elevation").to_netcdf(path)
    return path


def _grib_bytes(path: Path) -> Path:
    path.write_bytes(b"GRIB" + bytes(60) + b"7777")
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _t(d: Path, da: xr.DataArray, name: str = "t.nc") -> str:
    return str(write_tidy(da, d / name))


Case = Callable[[Path, xr.DataArray], tuple[list[str], str]]

# name -> (directory, the good field) -> (arguments besides --out, text the message must hold)
BAD_CASES: dict[str, Case] = {
    "missing variable": lambda d, da: ([_t(d, da.rename("d2m"))], "no 2 m temperature variable"),
    "unknown units": lambda d, da: ([_t(d, _with(da, units="degF"))], "unknown units 'degF'"),
    "no units": lambda d, da: ([_t(d, da.drop_attrs())], "unknown units None"),
    "implausible values": lambda d, da: ([_t(d, _with(da - 273.15, units="K"))], "implausible"),
    "all NaN": lambda d, da: ([_t(d, _values(da, np.full(da.shape, np.nan)))], "all missing"),
    "NaN time step": lambda d, da: ([_t(d, _nan_step(da))], "missing values at 1 time steps"),
    "non-monotonic latitude": lambda d, da: (
        [_t(d, da.isel(latitude=[0, 2, 1, 3, 4, 5]))],
        "non-monotonic values in coordinate latitude",
    ),
    "duplicate time in a file": lambda d, da: (
        [_t(d, da.isel(time=[0, 1, 1, 2]))],
        "duplicate values in coordinate time",
    ),
    "conflicting duplicates": lambda d, da: (
        [_t(d, da), _t(d, _values(da[:4], da.values[:4] + 1), "u.nc")],
        "duplicate time 2019-03-20T00:00",
    ),
    "different grids": lambda d, da: (
        [_t(d, da), _t(d, da.isel(latitude=slice(1, None)), "u.nc")],
        "grid differs",
    ),
    "unreadable file": lambda d, da: ([str(_write(d / "junk.nc", b"not netCDF\n"))], "cannot read"),
    "missing file": lambda d, da: ([str(d / "absent.nc")], "file not found"),
    "no files": lambda d, da: ([], "no input files"),
    "GRIB without cfgrib": lambda d, da: (
        [str(_grib_bytes(d / "t.grib"))],
        "pip install 'equigrid[grib]'",
    ),
    "DEM too small": lambda d, da: (
        [
            _t(d, da),
            "--orography",
            str(_dem(d / "o.nc", np.arange(50.5, 52, 0.5), np.arange(-3, 3.0))),
        ],
        "not the temperature grid",
    ),
    "DEM units": lambda d, da: (
        [
            _t(d, da),
            "--orography",
            str(_dem(d / "o.nc", np.arange(49, 53.0), np.arange(-3, 3.0), "ft")),
        ],
        "unknown units 'ft'",
    ),
    "bad split": lambda d, da: ([_t(d, da), "--split", "1-21,20-31"], "--split"),
    "no training days": lambda d, da: ([_t(d, da), "--split", "1-5,6-10,11-31"], "training"),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "cfgrib", None)  # as if the grib extra were not installed
    inputs, expected = BAD_CASES[case](tmp_path, field())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    existing = _write(out_dir / "existing.nc", b"an existing store\n")
    for out in (out_dir / "new.nc", existing):
        result = CliRunner().invoke(app, ["ingest", *inputs, "--out", str(out)])
        assert result.exit_code == 2, result.output
        message = result.stderr.strip()
        assert "\n" not in message and "Traceback" not in message, message
        assert expected in message, message
        assert sorted(p.name for p in out_dir.iterdir()) == ["existing.nc"]
        assert existing.read_bytes() == b"an existing store\n"


def test_cfgrib_layout_is_understood() -> None:
    """cfgrib's layout: ``time`` = analysis time indexed beside ``valid_time``, scalars."""
    da = field()
    d = da.sortby("latitude", ascending=False).assign_coords(
        longitude=da["longitude"] % 360
    )  # a GRIB grid stored 0..360 east, north to south
    d = d.sortby("longitude").assign_coords(
        number=0,
        step=np.timedelta64(0, "ns"),
        surface=0.0,
        valid_time=("time", d["time"].values),
    )
    # analysis time deliberately different from valid time: valid_time must win
    d = d.assign_coords(time=d["time"].values - np.timedelta64(1, "h"))
    got = t2m_from(d.rename("2t").to_dataset(), "cfgrib-like")
    xr.testing.assert_allclose(got, da)
    assert set(got.coords) == {"time", "latitude", "longitude"}


def test_single_time_grib_message_gets_a_time_dimension() -> None:
    da = field().isel(time=0)
    got = t2m_from(da.assign_coords(valid_time=da["time"]).to_dataset(), "one message")
    xr.testing.assert_allclose(got, field().isel(time=[0]))


def test_geopotential_with_land_sea_mask_is_regridded(tmp_path: Path) -> None:
    """ERA5 invariants: z (m2 s-2) and lsm, with time, descending lat, 0..360 lon, coarse grid."""
    lat = np.arange(52.0, 49.0, -0.5)
    lon = np.arange(0.0, 360.0, 0.5)
    lat2, lon2 = np.meshgrid(lat, np.where(lon >= 180, lon - 360, lon), indexing="ij")
    height = 100.0 + 20 * lat2 + 10 * lon2  # linear: bilinear interpolation is exact
    z = xr.DataArray(
        (height * STANDARD_GRAVITY)[None].astype(np.float32),
        dims=("valid_time", "latitude", "longitude"),
        coords={"valid_time": TIMES[:1], "latitude": lat, "longitude": lon},
        attrs={"units": "m**2 s**-2"},
    )
    lsm = (z * 0 + (lon2 < 0)).assign_attrs(units="(0 - 1)")
    path = tmp_path / "invariants.nc"
    xr.Dataset({"z": z, "lsm": lsm}).to_netcdf(path)
    grid = field()
    static = read_orography(path, grid)
    expected = 100.0 + 20 * grid["latitude"] + 10 * grid["longitude"]
    xr.testing.assert_allclose(static["orog"], expected.astype(np.float32).transpose(*SPATIAL))
    assert static["orog"].attrs["units"] == "m"
    assert set(np.unique(static["land_fraction"].values[:, grid["longitude"].values <= -0.5])) == {
        1.0
    }
    assert float(static["land_fraction"].min()) == 0.0


def test_finer_dem_is_interpolated_onto_the_era5_grid(shared_data: Path, tmp_path: Path) -> None:
    out = ingest(
        [shared_data / FIXTURE], tmp_path / "s.nc", orography=shared_data / "orog_uk_0p1.nc"
    )
    store = open_store(out)
    with xr.open_dataset(shared_data / OROG) as same_source_on_grid:
        ref = same_source_on_grid["orog"]
        xr.testing.assert_equal(store["orog"]["latitude"], ref["latitude"])
        # both come from one model orography, interpolated differently: close, not equal
        r = np.corrcoef(store["orog"].values.ravel(), ref.values.ravel())[0, 1]
        assert r > 0.97
        assert float(abs(store["orog"] - ref).max()) > 1.0


def test_store_gets_ordinary_file_permissions(tmp_path: Path) -> None:
    out = ingest([write_tidy(field(), tmp_path / "t.nc")], tmp_path / "s.nc")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
