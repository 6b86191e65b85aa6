"""The job's work in progress: ``OUT.partial/`` beside the output, resumable after a kill.

Layout: ``job.json`` (the job's identity and the command that started it), ``data.zarr``
(the Zarr store the workers write, one time chunk per task, each into its own Zarr chunks),
``done/chunk-NNNNNN.json`` (one marker per completed chunk, written after its region) and
``lock`` (held by the running client, so two runs never write one output). A chunk without
a marker is computed again on ``--resume``; a chunk with one is never recomputed.

:func:`open_partial` creates the directory, or with ``resume`` reopens it after checking
that the job is the same; :func:`publish` moves a finished output into place atomically
(a Zarr directory by rename; a netCDF file through :mod:`inference.files`), replacing an
older one only then, and removes the partial directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import zarr
from numpy.typing import NDArray

from inference.errors import ConfigError
from inference.files import write_text

DONE = "done"


@dataclass
class Partial:
    """An open ``OUT.partial`` directory (its lock held while open)."""

    root: Path
    job: dict[str, Any]
    done: set[int]
    _lock: IO[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.root / "data.zarr"

    @property
    def done_dir(self) -> Path:
        return self.root / DONE

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def partial_dir(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def open_partial(out: Path, job: Mapping[str, Any], resume: bool) -> Partial:
    """The partial directory of ``out`` for ``job`` (its ``identity`` decides sameness).

    Without ``resume`` an existing one is an error (it holds an interrupted run's work);
    with it, a job whose identity differs is refused, naming what changed.
    """
    root = partial_dir(out)
    if not root.exists():
        (root / DONE).mkdir(parents=True)
        lock = _lock(root)
        write_text(root / "job.json", json.dumps(job, indent=1, default=str))
        return Partial(root, dict(job), set(), lock)
    lock = _lock(root)  # refuses while another run holds it
    try:
        if not resume:
            raise ConfigError(
                f"{root} holds an interrupted run of this output: rerun with --resume to "
                "continue it, or remove it to start again"
            )
        try:
            before = json.loads((root / "job.json").read_text())
            identity = dict(before["identity"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ConfigError(f"{root} is not a resumable job (no job.json); remove it") from None
        keys = set(identity) | set(job["identity"])
        changed = sorted(k for k in keys if identity.get(k) != job["identity"].get(k))
        if changed:
            raise ConfigError(
                f"--resume: this job differs from the interrupted one in {', '.join(changed)}; "
                f"remove {root} to start again"
            )
    except ConfigError:
        lock.close()
        raise
    return Partial(root, before, completed(root / DONE), lock)


def _lock(root: Path) -> IO[bytes]:
    f = (root / "lock").open("ab")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise ConfigError(f"another equigrid grid is writing {root}") from None
    return f


def completed(done_dir: Path) -> set[int]:
    """Indices of the chunks whose markers exist."""
    return {int(p.stem.split("-")[1]) for p in done_dir.glob("chunk-*.json")}


def mark_done(done_dir: str | Path, index: int, report: Mapping[str, Any]) -> None:
    """The marker of a completed chunk (atomic, written after the chunk's region)."""
    write_text(Path(done_dir) / f"chunk-{index:06d}.json", json.dumps(dict(report)))


def reports(done_dir: Path) -> list[dict[str, Any]]:
    """Every completed chunk's report, in chunk order."""
    paths = sorted(done_dir.glob("chunk-*.json"))
    return [json.loads(p.read_text()) for p in paths]


def write_region(store: str | Path, start: int, fields: Mapping[str, NDArray[np.float32]]) -> None:
    """Write ``[steps, lat, lon]`` fields at time index ``start`` of the Zarr store."""
    for name, values in fields.items():
        arr = zarr.open_array(str(store), path=name, mode="r+")
        arr[start : start + len(values)] = values


def publish_zarr(data: Path, out: Path) -> None:
    """Move a finished Zarr store to ``out`` (replacing an older output only now)."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    data.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    _readable(out)


def _readable(root: Path) -> None:
    """Zarr directories 0755, files 0644, whatever the umask made of them."""
    for d, _, files in os.walk(root):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)


def remove(partial: Partial) -> None:
    partial.close()
    shutil.rmtree(partial.root, ignore_errors=True)
