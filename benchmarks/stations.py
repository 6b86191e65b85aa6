"""Leave-stations-out on real station networks: the model (through ``/v1/points``) against a
GP and kriging fitted per hour. A script that prints tables, not a timed test.

    python benchmarks/stations.py                      # both networks, the shipped model
    python benchmarks/stations.py --network suedtirol --model path/to/bundle

Networks (files in ``../shared/data``; never used for training):

- ``suedtirol``: South Tyrol, 2021-01-01 (25 hours, 80 stations, 212-3,399 m); 5 folds by
  station (seeded permutation), every hour.
- ``sao_west``: the SAO file's western-US stations (31-50 N, 125-102 W), 1995-03-18 (24
  hours); 5 folds by station (each holds out a fifth), every hour. Context: the other
  western-US stations of that hour.

Per hour and fold, every method gets the same context (the stations not in the fold, with
values, positions and elevations) and predicts the held-out stations at their elevations:

- ``model``: the bundle through the real FastAPI app (``TestClient``, ``POST /v1/points``,
  the code path users hit); ``model_equivariant``: the same with ``equivariant_only``;
- ``gp_matern``/``gp_rbf``: scikit-learn ``GaussianProcessRegressor`` on (lat, lon scaled by
  cos(lat), elevation km), anisotropic Matern-3/2 or RBF times a constant plus a white-noise
  kernel, on the residuals of a least-squares linear mean in elevation; hyperparameters
  fitted per hour (marginal likelihood, 1 restart); the white noise is in the predictive;
- ``kriging_ed``: GSTools kriging with elevation as external drift
  (:func:`pipelines.evaluate.kriging.krige`, Stable variogram with nugget fitted per hour).

Scores pool every (hour, held-out station): NLL per target in K, RMSE (K), 95 % coverage.
Each run's command and numbers go to ``benchmarks/results/stations_<network>.json`` and
``.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.benchmark_tables import stations_markdown  # noqa: E402
from experiments.docs import render_docs  # noqa: E402
from inference.bundle import DEFAULT_BUNDLE  # noqa: E402
from inference.stations import duplicate_groups, row_problems  # noqa: E402
from pipelines.data.station_files import read_table  # noqa: E402
from pipelines.evaluate.kriging import krige  # noqa: E402
from pipelines.evaluate.scores import gaussian_scores  # noqa: E402

NETWORKS = {  # file in the data folder, (lat, lon) box or None
    "suedtirol": ("stations_suedtirol_2021-01-01_hourly.csv", None),
    "sao_west": (
        "stations_sao_northamerica_1995-03-18_hourly.csv",
        ((31.0, 50.0), (-125.0, -102.0)),
    ),
}


def load_network(name: str, data: Path) -> pd.DataFrame:
    """Rows: time, id, lat, lon, elev (m), t (K), in file order.

    The file is read by the data layer (:func:`pipelines.data.station_files.read_table`,
    units from the column name); rows the core's rules refuse
    (:func:`inference.stations.row_problems`), rows without a time or an elevation and rows
    outside the network's box are left out; duplicate positions within an hour follow the
    core's rule (:func:`inference.stations.duplicate_groups`: averaged within 0.1 K, every
    row of a conflicting position left out)."""
    if name not in NETWORKS:
        raise SystemExit(f"unknown network {name!r}")
    file, box = NETWORKS[name]
    table = read_table(data / file)
    assert table.time is not None
    keep = row_problems(table.lat, table.lon, table.value_k, table.elevation_m) == 0
    keep &= np.isfinite(table.elevation_m) & ~np.isnat(table.time)
    if box is not None:
        (s, n), (w, e) = box
        keep &= (table.lat >= s) & (table.lat <= n) & (table.lon >= w) & (table.lon <= e)
    rows = np.flatnonzero(keep)
    groups = duplicate_groups(
        table.lat[rows],
        table.lon[rows],
        table.value_k[rows],
        table.elevation_m[rows],
        step=table.time[rows].astype(np.int64),
    )
    ok = ~groups.conflict
    first = rows[groups.first[ok]]
    return pd.DataFrame(
        {
            "time": table.time[first],
            "id": table.station_id[first].astype(str),
            "lat": table.lat[first],
            "lon": table.lon[first],
            "elev": groups.elevation_m[ok],
            "t": groups.value_k[ok],
        }
    )


def folds(ids: np.ndarray, k: int, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(np.unique(ids))
    return {s: i % k for i, s in enumerate(perm)}


# ---------------------------------------------------------------------------- methods


class ModelClient:
    """The bundle behind the real app, in-process."""

    def __init__(self, bundle: Path | None) -> None:
        from fastapi.testclient import TestClient

        from service.app import create_app
        from service.settings import Settings

        self.client = TestClient(create_app(Settings(model=bundle, device="cpu")))
        self.client.__enter__()

    def __call__(
        self, c: pd.DataFrame, t: pd.DataFrame, equivariant: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        body = {
            "units": "K",
            "equivariant_only": equivariant,
            "stations": [
                {"lat": r.lat, "lon": r.lon, "value": r.t, "elevation_m": r.elev}
                for r in c.itertuples()
            ],
            "targets": [
                {"lat": r.lat, "lon": r.lon, "elevation_m": r.elev} for r in t.itertuples()
            ],
        }
        r = self.client.post("/v1/points", json=body)
        if r.status_code != 200:
            raise RuntimeError(f"/v1/points answered {r.status_code}: {r.text[:300]}")
        doc = r.json()
        return np.asarray(doc["mean"], float), np.asarray(doc["variance"], float)


def _features(df: pd.DataFrame, lat0: float) -> np.ndarray:
    return np.column_stack([df.lat, df.lon * math.cos(math.radians(lat0)), df.elev / 1000.0])


def gp(c: pd.DataFrame, t: pd.DataFrame, kind: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern, WhiteKernel

    lat0 = float(c.lat.mean())
    xc, xt = _features(c, lat0), _features(t, lat0)
    design_c = np.column_stack([np.ones(len(c)), xc[:, 2]])
    design_t = np.column_stack([np.ones(len(t)), xt[:, 2]])
    coef, *_ = np.linalg.lstsq(design_c, c.t.to_numpy(), rcond=None)
    resid = c.t.to_numpy() - design_c @ coef
    ls0, bounds = [0.5, 0.5, 0.5], (1e-2, 1e2)
    shape = Matern(ls0, bounds, nu=1.5) if kind == "matern" else RBF(ls0, bounds)
    kernel = ConstantKernel(max(resid.var(), 0.01), (1e-3, 1e3)) * shape + WhiteKernel(
        0.1, (1e-3, 1e2)
    )
    model = GaussianProcessRegressor(kernel, n_restarts_optimizer=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(xc, resid)
        mean, std = model.predict(xt, return_std=True)  # std includes the white noise
    return design_t @ coef + mean, np.maximum(std**2, 1e-6)


def kriging(c: pd.DataFrame, t: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    r = krige(
        c[["lat", "lon"]].to_numpy(),
        c.t.to_numpy(),
        t[["lat", "lon"]].to_numpy(),
        c.elev.to_numpy()[None],
        t.elev.to_numpy()[None],
    )
    return r.mean, r.variance


# ---------------------------------------------------------------------------- scoring


def scores(y: np.ndarray, mean: np.ndarray, var: np.ndarray) -> dict[str, float]:
    """The one scorer's Gaussian scores (:func:`pipelines.evaluate.scores.gaussian_scores`),
    pooled over every (hour, held-out station), and their count."""
    s = gaussian_scores(y, mean, var)
    return {k: s[k] for k in ("nll", "rmse", "mae", "coverage95")} | {"n_targets": len(y)}


def run(
    network: str, data: Path, bundle: Path | None, n_folds: int, seed: int, methods: list[str]
) -> dict[str, object]:
    df = load_network(network, data)
    fold_of = folds(df.id.to_numpy(), n_folds, seed)
    df["fold"] = df.id.map(fold_of)
    client = ModelClient(bundle) if any(m.startswith("model") for m in methods) else None
    preds: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {m: [] for m in methods}
    ys, seconds = [], dict.fromkeys(methods, 0.0)
    for _, hour in df.groupby("time"):
        for f in range(n_folds):
            c, t = hour[hour.fold != f], hour[hour.fold == f]
            if len(t) == 0 or len(c) < 5:
                continue
            ys.append(t.t.to_numpy())
            for m in methods:
                start = time.perf_counter()
                if m == "model":
                    p = client(c, t, False)  # type: ignore[misc]
                elif m == "model_equivariant":
                    p = client(c, t, True)  # type: ignore[misc]
                elif m == "gp_matern":
                    p = gp(c, t, "matern")
                elif m == "gp_rbf":
                    p = gp(c, t, "rbf")
                elif m == "kriging_ed":
                    p = kriging(c, t)
                else:
                    raise SystemExit(f"unknown method {m!r}")
                seconds[m] += time.perf_counter() - start
                preds[m].append(p)
    y = np.concatenate(ys)
    out = {}
    for m in methods:
        mean = np.concatenate([p[0] for p in preds[m]])
        var = np.concatenate([p[1] for p in preds[m]])
        out[m] = scores(y, mean, var) | {"seconds": round(seconds[m], 1)}
    return {
        "network": network,
        "stations": int(df.id.nunique()),
        "hours": int(df.time.nunique()),
        "folds": n_folds,
        "seed": seed,
        "results": out,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", choices=["suedtirol", "sao_west", "all"], default="all")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--model", type=Path, default=None, help="bundle (default: shipped)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="model,model_equivariant,gp_matern,gp_rbf,kriging_ed")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument(
        "--render-docs",
        action="store_true",
        help="only write the stored tables into docs/results.md",
    )
    a = ap.parse_args()
    if a.render_docs:
        render_docs(a.out, ROOT / "docs", DEFAULT_BUNDLE)
        return
    networks = ["suedtirol", "sao_west"] if a.network == "all" else [a.network]
    command = "python benchmarks/stations.py " + shlex.join(sys.argv[1:])
    for net in networks:
        doc = run(net, a.data, a.model, a.folds, a.seed, a.methods.split(","))
        doc["command"] = command
        doc["model"] = str(a.model) if a.model is not None else "models/weights/default"
        text = stations_markdown(doc)
        print(text)
        if a.out:
            a.out.mkdir(parents=True, exist_ok=True)
            stem = f"stations_{net}{a.tag}"
            (a.out / f"{stem}.json").write_text(json.dumps(doc, indent=1) + "\n")
            (a.out / f"{stem}.md").write_text(f"Command: `{command}`\n\n{text}")


if __name__ == "__main__":
    main()
