"""``equigrid train``: train a model on a store and write a model bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.train.config import load_run_config
from pipelines.train.run import run_training

from .options import count_option, device_option


def train(
    store: Annotated[Path, typer.Option(help="training store (equigrid ingest)")],
    out: Annotated[Path, typer.Option(help="model bundle directory to write")],
    config: Annotated[Path | None, typer.Option(help="run configuration (.json or .toml)")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override, e.g. train.steps=500")
    ] = None,
    orography_aux: Annotated[
        bool,
        typer.Option(help="orography + land fraction on the grid and point elevation as inputs"),
    ] = True,
    run_dir: Annotated[
        Path | None, typer.Option(help="resumable state (default <out>.run)")
    ] = None,
    device: Annotated[str, device_option("where to train")] = "auto",
    threads: Annotated[int | None, count_option("torch CPU threads")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Train a model on a store and write a model bundle."""
    overrides = list(set_ or []) + ([f"train.threads={threads}"] if threads is not None else [])
    cfg = load_run_config(config, overrides)
    try:
        result = run_training(
            store,
            out,
            cfg,
            run_dir=run_dir,
            orography_aux=orography_aux,
            device=device,
            progress=progress,
        )
    except KeyboardInterrupt:
        # the same prefix as every other line of the command line's (cli/errors.py)
        typer.echo(
            "equigrid train: interrupted; state saved, rerun the command to continue", err=True
        )
        raise typer.Exit(130) from None
    typer.echo(
        f"wrote {out}: {result.steps} steps, best validation NLL "
        f"{result.best_val_nll:.4f} at step {result.best_step}"
    )
