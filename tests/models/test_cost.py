"""The admission cost estimate (``models.cost``) follows what the model really computes:
within a factor of two of the multiply-adds torch's FlopCounterMode counts, for grid
targets and for point targets (which the decoder reads from each point's neighbourhood)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import models
from models import TargetAxes
from models.cost import forward_macs
from tests.models.test_invariants import ARCH as TEMPERATURE

# the temperature model's architecture, a little wider (work per cell worth counting)
ARCH = TEMPERATURE | {"unet_channels": [8, 16, 16], "head_width": 32, "fixed_width": 16}


def _uniform(n: int, lat: tuple[float, float], lon: tuple[float, float]) -> torch.Tensor:
    g = torch.Generator().manual_seed(n)
    u = torch.rand(1, n, 2, generator=g)
    return torch.stack(
        [lat[0] + (lat[1] - lat[0]) * u[..., 0], lon[0] + (lon[1] - lon[0]) * u[..., 1]], -1
    )


@pytest.mark.parametrize(
    ("n_context", "targets", "box"),
    [
        (400, (120, 160), ((50.0, 58.0), (-10.0, 2.0))),  # a grid: separable read-out
        (400, 3000, ((50.0, 58.0), (-10.0, 2.0))),  # points: local read-out
        (50, 20000, ((40.0, 60.0), (-20.0, 10.0))),  # many points over a wide window
        (30, 200, ((53.0, 54.0), (-2.0, -1.0))),  # points on a small window
    ],
)
def test_estimate_is_within_a_factor_of_two_of_counted_work(
    n_context: int, targets: int | tuple[int, int], box: tuple
) -> None:
    torch.manual_seed(0)
    m = models.build_model("aeconvcnp", **ARCH).eval()
    xc = _uniform(n_context, *box)
    yc = torch.randn(1, n_context, 1)
    ec = 500 * torch.rand(1, n_context, 1)
    if isinstance(targets, tuple):
        (a, b), (c, d) = box
        xt: torch.Tensor | TargetAxes = TargetAxes(
            (torch.linspace(a, b, targets[0])[None], torch.linspace(c, d, targets[1])[None])
        )
        n_t, corners = targets[0] * targets[1], xt.corners()
    else:
        xt = corners = _uniform(targets, *box)
        n_t = targets
    et = 500 * torch.rand(1, n_t, 1)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        m(xc, yc, xt, aux_c=ec, aux_t=et)
    counted = counter.get_total_flops() / 2
    shape = m.window(xc, corners).shape
    estimate = forward_macs(m, n_context, shape, targets)
    assert 0.5 < estimate / counted < 2.0, (estimate, counted)
