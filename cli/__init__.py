"""The ``equigrid`` command line (layer 4, the top of the house).

:mod:`cli.app` builds the typer app from the command modules beside it (``ingest``,
``train``, ``evaluate``, ``grid``, ``serve``, ``models``), imported normally; :func:`main`
is the console script.
"""

import os

# MKL's own buffer cache keeps ~16 MB per worker after a large request (benchmarks/results/
# memory.md); MKL reads this once, when torch loads, so it is set before anything imports torch.
os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")

from .app import app, main

__all__ = ["app", "main"]
