"""The command line's shared pieces: the comma-list parser, enums in --help, one error line."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import app
from cli.errors import OneLineErrors
from cli.options import (
    check_frequency,
    comma_list,
    device_parser,
    int_range,
    integers,
    numbers,
)
from inference.device import check_device, resolve_device
from inference.errors import ConfigError
from service.settings import LogLevel, Precision, Settings


def test_comma_lists() -> None:
    assert integers("20, 100,400", "--stations") == [20, 100, 400]
    assert numbers("-10,50,2,58", "--bbox", 4) == [-10.0, 50.0, 2.0, 58.0]
    assert comma_list("1-21,22-24,25", "--split", int_range) == [(1, 21), (22, 24), (25, 25)]
    with pytest.raises(ConfigError, match="--bbox 'a,b': give four numbers"):
        numbers("a,b", "--bbox", 4)
    with pytest.raises(ConfigError, match="--stations 'x': give comma-separated integers"):
        integers("x", "--stations")


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("grid", "K|degC"),
        ("evaluate", "train|val|test"),
        ("serve", "<critical|error|warning|info|debug>"),
        ("serve", "<fp32|tf32|bf16>"),
    ],
)
def test_allowed_values_are_listed_in_help(command: str, shown: str) -> None:
    r = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and shown in r.output


def test_usage_errors_are_one_line_with_the_command() -> None:
    r = CliRunner().invoke(app, ["evaluate", "--model", "m", "--split", "dev"])
    assert r.exit_code == 2
    assert r.stderr.startswith("equigrid evaluate: Invalid value for '--split'")
    assert len(r.stderr.strip().splitlines()) == 1


def test_an_empty_item_is_an_error_not_dropped() -> None:
    """Dropping an empty item would shift the ones after it: ``--split 1-21,,25-31`` would
    make the test days the validation days."""
    with pytest.raises(ConfigError, match=r"--split '1-21,,25-31': item 2 is empty"):
        comma_list("1-21,,25-31", "--split", int_range, what="day range")
    with pytest.raises(ConfigError, match=r"--stations '20,,100': item 2 is empty"):
        integers("20,,100", "--stations")
    with pytest.raises(ConfigError, match=r"--bbox '-10,50,,58': item 3 is empty"):
        numbers("-10,50,,58", "--bbox", 4)
    with pytest.raises(ConfigError, match="item 3 is empty"):
        integers("20,100,", "--stations")
    with pytest.raises(ConfigError, match="give comma-separated day ranges"):
        comma_list("1-", "--split", int_range, what="day range")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["grid", "--demo", "--bbox=-10,50,,58"], "--bbox"),
        (["ingest", "--out", "OUT.nc", "--split", "1-21,,25-31"], "--split"),
        (["evaluate", "--model", "MODEL", "--stations", "20,,100"], "--stations"),
    ],
)
def test_empty_items_on_the_command_line(
    args: list[str], option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"equigrid {args[0]}: {option} ")
    assert "is empty" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def _one_line(r: object, command: str) -> str:
    err = r.stderr  # type: ignore[attr-defined]
    assert r.exit_code == 2, r.output  # type: ignore[attr-defined]
    assert err.startswith(f"equigrid {command}: ") and len(err.strip().splitlines()) == 1, err
    return str(err)


@pytest.mark.parametrize(
    "args",
    [
        ["grid", "--demo", "--chunk-steps", "0"],
        ["grid", "--demo", "--batch-steps", "0"],
        ["grid", "--demo", "--workers", "0"],
        ["grid", "--demo", "--device", "gpu"],
        ["grid", "--demo", "--freq", "7q", "--start", "2021-01-01", "--end", "2021-01-02"],
        ["train", "--store", "s.nc", "--out", "m", "--threads", "0"],
        ["train", "--store", "s.nc", "--out", "m", "--device", "cuda:x"],
        ["evaluate", "--model", "m", "--hours", "0"],
        ["serve", "--workers", "0"],
        ["serve", "--port", "70000"],
        ["serve", "--device", "tpu"],
    ],
)
def test_bad_counts_and_devices_fail_before_anything_is_written(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A usage error, one line, exit 2, and no output folder or skipped-rows file left
    behind (grid used to write OUT.skipped.csv before refusing --chunk-steps 0)."""
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, [*args, *(["--out", "o/grid.nc"] if args[0] == "grid" else [])])
    option = next(a for a in args if a in ("--freq", "--device") or a == args[-2])
    assert f"Invalid value for '{option}'" in _one_line(r, args[0])
    assert list(tmp_path.iterdir()) == []


def test_one_device_rule() -> None:
    assert [check_device(d) for d in ("auto", " CPU", "cuda", "cuda:1")] == [
        "auto",
        "cpu",
        "cuda",
        "cuda:1",
    ]
    for bad in ("gpu", "cuda:", "cuda:x", "cpu:0", ""):
        with pytest.raises(ConfigError, match="use one of auto, cpu, cuda, cuda:N"):
            check_device(bad)
    assert resolve_device("auto") in ("cpu", "cuda")
    assert resolve_device("cuda:99", require=False) == "cuda:99"  # a remote worker's device
    with pytest.raises(ConfigError, match="device cuda:99: this machine has"):
        resolve_device("cuda:99")
    # the workers' devices (grid --device): auto stays for each worker to resolve
    assert device_parser(require=False)("AUTO") == "auto"
    assert device_parser(require=True)("auto") in ("cpu", "cuda")
    with pytest.raises(typer.BadParameter, match="use one of"):
        device_parser(require=False)("gpu")


def test_time_steps_are_checked_in_our_words() -> None:
    assert check_frequency("3h") == "3h" and check_frequency("MS") == "MS"
    for bad in ("7q", "0h", "-1D", "hourly"):
        with pytest.raises(ConfigError, match="is not a time step") as e:
            check_frequency(bad)
        assert "pandas" in str(e.value) and "Failed to parse" not in str(e.value)


def test_serve_on_a_port_in_use_is_one_line_before_loading() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(app, ["serve", "--port", str(port), "--model", "/nonexistent"])
    # the address is checked first: the (missing) model is never reached
    line = f"equigrid serve: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert _one_line(r, "serve").strip() == line


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "LOG_LEVEL",
            "loud",
            "EQUIGRID_LOG_LEVEL=loud: use one of critical, error, warning, info, debug",
        ),
        ("PRECISION", "fp64", "EQUIGRID_PRECISION=fp64: use one of fp32, tf32, bf16"),
        ("DEVICE", "gpu", "EQUIGRID_DEVICE=gpu: use one of auto, cpu, cuda, cuda:N"),
        ("PORT", "70000", "EQUIGRID_PORT=70000: Input should be less than or equal to 65535"),
        ("WORKERS", "two", "EQUIGRID_WORKERS=two: Input should be a valid integer"),
    ],
)
def test_a_bad_setting_stops_serve_with_one_line(
    variable: str, value: str, line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No traceback, no pydantic dump, no tuple repr: the variable, its value, what it allows."""
    monkeypatch.setenv(f"EQUIGRID_{variable}", value)
    r = CliRunner().invoke(app, ["serve"])
    assert _one_line(r, "serve").startswith(f"equigrid serve: {line}")


def test_settings_are_typed_and_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EQUIGRID_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("EQUIGRID_PRECISION", "BF16")
    monkeypatch.setenv("EQUIGRID_DEVICE", "CPU")
    s = Settings.load(port=None)
    assert s.log_level is LogLevel.debug and s.precision is Precision.bf16 and s.device == "cpu"
    with pytest.raises(ConfigError, match=r"^--log-level loud: use one of critical, error"):
        Settings.load(log_level="loud")


def test_warnings_are_lines_of_the_command_and_other_programs_keep_the_format() -> None:
    import warnings

    import typer

    class Errors(OneLineErrors):
        program = "python3 -m tool"

    tool = typer.Typer(cls=Errors)

    @tool.command("run")
    def run(fail: bool = False) -> None:
        warnings.warn("a stale  snapshot\n was skipped", UserWarning, stacklevel=1)
        if fail:
            raise ConfigError("bad\nthing")

    @tool.command("other")
    def other() -> None: ...

    r = CliRunner().invoke(tool, ["run", "--fail"])
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "python3 -m tool run: warning: a stale snapshot was skipped",
        "python3 -m tool run: bad",
    ]


def test_the_experiments_fail_in_the_same_format(tmp_path: Path) -> None:
    """``python3 -m experiments`` printed a traceback for a missing data file."""
    import subprocess
    import sys

    folders = [f"--{k}={tmp_path / k}" for k in ("data", "runs", "stores")]
    done = subprocess.run(
        [sys.executable, "-m", "experiments", "era5", "--quick", *folders,
         f"--results={tmp_path / 'science.json'}"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("python3 -m experiments era5: ") and "file not found" in last
    assert "Traceback" not in done.stderr


def test_worker_processes_rebuild_the_same_typed_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve --workers N`` hands its settings to the workers as EQUIGRID_* variables: the
    enums travel as their values and come back as the same members."""
    from cli.serve import _env_for_workers

    given = Settings.load(precision="bf16", log_level="debug", device="cpu", max_stations=7)
    env = _env_for_workers(given)
    assert env["EQUIGRID_PRECISION"] == "bf16" and env["EQUIGRID_LOG_LEVEL"] == "debug"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert Settings.load() == given
