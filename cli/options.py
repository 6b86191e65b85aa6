"""Option values shared by the commands: enums shown in ``--help``, the one comma-list parser.

:func:`comma_list` splits ``"a,b,c"`` and converts each item (``int``, ``float`` or
:func:`int_range` for ``"1-21"``), with one-line errors naming the option; :func:`numbers`
and :func:`integers` are its common uses.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

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
    """``"1-21"`` -> (1, 21); ``"5"`` -> (5, 5)."""
    lo, _, hi = text.strip().partition("-")
    return int(lo), int(hi or lo)


def comma_list(
    text: str, option: str, item: Callable[[str], T], count: int | None = None, what: str = ""
) -> list[T]:
    """Parse the comma-separated ``text`` of ``option``; ``count`` items if given."""
    parts = [p.strip() for p in text.split(",")]
    kind = what or getattr(item, "__name__", "value")
    if count is not None and len(parts) != count:
        n = _WORDS.get(count, str(count))
        raise ConfigError(f"{option} {text!r}: give {n} {kind}s, comma-separated")
    try:
        return [item(p) for p in parts if p]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: give comma-separated {kind}s") from None


def numbers(text: str, option: str, count: int | None = None) -> list[float]:
    return comma_list(text, option, float, count, what="number")


def integers(text: str, option: str) -> list[int]:
    return comma_list(text, option, int, what="integer")
