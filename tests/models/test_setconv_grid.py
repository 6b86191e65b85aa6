"""The separable grid read-out equals the dense point read-out (decoder and whole model)."""

from __future__ import annotations

import pytest
import torch

import models
from models import TargetAxes, convcnp
from models.setconv import SetConvDecoder, SetConvEncoder
from tests.conftest import small_config


def _axes(b: int, n_lat: int, n_lon: int, gen: torch.Generator) -> TargetAxes:
    lat = 50 + torch.sort(torch.rand(b, n_lat, generator=gen) * 8).values
    lon = -10 + torch.sort(torch.rand(b, n_lon, generator=gen) * 12).values
    return TargetAxes((lat, lon))


def test_target_axes_points_are_row_major() -> None:
    lat, lon = torch.tensor([[1.0, 2.0]]), torch.tensor([[10.0, 20.0, 30.0]])
    pts = TargetAxes((lat, lon)).points()
    assert pts.shape == (1, 6, 2)
    assert pts[0, :, 0].tolist() == [1, 1, 1, 2, 2, 2]
    assert pts[0, :, 1].tolist() == [10, 20, 30, 10, 20, 30]


@pytest.mark.parametrize("dim", [1, 2])
def test_decoder_grid_equals_points(dim: int) -> None:
    gen = torch.Generator().manual_seed(0)
    dec = SetConvDecoder(dim, 0.3)
    n = (20, 24)[:dim]
    axes = [torch.linspace(49.0, 59.0, k, dtype=torch.float64) for k in n]
    z = torch.randn(3, 5, *n, generator=gen)
    t = _axes(3, 7, 9, gen)
    t = TargetAxes(t.axes[:dim])
    grid = dec(z, t, axes)
    dense = dec(z, t.points(), axes)
    assert grid.shape == dense.shape == (3, t.num_points, 5)
    torch.testing.assert_close(grid, dense, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["convcnp", "aeconvcnp"])
def test_model_grid_targets_equal_points(name: str) -> None:
    torch.manual_seed(0)
    m = models.build_model(name, **small_config(name)).eval()
    gen = torch.Generator().manual_seed(1)
    xc = torch.stack(
        [50 + 8 * torch.rand(2, 30, generator=gen), -10 + 12 * torch.rand(2, 30, generator=gen)], -1
    )
    yc = torch.randn(2, 30, 1, generator=gen)
    t = _axes(2, 11, 13, gen)
    with torch.no_grad():
        for strict in (False, True):
            a = m(xc, yc, t, strict=strict)
            b = m(xc, yc, t.points(), strict=strict)
            torch.testing.assert_close(a.mean, b.mean, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(a.variance, b.variance, rtol=1e-5, atol=1e-5)


def test_kernel_cutoff_leaves_no_subnormals_and_changes_nothing_beyond_rounding() -> None:
    """Weights beyond the cutoff are zero (no subnormal floats, which slow CPU matrix
    products several-fold); encoder and grid decoder still equal the uncut kernel computed
    in float64 to float32 rounding, on a window wide enough to reach the subnormal range."""
    gen = torch.Generator().manual_seed(0)
    enc, dec = SetConvEncoder(2, 0.25), SetConvDecoder(2, 0.25)
    axes = [torch.arange(0, 30, 0.25, dtype=torch.float64) for _ in range(2)]
    xc = 30 * torch.rand(1, 50, 2, generator=gen)
    yc = torch.randn(1, 50, 1, generator=gen)
    tiny = torch.finfo(torch.float32).tiny
    for w in enc.rbf.weights(xc, axes):
        assert not bool(((w > 0) & (w < tiny)).any())
        assert bool((w == 0).any())

    def exact(x: torch.Tensor, axis: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
        return torch.exp(-0.5 * ((x[..., None].double() - axis) / ls.double()) ** 2)

    ls = enc.rbf.lengthscale.detach()
    wx, wy = (exact(xc[..., d], axes[d], ls[d]) for d in range(2))
    vals = torch.cat([torch.ones_like(yc), yc], -1).double()
    grid = torch.einsum("bnc,bni,bnj->bcij", vals, wx, wy)
    ref = torch.cat([grid[:, :1], grid[:, 1:] / (grid[:, :1] + enc.eps)], 1)
    with torch.no_grad():
        got = enc(xc, yc, axes)
    torch.testing.assert_close(got.double(), ref, rtol=1e-5, atol=1e-6)

    z = torch.randn(1, 3, 120, 120, generator=gen)
    t = TargetAxes((30 * torch.rand(1, 40, generator=gen), 30 * torch.rand(1, 50, generator=gen)))
    ls = dec.rbf.lengthscale.detach()
    wa, wb = (exact(t.axes[d], axes[d], ls[d]) for d in range(2))
    ref = torch.einsum("bcij,bpi,bqj->bpqc", z.double(), wa, wb).reshape(1, -1, 3)
    with torch.no_grad():
        got = dec(z, t, axes)
    torch.testing.assert_close(got.double(), ref, rtol=1e-5, atol=1e-5)


def test_head_in_chunks_gives_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    m = models.build_model("aeconvcnp", **small_config("aeconvcnp")).eval()
    gen = torch.Generator().manual_seed(2)
    xc = torch.stack(
        [50 + 8 * torch.rand(1, 20, generator=gen), -10 + 12 * torch.rand(1, 20, generator=gen)], -1
    )
    yc = torch.randn(1, 20, 1, generator=gen)
    t = _axes(1, 13, 17, gen)
    with torch.no_grad():
        whole = m(xc, yc, t)
        monkeypatch.setattr(convcnp, "ROWS", 10)  # 221 targets in 23 chunks
        chunked = m(xc, yc, t)
    torch.testing.assert_close(chunked.mean, whole.mean, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(chunked.variance, whole.variance, rtol=1e-6, atol=1e-6)
