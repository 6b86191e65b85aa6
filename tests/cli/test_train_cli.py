"""ingest -> train -> evaluate end to end on the 16-step fixture; resume; bad input."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from inference.bundle import load_bundle

FIXTURE = "era5_t2m_uk_fixture_2019-03-01_3h.nc"
OROG = "orog_uk_era5grid_0p25.nc"
TINY = [
    "--set",
    "architecture.unet_channels=[8,8]",
    "--set",
    "architecture.kernel_size=3",
    "--set",
    "architecture.head_width=16",
    "--set",
    "validation.tasks_per_n=1",
    "--set",
    "validation.stations=[30]",
    "--set",
    "train.batch_size=2",
]


def invoke(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture ingested with day 1 for training and day 2 for validation."""
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    out = tmp_path_factory.mktemp("store") / "fixture.nc"
    code, _, err = invoke(
        "ingest", SHARED_DATA / FIXTURE, "--out", out, "--orography", SHARED_DATA / OROG,
        "--split", "1-1,2-2",
    )  # fmt: skip
    assert code == 0, err
    return out


def events(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_ingest_train_evaluate(store: Path, tmp_path: Path) -> None:
    bundle_dir = tmp_path / "bundle"
    code, out, err = invoke(
        "train", "--store", store, "--out", bundle_dir, *TINY,
        "--set", "train.steps=6", "--set", "train.val_every=3", "--threads", "1", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert "6 steps" in out
    bundle = load_bundle(bundle_dir)
    meta = bundle.metadata
    assert bundle.point_aux == ["elevation"]
    assert meta["domain"] == [[50.0, 58.0], [-10.0, 2.0]]
    assert meta["training"]["train_window"] == ["2019-03-01T00:00:00", "2019-03-01T21:00:00"]
    assert meta["training"]["store_provenance"]["inputs"][0]["path"].endswith(FIXTURE)
    assert meta["training"]["steps"] == 6
    m = meta["metrics"]
    std_k = bundle.normalisation["t2m"].std
    assert m["val_nll_per_target_k"] == pytest.approx(
        m["val_nll_per_target_normalised"] + math.log(std_k)
    )
    assert bundle.model.gridded_aux.names == ["orog", "land_fraction"]
    assert [e["step"] for e in events(tmp_path / "bundle.run") if e["event"] == "val"] == [3, 6]

    result = tmp_path / "eval.json"
    code, out, err = invoke(
        "evaluate", "--model", bundle_dir, "--store", store, "--split", "val",
        "--stations", "10,200", "--hours", "2", "--out", result, "--markdown",
        "--plot", tmp_path / "maps",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(result.read_text())
    assert set(doc["results"]) == {"10", "200"}
    for per_method in doc["results"].values():
        assert set(per_method) == {"model", "model_strict", "kriging_ed", "times"}
        for m in ("model", "model_strict", "kriging_ed"):
            s = per_method[m]
            assert s["n_tasks"] == 2 and s["rmse"] > 0 and 0 <= s["coverage95"] <= 1
            assert math.isfinite(s["nll"])
            assert sum(s["pit_histogram"]) == pytest.approx(1.0, abs=1e-4)
    assert "| 200 | kriging_ed |" in out
    assert len(list((tmp_path / "maps").glob("*.png"))) == 2

    # any ERA5 file instead of a store: every time step, the bundle's normalisation
    from tests.conftest import SHARED_DATA

    era5 = ["evaluate", "--model", bundle_dir, "--era5", SHARED_DATA / FIXTURE]
    code, out, err = invoke(
        *era5, "--orography", SHARED_DATA / OROG, "--stations", "50", "--hours", "20",
        "--no-kriging", "--out", result,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(result.read_text())
    assert doc["results"]["50"]["model"]["n_tasks"] == 20
    assert len(set(doc["results"]["50"]["times"])) == 16  # distinct hours first, then repeats
    code, _, err = invoke(*era5)
    assert code == 2 and "--orography" in err


def test_killed_run_continues_when_rerun(store: Path, tmp_path: Path) -> None:
    args = [
        "train", "--store", str(store), "--out", str(tmp_path / "b"), *TINY,
        "--set", "train.steps=120", "--set", "train.checkpoint_every=5",
        "--set", "train.val_every=120", "--threads", "1", "--no-progress",
    ]  # fmt: skip
    code = f"from cli import app; app({args!r})"
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    state = tmp_path / "b.run" / "state" / "state.json"
    deadline = time.monotonic() + 120
    while not state.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training ended before it could be interrupted"
    assert not (tmp_path / "b").exists()  # no bundle from an unfinished run
    saved = json.loads(state.read_text())["progress"]["step"]
    assert 5 <= saved < 120

    rc, _, err = invoke(*args)  # the same command again
    assert rc == 0, err
    ev = events(tmp_path / "b.run")
    assert [e["step"] for e in ev if e["event"] in ("start", "resume")] == [0, saved]
    assert (ev[-1]["event"], ev[-1]["step"]) == ("end", 120)
    train_steps = [e["step"] for e in ev if e["event"] == "train"]
    assert train_steps == sorted(train_steps)  # continued, never restarted from 0
    assert load_bundle(tmp_path / "b").metadata["training"]["steps"] == 120


def test_changed_configuration_is_refused_on_resume(store: Path, tmp_path: Path) -> None:
    base = ["train", "--store", store, "--out", tmp_path / "b", *TINY, "--no-progress"]
    assert invoke(*base, "--set", "train.steps=2")[0] == 0
    code, _, err = invoke(*base, "--set", "train.steps=3", "--set", "train.lr=0.1")
    assert code == 2 and "different configuration" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "train.stepz=3"], "train.stepz"),
        (["--set", "train.steps"], "not key=value"),
        (["--set", "train.steps=-1"], "train.steps"),
        (["--set", "model=nope"], "unknown model 'nope'"),
        (["--set", "architecture.colour=3"], "colour"),
        (["--set", "architecture.domain=[[0,1],[0,1]]"], "set from the store"),
        (["--set", "sampler.fraction=[0.5,0.1]"], "fraction"),
        (["--set", "sampler.layout=/no/such.csv"], "station layout not found"),
        (["--config", "/no/such.toml"], "config file not found"),
        (["--device", "cuda"], "CUDA"),
    ],
)
def test_bad_training_input(store: Path, tmp_path: Path, args: list[str], message: str) -> None:
    if args == ["--device", "cuda"] and __import__("torch").cuda.is_available():
        pytest.skip("a CUDA device is present")
    code, _, err = invoke("train", "--store", store, "--out", tmp_path / "b", *args)
    assert code == 2
    assert err.startswith("equigrid train:") and len(err.strip().splitlines()) == 1
    assert message in err
    assert not (tmp_path / "b").exists()


def test_bad_config_file(store: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train]\nsteps = \n")
    code, _, err = invoke("train", "--store", store, "--out", tmp_path / "b", "--config", cfg)
    assert (
        code == 2
        and err.startswith(("equigrid train:", "equigrid evaluate:"))
        and len(err.strip().splitlines()) == 1
    )


def test_bad_store(tmp_path: Path) -> None:
    code, _, err = invoke("train", "--store", tmp_path / "none.nc", "--out", tmp_path / "b")
    assert (
        code == 2
        and err.startswith(("equigrid train:", "equigrid evaluate:"))
        and "store not found" in err
    )
    junk = tmp_path / "junk.nc"
    junk.write_text("not netCDF")
    code, _, err = invoke("train", "--store", junk, "--out", tmp_path / "b")
    assert (
        code == 2
        and err.startswith(("equigrid train:", "equigrid evaluate:"))
        and "cannot read store" in err
    )


def test_store_without_orography(tmp_path: Path) -> None:
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("no shared data")
    s = tmp_path / "plain.nc"
    assert invoke("ingest", SHARED_DATA / FIXTURE, "--out", s, "--split", "1-1,2-2")[0] == 0
    code, _, err = invoke("train", "--store", s, "--out", tmp_path / "b")
    assert code == 2 and "--no-orography-aux" in err


@pytest.fixture(scope="module")
def tiny_bundle(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "bundle"
    code, _, err = invoke(
        "train", "--store", store, "--out", out, *TINY, "--set", "train.steps=1", "--no-progress"
    )
    assert code == 0, err
    return out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "MISSING", "--store", "STORE"], "model bundle not found"),
        (["--model", "BUNDLE", "--store", "STORE", "--stations", "a,b"], "comma-separated"),
        (["--model", "BUNDLE", "--store", "STORE", "--stations", "0"], "positive"),
        (
            ["--model", "BUNDLE", "--store", "STORE", "--split", "val", "--stations", "5000"],
            "must lie",
        ),
        (["--model", "BUNDLE", "--store", "STORE", "--hours", "0"], "--hours"),
        (["--model", "BUNDLE", "--store", "STORE", "--split", "dev"], "'dev' is not one of"),
        (["--model", "BUNDLE", "--store", "STORE", "--split", "test"], "no time steps"),
        (["--model", "BUNDLE", "--store", "/no/store.nc"], "store not found"),
        (["--model", "BUNDLE"], "exactly one of --store and --era5"),
    ],
)
def test_bad_evaluation_input(
    store: Path, tiny_bundle: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    subst = {"MISSING": str(tmp_path / "none"), "BUNDLE": str(tiny_bundle), "STORE": str(store)}
    code, _, err = invoke("evaluate", *[subst.get(a, a) for a in args])
    assert code == 2
    assert (
        err.startswith(("equigrid train:", "equigrid evaluate:"))
        and len(err.strip().splitlines()) == 1
    )
    assert message in err


def test_zero_threads_is_refused(store: Path, tmp_path: Path) -> None:
    code, _, err = invoke("train", "--store", store, "--out", tmp_path / "b", "--threads", "0")
    assert code == 2 and "Invalid value for '--threads'" in err  # the option, before any work
    code, _, err = invoke(
        "train", "--store", store, "--out", tmp_path / "b", "--set", "train.threads=0"
    )
    assert code == 2 and "train.threads" in err  # the run configuration's own check
    assert not (tmp_path / "b").exists() and not (tmp_path / "b.run").exists()
