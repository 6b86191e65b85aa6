"""End to end through the CPU image: build it (on a local Debian base where no registry is
reachable), serve on a loopback port, POST a real /v1/grid request, run the batch command on a
station file in a mounted folder, and check what comes back.

Opt-in (``EQUIGRID_DOCKER_TESTS=1``, set by ``.ci/run``): it builds images and takes minutes
(cold: debootstrap and every dependency downloaded; warm: the cached layers). Once opted in, a
missing engine is a failure, not a skip. Traffic goes to loopback only; the batch container has
no network at all.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from . import dockerhost as dh

pytestmark = pytest.mark.docker

UID = 10001  # the image's user (Dockerfile)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get(dh.OPT_IN) != "1":
        pytest.skip(
            f"Docker end-to-end test is opt-in: {dh.OPT_IN}=1 (.ci/run sets it; needs a "
            "running Docker engine, or root with docker.io and debootstrap installed, and "
            "builds images for minutes)"
        )
    t0 = time.monotonic()
    with dh.engine(tmp_path_factory.mktemp("dockerd") / "dockerd.log"):
        tag = dh.build_cpu_image(dh.base_image())
        dh.log(f"image ready after {time.monotonic() - t0:.0f} s")
        yield tag


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    name: str  # the container
    base: str  # http://127.0.0.1:PORT
    ready: dict

    def sh(self, script: str) -> str:
        """Run a shell script in the container (exec: no second copy of the image's files)."""
        return str(dh.docker("exec", self.name, "sh", "-c", script).stdout)


@pytest.fixture(scope="module")
def served(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The image serving on a free loopback port (host network), a DEM folder with one small
    DEM mounted read-only at the image's DEM setting (/data/dem), no model mounted (so the
    bundle inside serves). Removed afterwards."""
    port = _free_port()
    name = f"equigrid-e2e-{os.getpid()}"
    dem = tmp_path_factory.mktemp("dem")
    lat, lon = np.arange(49.0, 55.01, 0.1), np.arange(-4.0, 2.01, 0.1)
    orog = 100 + 50 * np.sin(lat)[:, None] * np.cos(lon)[None, :]
    xr.Dataset(
        {"orog": (("latitude", "longitude"), orog.astype(np.float32), {"units": "m"})},
        coords={"latitude": lat, "longitude": lon},
    ).to_netcdf(dem / "uk_dem.nc")
    os.chmod(dem / "uk_dem.nc", 0o644)
    os.chmod(dem, 0o755)  # pytest makes its folders 0700: the image's user must read it
    run = ["run", "--detach", "--name", name, "--network", "host"]
    run += ["-e", "EQUIGRID_HOST=127.0.0.1", "-e", f"EQUIGRID_PORT={port}"]
    run += ["-v", f"{dem}:/data/dem:ro", image]
    t0 = time.monotonic()
    dh.docker(*run)
    try:
        ready = _wait_ready(f"http://127.0.0.1:{port}", name)
        dh.log(f"serving {time.monotonic() - t0:.0f} s after docker run: {ready}")
        yield Served(name, f"http://127.0.0.1:{port}", ready)
    finally:
        logs = dh.docker("logs", name, check=False)
        dh.docker("rm", "--force", name, check=False)
        gone = dh.docker("ps", "--all", "--quiet", "--filter", f"name={name}").stdout.strip()
        assert gone == "", f"container {name} still there"
    assert "Traceback" not in logs.stdout + logs.stderr, logs.stderr[-3000:]


def _wait_ready(base: str, name: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = httpx.get(f"{base}/readyz", timeout=3)
            if r.status_code == 200:
                return dict(r.json())
        except httpx.TransportError:
            pass
        state = dh.docker("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        if state != "running" or time.monotonic() > deadline:
            logs = dh.docker("logs", name, check=False)
            raise AssertionError(
                f"not ready ({state}):\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}"
            )
        time.sleep(0.5)


def test_image_settings(image: str) -> None:
    cfg = json.loads(dh.docker("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    assert cfg["User"] == f"{UID}:{UID}"
    assert cfg["Entrypoint"] == ["equigrid"] and cfg["Cmd"] == ["serve"]
    assert "/readyz" in " ".join(cfg["Healthcheck"]["Test"])
    env = dict(e.split("=", 1) for e in cfg["Env"])
    assert env["EQUIGRID_HOST"] == "0.0.0.0" and env["EQUIGRID_DEM"] == "/data/dem"
    assert cfg["Labels"]["io.equigrid.torch"] == "cpu"


def test_image_is_unprivileged_slim_and_locked(served: Served) -> None:
    assert served.sh("id -u").strip() == str(UID)
    # a slim runtime: no compiler (the default bundle and the map data inside are proven by
    # serving without a mounted model and rendering a PNG map)
    compilers = served.sh("command -v gcc cc c++ || true").strip()
    assert compilers == "", f"a compiler in the runtime image: {compilers}"
    # every installed distribution at its locked version (torch: the "+cpu" build of it)
    freeze = served.sh("python3 -m pip freeze --all --exclude-editable")
    lock = dh.locked_versions()
    off = []
    for line in freeze.splitlines():
        if line.startswith("equigrid") or line.startswith("pip=="):  # ours; the venv's own
            continue
        name, version = line.split("==")
        if lock.get(dh.normalise(name)) != version.removesuffix("+cpu"):
            off.append(f"{line} (lock: {lock.get(dh.normalise(name))})")
    assert not off, f"installed but not as locked: {off}"
    assert "torch==" + dh.locked_version("torch") + "+cpu" in freeze


def test_grid_request(served: Served) -> None:
    body = {
        "units": "degC",
        "stations": [
            {"lat": 51.48, "lon": -0.45, "value": 8.2, "elevation_m": 25},
            {"lat": 53.35, "lon": -2.27, "value": 7.1, "elevation_m": 78},
            {"lat": 52.2, "lon": 0.12, "value": 8.9, "elevation_m": 12},
            {"lat": 50.9, "lon": -1.4, "value": 9.4, "elevation_m": 10},
        ],  # with elevations: the model uses the cells' (the DEM's, said in the notes)
        "grid": {"bbox": [-3, 50, 1, 54], "resolution_deg": 0.5},
    }
    r = httpx.post(f"{served.base}/v1/grid", json=body, timeout=60)
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["units"] == "degC" and g["model"]["name"] == served.ready["model"]
    assert len(g["lat"]) == 9 and len(g["lon"]) == 9
    mean, var = np.asarray(g["mean"]), np.asarray(g["variance"])
    assert mean.shape == var.shape == (9, 9)
    assert np.isfinite(mean).all() and np.isfinite(var).all() and (var > 0).all()
    assert 0.0 < mean.mean() < 20.0, mean  # degC, near the stations' 7-9 degC
    # the mounted DEM folder is the service's DEM (EQUIGRID_DEM=/data/dem in the image)
    assert any("from the DEM (uk_dem.nc)" in n for n in g["notes"]), g["notes"]
    png = httpx.post(
        f"{served.base}/v1/grid", json=body, headers={"Accept": "image/png"}, timeout=60
    )
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_healthcheck_turns_healthy(served: Served) -> None:
    deadline = time.monotonic() + 120
    health = ""
    while health != "healthy" and time.monotonic() < deadline:
        health = dh.docker("inspect", "--format", "{{.State.Health.Status}}", served.name)
        health = health.stdout.strip()
        time.sleep(2)
    assert health == "healthy"


def _station_folder(tmp_path: Path) -> Path:
    """A folder with a small station file (two hours, five UK stations), owned by the
    image's user."""
    work = tmp_path / "work"
    work.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for hour in ("2024-03-01T06:00", "2024-03-01T07:00"):
        for lat, lon in [(51.5, -0.1), (53.4, -2.2), (52.5, -1.9), (50.8, -1.1), (51.9, 0.5)]:
            rows.append({"time": hour, "lat": lat, "lon": lon, "value": 8 + rng.normal()})
    pd.DataFrame(rows).to_csv(work / "stations.csv", index=False)
    os.chown(work, UID, UID)
    return work


GRID_ARGS = ["grid", "stations.csv", "--out", "grid.nc", "--bbox", "-3,50,1,54"]
GRID_ARGS += ["--resolution", "0.5", "--value-units", "degC"]


def _check_grid(nc: Path) -> None:
    assert nc.stat().st_uid == UID
    with xr.open_dataset(nc) as ds:
        assert ds.sizes["time"] == 2 and ds.sizes["lat"] == 9 and ds.sizes["lon"] == 9
        assert ds["tas"].attrs["units"] in ("degC", "degree_Celsius")
        tas, tvar = ds["tas"].values, ds["tas_variance"].values
        assert np.isfinite(tas).all() and np.isfinite(tvar).all() and (tvar > 0).all()
        assert math.isclose(float(tas.mean()), 8.0, abs_tol=6.0)
        assert list(ds["n_stations"].values) == [5, 5]


def test_batch_on_a_mounted_folder(image: str, tmp_path: Path) -> None:
    """The grid command on a station file in a mounted folder, in a container without any
    network; the output belongs to the image's user and reads back."""
    work = _station_folder(tmp_path)
    batch = ["run", "--rm", "--network", "none", "-v", f"{work}:/work", image, *GRID_ARGS]
    t0 = time.monotonic()
    out = dh.docker(*batch, timeout=600)
    dh.log(f"batch container: {time.monotonic() - t0:.0f} s")
    assert "wrote grid.nc" in out.stdout, out.stdout + out.stderr
    _check_grid(work / "grid.nc")


# the host's Python and the image's differ in the patch release (3.11.x); dask says so
@pytest.mark.filterwarnings("ignore:Mismatched versions found")
def test_dask_scheduler_and_worker(image: str, tmp_path: Path) -> None:
    """The compose file's dask profile (same entrypoints and options, bound to loopback): a
    worker that joins the scheduler runs tasks with the image's packages, and a batch job
    (compose's batch-dask: ``equigrid grid --scheduler``) runs its chunks on that worker,
    which sees the batch folder at the same path."""
    from distributed import Client

    work = _station_folder(tmp_path)
    port = _free_port()
    names = [f"equigrid-e2e-dask-{role}-{os.getpid()}" for role in ("scheduler", "worker")]
    common = ["run", "--detach", "--network", "host", "--entrypoint", "dask"]
    scheduler = ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    worker = ["worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--nworkers", "1"]
    worker += ["--host", "127.0.0.1", "--no-dashboard"]
    mount = ["-v", f"{work}:/work", "-w", "/work"]
    try:
        dh.docker(*common, "--name", names[0], image, *scheduler)
        dh.docker(*common, *mount, "--name", names[1], image, *worker)
        with Client(f"tcp://127.0.0.1:{port}", timeout=60) as client:
            client.wait_for_workers(1, timeout=120)
            versions = client.gather(
                [client.submit(importlib.metadata.version, p) for p in ("equigrid", "torch")]
            )
            uid = client.submit(os.getuid, pure=False).result(timeout=60)
        assert versions == [
            importlib.metadata.version("equigrid"),
            dh.locked_version("torch") + "+cpu",
        ]
        assert uid == UID
        batch = ["run", "--rm", "--network", "host", *mount, image, *GRID_ARGS]
        batch += ["--scheduler", f"tcp://127.0.0.1:{port}", "--quiet"]
        t0 = time.monotonic()
        out = dh.docker(*batch, timeout=600)
        dh.log(f"batch on the dask cluster: {time.monotonic() - t0:.0f} s")
        assert "wrote grid.nc" in out.stdout and " on 1 workers" in out.stdout, (
            out.stdout + out.stderr
        )
        _check_grid(work / "grid.nc")
    finally:
        for name in names:
            dh.docker("rm", "--force", name, check=False)
