"""``python3 -m experiments NAME`` runs one experiment; ``python3 -m experiments render``
writes every generated part of ``docs/results.md`` from ``benchmarks/results/`` and the
shipped bundle (:mod:`experiments.docs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import OneLineErrors
from inference.bundle import DEFAULT_BUNDLE

from .config import DEFAULT_DATA, DEFAULT_DOC, DEFAULT_RESULTS, DEFAULT_RUNS, DEFAULT_STORES
from .docs import render_docs
from .drivers import EXPERIMENTS, run_experiment


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
    results: Annotated[
        Path, typer.Option(help="the results folder (science.json, benchmark results)")
    ] = DEFAULT_RESULTS.parent,
    docs: Annotated[
        Path, typer.Option(help="the folder of results.md and science_notes.md")
    ] = DEFAULT_DOC.parent,
    model: Annotated[Path, typer.Option(help="the bundle the docs describe")] = DEFAULT_BUNDLE,
) -> None:
    """Write every generated table and number of docs/results.md from the results."""
    render_docs(results, docs, model)


app()
