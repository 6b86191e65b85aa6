"""The benchmark tables of ``docs/results.md``, from the committed ``benchmarks/results/``.

Each table is a block between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``:
``stations-suedtirol`` and ``stations-sao_west`` (``benchmarks/stations.py``), ``uk-test``,
``uk-test-before-floor`` and ``uk-test-uk-only`` (``equigrid evaluate --out``),
``calibration`` (``benchmarks/calibration.py``) and ``bar`` (issue 9's bar: the model against
the best classical peer of each of those comparisons).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inference.errors import ConfigError
from pipelines.evaluate.report import markdown_table, score_table

NETWORKS = {"suedtirol": "South Tyrol", "sao_west": "SAO western US"}
LABELS = {
    "model": "**model** (`/v1/points`)",
    "model_equivariant": "equivariant component (`equivariant_only`)",
    "gp_matern": "GP, Matern-3/2 on (lat, lon, elevation) + linear mean in elevation",
    "gp_rbf": "GP, RBF on (lat, lon, elevation) + linear mean in elevation",
    "kriging_ed": "kriging, elevation as external drift (GSTools)",
}
PEER_NAMES = {"gp_matern": "GP Matern", "gp_rbf": "GP RBF", "kriging_ed": "kriging"}
UK_LABELS = {
    "model": "**model**",
    "model_strict": "equivariant component (`strict=True`)",
    "kriging_ed": "kriging, drift = orography + land fraction (fixed nugget)",
}
SERVICE_TABLES = ("service_cpu", "service_gpu")  # benchmarks/service.py's full runs
UK_TABLES = {  # block -> results file stem
    "uk-test": "default_model_test",
    "uk-test-before-floor": "default_model_test_before_floor",
    "uk-test-uk-only": "uk_only_model_2026-11_test",
}
COVERAGE_BAR = (0.90, 0.97)  # issue 9: the 95 % intervals neither too narrow nor too wide


def stations_markdown(doc: dict[str, Any]) -> str:
    """One leave-stations-out table (``benchmarks/stations.py``'s JSON) with its header."""
    res = doc["results"]
    head = (
        f"{doc['network']}: {doc['stations']} stations, {doc['hours']} hours, "
        f"{doc['folds']} folds by station (seed {doc['seed']}), "
        f"{next(iter(res.values()))['n_targets']} held-out (hour, station) pairs\n\n"
    )
    rows = (((LABELS.get(m, m),), s) for m, s in res.items())
    return head + score_table([("method", "---")], rows)


def uk_table(doc: dict[str, Any]) -> str:
    """The ERA5 UK test-week table from an ``equigrid evaluate --out`` JSON."""
    return markdown_table(doc["results"], UK_LABELS)


def network_runs(results: Path, net: str) -> list[dict[str, Any]]:
    """The runs of one network (the model's and the peers', same folds), by file name."""
    return [json.loads(f.read_text()) for f in sorted(results.glob(f"stations_{net}*.json"))]


def merged_network(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs of one network as one document, methods in the order of :data:`LABELS`."""
    if not runs:
        raise ConfigError("no stations_<network>*.json results: run benchmarks/stations.py")
    merged = dict(runs[0])
    scores: dict[str, Any] = {}
    for d in runs:
        scores |= d["results"]
    order = list(LABELS)
    merged["results"] = dict(
        sorted(scores.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    )
    return merged


def network_results(results: Path, net: str) -> dict[str, Any]:
    """The scores of one network by method, the model's and every peer's present."""
    res: dict[str, Any] = merged_network(network_runs(results, net))["results"]
    missing = [m for m in ("model", *PEER_NAMES) if m not in res]
    if missing:
        raise ConfigError(
            f"the {net} results lack {', '.join(missing)}: run benchmarks/stations.py "
            f"--network {net} for them"
        )
    return res


def _comparisons(results: Path) -> list[tuple[str, dict[str, Any], dict[str, dict[str, Any]]]]:
    """(label, the model's scores, the peers' scores) of every comparison of the bar."""
    out = []
    for net, label in NETWORKS.items():
        if network_runs(results, net):
            res = network_results(results, net)
            out.append((label, res["model"], {PEER_NAMES[m]: res[m] for m in PEER_NAMES}))
    f = results / f"{UK_TABLES['uk-test']}.json"
    if f.is_file():
        for n, per in json.loads(f.read_text())["results"].items():
            out.append((f"ERA5 UK test, N = {n}", per["model"], {"kriging": per["kriging_ed"]}))
    return out


def bar_table(results: Path) -> str:
    """Issue 9's bar: the model against the best peer in NLL and in RMSE (lower wins), and
    its 95 % coverage against :data:`COVERAGE_BAR`; a last line counts what is met."""
    lo, hi = COVERAGE_BAR
    lines = [
        f"| comparison | NLL (K): model / best peer | RMSE (K): model / best peer "
        f"| 95 % coverage ({lo:.2f}–{hi:.2f}) |",
        "| --- | --- | --- | --- |",
    ]
    met = {"NLL": 0, "RMSE": 0, "coverage": 0}
    comps = _comparisons(results)
    for label, model, peers in comps:
        cells = [label]
        for key, name in (("nll", "NLL"), ("rmse", "RMSE")):
            best = min(peers, key=lambda p: peers[p][key])
            ok = model[key] < peers[best][key]
            met[name] += ok
            cells.append(f"{model[key]:.3f} / {peers[best][key]:.3f} ({best}) {'✓' if ok else '✗'}")
        ok = lo <= model["coverage95"] <= hi
        met["coverage"] += ok
        cells.append(f"{model['coverage95']:.3f} {'✓' if ok else '✗'}")
        lines.append(f"| {' | '.join(cells)} |")
    summary = ", ".join(f"{name} in {k} of {len(comps)}" for name, k in met.items())
    return "\n".join(lines) + f"\n\nMet: {summary}.\n"


def blocks(results: Path) -> dict[str, str]:
    """Every benchmark block whose results are committed, by marker name."""
    out = {}
    for net in NETWORKS:
        runs = network_runs(results, net)
        if runs:
            commands = "\n".join(f"    {d['command']}" for d in runs)
            out[f"stations-{net}"] = (
                f"Commands:\n\n{commands}\n\n{stations_markdown(merged_network(runs))}"
            )
    for name, stem in UK_TABLES.items():
        f = results / f"{stem}.json"
        if f.is_file():
            out[name] = uk_table(json.loads(f.read_text()))
    f = results / "calibration.md"
    if f.is_file():
        out["calibration"] = f.read_text()
    for stem in SERVICE_TABLES:  # benchmarks/service.py --out benchmarks/results/<stem>.md
        f = results / f"{stem}.md"
        if f.is_file():
            out[stem.replace("_", "-")] = f.read_text().rstrip() + "\n"
    if out:
        out["bar"] = bar_table(results)
    return out
