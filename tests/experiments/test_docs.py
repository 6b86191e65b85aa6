"""``python3 -m experiments render`` writes every table and measured number of the docs: the
committed docs equal a fresh render from the committed results and the shipped bundle,
rendering is idempotent, and a number or block is rewritten from its source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from experiments.doc_values import Values, fmt
from experiments.docs import render_docs
from experiments.markers import splice
from inference.bundle import DEFAULT_BUNDLE
from inference.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
DOCS = ("results.md", "science_notes.md")


def _copy_docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in DOCS:
        shutil.copy(REPO / "docs" / name, docs / name)
    return docs


def test_committed_docs_equal_a_fresh_render(tmp_path: Path) -> None:
    docs = _copy_docs(tmp_path)
    render_docs(RESULTS, docs, DEFAULT_BUNDLE)
    for name in DOCS:  # on failure: python3 -m experiments render, and commit the docs
        assert (docs / name).read_text() == (REPO / "docs" / name).read_text(), name
    render_docs(RESULTS, docs, DEFAULT_BUNDLE)  # idempotent
    for name in DOCS:
        assert (docs / name).read_text() == (REPO / "docs" / name).read_text(), name


def test_numbers_and_blocks_come_from_their_sources(tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    docs = _copy_docs(tmp_path)
    science = json.loads((results / "science.json").read_text())
    science["era5"]["kriging_ordinary"]["rmse_k"] = 9.87654
    (results / "science.json").write_text(json.dumps(science))
    test = json.loads((results / "default_model_test.json").read_text())
    test["results"]["20"]["model"]["rmse"] = 0.001  # now the model wins at N = 20
    (results / "default_model_test.json").write_text(json.dumps(test))
    render_docs(results, docs, DEFAULT_BUNDLE)
    doc, notes = ((docs / n).read_text() for n in DOCS)
    rmse = "<!-- val science/era5/kriging_ordinary/rmse_k|.2f -->9.88<!-- /val -->"
    assert f"lowest RMSE ({rmse} K)" in notes
    assert notes.split("**Findings")[1][:3000] in doc  # the notes are copied into results.md
    assert "| ERA5 UK test, N = 20 | 1.572 / 1.600 (kriging) ✓ | 0.001 / 1.089 (kriging) ✓ |" in (
        doc
    )
    assert "RMSE in 1 of 5" in doc


def test_values_and_markers() -> None:
    values = Values(RESULTS, DEFAULT_BUNDLE)
    meta = json.loads((DEFAULT_BUNDLE / "model.json").read_text())["metadata"]
    text = "<!-- val bundle/metadata/training/steps -->old<!-- /val --> steps"
    assert values.fill(text) == text.replace("old", f"{meta['training']['steps']:,}")
    assert values.get("tasks") == meta["training"]["steps"] * 4  # batch size 4 (config)
    assert fmt([0.0951, 0.0049], None) == "+0.095 ± 0.005"
    assert fmt([-0.27, 0.018], "+.2f") == "-0.27 ± 0.02"
    with pytest.raises(ConfigError, match="no value 'science/era5/nope/ll'"):
        values.fill("<!-- val science/era5/nope/ll -->1<!-- /val -->")
    assert splice("a <!-- x:start -->\nold\n<!-- x:end --> b", "x", "new\n") == (
        "a <!-- x:start -->\nnew\n<!-- x:end --> b"
    )
    with pytest.raises(ValueError, match="no <!-- x:start -->"):
        splice("no markers", "x", "new\n")


def test_render_refuses_a_missing_document(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such document"):
        render_docs(RESULTS, tmp_path, DEFAULT_BUNDLE)


def test_render_refuses_missing_results_and_blocks_without_markers(tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    docs = _copy_docs(tmp_path)
    peers = results / "stations_suedtirol_peers.json"
    kept = peers.read_text()
    peers.unlink()  # the GP and kriging rows of South Tyrol are gone
    with pytest.raises(ConfigError, match="suedtirol results lack"):
        render_docs(results, docs, DEFAULT_BUNDLE)
    peers.write_text(kept)
    (results / "service_gpu.md").write_text("| a table |\n")
    doc = docs / "results.md"
    doc.write_text(doc.read_text().replace("<!-- service-gpu:start -->", ""))
    with pytest.raises(ConfigError, match="no <!-- service-gpu:start -->"):
        render_docs(results, docs, DEFAULT_BUNDLE)
