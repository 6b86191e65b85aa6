"""Service benchmark (a script, not a test): speed against the peers, throughput under
concurrency with 1 and 2 workers, and fairness when a huge request is queued.

For 400 and 1,000 stations -> a 200 x 200 grid over the trained domain:

1. the peers on the same stations and cells, in this process: GSTools ordinary kriging
   (fixed Gaussian variogram) and a scikit-learn Gaussian process (RBF + white noise,
   hyper-parameters fitted), each fit + predict with its variance (median of
   ``--peer-repeats`` runs up to 500 stations, one run above);
2. ``equigrid serve`` on a loopback port with 1 and 2 workers: p50/p99 latency and
   throughput at 1, 8 and 32 concurrent clients (``POST /v1/grid``, JSON);
3. the issue's ~100-byte global 0.5 deg request, then 1 s later a small UK request: the
   global's status and time, and the small one's latency (bar: within 3 s);
4. the server's resident memory: idle, after the load, and 15 s later.

    python benchmarks/service.py --out benchmarks/results/service_cpu.md --docs docs/results.md
    python benchmarks/service.py --device cuda --batch-max-size 32 --clients 1 8 32 128 \
        --out benchmarks/results/service_gpu.md --docs docs/results.md

With ``--docs``, the docs are rendered afterwards (``python3 -m experiments render``, the one
renderer): the block named after ``--out`` (``<!-- service-cpu:start -->`` ...
``<!-- service-cpu:end -->`` for ``service_cpu.md``) then holds these tables.

On CUDA the same script measures grids per second with micro-batching (requests of the
same grid shape coalesce into one forward pass). Traffic goes to 127.0.0.1 only; every loop
is bounded by ``--requests``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
sys.path.insert(0, str(REPO))

from benchmarks.proc import tree_rss_mb  # noqa: E402
from experiments.docs import render_docs  # noqa: E402
from inference.bundle import DEFAULT_BUNDLE, save_bundle  # noqa: E402
from inference.files import write_text  # noqa: E402
from inference.normalisation import Stats  # noqa: E402

DOMAIN = [[50.0, 58.0], [-10.0, 2.0]]
GLOBAL = {
    "stations": [{"lat": 51, "lon": 0, "value": 5}],
    "grid": {"bbox": [-180, -90, 180, 90], "resolution_deg": 0.5},
}
SMALL = {
    "stations": [
        {"lat": 52.0, "lon": -1.0, "value": 8.0},
        {"lat": 55.0, "lon": -3.0, "value": 6.0},
    ],
    "grid": {"bbox": [-3, 51, 1, 56], "resolution_deg": 0.1},
}


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


def _arrays(body: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    s = body["stations"]
    return (
        np.array([x["lat"] for x in s]),
        np.array([x["lon"] for x in s]),
        np.array([x["value"] for x in s]),
        np.array(body["grid"]["lat"]),
        np.array(body["grid"]["lon"]),
    )


def kriging_seconds(body: dict) -> float:
    import gstools as gs

    lat, lon, val, glat, glon = _arrays(body)
    t = time.perf_counter()
    model = gs.Gaussian(dim=2, var=1.0, len_scale=2.0, nugget=0.05)
    krige = gs.krige.Ordinary(model, [lat, lon], val, exact=False)
    krige.structured([glat, glon])
    return time.perf_counter() - t


def gp_seconds(body: dict) -> float:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    lat, lon, val, glat, glon = _arrays(body)
    t = time.perf_counter()
    kernel = ConstantKernel(1.0) * RBF([2.0, 2.0]) + WhiteKernel(0.1)
    gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0)
    gp.fit(np.stack([lat, lon], -1), val)
    la, lo = np.meshgrid(glat, glon, indexing="ij")
    gp.predict(np.stack([la.ravel(), lo.ravel()], -1), return_std=True)
    return time.perf_counter() - t


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

    limits = httpx.Limits(max_connections=clients + 4)
    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=600, limits=limits) as ac:
        await asyncio.gather(*(client(ac) for _ in range(clients)))
    return latencies, time.perf_counter() - start


async def fairness(base: str) -> tuple[int, float, int, float]:
    """(global status, its seconds, small status, small seconds sent 1 s behind it)."""
    async with httpx.AsyncClient(timeout=900) as ac:

        async def timed(body: dict, delay: float) -> tuple[int, float]:
            await asyncio.sleep(delay)
            t = time.perf_counter()
            r = await ac.post(f"{base}/v1/grid", json=body)
            return r.status_code, time.perf_counter() - t

        (gs, gt), (ss, st) = await asyncio.gather(timed(GLOBAL, 0.0), timed(SMALL, 1.0))
    return gs, gt, ss, st


def wait_ready(base: str, proc: subprocess.Popen, workers: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    ok = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            ok = ok + 1 if httpx.get(f"{base}/readyz", timeout=2).status_code == 200 else 0
        except httpx.TransportError:
            ok = 0
        if ok >= 4 * workers:  # consecutive answers: every worker is likely up
            return
        time.sleep(0.5)
    raise SystemExit("server did not become ready")


def start(
    model: Path, device: str, workers: int, batch: int | None
) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "cli", "serve", "--model", str(model)]
    cmd += ["--port", str(port), "--device", device, "--log-level", "warning"]
    cmd += ["--workers", str(workers)]
    if batch:
        cmd += ["--batch-max-size", str(batch)]
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base, proc, workers)
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--requests", type=int, default=24, help="requests per configuration")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--stations", type=int, nargs="+", default=[400, 1000])
    ap.add_argument("--grid", type=int, default=200, help="grid side")
    ap.add_argument("--batch-max-size", type=int, default=None)
    ap.add_argument("--no-fairness", action="store_true")
    ap.add_argument("--peer-repeats", type=int, default=3, help="peer runs (<= 500 stations)")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables here")
    ap.add_argument(
        "--docs",
        type=Path,
        default=None,
        help="then render this document (its block named after --out) from the results",
    )
    args = ap.parse_args()
    if args.docs is not None and args.out is None:
        ap.error("--docs needs --out (the block is named after it)")
    if args.docs is not None and (
        args.docs.name != "results.md" or args.out.parent.resolve() != RESULTS.resolve()
    ):
        ap.error(f"--docs renders docs/results.md from {RESULTS}: give those paths")

    tmp = tempfile.TemporaryDirectory()
    model, note = args.model, ""
    if model is None and DEFAULT_BUNDLE.is_dir():
        model, note = DEFAULT_BUNDLE, "shipped default model"
    elif model is None:
        model = build_bundle(Path(tmp.name) / "bench")
        note = "default-size aeconvcnp with random weights (no shipped default model yet)"
    bodies = {n: task(n, args.grid, seed=n) for n in args.stations}
    peers = {}
    for n, body in bodies.items():
        # repeated and interleaved (median) where affordable: a shared machine's load varies
        reps = args.peer_repeats if n <= 500 else 1
        runs = [(kriging_seconds(body), gp_seconds(body)) for _ in range(reps)]
        peers[n] = tuple(float(np.median([r[k] for r in runs])) for k in (0, 1))
        print(f"peers {n}: kriging {peers[n][0]:.2f} s, GP {peers[n][1]:.2f} s", file=sys.stderr)

    rows, fair, memory, device = [], None, [], "?"
    try:
        for workers in args.workers:
            proc, base = start(model, args.device, workers, args.batch_max_size)
            try:
                device = httpx.get(f"{base}/v1/model").json()["device"]
                idle = tree_rss_mb(proc.pid)
                for n, body in bodies.items():
                    asyncio.run(run_config(base, body, workers, 2 * workers))  # warm up
                    for clients in args.clients:
                        n_req = max(args.requests, clients)
                        lat, wall = asyncio.run(run_config(base, body, clients, n_req))
                        p50, p99 = np.percentile(np.array(lat), [50, 99])
                        rows.append((n, workers, clients, len(lat), p50, p99, len(lat) / wall))
                        print(f"done: {rows[-1]}", file=sys.stderr, flush=True)
                if workers == args.workers[0] and not args.no_fairness:
                    fair = asyncio.run(fairness(base))
                    print(f"fairness: {fair}", file=sys.stderr, flush=True)
                loaded = tree_rss_mb(proc.pid)
                time.sleep(15)
                memory.append((workers, idle, loaded, tree_rss_mb(proc.pid)))
            finally:
                stop(proc)
    finally:
        tmp.cleanup()

    lines = [
        f"command: `python {' '.join(shlex.quote(a) for a in sys.argv)}`",
        f"model: {note or model}; device: {device}; host: {platform.node() or '?'}, "
        f"{os.cpu_count()} CPUs (shared with other jobs); grid {args.grid} x {args.grid}; "
        f"torch threads per worker: CPUs / workers",
        "",
        "| stations | workers | clients | requests | p50 s | p99 s | grids/s "
        "| kriging s | GP s | faster peer / p50 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, w, c, k, p50, p99, rps in rows:
        krig, gp = peers[n]
        lines.append(
            f"| {n} | {w} | {c} | {k} | {p50:.3f} | {p99:.3f} | {rps:.2f} | {krig:.2f} | "
            f"{gp:.2f} | {min(krig, gp) / p50:.1f}x |"
        )
    if fair is not None:
        gs_, gt, ss, st = fair
        lines += [
            "",
            "global 0.5 deg request (1 station, 361 x 721 cells), and a small UK request "
            "sent 1 s behind it:",
            "",
            "| request | status | seconds |",
            "|---|---:|---:|",
            f"| global 0.5 deg | {gs_} | {gt:.2f} |",
            f"| small, 1 s later | {ss} | {st:.2f} |",
        ]
    lines += [
        "",
        "server resident memory (all processes), MB:",
        "",
        "| workers | idle after start | after the load | 15 s later |",
        "|---:|---:|---:|---:|",
        *[f"| {w} | {a:.0f} | {b:.0f} | {c:.0f} |" for w, a, b, c in memory],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_text(args.out, text)
    if args.docs is not None:
        render_docs(RESULTS, args.docs.parent, DEFAULT_BUNDLE)


if __name__ == "__main__":
    main()
