"""CDS requests and resumable downloading, with a fake client (never the network)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from cli.options import comma_list, int_range, numbers
from inference.errors import DataError, EquigridError
from pipelines.data import download
from pipelines.data.download import DATASET, build_requests, check_area, check_hours, parse_months
from pipelines.data.store import open_store, provenance
from tests.pipelines.data.test_ingest import field, write_new_cds

UK: download.Area = (58.0, -10.0, 50.0, 2.0)


class FakeClient:
    """Records requests; writes ``payload(request)`` to the target, or fails on ``fail_on``."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any], str]] = []
        self.fail_on = fail_on

    def retrieve(self, name: str, request: dict[str, Any], target: str | None = None) -> Any:
        assert target is not None
        self.calls.append((name, request, target))
        Path(target).write_bytes(b"partial")
        if request["month"] == [self.fail_on]:
            raise RuntimeError("503 Service Unavailable\nretry later")
        Path(target).write_bytes(f"{request['year'][0]}-{request['month'][0]}".encode())


def test_one_request_per_month_with_every_day_and_hour() -> None:
    reqs = build_requests(UK, parse_months("2019-12:2020-02"))
    assert [(r.year, r.month, r.filename) for r in reqs] == [
        (2019, 12, "era5_t2m_2019-12.nc"),
        (2020, 1, "era5_t2m_2020-01.nc"),
        (2020, 2, "era5_t2m_2020-02.nc"),
    ]
    feb = reqs[2].request
    assert feb == {
        "product_type": ["reanalysis"],
        "variable": ["2m_temperature"],
        "year": ["2020"],
        "month": ["02"],
        "day": [f"{d:02d}" for d in range(1, 30)],  # a leap year
        "time": [f"{h:02d}:00" for h in range(24)],
        "area": [58.0, -10.0, 50.0, 2.0],
        "data_format": "netcdf",
        "download_format": "unarchived",
    }
    assert len(reqs[0].request["day"]) == 31
    hours = check_hours(comma_list("18,0-0,6,12", "--hours", int_range))
    six_hourly = build_requests(UK, [(2019, 2)], hours)[0].request
    assert six_hourly["time"] == ["00:00", "06:00", "12:00", "18:00"]
    assert len(six_hourly["day"]) == 28


def _area(text: str) -> Any:
    return check_area(numbers(text, "--area", 4))


def _hours(text: str) -> Any:
    return check_hours(comma_list(text, "--hours", int_range))


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_months, "2019-13"),
        (parse_months, "2019-05:2019-03"),
        (parse_months, "March"),
        (_area, "50,-10,58,2"),
        (_area, "58,-10,50"),
        (_hours, "0,24"),
        (_hours, "noon"),
    ],
)
def test_bad_request_arguments_are_errors(parse: Any, text: str) -> None:
    with pytest.raises(EquigridError):  # DataError, or the option parser's ConfigError
        parse(text)


def test_months_on_disk_are_skipped(tmp_path: Path) -> None:
    reqs = build_requests(UK, parse_months("2019-01:2019-03"))
    (tmp_path / "era5_t2m_2019-02.nc").write_bytes(b"done before")
    client = FakeClient()
    paths = download.download(reqs, tmp_path, client)
    assert paths == [tmp_path / r.filename for r in reqs]
    assert [(c[0], c[1]["month"], Path(c[2]).name) for c in client.calls] == [
        (DATASET, ["01"], "era5_t2m_2019-01.nc.part"),
        (DATASET, ["03"], "era5_t2m_2019-03.nc.part"),
    ]
    assert (tmp_path / "era5_t2m_2019-02.nc").read_bytes() == b"done before"
    assert (tmp_path / "era5_t2m_2019-03.nc").read_bytes() == b"2019-03"
    again = FakeClient()
    download.download(reqs, tmp_path, again)
    assert again.calls == []


def test_an_interrupted_month_is_retried_not_taken_as_done(tmp_path: Path) -> None:
    reqs = build_requests(UK, parse_months("2019-01:2019-03"))
    with pytest.raises(DataError, match=r"era5_t2m_2019-02\.nc failed: 503 Service Unavailable$"):
        download.download(reqs, tmp_path, FakeClient(fail_on="02"))
    assert not (tmp_path / "era5_t2m_2019-02.nc").exists()
    client = FakeClient()
    download.download(reqs, tmp_path, client)
    assert [c[1]["month"] for c in client.calls] == [["02"], ["03"]]
    assert (tmp_path / "era5_t2m_2019-02.nc").read_bytes() == b"2019-02"


def test_missing_cdsapi_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "cdsapi", None)
    with pytest.raises(DataError, match=r"pip install 'equigrid\[download\]'"):
        download.download(build_requests(UK, [(2019, 3)]), tmp_path)
    # nothing to fetch: no client needed, so no error
    (tmp_path / "era5_t2m_2019-03.nc").write_bytes(b"x")
    assert download.download(build_requests(UK, [(2019, 3)]), tmp_path) == [
        tmp_path / "era5_t2m_2019-03.nc"
    ]


def test_cli_downloads_then_ingests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class CdsLike(FakeClient):
        def retrieve(self, name: str, request: dict[str, Any], target: str | None = None) -> Any:
            assert target is not None
            self.calls.append((name, request, target))
            write_new_cds(field(), Path(target))  # what the new CDS sends back

    client = CdsLike()
    monkeypatch.setattr(download, "make_client", lambda: client)
    out = tmp_path / "store.nc"
    args = ["ingest", "--download", "2019-03", "--area", "51.25,-2,50,1.5", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(client.calls) == 1
    assert (tmp_path / "era5_downloads" / "era5_t2m_2019-03.nc").is_file()
    record = provenance(open_store(out))
    assert record["download"]["requests"][0]["area"] == [51.25, -2.0, 50.0, 1.5]
    assert record["inputs"][0]["path"].endswith("era5_t2m_2019-03.nc")
    assert "--download 2019-03" in record["command"]


def test_cli_download_needs_an_area(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["ingest", "--download", "2019-03", "--out", str(tmp_path / "s")]
    )
    assert result.exit_code == 2
    assert "--download needs --area" in result.stderr
    assert list(tmp_path.iterdir()) == []
