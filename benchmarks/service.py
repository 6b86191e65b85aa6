"""Service latency benchmark (a script, not a test).

Starts ``equigrid serve`` on a loopback port, sends a bounded number of ``POST /v1/grid``
requests (100 and 1,000 stations to a 200 x 200 grid over the trained domain) from 1, 8 and
32 concurrent clients, and prints p50/p95/p99 latency and throughput as a Markdown table;
then solves the same task by GSTools ordinary kriging in the same process, as a speed ratio.

    python benchmarks/service.py --requests 16            # shipped default model
    python benchmarks/service.py --model path/to/bundle   # another bundle

Without ``--model`` and with no shipped default, a default-size ``aeconvcnp`` with random
weights is built (same architecture and cost as a trained one; its predictions are
meaningless, its timings are not) and the table says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.bundle import DEFAULT_BUNDLE, save_bundle  # noqa: E402
from inference.normalisation import Stats  # noqa: E402

DOMAIN = [[50.0, 58.0], [-10.0, 2.0]]


def build_bundle(directory: Path) -> Path:
    import models

    m = models.build_model("aeconvcnp", domain=DOMAIN)
    return save_bundle(
        m,
        directory,
        normalisation={"t2m": Stats(279.0, 3.0)},
        extra={"training": {"note": "random weights, built by benchmarks/service.py"}},
    )


def task(n_stations: int, n_grid: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    (la0, la1), (lo0, lo1) = DOMAIN
    lat, lon = rng.uniform(la0, la1, n_stations), rng.uniform(lo0, lo1, n_stations)
    value = 8 + 3 * np.sin(lat) + np.cos(lon / 2) + rng.normal(0, 0.3, n_stations)
    return {
        "stations": [
            {"lat": float(a), "lon": float(o), "value": float(v)}
            for a, o, v in zip(lat, lon, value, strict=True)
        ],
        "grid": {
            "lat": np.linspace(la0, la1, n_grid).round(6).tolist(),
            "lon": np.linspace(lo0, lo1, n_grid).round(6).tolist(),
        },
    }


async def run_config(base: str, body: dict, clients: int, n: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    todo = list(range(n))

    async def client(ac: httpx.AsyncClient) -> None:
        while todo:
            todo.pop()
            t = time.perf_counter()
            r = await ac.post(f"{base}/v1/grid", json=body)
            r.raise_for_status()
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=600) as ac:
        await asyncio.gather(*(client(ac) for _ in range(clients)))
    return latencies, time.perf_counter() - start


def kriging_seconds(body: dict, repeats: int) -> float:
    import gstools as gs

    lat = np.array([s["lat"] for s in body["stations"]])
    lon = np.array([s["lon"] for s in body["stations"]])
    val = np.array([s["value"] for s in body["stations"]])
    model = gs.Gaussian(dim=2, var=1.0, len_scale=2.0, nugget=0.05)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        krige = gs.krige.Ordinary(model, [lat, lon], val, exact=False)
        krige.structured([body["grid"]["lat"], body["grid"]["lon"]])
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not become ready")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--requests", type=int, default=32, help="requests per configuration")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--stations", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--grid", type=int, default=200, help="grid side")
    ap.add_argument("--batch-max-size", type=int, default=None)
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    model, note = args.model, ""
    if model is None and DEFAULT_BUNDLE.is_dir():
        model, note = DEFAULT_BUNDLE, "shipped default model"
    elif model is None:
        model = build_bundle(Path(tmp.name) / "bench")
        note = "default-size aeconvcnp with random weights (no shipped default model yet)"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "cli", "serve", "--model", str(model)]
    cmd += ["--port", str(port), "--device", args.device, "--log-level", "warning"]
    if args.batch_max_size:
        cmd += ["--batch-max-size", str(args.batch_max_size)]
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        wait_ready(base, proc)
        device = httpx.get(f"{base}/v1/model").json()["device"]
        for n_st in args.stations:
            body = task(n_st, args.grid, seed=n_st)
            asyncio.run(run_config(base, body, 1, 2))  # warm this shape up
            krig = kriging_seconds(body, repeats=1)
            print(f"kriging {n_st} stations: {krig:.2f} s", file=sys.stderr, flush=True)
            for clients in args.clients:
                lat, wall = asyncio.run(run_config(base, body, clients, args.requests))
                p50, p95, p99 = np.percentile(np.array(lat) * 1000, [50, 95, 99])
                rows.append((n_st, clients, len(lat), p50, p95, p99, len(lat) / wall, krig))
                print(f"done: {rows[-1]}", file=sys.stderr, flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        tmp.cleanup()

    print(
        f"model: {note or model}; device: {device}; host: {platform.node() or '?'}, "
        f"{os.cpu_count()} CPUs; grid {args.grid} x {args.grid}"
    )
    print()
    print(
        "| stations | clients | requests | p50 ms | p95 ms | p99 ms | req/s | kriging s/req "
        "| kriging / service p50 |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n_st, c, n, p50, p95, p99, rps, krig in rows:
        print(
            f"| {n_st} | {c} | {n} | {p50:.0f} | {p95:.0f} | {p99:.0f} | {rps:.2f} | "
            f"{krig:.2f} | {krig / (p50 / 1000):.1f}x |"
        )


if __name__ == "__main__":
    main()
