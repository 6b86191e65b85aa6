"""``equigrid model-info``: the numbers the docs no longer quote, from the bundle itself."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli import app
from inference.bundle import load_bundle
from inference.reach import reach_deg


def test_model_info_prints_the_shipped_bundle_and_its_reach() -> None:
    r = CliRunner().invoke(app, ["model-info", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    bundle = load_bundle()
    assert info["sha256"] == bundle.sha256 and info["domain"] == bundle.domain
    assert info["reach_deg"] == round(reach_deg(bundle) or 0.0, 2) > 0
    text = CliRunner().invoke(app, ["model-info"]).stdout
    assert f"±{info['reach_deg']:.1f} deg" in text


def test_model_info_of_a_missing_bundle_is_one_line() -> None:
    r = CliRunner().invoke(app, ["model-info", "--model", "/nonexistent/bundle"])
    assert r.exit_code == 2
    assert r.stderr.strip() == "equigrid model-info: model bundle not found: /nonexistent/bundle"
