"""``python3 -m experiments NAME`` runs one experiment; ``python3 -m experiments render``
renders ``benchmarks/results/science.json`` into ``docs/results.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import OneLineErrors

from .config import DEFAULT_DATA, DEFAULT_DOC, DEFAULT_RESULTS, DEFAULT_RUNS, DEFAULT_STORES
from .drivers import EXPERIMENTS, run_experiment
from .results import render


class _Errors(OneLineErrors):
    """The command line's one error (and warning) format, under this program's name."""

    program = "python3 -m experiments"


app = typer.Typer(
    cls=_Errors,
    help="The paper-reproduction experiments (see docs/results.md).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _command(name: str) -> None:
    def command(
        steps: Annotated[int | None, typer.Option(help="override the training steps")] = None,
        quick: Annotated[bool, typer.Option(help="tiny models, steps and task counts")] = False,
        results: Annotated[Path, typer.Option(help="science.json to merge into")] = DEFAULT_RESULTS,
        runs: Annotated[Path, typer.Option(help="training run directories")] = DEFAULT_RUNS,
        data: Annotated[Path, typer.Option(help="the shared data folder")] = DEFAULT_DATA,
        stores: Annotated[Path, typer.Option(help="stores ingested from it")] = DEFAULT_STORES,
        progress: Annotated[bool, typer.Option(help="progress bars")] = False,
    ) -> None:
        entries = run_experiment(
            name,
            steps=steps,
            quick=quick,
            results=results,
            runs=runs,
            data=data,
            stores=stores,
            progress=progress,
        )
        for key, val in entries.items():
            typer.echo(f"{name:18s} {key:22s} ll={val['ll']:.3f} ± {val['ll_se']:.3f}")

    command.__doc__ = f"Run the `{name}` experiment and merge it into science.json."
    app.command(name)(command)


for _name in EXPERIMENTS:
    _command(_name)


@app.command("render")
def render_cmd(
    results: Annotated[Path, typer.Option(help="science.json")] = DEFAULT_RESULTS,
    doc: Annotated[Path, typer.Option(help="the document to update")] = DEFAULT_DOC,
) -> None:
    """Render science.json into the "Paper reproduction" section of docs/results.md."""
    render(results, doc)


app()
