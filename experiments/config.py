"""What every experiment shares: paths, budgets, the model family's small configurations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

FAMILY = ("tnp", "tetnp", "aetetnp", "convcnp", "aeconvcnp", "relaxed_convcnp")
APPROX = ("aetetnp", "aeconvcnp", "relaxed_convcnp")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = REPO / "benchmarks" / "results" / "science.json"
DEFAULT_RUNS = REPO / "runs" / "science"
DEFAULT_STORES = REPO / "runs" / "stores"
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_DOC = REPO / "docs" / "results.md"
IMG = REPO / "docs" / "img"
GP_DOMAIN = [[-2.0, 2.0]]
GP_SET_SIZE = 4096  # the seeded validation and test sets; evaluation may use a prefix
GP_SEEDS = {"val": 10_000, "test": 20_000}
ERA5_TRAIN_WINDOW = (16, 24)  # training tasks: random windows, 1-30 % of their cells
ERA5_TRAIN_TARGETS = 128


@dataclass(frozen=True)
class Budget:
    """Training and evaluation sizes of one experiment (the same for all its models)."""

    steps: int
    batch_size: int
    n_val: int  # validation tasks used for model selection during training
    n_test: int  # test tasks scored (a prefix / seeded subset of the fixed test set)
    lr: float = 1e-3


BUDGETS = {
    "gp1d": Budget(steps=1000, batch_size=16, n_val=128, n_test=GP_SET_SIZE),
    # investigation: is the ConvCNP pair's ordering a matter of training length?
    "gp1d_long": Budget(steps=2000, batch_size=16, n_val=128, n_test=GP_SET_SIZE),
    "era5": Budget(steps=1000, batch_size=8, n_val=32, n_test=64),
}
QUICK = Budget(steps=2, batch_size=2, n_val=2, n_test=2)


@dataclass
class Context:
    """What every experiment needs: paths, the budget, and whether this is a quick check."""

    results: Path
    runs: Path
    data: Path
    budget: Budget
    quick: bool
    stores: Path = DEFAULT_STORES
    device: str = "cpu"
    progress: bool = False

    def log(self, msg: str) -> None:
        typer.echo(msg, err=True)


def model_config(
    name: str, dim_x: int, domain: Sequence[Sequence[float]], quick: bool
) -> dict[str, Any]:
    """The (small, CPU-sized) configuration of ``name`` used in every experiment."""
    if name.endswith("convcnp"):
        if quick:
            cfg: dict[str, Any] = {"unet_channels": [4, 4], "kernel_size": 3, "head_width": 8}
        elif dim_x == 1:  # radius 130 cells = 8 units: every target sees every context
            cfg = {"unet_channels": [16, 32, 32, 32, 32], "kernel_size": 5, "head_width": 32}
        else:  # radius 15 cells = 3.75 degrees
            cfg = {"unet_channels": [16, 32, 32], "kernel_size": 3, "head_width": 32}
        cfg["points_per_unit"] = 16.0 if dim_x == 1 else 4.0
    else:
        cfg = {"d_model": 8 if quick else 32, "num_heads": 2 if quick else 4, "num_layers": 2}
    if name in APPROX or name == "tnp":
        # the TNP uses it only to scale its absolute inputs
        cfg["domain"] = [list(r) for r in domain]
    if name in ("aeconvcnp", "aetetnp"):
        cfg |= {"fixed_channels": 4, "fourier_features": 4, "fixed_width": 32, "p_drop": 0.5}
    return {"dim_x": dim_x} | cfg
