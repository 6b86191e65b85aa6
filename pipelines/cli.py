"""The ``equigrid`` command line.

Each subcommand lives beside the code it drives and registers itself through a
``register(app)`` function; this module only lists them.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    help="equigrid: gridded temperature with uncertainty from station data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# modules that define `register(app: typer.Typer) -> None`
COMMAND_MODULES = [
    "pipelines.ingest",
    "pipelines.train",
    "pipelines.evaluate",
    "pipelines.gridding",
    "service.cli",
    "pipelines.experiments",
]


@app.callback()
def main() -> None:
    """equigrid: gridded temperature with uncertainty from station data."""


@app.command("models")
def list_models() -> None:
    """List the model family (names accepted by models.build_model)."""
    from models import MODELS, build_model

    for name in sorted(MODELS):
        cfg = {"domain": [[50, 58], [-10, 2]]} if name.startswith(("ae", "relaxed")) else {}
        m = build_model(name, **cfg)
        n = sum(p.numel() for p in m.parameters())
        typer.echo(f"{name:16s} {n:>10,d} parameters")


for _mod in COMMAND_MODULES:
    try:
        importlib.import_module(_mod).register(app)
    except ModuleNotFoundError as _e:  # a command module not written yet
        if _e.name != _mod:
            raise


if __name__ == "__main__":  # python -m pipelines.cli
    app()
