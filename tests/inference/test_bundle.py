"""Model bundles: saving, loading, validation; one-line errors for broken ones."""

from __future__ import annotations

import json

import pytest
import torch

import models
from inference.bundle import load_bundle, save_bundle
from inference.errors import BundleError
from inference.normalisation import Stats
from tests.conftest import small_config

AUX = {
    "names": ["orog", "land_fraction"],
    "origin": [50.0, -10.0],
    "spacing": [0.25, 0.25],
    "shape": [33, 49],
}


def make_bundle(tmp_path, point_aux: bool = True):
    cfg = small_config("aeconvcnp") | {"aux_grid": AUX, "dim_aux": 1 if point_aux else 0}
    m = models.build_model("aeconvcnp", **cfg)
    lat = torch.linspace(50, 58, 33)[:, None].expand(33, 49)
    m.gridded_aux.set_raster(torch.stack([100 * (lat - 50), torch.ones(33, 49)]))
    norm = {"t2m": Stats(280.0, 3.0), "elevation": Stats(200.0, 150.0)}
    return save_bundle(
        m,
        tmp_path / "b",
        normalisation=norm,
        point_aux=["elevation"] if point_aux else [],
        extra={"metrics": {}},
    )


def test_broken_bundles_are_refused_with_one_line(tmp_path) -> None:
    with pytest.raises(BundleError, match="not found"):
        load_bundle(tmp_path / "absent")
    d = make_bundle(tmp_path)
    doc = json.loads((d / "model.json").read_text())
    doc["metadata"]["normalisation"]["t2m"]["std"] = 0
    (d / "model.json").write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="normalisation"):
        load_bundle(d)
    doc["metadata"] = {}
    (d / "model.json").write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="not an equigrid model bundle"):
        load_bundle(d)
    (d / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(BundleError) as e:
        load_bundle(d)
    assert "\n" not in str(e.value)


def test_shipped_bundle_metadata_holds_no_machine_paths_or_notes() -> None:
    """What /v1/model serves: provenance by file name and hash, no build-machine paths."""
    import json
    import re

    from inference.bundle import DEFAULT_BUNDLE

    meta = json.loads((DEFAULT_BUNDLE / "model.json").read_text())["metadata"]
    text = json.dumps(meta)
    assert not re.search(r"(/tmp/|/work/|/home/|/root/|[A-Z]:\\\\)", text), text
    assert "helper" not in text.lower()
    assert meta["training"]["data"] and all("/" not in d["file"] for d in meta["training"]["data"])
    assert meta["calibration"]["variance_scale"] > 0


@pytest.mark.parametrize(
    "mutate",
    [
        lambda doc: [],
        lambda doc: "text",
        lambda doc: doc | {"metadata": "oops"},
        lambda doc: doc | {"metadata": []},
        lambda doc: doc | {"name": ["aeconvcnp"]},
        lambda doc: doc | {"config": []},
        lambda doc: doc | {"config": doc["config"] | {"unet_channels": "abc"}},
        lambda doc: doc | {"config": doc["config"] | {"kernel_size": None}},
        lambda doc: doc | {"sha256": 5},
        lambda doc: doc | {"metadata": doc["metadata"] | {"normalisation": []}},
        lambda doc: doc | {"metadata": doc["metadata"] | {"normalisation": {"t2m": 3}}},
        lambda doc: doc | {"metadata": doc["metadata"] | {"point_aux": "elevation"}},
        lambda doc: doc | {"metadata": doc["metadata"] | {"domain": [1, 2]}},
        lambda doc: doc | {"metadata": doc["metadata"] | {"domain": [["a", "b"], [0, 1]]}},
        lambda doc: doc | {"metadata": doc["metadata"] | {"domain": {"lat": 1}}},
    ],
)
def test_malformed_model_json_is_one_line_bundle_error(tmp_path, mutate) -> None:
    d = make_bundle(tmp_path)
    doc = json.loads((d / "model.json").read_text())
    (d / "model.json").write_text(json.dumps(mutate(doc)))
    with pytest.raises(BundleError) as e:
        load_bundle(d)
    assert "\n" not in str(e.value)
