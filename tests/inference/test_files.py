"""The one atomic writer: complete files only, readable by others (0644) unless asked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from inference.files import atomic_path, atomic_paths, atomic_write, write_text


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_mode_is_0644_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)  # a strict umask would give 0600 with a plain open()
    try:
        assert _mode(write_text(tmp_path / "a" / "x.txt", "hello\n")) == 0o644
        assert _mode(atomic_write(tmp_path / "y", lambda p: Path(p).write_bytes(b"1"))) == 0o644
        assert _mode(write_text(tmp_path / "z", "private", mode=0o600)) == 0o600
    finally:
        os.umask(old)


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = write_text(tmp_path / "x.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_files_published_together_output_last(tmp_path: Path, monkeypatch) -> None:
    out, side = tmp_path / "grid.nc", tmp_path / "grid.nc.skipped.csv"
    out.write_text("old output")
    side.write_text("old side")
    with pytest.raises(RuntimeError), atomic_paths(out, side) as (t_out, t_side):
        t_out.write_text("new output")
        t_side.write_text("new side")
        raise RuntimeError("the job failed")
    assert (out.read_text(), side.read_text()) == ("old output", "old side")
    order: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(
        os, "replace", lambda a, b: (order.append(Path(b).name), real_replace(a, b))
    )
    with atomic_paths(out, side) as (t_out, t_side):
        t_out.write_text("new output")
        t_side.write_text("new side")
    assert (out.read_text(), side.read_text()) == ("new output", "new side")
    assert order == ["grid.nc.skipped.csv", "grid.nc"]  # the output appears last
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.nc", "grid.nc.skipped.csv"]
