"""Batch gridding fixtures: a small bundle, an in-process dask cluster, station files, the CLI.

The cluster is a real ``distributed.LocalCluster`` of two single-threaded workers that
listens on TCP, reached with ``--scheduler`` exactly as a deployed cluster is; its workers are
threads of the test process (``processes=False``) so that tests start it in a second. Torch's
thread count, which the workers set to one, is restored afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from cli import app
from tests.inference.test_bundle import make_bundle

SAO = "stations_sao_northamerica_1995-03-18_hourly.csv"
runner = CliRunner()


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    threads = torch.get_num_threads()
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address
    torch.set_num_threads(threads)


def sao_hours(shared_data: Path, path: Path, hours: int) -> Path:
    """The first ``hours`` hours of the North America station file, as it is."""
    src = pd.read_csv(shared_data / SAO, dtype=str, keep_default_na=False)
    keep = sorted(src.hour_utc.unique())[:hours]
    src[src.hour_utc.isin(keep)].to_csv(path, index=False)
    return path


def grid(*args: object, model: Path | None = None, scheduler: str | None = None):
    """``equigrid grid ARGS`` in process (stdout and stderr apart)."""
    words = ["grid", *map(str, args)]
    if model is not None:
        words += ["--model", str(model)]
    if scheduler is not None:
        words += ["--scheduler", scheduler]
    return runner.invoke(app, words)
