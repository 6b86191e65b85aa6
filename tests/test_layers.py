"""The house: which layer may import which, no import circles, small documented modules.

Layers (docs/architecture.md): models (L0) <- inference (L1) <- pipelines (L2) <- service (L3,
never pipelines) <- cli (L4); experiments and benchmarks at the repository root may use all
but cli. Checked on the source (module-level and function-level imports alike).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "inference", "pipelines", "service", "cli", "experiments")
ALLOWED = {
    "models": {"models"},
    "inference": {"models", "inference"},
    "pipelines": {"models", "inference", "pipelines"},
    "service": {"models", "inference", "service"},
    "cli": {"models", "inference", "pipelines", "service", "cli"},
    "experiments": {"models", "inference", "pipelines", "experiments"},
}
# beyond the layers: the experiments' command line formats its errors as equigrid's does
ALSO_ALLOWED = {"experiments.__main__": {"cli.errors"}}
MAX_LINES = 300


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Our modules that ``name`` imports anywhere in it (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m in MODULES and m != name}


def test_layers_import_only_downwards() -> None:
    wrong = [
        f"{name} imports {dep}"
        for name, path in MODULES.items()
        for dep in _imports(name, path)
        if dep.split(".")[0] not in ALLOWED[name.split(".")[0]]
        and dep not in ALSO_ALLOWED.get(name, set())
    ]
    assert not wrong, wrong


# Inside pipelines (docs/architecture.md): data <- tasks <- train / evaluate; batch on data
PIPELINE_STAGES = {
    "data": {"data"},
    "tasks": {"data", "tasks"},
    "train": {"data", "tasks", "train"},
    "evaluate": {"data", "tasks", "evaluate"},
    "batch": {"data", "batch"},
}


def test_pipeline_stages_import_only_earlier_stages() -> None:
    stage = {n: n.split(".")[1] for n in MODULES if n.startswith("pipelines.")}
    assert set(stage.values()) == set(PIPELINE_STAGES), "a new stage: add it to the docs"
    wrong = [
        f"{name} imports {dep}"
        for name, s in stage.items()
        for dep in _imports(name, MODULES[name])
        if dep in stage and stage[dep] not in PIPELINE_STAGES[s]
    ]
    assert not wrong, wrong


def test_no_import_circles() -> None:
    """Not even through imports inside functions or for type checking only."""
    graph = {n: _imports(n, p) for n, p in MODULES.items()}
    graph = {n: {d for d in deps if not n.startswith(d + ".")} for n, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(n: str, stack: list[str]) -> None:
        state[n] = 1
        for d in sorted(graph[n]):
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d) :], d] if d in stack else [n, d])
            elif d not in state:
                visit(d, [*stack, d])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    assert not cycles, cycles


def test_modules_are_small_and_say_what_they_own() -> None:
    long = [f"{p.relative_to(REPO)}: {n}" for p in MODULES.values()
            if (n := len(p.read_text().splitlines())) > MAX_LINES]  # fmt: skip
    undocumented = [
        str(p.relative_to(REPO))
        for p in MODULES.values()
        if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text())) is None
    ]
    assert not long and not undocumented, (long, undocumented)


def test_every_module_imports_and_the_service_never_loads_the_pipelines() -> None:
    """A fresh interpreter loads the service without any pipeline, then every module."""
    names = sorted(n for n in MODULES if "__main__" not in n)
    code = (
        "import importlib, sys, service.app\n"
        "print(sorted(m for m in sys.modules if m.startswith('pipelines')))\n"
        "for n in sys.argv[1:]: importlib.import_module(n)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *names], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", done.stdout


def test_every_module_is_listed_in_the_architecture_page() -> None:
    """docs/architecture.md is the authority on the layout: its package table ("| package |
    modules |") lists every module of the package by its path, and nothing that is gone."""
    page = (REPO / "docs" / "architecture.md").read_text()
    table = page.split("| package | modules |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`([\w/]+\.py)`", table))
    modules = {
        str(p.relative_to(REPO))
        for name, p in MODULES.items()
        if not name.startswith("experiments") and p.name not in ("__init__.py", "__main__.py")
    }
    assert not modules - listed, sorted(modules - listed)
    assert not listed - modules, sorted(listed - modules)


def test_warnings_from_our_modules_are_errors_in_the_tests() -> None:
    """pyproject's filterwarnings: ours fail a test, other libraries' (click) stay warnings."""
    import warnings

    import pytest

    for module in ("pipelines.train.loop", "cli", "inference.maps"):
        with pytest.raises(UserWarning):
            warnings.warn_explicit("ours", UserWarning, "x.py", 1, module=module)
    for module in ("click.core", "modelsx", "xarray.core"):
        with pytest.warns(UserWarning):
            warnings.warn_explicit("theirs", UserWarning, "x.py", 1, module=module)
