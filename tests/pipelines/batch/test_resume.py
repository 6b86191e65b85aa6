"""Kill -9 a real job mid-run, resume it: the result equals an uninterrupted run's, bit for bit.

The job runs in a subprocess on the default local cluster (a worker process of its own); the
resume and the reference run use the two-worker cluster of the tests, so this also checks that
a chunk's floats do not depend on where, or beside how many others, it was computed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import xarray as xr

from inference.errors import ConfigError
from pipelines.batch.store import open_partial
from tests.conftest import REPO

from .conftest import grid, sao_hours
from .test_gridding import US, assert_same

VOLATILE = {"date_created", "history", "command", "resumed_by", "skipped_rows_file"}


def test_killed_job_resumes_to_the_uninterrupted_result(
    tmp_path, shared_data, small_bundle, scheduler
) -> None:
    csv = sao_hours(shared_data, tmp_path / "sao.csv", 12)
    args = [csv, "--bbox", US, "--resolution", 0.25, "--chunk-steps", 1, "--batch-steps", 1]
    out = tmp_path / "k.nc"
    cmd = [sys.executable, "-m", "cli", "grid", *map(str, args), "--out", str(out)]
    cmd += ["--model", str(small_bundle), "--workers", "1"]
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = tmp_path / "k.nc.partial" / "done"
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        if len(list(done.glob("chunk-*.json"))) >= 2:
            break
        time.sleep(0.01)
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert not finished, f"the job ended before it could be killed: {err.decode()[-2000:]}"
    before = len(list(done.glob("chunk-*.json")))
    assert 2 <= before < 12 and not out.exists()

    again = grid(*args, "--out", out, model=small_bundle, scheduler=scheduler)
    assert again.exit_code == 2 and "rerun with --resume" in again.stderr
    changed = grid(
        *args[:-1], 2, "--out", out, "--resume", model=small_bundle, scheduler=scheduler
    )  # fmt: skip (two steps per forward pass: other floats)
    assert changed.exit_code == 2 and "interrupted one in batch_steps" in changed.stderr

    resumed = grid(*args, "--out", out, "--resume", model=small_bundle, scheduler=scheduler)
    assert resumed.exit_code == 0, resumed.output
    assert f"{12 - before} chunks computed" in resumed.stdout
    assert f"{before} chunks resumed" in resumed.stdout
    ref = grid(*args, "--out", tmp_path / "ref.nc", model=small_bundle, scheduler=scheduler)
    assert ref.exit_code == 0, ref.output
    a, b = xr.open_dataset(out), xr.open_dataset(tmp_path / "ref.nc")
    assert_same(a, b)
    assert {k: v for k, v in a.attrs.items() if k not in VOLATILE} == {
        k: v for k, v in b.attrs.items() if k not in VOLATILE
    }
    assert "--workers 1" in a.command and "--resume" in a.resumed_by
    assert not (tmp_path / "k.nc.partial").exists()


def test_one_run_at_a_time_per_output(tmp_path) -> None:
    job = {"identity": {"model": "abc"}, "command": "equigrid grid x.csv"}
    first = open_partial(tmp_path / "g.nc", job, resume=False)
    with pytest.raises(ConfigError, match="another equigrid grid is writing"):
        open_partial(tmp_path / "g.nc", job, resume=True)
    first.close()  # as a killed run's lock is released by the kernel
    with pytest.raises(ConfigError, match="rerun with --resume"):
        open_partial(tmp_path / "g.nc", job, resume=False)
    again = open_partial(tmp_path / "g.nc", job, resume=True)
    assert again.done == set() and again.job["command"] == job["command"]
    again.close()
