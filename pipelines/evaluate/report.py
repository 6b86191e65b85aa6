"""Markdown tables of ``equigrid evaluate`` results."""

from __future__ import annotations

from typing import Any

from .run import METHODS


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        "| N | method | NLL per target (K) | RMSE (K) | MAE (K) | 95 % coverage |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for n, per_method in results.items():
        for m in METHODS:
            if m in per_method:
                s = per_method[m]
                lines.append(
                    f"| {n} | {m} | {s['nll']:.3f} | {s['rmse']:.3f} | {s['mae']:.3f} "
                    f"| {s['coverage95']:.3f} |"
                )
    return "\n".join(lines) + "\n"
