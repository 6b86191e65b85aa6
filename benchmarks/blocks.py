"""Generated blocks in the docs: text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
markers is replaced by what a benchmark wrote, so no number in it is typed by hand."""

from __future__ import annotations

from pathlib import Path


def splice(text: str, name: str, body: str) -> str:
    """``text`` with the block ``name`` replaced by ``body``; a ValueError without it."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body.rstrip()}\n{end}{tail}"


def write_block(docs: Path, name: str, body: str) -> None:
    """Replace the block ``name`` of the file ``docs`` with ``body``."""
    docs.write_text(splice(docs.read_text(), name, body))
