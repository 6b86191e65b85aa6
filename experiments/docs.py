"""``python3 -m experiments render``: every generated part of ``docs/results.md`` (and of
``docs/science_notes.md``) from the committed results, so that no number there is typed by
hand: the paper-reproduction section (:mod:`experiments.results`), the benchmark blocks
(:mod:`experiments.benchmark_tables`) and the numbers in the prose
(:mod:`experiments.doc_values`). Rendering twice changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from inference.errors import ConfigError
from inference.files import write_text

from .benchmark_tables import blocks
from .doc_values import Values
from .markers import has_block, markers, splice
from .results import render


def _rewrite(path: Path, text: str) -> None:
    if path.read_text() != text:
        write_text(path, text)


def render_docs(results: Path, docs: Path, bundle: Path) -> None:
    """Render ``docs/results.md`` and ``docs/science_notes.md`` under ``docs`` from the
    results folder ``results`` (``benchmarks/results``) and the bundle at ``bundle``."""
    doc, notes = docs / "results.md", docs / "science_notes.md"
    for p in (doc, notes):
        if not p.is_file():
            raise ConfigError(f"{p}: no such document to render into")
    values = Values(results, bundle)
    _rewrite(notes, values.fill(notes.read_text()))
    render(results / "science.json", doc, notes)
    text = doc.read_text()
    for name, body in blocks(results).items():
        if not has_block(text, name):
            raise ConfigError(f"{doc}: no {' ... '.join(markers(name))} block")
        text = splice(text, name, body)
    _rewrite(doc, values.fill(text))
