"""Fixed inputs on CPU run their network only inside the domain: the same numbers as the
whole batch through it, masked (what accelerators do), and exact zeros outside."""

from __future__ import annotations

import torch

from models.fixed_inputs import FixedInputs


def test_inside_only_equals_the_masked_whole_batch() -> None:
    torch.manual_seed(0)
    f = FixedInputs(2, 4, [[50.0, 58.0], [-10.0, 2.0]], hidden=16, taper=0.5).eval()
    x = torch.stack([40 + 30 * torch.rand(500), -20 + 30 * torch.rand(500)], -1)
    with torch.no_grad():
        got = f.features(x)
        m = f.mask(x)
        u = 2.0 * (x - f.domain[:, 0]) / (f.domain[:, 1] - f.domain[:, 0]) - 1.0
        whole = torch.where(m > 0, f.mlp(u) * m, torch.zeros(()))
    inside = m[:, 0] > 0
    assert 0 < int(inside.sum()) < len(x)
    torch.testing.assert_close(got, whole, rtol=1e-6, atol=1e-7)
    assert bool((got[~inside] == 0).all())
