"""Option values shared by the commands: enums shown in ``--help``, the one comma-list parser,
the one ``--device`` option, counts and time steps checked before a command runs.

:func:`comma_list` splits ``"a,b,c"`` and converts each item (``int``, ``float`` or
:func:`int_range` for ``"1-21"``), with one-line errors naming the option; :func:`numbers`
and :func:`integers` are its common uses. :func:`device_option` (``auto``, ``cpu``, ``cuda``,
``cuda:N``: :mod:`inference.device`), :func:`count_option` (at least 1) and
:func:`frequency_option` (a pandas frequency) refuse a bad value as a usage error, exit 2,
before the command has done anything.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

import typer

from inference.device import DEVICE_NAMES, check_device, resolve_device
from inference.errors import ConfigError, EquigridError, one_line

T = TypeVar("T")
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


class Split(StrEnum):
    """A store split."""

    train = "train"
    val = "val"
    test = "test"


def _usage_error(check: Callable[[str], T]) -> Callable[[str], T]:
    """``check`` as a typer parser: its :class:`EquigridError` becomes a usage error."""

    def parse(text: str) -> T:
        try:
            return check(text)
        except EquigridError as e:
            raise typer.BadParameter(one_line(e)) from None

    return parse


def device_parser(require: bool = True) -> Callable[[str], str]:
    """The ``--device`` parser: ``auto``, ``cpu``, ``cuda``, ``cuda:N``. With ``require``
    the device is this machine's (``auto`` resolved here, a CUDA device it lacks refused);
    without it (devices of other machines, e.g. a dask cluster's workers) only the name is
    checked and ``auto`` is left for each worker to resolve."""
    return _usage_error(lambda text: resolve_device(text) if require else check_device(text))


def device_option(help: str, require: bool = True, **kw: Any) -> Any:
    """A ``--device`` option (:func:`device_parser`)."""
    return typer.Option(
        help=f"{help} ({DEVICE_NAMES})", metavar="DEVICE", parser=device_parser(require), **kw
    )


def count_option(help: str, **kw: Any) -> Any:
    """An option that counts something (workers, threads, steps): at least 1."""
    return typer.Option(help=help, min=1, **kw)


def check_frequency(text: str) -> str:
    """``text`` if it is a positive pandas frequency (``1h``, ``3h``, ``1D``, ``MS``)."""
    import pandas as pd

    try:
        offset = pd.tseries.frequencies.to_offset(text)
    except ValueError:
        offset = None
    if offset is None or offset.n < 1:
        raise ConfigError(f"{text!r} is not a time step (a pandas frequency: 1h, 3h, 1D, MS, ...)")
    return text


def frequency_option(help: str, **kw: Any) -> Any:
    """A time-step option: a pandas frequency, checked before the command runs."""
    return typer.Option(help=help, metavar="FREQ", parser=_usage_error(check_frequency), **kw)


def int_range(text: str) -> tuple[int, int]:
    """``"1-21"`` -> (1, 21); ``"5"`` -> (5, 5); ``"1-"`` is an error, not (1, 1)."""
    lo, sep, hi = text.strip().partition("-")
    return int(lo), int(hi if sep else lo)


def comma_list(
    text: str, option: str, item: Callable[[str], T], count: int | None = None, what: str = ""
) -> list[T]:
    """Parse the comma-separated ``text`` of ``option``; ``count`` items if given.

    An empty item (``"1,,3"``, a trailing comma) is an error: dropping it would silently
    shift the meaning of the items after it (``--split 1-21,,25-31``)."""
    parts = [p.strip() for p in text.split(",")]
    kind = what or getattr(item, "__name__", "value")
    if count is not None and len(parts) != count:
        n = _WORDS.get(count, str(count))
        raise ConfigError(f"{option} {text!r}: give {n} {kind}s, comma-separated")
    if not all(parts):
        i = parts.index("") + 1
        raise ConfigError(f"{option} {text!r}: item {i} is empty; give comma-separated {kind}s")
    try:
        return [item(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: give comma-separated {kind}s") from None


def numbers(text: str, option: str, count: int | None = None) -> list[float]:
    return comma_list(text, option, float, count, what="number")


def integers(text: str, option: str) -> list[int]:
    return comma_list(text, option, int, what="integer")


def key_value(text: str) -> tuple[str, str]:
    """``"time=obs_time"`` -> ("time", "obs_time")."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ValueError(text)
    return key.strip(), value.strip()


def key_values(text: str, option: str) -> list[tuple[str, str]]:
    return comma_list(text, option, key_value, what="key=name pair")


def command_line(ctx: Any) -> str:
    """The command as given (options left at their defaults omitted), for provenance."""
    words = ["equigrid", ctx.info_name]
    for p in ctx.command.params:
        value = ctx.params.get(p.name)
        source = ctx.get_parameter_source(p.name)
        if value is None or source is None or source.name.startswith("DEFAULT"):
            continue
        if not p.opts or not p.opts[0].startswith("-"):  # an argument
            words.append(str(value))
        elif isinstance(value, bool):
            words.append(p.opts[0] if value else (p.secondary_opts or p.opts)[0])
        else:
            words += [p.opts[0], str(getattr(value, "value", value))]
    return shlex.join(words)
