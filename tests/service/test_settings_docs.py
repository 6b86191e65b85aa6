"""docs/service.md's table of admission settings quotes the defaults of
``service.settings.Settings``: every quoted number equals the code's default, so the table
cannot drift from the code (the code is the one place; ``equigrid serve --help`` prints it)."""

from __future__ import annotations

import re
from pathlib import Path

from service.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"
MIB = 1024 * 1024


def _quoted(default: str) -> list[float | None]:
    """The numbers of one default cell, one per setting (``None``: not a plain number)."""
    parts = default.split("; ") if ";" in default else default.split(", ")
    out: list[float | None] = []
    for p in parts:
        m = re.fullmatch(r"([\d,]+(?:\.\d+)?)( MiB)?", p.strip())
        out.append(None if m is None else float(m[1].replace(",", "")) * (MIB if m[2] else 1))
    return out


def test_admission_table_quotes_the_code_defaults() -> None:
    section = DOC.read_text().split("## Admission, lanes, deadline", 1)[1].split("\n## ", 1)[0]
    checked = 0
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        names = re.findall(r"`([A-Z_]+)`", cells[0]) if len(cells) == 3 else []
        quoted = _quoted(cells[1]) if names else []
        if not names or len(quoted) != len(names):
            continue
        for name, value in zip(names, quoted, strict=True):
            field = Settings.model_fields[name.lower()]
            if value is not None:
                assert value == field.default, f"docs/service.md {name}: {value} != {field.default}"
                checked += 1
    assert checked >= 10, "the table's layout changed: adapt this test"
