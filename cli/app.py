"""The typer app: every command registered here, and the one error formatter.

Errors reach the user as one line, ``equigrid <command>: <message>``, on stderr, with the
exit code of the error: an :class:`inference.errors.EquigridError` carries its own
(``exit_code``, 2 for bad input), a usage error (bad option value; allowed values are
enums listed in ``--help``) exits 2, an ``OSError`` (a file that cannot be written) 2.

To add a command: write a module beside this one with a function whose parameters are
``Annotated[..., typer.Option(...)]`` (raise ``EquigridError`` subclasses for bad input;
parse comma lists with :mod:`cli.options`), import it below and register it in ``app``.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from inference.errors import EquigridError, one_line

try:  # typer >= 0.26 carries its own copy of click
    from typer._click.core import Context
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - typer on the click package
    from click import Context, UsageError  # type: ignore[assignment]

from . import evaluate, grid, ingest, models, plot, serve, train


class _OneLineErrors(TyperGroup):
    """Runs a subcommand; its errors become ``equigrid <command>: <one line>``."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as e:
            self._fail(ctx, e.format_message(), e.exit_code)
        except EquigridError as e:
            self._fail(ctx, one_line(e), e.exit_code)
        except OSError as e:
            self._fail(ctx, one_line(e), 2)

    @staticmethod
    def _fail(ctx: Context, message: str, code: int) -> None:
        name = f" {ctx.invoked_subcommand}" if ctx.invoked_subcommand else ""
        typer.echo(f"equigrid{name}: {' '.join(message.split())}", err=True)
        ctx.exit(code)


app = typer.Typer(
    cls=_OneLineErrors,
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


def main() -> None:
    """The console script ``equigrid``."""
    app()
