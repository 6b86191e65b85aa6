"""Every experiment runs end to end in --quick mode and writes a well-formed science.json;
the renderer rewrites only its own section of docs/results.md."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from experiments.config import FAMILY
from experiments.deepsensor_peer import available as deepsensor_available
from experiments.drivers import EXPERIMENTS, run_experiment
from experiments.results import END, REQUIRED, START, render
from inference.errors import EquigridError

EXPECTED_EXTRA = {
    "gp1d": {"gp_ground_truth"},
    "era5": {"kriging_ordinary"},
    "era5_valdays": {"kriging_ordinary"},
    "era5_orog": {"kriging_ordinary", "kriging_orog_drift"},
    "ood": {"kriging_ordinary"},
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one run directory for the module: the ablations and ood reuse the era5 runs
    return tmp_path_factory.mktemp("science")


def _check_entry(e: dict, kelvin: bool) -> None:
    assert set(REQUIRED) <= set(e)
    assert math.isfinite(e["ll"]) and math.isfinite(e["ll_se"]) and e["ll_se"] >= 0
    assert isinstance(e["train_steps"], int) and isinstance(e["device"], str)
    assert isinstance(e["train_seconds"], float)
    if kelvin:
        assert e["rmse_k"] > 0 and 0.0 <= e["coverage95"] <= 1.0
    else:
        assert e["rmse_k"] is None and e["coverage95"] is None


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment_quick_end_to_end(name: str, workdir: Path, shared_data: Path) -> None:
    results = workdir / "science.json"
    entries = run_experiment(
        name,
        quick=True,
        results=results,
        runs=workdir / "runs",
        data=shared_data,
        stores=workdir / "stores",  # ingested once for the module, as the drivers do
    )
    doc = json.loads(results.read_text())
    assert doc[name] == json.loads(json.dumps(entries))
    if name in EXPECTED_EXTRA:
        with_peer = deepsensor_available() and name in ("era5", "era5_valdays", "ood")
        peer = {"deepsensor_convnp"} if with_peer else set()
        assert set(entries) == set(FAMILY) | EXPECTED_EXTRA[name] | peer
    for e in entries.values():
        _check_entry(e, kelvin=not name.startswith("gp1d"))
    for model in ("aeconvcnp", "aetetnp"):
        if model in entries:
            assert entries[model]["ll_strict"] is not None
    if name == "ood":  # outside the UK box the fixed inputs are exactly zero
        for model in ("aeconvcnp", "aetetnp", "relaxed_convcnp"):
            assert entries[model]["delta_equiv"] == 0.0
            assert entries[model]["ll"] == pytest.approx(entries[model]["ll_strict"])


def test_render_rewrites_only_its_section(tmp_path: Path) -> None:
    results = tmp_path / "science.json"
    entry = {k: 0.0 for k in REQUIRED} | {"train_steps": 1, "device": "cpu", "ll_se": 0.1}
    entry |= {"rmse_k": None, "coverage95": None}
    results.write_text(json.dumps({"gp1d": {"convcnp": entry}}))
    doc = tmp_path / "results.md"
    doc.write_text("# Results\n\n## Service latency\n\nkept\n")
    render(results, doc)
    render(results, doc)  # idempotent: one section, replaced in place
    text = doc.read_text()
    assert text.count(START) == 1 and text.count(END) == 1
    assert "## Service latency\n\nkept" in text
    assert "`python3 -m experiments gp1d`" in text and "| `convcnp` |" in text
    with pytest.raises(EquigridError, match="no results to render"):  # it emptied the section
        render(tmp_path / "missing.json", doc)
    assert doc.read_text() == text
