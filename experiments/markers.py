"""Generated blocks of the docs: the text between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->`` is written by a command, never by hand. The one splicer of
:mod:`experiments.docs` (benchmark blocks) and :mod:`experiments.results` (the paper
reproduction's section)."""

from __future__ import annotations


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of the block ``name``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def has_block(text: str, name: str) -> bool:
    """Whether ``text`` holds both markers of the block ``name``."""
    start, end = markers(name)
    return start in text and end in text


def splice(text: str, name: str, body: str) -> str:
    """``text`` with the block ``name`` replaced by ``body`` (a ValueError without it)."""
    start, end = markers(name)
    if not has_block(text, name):
        raise ValueError(f"no {start} ... {end} block")
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{body}{end}{rest.split(end, 1)[1]}"
