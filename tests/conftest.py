"""Shared fixtures: small model configurations and the path to ../shared/data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EQUIGRID_SHARED_DATA", REPO.parent / "shared" / "data"))

UK = [[50.0, 58.0], [-10.0, 2.0]]
SMALL_CNN = {"unet_channels": [8, 8, 8], "kernel_size": 3, "head_width": 16}
SMALL_TNP = {"d_model": 16, "num_heads": 2, "num_layers": 2}


def small_config(name: str, dim_x: int = 2, domain: list[list[float]] | None = None) -> dict:
    """A small configuration of ``name`` for fast tests."""
    cfg: dict = {"dim_x": dim_x}
    if name in ("convcnp", "aeconvcnp", "relaxed_convcnp"):
        cfg |= SMALL_CNN | {"points_per_unit": 4.0}
    else:
        cfg |= SMALL_TNP
    if name in ("aeconvcnp", "relaxed_convcnp", "aetetnp"):
        cfg["domain"] = domain if domain is not None else (UK if dim_x == 2 else [[-2.0, 2.0]])
    return cfg


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip with the reason where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (third-party files beside the repo)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def cf_compliance(path: Path) -> None:
    """Fail unless the IOOS compliance-checker passes ``path`` for CF-1.10 (a dev extra; the
    test skips where it is not installed)."""
    pytest.importorskip("compliance_checker")
    checker = Path(sys.executable).parent / "compliance-checker"
    out = subprocess.run(
        [str(checker), "--test", "cf:1.10", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and "All tests passed" in out.stdout, out.stdout
