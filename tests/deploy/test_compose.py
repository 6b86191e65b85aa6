"""docker-compose.yml as Docker Compose v2 reads it (``config``, no engine needed): the GPU
API by default, the CPU, batch and dask profiles, read-only model and DEM folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
# the caller's settings must not leak into what the file says by default
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("EQUIGRID_", "COMPOSE_"))}


def _compose() -> list[str]:
    """Docker Compose v2: the plugin `make compose-config` places, or the Docker CLI's own."""
    plugin = REPO / "docker" / "config" / "cli-plugins" / "docker-compose"
    if plugin.is_file():
        return [str(plugin)]  # the plugin binary also runs on its own
    if shutil.which("docker"):
        r = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True)
        if r.returncode == 0 and r.stdout.decode().lstrip("v").startswith("2"):
            return ["docker", "compose"]
    pytest.skip("no Docker Compose v2 (`make compose-config` fetches one)")


def config(*profiles: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    cmd = [*_compose(), "--project-directory", str(REPO)]
    for p in profiles:
        cmd += ["--profile", p]
    r = subprocess.run(
        [*cmd, "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=CLEAN_ENV | (env or {}),
    )
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def _mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["target"]: v for v in service["volumes"]}


def test_default_is_the_gpu_api() -> None:
    services = config()["services"]
    assert list(services) == ["api"]
    api = services["api"]
    (device,) = api["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert api["image"] == "equigrid:gpu" and api["build"]["args"]["TORCH"] == "gpu"
    assert api["ports"][0]["target"] == 8000 and api["ports"][0]["published"] == "8000"
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert api["restart"] == "unless-stopped"
    mounts = _mounts(api)
    assert mounts["/models"]["read_only"] and mounts["/data/dem"]["read_only"]
    env = api["environment"]
    assert env["EQUIGRID_HOST"] == "0.0.0.0" and env["EQUIGRID_DEM"] == "/data/dem"
    assert env["EQUIGRID_MODEL"] is None  # unset unless the shell sets it (then: the bundle)


def test_profiles() -> None:
    services = config("*")["services"]
    assert set(services) == {
        "api",
        "api-cpu",
        "batch",
        "dask-scheduler",
        "dask-worker",
        "batch-dask",
    }
    assert "deploy" not in services["api-cpu"] and services["api-cpu"]["profiles"] == ["cpu"]
    batch = services["batch"]
    assert batch["profiles"] == ["batch"] and batch["command"][0] == "grid"
    assert not _mounts(batch)["/work"].get("read_only", False)
    assert services["dask-scheduler"]["entrypoint"] == ["dask", "scheduler"]
    assert services["dask-worker"]["entrypoint"] == ["dask", "worker"]
    assert services["dask-worker"]["command"][0] == "tcp://dask-scheduler:8786"
    command = services["batch-dask"]["command"]
    assert command[0] == "grid" and command[command.index("--scheduler") + 1] == (
        "tcp://dask-scheduler:8786"
    )


def test_variables_select_the_cpu_image_and_folders() -> None:
    env = {"EQUIGRID_TORCH": "cpu", "EQUIGRID_PORT": "9000", "EQUIGRID_MODEL": "/models/uk"}
    env |= {"EQUIGRID_DEMS": "/srv/dem"}
    api = config("cpu", env=env)["services"]["api-cpu"]
    assert api["image"] == "equigrid:cpu" and api["build"]["args"]["TORCH"] == "cpu"
    assert api["ports"][0]["published"] == "9000"
    assert api["environment"]["EQUIGRID_MODEL"] == "/models/uk"
    assert _mounts(api)["/data/dem"]["source"] == "/srv/dem"
