"""The domain error of ingestion: bad input, reported in one line, nothing written."""

from __future__ import annotations


class IngestError(ValueError):
    """Input that cannot become a store; the message is one line naming file and problem."""
