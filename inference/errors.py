"""The one error base class: a domain error carries its CLI exit code and its HTTP status.

Every error that a user's input or files can cause is an :class:`EquigridError` subclass
with a one-line message. The CLI prints ``equigrid <command>: <message>`` and exits with
``exit_code``; the service answers with ``http_status`` (one table in
:mod:`service.errors`). Errors of other libraries are wrapped where they are caught, with
:func:`one_line` of their message.
"""

from __future__ import annotations

from typing import ClassVar


class EquigridError(Exception):
    """Base of every domain error: bad input, files or configuration (message: one line)."""

    exit_code: ClassVar[int] = 2
    http_status: ClassVar[int] = 422


class StationError(EquigridError):
    """Station observations (a table or a request) that cannot be used."""


class GridError(EquigridError):
    """A target grid specification is invalid."""


class BundleError(EquigridError):
    """A model bundle is missing, corrupt or incompatible."""

    http_status: ClassVar[int] = 503


class DemError(EquigridError):
    """A digital elevation model cannot be read or does not cover the targets."""


class DataError(EquigridError):
    """Input data (ERA5, orography, downloads) that cannot become a store."""


class StoreError(DataError):
    """A training store is missing, malformed or incomplete."""


class TaskError(EquigridError):
    """Task sampling cannot be set up as asked (counts, fractions, layouts)."""


class ConfigError(EquigridError):
    """A run configuration file, override or option is not understood."""


class JobError(EquigridError):
    """A batch job failed while running (a worker, the cluster); its completed work is kept."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500


def one_line(e: BaseException) -> str:
    """The first line of an exception's message (or its type), whitespace collapsed."""
    lines = str(e).strip().splitlines()
    return " ".join(lines[0].split()) if lines else type(e).__name__
