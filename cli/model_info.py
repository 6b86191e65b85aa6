"""``equigrid model-info``: what a model bundle is and how far its stations reach.

Prints the bundle's name, version, checksum, trained domain, point-wise inputs and its reach
(:func:`inference.reach.reach_deg`: how far a station informs a target, the rule of the
service's far-station notes and of which stations batch gridding uses); ``GET /v1/model``
returns the same. The docs point here instead of quoting numbers that change with the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from inference.bundle import load_bundle
from inference.reach import reach_deg


def model_info(
    model: Annotated[
        Path | None, typer.Option(help="model bundle (default: the shipped model)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Describe a model bundle: name, checksum, trained domain, inputs, reach."""
    b = load_bundle(model)
    reach = reach_deg(b)
    info = {
        "name": b.name,
        "version": b.version,
        "path": str(b.path),
        "sha256": b.sha256,
        "domain": b.domain,
        "point_aux": b.point_aux,
        "reach_deg": None if reach is None else round(reach, 2),
    }
    if as_json:
        typer.echo(json.dumps(info))
        return
    for key, value in info.items():
        typer.echo(f"{key + ':':11s} {'none' if value is None else value}")
    if reach is not None:
        typer.echo(
            f"{'':11s} a station informs targets within ±{reach:.1f} deg of latitude and "
            "longitude (the far-station notes; which stations batch gridding uses)"
        )
