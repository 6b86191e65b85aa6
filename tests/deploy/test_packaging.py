"""What the wheel ships: the packages, the bundle files, the /docs assets and the map data;
not a training run's state beside a bundle, not the experiments, tests or benchmarks."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("models", "inference", "pipelines", "service", "cli")


@pytest.mark.slow
def test_the_wheel_ships_the_bundle_not_training_state(tmp_path: Path) -> None:
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.run")
    for name in PACKAGES:
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    weights = src / "models" / "weights"
    (weights / "default.run").mkdir()  # what `equigrid train --out .../default` leaves beside
    (weights / "default.run" / "state.json").write_text("{}")
    (weights / "default" / "notes.txt").write_text("not a bundle file")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = sorted(n for n in names if not n.endswith(".py") and ".dist-info/" not in n)
    assert [n for n in data if n.startswith("models/")] == [
        "models/weights/default/model.json",
        "models/weights/default/model.safetensors",
    ]
    assert "service/static/swagger-ui-bundle.js" in data
    assert "inference/data/countries-10m.json.gz" in data
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == set(PACKAGES)


def test_every_dependency_has_a_lower_and_an_upper_bound() -> None:
    """A new major release must not reach users untested (pytest 9 broke schemathesis once)."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    deps = [*project["dependencies"], *(d for extra in extras for d in extra)]
    unbounded = [
        d for d in deps if not {">=", "<"} <= {s.operator for s in Requirement(d).specifier}
    ]
    assert not unbounded, unbounded
