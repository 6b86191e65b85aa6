"""Checkpoints: safetensors + JSON round trip, never unpickled, corruption detected."""

from __future__ import annotations

import json

import pytest
import torch

import models
from tests.conftest import small_config
from tests.models.test_models import ALL, task


@pytest.mark.parametrize("name", ALL)
def test_save_load_round_trip_gives_identical_predictions(name: str, tmp_path) -> None:
    m = models.build_model(name, **small_config(name)).eval()
    # move parameters away from their initial values so a fresh init could not pass
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.01 * torch.randn_like(p))
    d = models.save(m, tmp_path / name, metadata={"note": "test"})
    assert sorted(p.name for p in d.iterdir()) == ["model.json", "model.safetensors"]
    m2 = models.load(d)
    assert not m2.training
    xc, yc, xt = task(2)
    with torch.no_grad():
        a, b = m(xc, yc, xt), m2(xc, yc, xt)
    assert torch.equal(a.mean, b.mean) and torch.equal(a.stddev, b.stddev)
    assert models.read_config(d)["metadata"] == {"note": "test"}


def test_corrupt_weights_are_detected(tmp_path) -> None:
    d = models.save(models.build_model("convcnp", **small_config("convcnp")), tmp_path / "ck")
    raw = bytearray((d / "model.safetensors").read_bytes())
    raw[-1] ^= 0xFF
    (d / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(models.CheckpointError, match="checksum"):
        models.load(d)


def test_missing_and_bad_json_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(models.CheckpointError, match=r"no model\.json"):
        models.load(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(models.CheckpointError, match="not valid JSON"):
        models.load(tmp_path)


def test_incompatible_config_is_refused(tmp_path) -> None:
    d = models.save(models.build_model("convcnp", **small_config("convcnp")), tmp_path / "ck")
    doc = json.loads((d / "model.json").read_text())
    doc["config"]["unet_channels"] = [16, 16, 16]
    doc.pop("sha256")
    (d / "model.json").write_text(json.dumps(doc))
    with pytest.raises(models.CheckpointError, match="do not fit"):
        models.load(d)
    doc["name"] = "resnet"
    (d / "model.json").write_text(json.dumps(doc))
    with pytest.raises(models.CheckpointError, match="unknown model"):
        models.load(d)


def test_only_registry_models_can_be_saved(tmp_path) -> None:
    with pytest.raises(models.CheckpointError):
        models.save(torch.nn.Linear(2, 2), tmp_path)
