"""Where one ``POST /v1/grid`` request's time goes, stage by stage, in-process (a script).

The request of ``benchmarks/service.py`` (N random stations over the UK box to a 200 x 200
grid, JSON) is taken through the service's own functions without HTTP: body parsing and
validation (``service.body``), admission (the cost estimate), the predictor, the notes,
the JSON encoding. Prints the median milliseconds of each stage over ``--repeats`` runs
(after warm-up), and with ``--profile`` the torch operators that took longest.

    python benchmarks/request.py --stations 400 --threads 1
    python benchmarks/request.py --repo ../other-checkout     # the same on another checkout

Runs interleave poorly with other load: compare checkouts in alternation on the same load.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import orjson

HERE = Path(__file__).resolve().parent
STAGES = ("parse", "admit", "predict", "notes", "encode", "total")


def _load(repo: Path) -> dict[str, ModuleType]:
    sys.path.insert(0, str(repo))
    names = ("service.body", "service.schemas", "service.settings", "service.predict")
    names += ("service.render", "inference.bundle", "inference.predictor")
    return {n.split(".")[-1]: importlib.import_module(n) for n in names}


class _Ready:
    """What ``service.predict.admit`` reads of the running service."""

    def __init__(self, settings: Any, bundle: Any, predictor: Any) -> None:
        self.settings, self.bundle, self.predictor = settings, bundle, predictor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=HERE.parent, help="checkout to import")
    ap.add_argument("--stations", type=int, default=400)
    ap.add_argument("--grid", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="also the top torch operators")
    args = ap.parse_args()
    m = _load(args.repo.resolve())
    import torch

    torch.set_num_threads(args.threads)
    spec = importlib.util.spec_from_file_location("service_benchmark", HERE / "service.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # benchmarks/service.py: the same request
    raw = orjson.dumps(bench.task(args.stations, args.grid, seed=args.stations))
    settings = m["settings"].Settings()
    bundle = m["bundle"].load_bundle(m["bundle"].DEFAULT_BUNDLE, device="cpu")
    ready = _Ready(settings, bundle, m["predictor"].BundlePredictor(bundle))

    def one(times: list[tuple[float, ...]]) -> None:
        t = [time.perf_counter()]
        body = m["body"]._parse(raw, m["schemas"].GridRequest, settings)
        t.append(time.perf_counter())
        lat, lon = body.grid.axes()
        t_lat, t_lon = np.meshgrid(lat, lon, indexing="ij")
        st = body.station_set()
        q = m["predictor"].Query(
            st.lat, st.lon, st.value_k, t_lat, t_lon, station_elevation=st.elevation_m
        )
        gmac = m["predict"].admit(ready, q)
        t.append(time.perf_counter())
        pred = ready.predictor.predict_batch([q])[0]
        t.append(time.perf_counter())
        notes = m["predict"].warnings(bundle, pred, st, t_lat, t_lon, (lat, lon), False)
        t.append(time.perf_counter())
        out = m["predict"].Outcome(pred, notes, 0.0, gmac)
        fields = m["predict"].prediction_fields(ready, out, body, "request") | {
            "lat": lat,
            "lon": lon,
            "timing_ms": {},
        }
        m["render"].to_json(fields)
        t.append(time.perf_counter())
        times.append((*np.diff(t), t[-1] - t[0]))

    for _ in range(3):
        one([])
    times: list[tuple[float, ...]] = []
    for _ in range(args.repeats):
        one(times)
    print(f"command: `python {' '.join(shlex.quote(a) for a in sys.argv)}`")
    print(
        f"checkout: {args.repo.resolve().name}; torch {torch.__version__}, "
        f"{args.threads} thread(s), {platform.node() or '?'}; {args.stations} stations -> "
        f"{args.grid} x {args.grid} cells, median of {args.repeats} runs"
    )
    print()
    print("| " + " | ".join(f"{s} ms" for s in STAGES) + " |")
    print("|" + "---:|" * len(STAGES))
    med = [1000 * statistics.median(r[i] for r in times) for i in range(len(STAGES))]
    print("| " + " | ".join(f"{v:.1f}" for v in med) + " |")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            for _ in range(5):
                one([])
        table = prof.key_averages(group_by_input_shape=True).table(
            sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=28
        )
        print(table)


if __name__ == "__main__":
    main()
