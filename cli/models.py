"""``equigrid models``: the model family and its parameter counts."""

from __future__ import annotations

import typer

from models import MODELS, build_model
from pipelines.data.era5 import UK_DOMAIN


def list_models() -> None:
    """List the model family (names accepted by models.build_model)."""
    for name in sorted(MODELS):
        domain = [list(r) for r in UK_DOMAIN]
        cfg = {"domain": domain} if name.startswith(("ae", "relaxed")) else {}
        m = build_model(name, **cfg)
        n = sum(p.numel() for p in m.parameters())
        typer.echo(f"{name:16s} {n:>10,d} parameters")
