"""The typer app: every command registered here, errors formatted by :mod:`cli.errors`.

Errors reach the user as one line, ``equigrid <command>: <message>``, on stderr, with the
exit code of the error (:class:`cli.errors.OneLineErrors`); warnings as
``equigrid <command>: warning: <message>``.

To add a command: write a module beside this one with a function whose parameters are
``Annotated[..., typer.Option(...)]`` (raise ``EquigridError`` subclasses for bad input;
parse comma lists, devices and counts with :mod:`cli.options`), import it below and register
it in ``app``.
"""

from __future__ import annotations

import typer

from . import evaluate, grid, ingest, model_info, models, plot, serve, train
from .errors import OneLineErrors

app = typer.Typer(
    cls=OneLineErrors,
    help="equigrid: gridded temperature with uncertainty from station data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """equigrid: gridded temperature with uncertainty from station data."""


app.command("ingest")(ingest.ingest)
app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.command("grid")(grid.grid)
app.command("plot")(plot.plot)
app.command("serve")(serve.serve)
app.command("models")(models.list_models)
app.command("model-info")(model_info.model_info)


def main() -> None:
    """The console script ``equigrid``."""
    app()
