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
from typer.testing import CliRunner

from cli import app as cli_app

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_live(bundle_dir: Path) -> None:
    port = _free_port()
    env = os.environ | {"PYTHONPATH": str(REPO), "EQUIGRID_API_KEYS": "live-key"}
    cmd = [sys.executable, "-m", "cli", "serve", "--model", str(bundle_dir)]
    cmd += ["--port", str(port), "--device", "cpu", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
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
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "[live-1]" in out  # the request id reaches the logs
    assert "Application shutdown complete" in out


def test_serve_refuses_a_missing_bundle_in_one_line(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli_app, ["serve", "--model", str(tmp_path / "absent")])
    assert r.exit_code == 2
    assert r.output.strip().count("\n") == 0 and "model bundle not found" in r.output
