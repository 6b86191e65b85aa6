"""Resident memory of ``equigrid serve`` around a spike (a script, not a test).

Starts the server on a loopback port, records its resident set size (all its processes)
when idle after one request of each format (their libraries and caches load once), sends a
bounded spike (200 x 200 grids from 1,000 stations as JSON, netCDF and PNG; a 600 x 600
grid; a body refused for its size), samples the peak, then waits and records it again.

    python benchmarks/memory.py                      # this checkout
    python benchmarks/memory.py --repo ../main       # another checkout, same interpreter
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from benchmarks.proc import tree_rss_mb  # noqa: E402


def body(n_st: int, side: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(50, 58, n_st), rng.uniform(-10, 2, n_st)
    return {
        "stations": [
            {"lat": float(a), "lon": float(o), "value": float(8 + np.sin(a))}
            for a, o in zip(lat, lon, strict=True)
        ],
        "grid": {
            "lat": np.linspace(50, 58, side).round(5).tolist(),
            "lon": np.linspace(-10, 2, side).round(5).tolist(),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=HERE)
    ap.add_argument("--idle-s", type=float, default=15.0)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"PYTHONPATH": str(args.repo.resolve())}
    cmd = [sys.executable, "-m", "cli", "serve", "--port", str(port)]
    cmd += ["--device", "cpu", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=args.repo)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        small = body(1000, 200)
        for accept in ("application/json", "application/x-netcdf", "image/png"):
            # warm: each format's libraries and caches (map data, fonts) are loaded once
            httpx.post(f"{base}/v1/grid", json=small, headers={"Accept": accept}, timeout=600)
        time.sleep(args.idle_s)
        idle = tree_rss_mb(proc.pid)
        peak, done = [idle], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(tree_rss_mb(proc.pid))
                time.sleep(0.1)

        threading.Thread(target=sample, daemon=True).start()
        statuses = []
        with httpx.Client(timeout=900) as c:
            for accept in ["application/json"] * 6 + ["application/x-netcdf", "image/png"] * 2:
                statuses.append(c.post(f"{base}/v1/grid", json=small, headers={"Accept": accept}))
            statuses.append(c.post(f"{base}/v1/grid", json=body(1000, 600)))
            huge = {"stations": [{"lat": 52.0, "lon": 0.0, "value": 400.0}] * 60_000}
            statuses.append(c.post(f"{base}/v1/grid", json=huge | {"grid": small["grid"]}))
        done.set()
        after_load = tree_rss_mb(proc.pid)
        time.sleep(args.idle_s)
        later = tree_rss_mb(proc.pid)
        print(f"repo: {args.repo.resolve()}")
        print(f"statuses: {[r.status_code for r in statuses]}")
        print(f"| idle | peak | right after | after {args.idle_s:.0f} s idle |")
        print("|---:|---:|---:|---:|")
        print(f"| {idle:.0f} MB | {max(peak):.0f} MB | {after_load:.0f} MB | {later:.0f} MB |")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
