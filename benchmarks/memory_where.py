"""Where a worker's resident memory sits after the service benchmark's load (a script).

In one process, as a worker runs it (two malloc arenas, torch threads = CPUs): load the
shipped model and warm it up, then take the requests of ``benchmarks/service.py`` through
the service's own functions (body parsing, the predictor behind one lock as the lane runs
it, notes, JSON encoding) from ``--clients`` threads, and the global 0.5 deg request; then
trim as the idle worker does. Resident memory is split by kind from ``/proc/self/smaps``:
shared libraries (file-backed pages: code paged in when first run), the main heap, other
anonymous mappings (malloc's thread arenas, large blocks, oneDNN's JIT code), and the
Python-tracked allocations (``tracemalloc``: objects and NumPy arrays, our own caches).

    python benchmarks/memory_where.py                   # the table
    MKL_DISABLE_FAST_MM=1 python benchmarks/memory_where.py   # without MKL's buffer cache
    ONEDNN_PRIMITIVE_CACHE_CAPACITY=0 python benchmarks/memory_where.py   # nor oneDNN's
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import re
import resource
import shlex
import sys
import tracemalloc
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import orjson

HERE = Path(__file__).resolve().parent
ENV = ("MKL_DISABLE_FAST_MM", "ONEDNN_PRIMITIVE_CACHE_CAPACITY")  # read when torch loads
sys.path.insert(0, str(HERE.parent))

from inference.bundle import DEFAULT_BUNDLE, load_bundle  # noqa: E402
from inference.predictor import BundlePredictor  # noqa: E402
from inference.query import Query  # noqa: E402
from service import render  # noqa: E402
from service.app import _warm_up_query  # noqa: E402
from service.body import _parse  # noqa: E402
from service.memory import ARENAS, limit_arenas, trim  # noqa: E402
from service.schemas import GridRequest  # noqa: E402
from service.settings import Settings  # noqa: E402


def by_kind() -> dict[str, float]:
    """Resident MB per kind of mapping (and per shared library, as ``lib:NAME``)."""
    out: dict[str, float] = defaultdict(float)
    name, size = "", 0
    stack_kb = resource.getrlimit(resource.RLIMIT_STACK)[0] // 1024
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$", line)
        if head:
            name = head.group(3)
            size = (int(head.group(2), 16) - int(head.group(1), 16)) // 1024
        elif line.startswith("Rss:"):
            mb = int(line.split()[1]) / 1024
            if name.startswith("/"):
                out["shared libraries and files"] += mb
                out["lib:" + Path(name).name] += mb
            elif name == "[heap]":
                out["main heap ([heap])"] += mb
            elif name.startswith("["):
                out["main stack and kernel ([stack], [vdso], ...)"] += mb
            elif size == stack_kb:
                out["thread stacks (anonymous, one rlimit each)"] += mb
            else:
                out["other anonymous (arenas, large blocks, JIT code)"] += mb
    out["python-tracked (tracemalloc)"] = tracemalloc.get_traced_memory()[0] / 2**20
    out["total"] = sum(v for k, v in out.items() if not k.startswith(("lib:", "python")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=24, help="per station count")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--no-global", action="store_true", help="skip the global 0.5 deg request")
    ap.add_argument("--arenas", type=int, default=ARENAS, help="malloc arenas (M_ARENA_MAX)")
    args = ap.parse_args()
    import torch

    settings = Settings(device="cpu")
    limit_arenas(args.arenas)
    torch.set_num_threads(settings.threads)
    spec = importlib.util.spec_from_file_location("service_benchmark", HERE / "service.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    tracemalloc.start()
    bundle = load_bundle(DEFAULT_BUNDLE, device="cpu")
    predictor = BundlePredictor(bundle)
    lane = ThreadPoolExecutor(1)  # the model runs in one thread, as in the service's lane
    lane.submit(predictor.predict, _warm_up_query(bundle)).result()

    def request(body: dict) -> int:
        req = _parse(orjson.dumps(body), GridRequest, settings)
        lat, lon = req.grid.axes()
        t_lat, t_lon = np.meshgrid(lat, lon, indexing="ij")
        st = req.station_set()
        query = Query(st.lat, st.lon, st.value_k, t_lat, t_lon)
        pred = lane.submit(predictor.predict, query).result()
        fields = {"mean": pred.mean, "variance": pred.variance, "in_domain": pred.in_domain}
        return len(render.to_json(fields | {"lat": lat, "lon": lon}))

    gc.collect()
    trim()
    idle = by_kind()
    bodies = [bench.task(n, 200, seed=n) for n in (400, 1000)] * args.requests
    if not args.no_global:
        bodies.append(bench.GLOBAL)
    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(request, bodies))
    loaded = by_kind()
    gc.collect()
    trim()
    after = by_kind()
    print(f"command: `{' '.join(shlex.quote(a) for a in sys.argv)}`")
    print(
        f"torch {torch.__version__}, {settings.threads} threads, {len(bodies)} requests from "
        f"{args.clients} threads, {args.arenas} malloc arena(s); "
        + ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in ENV)
    )
    print()
    print("| resident MB | idle | after the load | after trim | trim - idle |")
    print("|---|---:|---:|---:|---:|")
    libs = sorted(
        (k for k in after if k.startswith("lib:")), key=lambda k: idle.get(k, 0) - after[k]
    )[:5]
    for k in [k for k in after if not k.startswith("lib:") and k != "total"] + libs + ["total"]:
        a, b, c = idle.get(k, 0.0), loaded.get(k, 0.0), after.get(k, 0.0)
        print(f"| {k} | {a:.1f} | {b:.1f} | {c:.1f} | {c - a:+.1f} |")


if __name__ == "__main__":
    main()
