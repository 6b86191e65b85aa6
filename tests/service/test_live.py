"""``equigrid serve`` as a subprocess on a loopback port: real HTTP, clean shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli import app as cli_app

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_live(bundle_dir: Path, tmp_path: Path, workers: int) -> None:
    """A real server; with ``--workers 2`` uvicorn's factory mode starts two processes,
    each loading its own model (two 'serving' log lines from two pids)."""
    port = _free_port()
    env = os.environ | {"PYTHONPATH": str(REPO), "EQUIGRID_API_KEYS": "live-key"}
    cmd = [sys.executable, "-m", "cli", "serve", "--model", str(bundle_dir)]
    cmd += ["--port", str(port), "--device", "cpu", "--host", "127.0.0.1"]
    cmd += ["--workers", str(workers)]
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"

    def serving() -> set[str]:
        lines = [ln for ln in log.read_text().splitlines() if " serving " in ln]
        return {ln.split(" pid ")[1].split()[0] for ln in lines}

    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                ok = httpx.get(f"{base}/readyz", timeout=2).status_code == 200
                if ok and len(serving()) == workers:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.3)
        body = {
            "stations": [
                {"lat": 52.0, "lon": -1.0, "value": 8.0},
                {"lat": 55.0, "lon": 357.0, "value": 5.0},
            ],
            "grid": {"bbox": [-3, 51, 1, 56], "resolution_deg": 0.5},
        }
        assert httpx.post(f"{base}/v1/grid", json=body).status_code == 401
        r = httpx.post(
            f"{base}/v1/grid",
            json=body,
            headers={"X-API-Key": "live-key", "X-Request-ID": "live-1"},
        )
        assert r.status_code == 200 and r.json()["request_id"] == "live-1"
        assert len(r.json()["mean"]) == 11 and len(r.json()["mean"][0]) == 9
        assert "equigrid_batch_size_count" in httpx.get(f"{base}/metrics").text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    out = log.read_text()
    assert proc.returncode == 0, out
    assert "died" not in out, out
    assert "[live-1]" in out  # the request id reaches the logs
    assert "Application shutdown complete" in out


def test_serve_refuses_a_missing_bundle_in_one_line(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli_app, ["serve", "--model", str(tmp_path / "absent")])
    assert r.exit_code == 2
    assert r.output.strip().count("\n") == 0 and "model bundle not found" in r.output


@pytest.mark.parametrize(
    "model_json", ["[]", '{"format": 1, "name": "aeconvcnp", "config": {}, "metadata": "oops"}']
)
def test_serve_refuses_a_malformed_bundle_in_one_line(
    bundle_dir: Path, tmp_path: Path, model_json: str
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in bundle_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.json").write_text(model_json)
    r = CliRunner().invoke(cli_app, ["serve", "--model", str(broken)])
    assert r.exit_code == 2, r.output
    assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output
