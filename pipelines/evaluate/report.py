"""Markdown tables of scores: ``equigrid evaluate`` results and every benchmark's table.

:func:`score_table` is the one writer: leading label columns, then the scores of
:func:`~pipelines.evaluate.scores.gaussian_scores` (NLL per target, RMSE, MAE, 95 % coverage)
to three decimals; :func:`markdown_table` lays out ``equigrid evaluate`` results with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .run import METHODS

SCORE_COLUMNS = (
    ("nll", "NLL per target (K)"),
    ("rmse", "RMSE (K)"),
    ("mae", "MAE (K)"),
    ("coverage95", "95 % coverage"),
)
Row = tuple[Sequence[object], Mapping[str, Any]]  # label cells, scores


def score_table(heads: Sequence[tuple[str, str]], rows: Iterable[Row]) -> str:
    """A table of ``rows``; ``heads``: (title, alignment ``---`` or ``---:``) of each label
    column, the score columns follow right-aligned."""
    titles = [t for t, _ in heads] + [t for _, t in SCORE_COLUMNS]
    rules = [a for _, a in heads] + ["---:"] * len(SCORE_COLUMNS)
    lines = [f"| {' | '.join(titles)} |", f"| {' | '.join(rules)} |"]
    for labels, s in rows:
        cells = [str(x) for x in labels] + [f"{s[k]:.3f}" for k, _ in SCORE_COLUMNS]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def markdown_table(results: dict[str, Any], labels: Mapping[str, str] | None = None) -> str:
    """``{n_stations: {method: scores}}`` as rows ``N | method``, methods in the order of
    ``labels`` (their names in the table) or of :data:`~pipelines.evaluate.run.METHODS`."""
    names = dict(labels) if labels is not None else {m: m for m in METHODS}
    rows = (
        ((n, label), per[m]) for n, per in results.items() for m, label in names.items() if m in per
    )
    return score_table([("N", "---:"), ("method", "---")], rows)
