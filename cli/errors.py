"""The one error formatter of our command lines: every failure and warning is one line.

:class:`OneLineErrors` (the typer group of ``equigrid``, and of ``python3 -m experiments``
with its own :attr:`~OneLineErrors.program`) runs a subcommand; what goes wrong reaches the
user as ``<program> <command>: <message>`` on stderr, with the exit code of the error: an
:class:`inference.errors.EquigridError` carries its own (``exit_code``, 2 for bad input), a
usage error (a bad option value; allowed values are listed in ``--help``) exits 2, an
``OSError`` (a file that cannot be written) 2. Python warnings raised while the command runs
are printed the same way, ``<program> <command>: warning: <message>``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import typer
from typer.core import TyperGroup

from inference.errors import EquigridError, one_line

try:  # typer >= 0.26 carries its own copy of click
    from typer._click.core import Context
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - typer on the click package
    from click import Context, UsageError  # type: ignore[assignment]


class OneLineErrors(TyperGroup):
    """Runs a subcommand; its errors become ``<program> <command>: <one line>``."""

    program: ClassVar[str] = "equigrid"

    def invoke(self, ctx: Context) -> Any:
        try:
            with self._warnings_as_lines(ctx):
                return super().invoke(ctx)
        except UsageError as e:
            self._fail(ctx, e.format_message(), e.exit_code)
        except EquigridError as e:
            self._fail(ctx, one_line(e), e.exit_code)
        except OSError as e:
            self._fail(ctx, one_line(e), 2)

    @classmethod
    def prefix(cls, ctx: Context) -> str:
        """``<program> <command>``: how every line of a command's errors starts."""
        return f"{cls.program} {ctx.invoked_subcommand}" if ctx.invoked_subcommand else cls.program

    @classmethod
    def _fail(cls, ctx: Context, message: str, code: int) -> None:
        typer.echo(f"{cls.prefix(ctx)}: {' '.join(message.split())}", err=True)
        ctx.exit(code)

    @classmethod
    @contextmanager
    def _warnings_as_lines(cls, ctx: Context) -> Iterator[None]:
        shown = warnings.showwarning

        def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
            text = " ".join(str(message).split())
            typer.echo(f"{cls.prefix(ctx)}: warning: {text}", err=True)

        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = shown
