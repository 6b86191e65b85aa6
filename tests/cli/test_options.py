"""The command line's shared pieces: the comma-list parser, enums in --help, one error line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from cli.options import comma_list, int_range, integers, numbers
from inference.errors import ConfigError


def test_comma_lists() -> None:
    assert integers("20, 100,400", "--stations") == [20, 100, 400]
    assert numbers("-10,50,2,58", "--bbox", 4) == [-10.0, 50.0, 2.0, 58.0]
    assert comma_list("1-21,22-24,25", "--split", int_range) == [(1, 21), (22, 24), (25, 25)]
    with pytest.raises(ConfigError, match="--bbox 'a,b': give four numbers"):
        numbers("a,b", "--bbox", 4)
    with pytest.raises(ConfigError, match="--stations 'x': give comma-separated integers"):
        integers("x", "--stations")


@pytest.mark.parametrize(
    ("command", "shown"), [("grid", "K|degC"), ("evaluate", "train|val|test"), ("serve", "info")]
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
