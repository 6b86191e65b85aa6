"""Option values shared by the commands: enums shown in ``--help``, the one comma-list parser.

:func:`comma_list` splits ``"a,b,c"`` and converts each item (``int``, ``float`` or
:func:`int_range` for ``"1-21"``), with one-line errors naming the option; :func:`numbers`
and :func:`integers` are its common uses.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from inference.errors import ConfigError

T = TypeVar("T")
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


class Split(StrEnum):
    """A store split."""

    train = "train"
    val = "val"
    test = "test"


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


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
