"""The ``equigrid`` command line (layer 4, the top of the house).

:mod:`cli.app` builds the typer app from the command modules beside it (``ingest``,
``train``, ``evaluate``, ``grid``, ``serve``, ``models``), imported normally; :func:`main`
is the console script.
"""

from .app import app, main

__all__ = ["app", "main"]
