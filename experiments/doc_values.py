"""Numbers inside the prose of the docs, written from committed results, never by hand.

A number in ``docs/results.md`` or ``docs/science_notes.md`` is written as
``<!-- val KEY -->TEXT<!-- /val -->`` (or ``<!-- val KEY|SPEC -->``, SPEC a Python format
spec); :func:`fill` replaces TEXT with the value of KEY, so rendering twice changes nothing.
KEYs:

- ``science/EXPERIMENT/MODEL/FIELD``: a field of ``benchmarks/results/science.json``
  (a ``[mean, se]`` pair prints as ``+0.095 ± 0.005``);
- ``bundle/PATH``: a field of the shipped bundle's ``model.json`` (``metadata/...``);
- a name of :func:`derived`: a value computed from those files, the training logs, the
  benchmark results or the bundle's model (parameters, receptive field).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from inference.bundle import load_bundle
from inference.errors import ConfigError
from models.convcnp import ConvCNP

from .benchmark_tables import NETWORKS, UK_TABLES, network_results

VAL = re.compile(r"<!-- val (?P<key>[^|]+?)(?:\|(?P<spec>\S*))? -->(?P<old>.*?)<!-- /val -->")
UK_ONLY_LOG = "uk_only_model_2026-11_training_metrics.jsonl"
DEFAULT_LOG = "default_model_training_metrics.jsonl"


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _span(values: list[float], digits: int = 2) -> str:
    lo, hi = min(values), max(values)
    return (
        f"{lo:.{digits}f}"
        if f"{lo:.{digits}f}" == f"{hi:.{digits}f}"
        else (f"{lo:.{digits}f}–{hi:.{digits}f}")
    )


def _training(results: Path, bundle: Path) -> dict[str, Any]:
    """The shipped model's run (bundle metadata and log) and the UK-only model's log."""
    meta = json.loads((bundle / "model.json").read_text())["metadata"]
    train = meta["training"]
    steps, batch = train["steps"], train["config"]["train"]["batch_size"]
    log = _log(results / DEFAULT_LOG)
    uk_log = _log(results / UK_ONLY_LOG)
    uk_end = next(e for e in uk_log if e["event"] == "end")
    uk_batch = next(e for e in uk_log if e["event"] == "start")["config"]["batch_size"]
    model = load_bundle(bundle).model
    if not isinstance(model, ConvCNP):
        raise ConfigError(f"{bundle}: the docs describe a ConvCNP bundle")
    cells = model.cnn.receptive_field
    floor = meta["calibration"]["variance_floor_k2"]
    return {
        "tasks": steps * batch,
        "train_minutes": train["train_seconds"] / 60,
        "first_steps": next(e for e in log if e["event"] == "start")["config"]["steps"],
        "resumed_at": next(e for e in log if e["event"] == "resume")["step"],
        "uk_only_tasks": uk_end["step"] * uk_batch,
        "uk_only_minutes": uk_end["train_seconds"] / 60,
        "task_share_pct": 100 * steps * batch / (uk_end["step"] * uk_batch),
        "params_k": f"{sum(p.numel() for p in model.parameters()) / 1000:.0f}k",
        "receptive_cells": cells,
        "receptive_deg": cells / model.points_per_unit,
        "floor_sd_k": math.sqrt(floor),
    }


def _uk_week(results: Path) -> dict[str, Any]:
    """The UK test week: against the UK-only model, kriging and the equivariant component."""
    now, before, uk_only = (
        json.loads((results / f"{stem}.json").read_text())["results"] for stem in UK_TABLES.values()
    )
    ns = list(now)
    beats = [n for n in ns if before[n]["model"]["nll"] < before[n]["kriging_ed"]["nll"]]
    return {
        "uk_rmse_vs_uk_only": _span(
            [now[n]["model"]["rmse"] - uk_only[n]["model"]["rmse"] for n in ns]
        ),
        "uk_nll_beats_kriging_before_floor": ", ".join(f"N = {n}" for n in beats) or "no N",
        "uk_strict_rmse_gap": max(
            abs(now[n]["model"]["rmse"] - now[n]["model_strict"]["rmse"]) for n in ns
        ),
        "uk_fixed_inputs_help_nll_at": ", ".join(
            str(n) for n in ns if now[n]["model"]["nll"] < now[n]["model_strict"]["nll"]
        )
        or "no N",
        "uk_coverage_before_floor": _span([before[n]["model"]["coverage95"] for n in ns]),
    }


def _networks(results: Path) -> dict[str, Any]:
    """The real networks: calibration as trained, and the model's gaps to the per-hour GP."""
    rows = json.loads((results / "calibration.json").read_text())["rows"]
    out: dict[str, Any] = {"calib_best_coverage": max(r["coverage95"] for r in rows)}
    nll, rmse = [], []
    for net in NETWORKS:
        out[f"calib_coverage_{net}"] = next(
            r["coverage95"]
            for r in rows
            if r["network"] == net and r["variant"] == "as trained" and r["floor_k2"] == 0
        )
        res = network_results(results, net)
        gps = [res[m] for m in ("gp_matern", "gp_rbf")]
        nll.append(res["model"]["nll"] - min(g["nll"] for g in gps))
        rmse.append(res["model"]["rmse"] - min(g["rmse"] for g in gps))
        out[f"model_rmse_{net}"] = res["model"]["rmse"]
    return out | {"gp_nll_gap": _span(nll), "gp_rmse_gap": _span(rmse)}


def _science(doc: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The paper reproduction's budget: sigma of the ERA5 training days, minutes per model,
    and the distinct training runs (experiments reuse runs: same steps, seconds, size)."""
    conv = doc["era5"]["convcnp"]
    trained = [e for entries in doc.values() for e in entries.values() if e["train_steps"]]
    runs = {(e["train_steps"], e["train_seconds"], e.get("params")) for e in trained}
    chans = doc["ablation_channels"]
    worse = [-e["d_ll"][0] for k, e in chans.items() if "d_ll" in e and e["d_ll"][0] < 0]
    pair = ("convcnp", "aeconvcnp")
    return {
        "long_gain": _span([doc["gp1d_long"][m]["ll"] - doc["gp1d"][m]["ll"] for m in pair]),
        "channels_worse_by": _span(worse),
        "sigma_k": math.exp(conv["ll"] - conv["ll_k"]),
        "science_minutes": _span([s / 60 for _, s, _ in runs], 1),
        "science_runs": len(runs),
        "science_core_minutes": sum(s for _, s, _ in runs) / 60,
    }


def derived(results: Path, bundle: Path) -> dict[str, Any]:
    """Every derived value by name (see the module's docstring)."""
    science = json.loads((results / "science.json").read_text())
    return _training(results, bundle) | _uk_week(results) | _networks(results) | _science(science)


def _walk(doc: Any, path: list[str], key: str) -> Any:
    for part in path:
        if not isinstance(doc, dict) or part not in doc:
            raise ConfigError(f"docs: no value {key!r} ({part!r} not found)")
        doc = doc[part]
    return doc


def fmt(value: Any, spec: str | None) -> str:
    """A value as prose: pairs ``mean ± se``, floats to 3 decimals, integers with commas."""
    if isinstance(value, list) and len(value) == 2:
        spec = spec or "+.3f"
        return f"{value[0]:{spec}} ± {value[1]:{spec.lstrip('+')}}"
    if isinstance(value, (bool, str)):
        return str(value)
    if isinstance(value, int):
        return f"{value:{spec or ','}}"
    if isinstance(value, float):
        return f"{value:{spec or '.3f'}}"
    raise ConfigError(f"docs: cannot write {value!r} as a number")


class Values:
    """The values of the docs' ``val`` markers, read lazily from the committed files."""

    def __init__(self, results: Path, bundle: Path) -> None:
        self.results, self.bundle = results, bundle
        self._derived: dict[str, Any] | None = None

    def get(self, key: str) -> Any:
        source, _, path = key.partition("/")
        if source == "science":
            doc = json.loads((self.results / "science.json").read_text())
            return _walk(doc, path.split("/"), key)
        if source == "bundle":
            return _walk(json.loads((self.bundle / "model.json").read_text()), path.split("/"), key)
        if self._derived is None:
            self._derived = derived(self.results, self.bundle)
        return _walk(self._derived, [key], key)

    def fill(self, text: str) -> str:
        """``text`` with every ``val`` marker's text replaced by its value."""

        def one(m: re.Match[str]) -> str:
            value = fmt(self.get(m["key"]), m["spec"])
            return m[0][: m.start("old") - m.start()] + value + "<!-- /val -->"

        return VAL.sub(one, text)
