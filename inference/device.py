"""Torch devices by name: the one rule for ``auto``, ``cpu``, ``cuda`` and ``cuda:N``.

:func:`check_device` reads a name as a user gives it (a ``--device`` option, the service's
``EQUIGRID_DEVICE``) and refuses anything else with the allowed names; :func:`resolve_device`
turns ``auto`` into what this machine has and refuses a CUDA device it lacks. The CLI's
``--device`` options (:mod:`cli.options`) and the service's settings both use them.
"""

from __future__ import annotations

import re

import torch

from .errors import ConfigError

DEVICE_NAMES = "auto, cpu, cuda, cuda:N"
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device(text: str) -> str:
    """``text`` as a device name (trimmed, lower case); :class:`ConfigError` if it is none."""
    name = text.strip().lower()
    if not _DEVICE.fullmatch(name):
        raise ConfigError(f"device {text!r}: use one of {DEVICE_NAMES}")
    return name


def resolve_device(text: str, require: bool = True) -> str:
    """``auto`` -> ``cuda`` where CUDA is available, else ``cpu``; other names as checked.

    With ``require``, a CUDA device this machine does not have is a :class:`ConfigError`
    (without it, e.g. for the workers of a remote dask cluster, only the name is checked)."""
    name = check_device(text)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if require and name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(name.partition(":")[2] or 0)
        if index >= count:
            have = f"{count} CUDA device{'s' if count != 1 else ''}" if count else "no CUDA device"
            raise ConfigError(f"device {name}: this machine has {have}")
    return name
