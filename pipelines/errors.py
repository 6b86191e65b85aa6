"""The domain error of ingestion: bad input, reported in one line, nothing written."""

from __future__ import annotations


class IngestError(ValueError):
    """Input that cannot become a store; the message is one line naming file and problem."""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (or its type), for one-line reports."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
