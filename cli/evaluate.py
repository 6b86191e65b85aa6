"""``equigrid evaluate``: score a bundle, its equivariant component and kriging on a store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import torch
import typer

from inference.bundle import load_bundle
from inference.errors import ConfigError
from inference.files import write_text
from pipelines.data.store import open_store
from pipelines.evaluate.report import markdown_table
from pipelines.evaluate.run import era5_field
from pipelines.evaluate.run import evaluate as run_evaluation
from pipelines.tasks.field import load_split

from .options import Split, count_option, integers


def evaluate(
    model: Annotated[Path, typer.Option(help="model bundle directory")],
    store: Annotated[Path | None, typer.Option(help="store (equigrid ingest)")] = None,
    split: Annotated[Split, typer.Option(help="store split (with --store)")] = Split.test,
    era5: Annotated[Path | None, typer.Option(help="instead of --store: any ERA5 t2m file")] = None,
    orography: Annotated[Path | None, typer.Option(help="with --era5: orography file")] = None,
    stations: Annotated[str, typer.Option(help="station counts N")] = "20,100,400",
    hours: Annotated[int, count_option("tasks (hours) per N")] = 64,
    seed: Annotated[int, typer.Option()] = 2024,
    out: Annotated[Path | None, typer.Option(help="write the results as JSON")] = None,
    markdown: Annotated[bool, typer.Option(help="print a Markdown table")] = False,
    kriging: Annotated[bool, typer.Option(help="also score kriging with external drift")] = True,
    plot: Annotated[Path | None, typer.Option(help="directory for maps of one task per N")] = None,
    threads: Annotated[int | None, count_option("torch CPU threads")] = None,
) -> None:
    """Score a model bundle on a store split against its equivariant part and kriging."""
    if threads:
        torch.set_num_threads(threads)
    ns = integers(stations, "--stations")
    if not ns or min(ns) < 1:
        raise ConfigError("--stations needs at least one positive count")
    bundle = load_bundle(model)
    if (store is None) == (era5 is None):
        raise ConfigError("give exactly one of --store and --era5")
    if era5 is not None:
        data = era5_field(era5, orography, bundle)
    else:
        assert store is not None
        data = load_split(open_store(store), split.value)
    results = run_evaluation(bundle, data, ns, hours, seed, kriging=kriging, plot_dir=plot)
    doc = {
        "model": str(model),
        "model_sha256": bundle.sha256,
        "data": str(store) if store is not None else str(era5),
        "split": split.value if store is not None else "all time steps",
        "hours": hours,
        "seed": seed,
        "protocol": "per task one hour, N random cells as stations, all other cells targets",
        "results": results,
    }
    if out is not None:
        write_text(out, json.dumps(doc, indent=1) + "\n")
    if markdown or out is None:
        typer.echo(markdown_table(results))
