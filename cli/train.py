"""``equigrid train``: train a model and write a model bundle.

On a store (``--store``, :mod:`pipelines.train.run`) or, with ``--data``, the world model on
the mixture of sources in the shared data folder (:mod:`pipelines.train.world`); one run
configuration for both (:mod:`pipelines.train.config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inference.errors import ConfigError
from pipelines.train.config import load_run_config
from pipelines.train.run import run_training
from pipelines.train.world import run_world_training

from .options import count_option, device_option


def train(
    out: Annotated[Path, typer.Option(help="model bundle directory to write")],
    store: Annotated[
        Path | None, typer.Option(help="training store (equigrid ingest); or --data")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="shared data folder: train the world model on its mixture of sources"),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="run configuration (.json or .toml)")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override, e.g. train.steps=500")
    ] = None,
    orography_aux: Annotated[
        bool,
        typer.Option(
            help="--store: orography + land fraction on the grid and point elevation as inputs"
        ),
    ] = True,
    run_dir: Annotated[
        Path | None, typer.Option(help="resumable state (default <out>.run)")
    ] = None,
    device: Annotated[str, device_option("where to train")] = "auto",
    threads: Annotated[int | None, count_option("torch CPU threads")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Train a model on a store, or the world model on the shared data, into a bundle."""
    if (store is None) == (data is None):
        raise ConfigError("give either --store (a training store) or --data (the shared data)")
    if data is not None and not data.is_dir():
        raise ConfigError(f"--data {data}: not a directory")
    overrides = list(set_ or []) + ([f"train.threads={threads}"] if threads is not None else [])
    cfg = load_run_config(config, overrides)
    try:
        if data is not None:
            result, nll = run_world_training(
                data, out, cfg, run_dir=run_dir, device=device, progress=progress
            )
            scores = ", ".join(f"{k} {v:.3f}" for k, v in nll.items())
            typer.echo(f"wrote {out}: {result.steps} steps, validation NLL (K): {scores}")
            return
        assert store is not None
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
