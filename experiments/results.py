"""``benchmarks/results/science.json`` and its rendering into ``docs/results.md``.

The JSON is ``{experiment: {model: {"ll", "ll_se", "rmse_k", "coverage95", "train_steps",
"train_seconds", "device", ...}}}``; each experiment command replaces only its own entry.
The renderer rewrites only the text between the science markers of ``docs/results.md``, so
other sections of that file (written by other pipelines) are left as they are.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from inference.errors import ConfigError
from inference.files import write_text

from .markers import has_block, markers, splice

BLOCK = "science"
START, END = markers(BLOCK)
REQUIRED = ("ll", "ll_se", "rmse_k", "coverage95", "train_steps", "train_seconds", "device")

TITLES = {
    "gp1d": "1-D non-stationary GP (mixture of six Gibbs-kernel GPs)",
    "era5": "ERA5 UK t2m, inputs (lat, lon)",
    "era5_orog": "ERA5 UK t2m, inputs (lat, lon) + orography",
    "ood": "Out of domain: the `era5` models on the US snapshot (UK statistics)",
    "ablation_channels": "Ablation: number of fixed-input channels (AE-ConvCNP, `era5`)",
    "ablation_dropout": "Ablation: fixed-input dropout p (AE-ConvCNP, `era5`)",
    "era5_valdays": "Investigation: the `era5` models on full-grid hours of the validation days",
    "gp1d_long": "Investigation: the ConvCNP pair on the 1-D GP with 2x the training steps",
}
SYMMETRY = {
    "tnp": "none",
    "tetnp": "T",
    "aetetnp": "T~",
    "convcnp": "T",
    "aeconvcnp": "T~",
    "relaxed_convcnp": "T~ (relaxed)",
    "deepsensor_convnp": "T (DeepSensor)",
    "kriging_ordinary": "T (stationary variogram)",
    "kriging_orog_drift": "orography drift",
    "gp_ground_truth": "exact posterior",
}


def symmetry(key: str) -> str:
    """The symmetry of an entry; ablation entries are AE-ConvCNP variants (C_t=0: ConvCNP)."""
    if key.startswith("C_t=0"):
        return "T"
    if key.startswith(("C_t=", "p=")):
        return "T~"
    return SYMMETRY.get(key, "–")


def load(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    return json.loads(path.read_text()) if path.is_file() else {}


def merge(path: Path, experiment: str, entries: dict[str, dict[str, Any]]) -> None:
    """Replace ``experiment``'s entries in the JSON at ``path`` (created if absent)."""
    for model, e in entries.items():
        missing = [k for k in REQUIRED if k not in e]
        if missing:
            raise ValueError(f"{experiment}/{model}: entry lacks {missing}")
    doc = load(path)
    doc[experiment] = entries
    write_text(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")


def _f(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{digits}f}"


def _pm(pair: list[float] | None) -> str:
    return "–" if pair is None else f"{pair[0]:+.3f} ± {pair[1]:.3f}"


def table(experiment: str, entries: dict[str, dict[str, Any]]) -> str:
    """One markdown table, best log-likelihood first."""
    kelvin = any(e.get("rmse_k") is not None for e in entries.values())
    head = ["model", "symmetry", "LL (norm.) ± se"]
    if kelvin:
        head += ["LL (K)", "RMSE (K)", "cov. 95 %"]
    head += ["Δ vs counterpart (paired)", "full − equiv. comp.", "Δequiv", "steps", "train s"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model, e in sorted(entries.items(), key=lambda kv: -kv[1]["ll"]):
        cells = [f"`{model}`", symmetry(model), f"{_f(e['ll'])} ± {_f(e['ll_se'])}"]
        if kelvin:
            cells += [_f(e.get("ll_k")), _f(e.get("rmse_k")), _f(e.get("coverage95"))]
        cells += [
            f"{_pm(e.get('d_ll'))} vs `{e['vs']}`" if "vs" in e else "–",
            _pm(e.get("d_ll_strict")),
            _f(e.get("delta_equiv"), 4),
            str(e["train_steps"]),
            _f(e["train_seconds"], 0),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def section(doc: dict[str, dict[str, dict[str, Any]]], notes: str = "") -> str:
    """The whole "Paper reproduction" section (between the markers)."""
    parts = ["## Paper reproduction", "", notes.strip(), ""]
    for exp in TITLES:
        if exp not in doc:
            continue
        n = max(e.get("n_test_tasks", 0) for e in doc[exp].values())
        parts += [
            f"### {TITLES[exp]}",
            "",
            f"Command: `python3 -m experiments {exp}` · tasks scored: {n} · device: "
            + ", ".join(sorted({e["device"] for e in doc[exp].values()})),
            "",
            table(exp, doc[exp]),
            "",
        ]
    return "\n".join(p for p in parts if p is not None) + "\n"


def render(results: Path, doc_path: Path, notes_path: Path | None = None) -> None:
    """Rewrite the science section of ``doc_path`` from ``results`` (and the hand-written
    discussion in ``notes_path``, default ``docs/science_notes.md`` beside ``doc_path``)."""
    if not results.is_file():  # rendering nothing would empty the section of doc_path
        raise ConfigError(f"{results}: no results to render (python3 -m experiments NAME)")
    notes_path = notes_path or doc_path.parent / "science_notes.md"
    notes = notes_path.read_text() if notes_path.is_file() else ""
    new = section(load(results), notes)
    old = doc_path.read_text() if doc_path.is_file() else "# Results\n"
    if has_block(old, BLOCK):
        text = splice(old, BLOCK, new)
    else:  # a document without the section gets one at its end
        text = f"{old.rstrip()}\n\n{START}\n{new}{END}\n"
    write_text(doc_path, text)
