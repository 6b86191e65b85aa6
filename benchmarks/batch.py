"""Batch gridding throughput: time steps per second through ``equigrid grid``'s job path.

Stations: ``pipelines.batch.demo`` (a smooth field with a lapse rate plus noise) at 500
places in the UK box, new values every step. Grid: ``n x n`` cells over 50-58 N, 8 W-0 E.
Model: the shipped default bundle. Each configuration runs ``run_job`` end to end (screened
stations -> chunks on the cluster -> the CF netCDF on disk, final write included) on a local
dask.distributed cluster of W single-threaded worker processes that was started and warmed
up (model loaded on every worker) beforehand, so cluster start and model loading are not
counted; the median of ``--repeats`` runs is reported. Prints a Markdown table (and writes it
with ``--out``):

- workers: 1 and 2 at 200 x 200 cells, 8 steps per forward pass;
- grid size: 50, 100, 200, 400 cells a side (1 worker, 8 steps per forward pass);
- steps per forward pass: 1, 4, 16 (1 worker, 200 x 200).

Runs on CUDA where present (``--device auto``), else on CPU; share a busy machine politely:

    nice -n 10 python3 benchmarks/batch.py [--steps 96] [--repeats 3] [--device auto|cpu|cuda]
        [--out FILE]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from inference.bundle import load_bundle
from pipelines.batch.demo import demo_stations
from pipelines.batch.gridding import run_job
from pipelines.batch.prepare import GridOptions, prepare_job

BOX = (-8.0, 50.0, 0.0, 58.0)
STATIONS = 500


def configurations(steps: int) -> list[dict[str, Any]]:
    """(what varies, workers, cells a side, steps per forward pass, steps in the job)."""
    out = [{"vary": "workers", "workers": w, "n": 200, "batch": 8, "steps": steps} for w in (1, 2)]
    for n in (50, 100, 200, 400):
        s = max(4, steps * 200 * 200 // (n * n)) if n > 200 else steps
        out.append({"vary": "grid size", "workers": 1, "n": n, "batch": 8, "steps": s})
    out += [
        {"vary": "steps per forward", "workers": 1, "n": 200, "batch": b, "steps": steps}
        for b in (1, 4, 16)
    ]
    return out


def run_one(
    cfg: dict[str, Any], client: Any, device: str, tmp: Path, repeats: int = 1
) -> dict[str, Any]:
    bundle = load_bundle()
    table = demo_stations(bundle, n=STATIONS, steps=cfg["steps"], seed=1)
    options = GridOptions(
        out=tmp
        / f"bench-{cfg['vary'].replace(' ', '_')}-{cfg['workers']}-{cfg['n']}-{cfg['batch']}.nc",
        resolution=(BOX[2] - BOX[0]) / (cfg["n"] - 1),
        bbox=BOX,
        device=device,
        batch_steps=cfg["batch"],
        chunk_steps=max(cfg["batch"], cfg["steps"] // 2),
    )
    job = prepare_job(table, bundle, options).job
    assert job.grid.shape == (cfg["n"], cfg["n"]), job.grid.shape
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        outcome = run_job(job, lambda: nullcontext(client), quiet=True)
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    return cfg | {
        "seconds": seconds,
        "steps_per_s": outcome.steps / seconds,
        "cells_per_s": outcome.steps * cfg["n"] ** 2 / seconds,
        "workers_used": outcome.workers,
    }


def cluster(workers: int) -> Any:
    from distributed import Client, LocalCluster

    c = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    return c, Client(c)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| varied | workers (used) | grid | steps per forward | steps | median s | steps/s "
        "| cells/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['vary']} | {r['workers']} ({r['workers_used']}) | {r['n']}x{r['n']} "
            f"| {r['batch']} | {r['steps']} "
            f"| {r['seconds']:.1f} | {r['steps_per_s']:.3f} | {r['cells_per_s']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=96, help="time steps per configuration")
    ap.add_argument("--repeats", type=int, default=3, help="runs per configuration (median)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = ap.parse_args()
    device = (
        args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as d:
        configs = configurations(args.steps)
        for workers in sorted({c["workers"] for c in configs}):
            lc, client = cluster(workers)
            try:  # warm-up: every worker loads the model before anything is timed
                run_one({"vary": "warm-up", "workers": workers, "n": 20, "batch": 1,
                         "steps": 2 * workers}, client, device, Path(d))  # fmt: skip
                for cfg in (c for c in configs if c["workers"] == workers):
                    rows.append(run_one(cfg, client, device, Path(d), args.repeats))
                    print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
            finally:
                client.close()
                lc.close()
    rows.sort(key=lambda r: configurations(args.steps).index(
        {k: r[k] for k in ("vary", "workers", "n", "batch", "steps")}))  # fmt: skip
    gpu = torch.cuda.get_device_name() if device == "cuda" else "none used"
    head = [
        f"# Batch gridding throughput ({device.upper()})",
        "",
        f"Command: `{shlex.join(['python3', *sys.argv])}` (run under `nice -n 10`), "
        f"{datetime.now(UTC):%Y-%m-%d}.",
        "",
        f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPU cores, GPU: {gpu}; "
        f"{STATIONS} stations per step, the shipped default model, one torch thread per worker; "
        f"load average {load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        "(other jobs shared the cores: the numbers are lower bounds). Not run on a GPU: none "
        "was available to this run.",
        "",
        "",
    ]
    if device == "cuda":
        head[-3] = head[-3].replace(" Not run on a GPU: none was available to this run.", "")
    text = "\n".join(head) + table(rows) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
