"""Model family: symmetry, masking, auxiliaries, shapes and errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import models
from models.fixed_inputs import FixedInputs
from models.lattice import lattice_window
from tests.conftest import UK, small_config

ALL = ["convcnp", "aeconvcnp", "relaxed_convcnp", "tnp", "tetnp", "aetetnp"]
CONV = ["convcnp", "aeconvcnp", "relaxed_convcnp"]
APPROX = ["aeconvcnp", "relaxed_convcnp", "aetetnp"]


def task(dim_x: int, b: int = 2, nc: int = 20, nt: int = 30, low=None, high=None):
    """Random task inside [low, high] (default: the UK box for 2-D, [-2, 2] for 1-D)."""
    if low is None:
        low = torch.tensor([50.0, -10.0]) if dim_x == 2 else torch.tensor([-2.0])
        high = torch.tensor([58.0, 2.0]) if dim_x == 2 else torch.tensor([2.0])
    low, high = torch.as_tensor(low), torch.as_tensor(high)
    xc = low + (high - low) * torch.rand(b, nc, dim_x)
    xt = low + (high - low) * torch.rand(b, nt, dim_x)
    yc = torch.sin(xc.sum(-1, keepdim=True)) + 0.1 * torch.randn(b, nc, 1)
    return xc, yc, xt


def build(name: str, dim_x: int = 2, **over):
    return models.build_model(name, **(small_config(name, dim_x) | over)).eval()


def predict(model, xc, yc, xt, **kw):
    with torch.no_grad():
        d = model(xc, yc, xt, **kw)
    return d.mean, d.stddev


@pytest.mark.parametrize("dim_x", [1, 2])
@pytest.mark.parametrize("name", ALL)
def test_output_shape_and_positive_variance(name: str, dim_x: int) -> None:
    m = build(name, dim_x)
    xc, yc, xt = task(dim_x)
    mean, std = predict(m, xc, yc, xt)
    assert mean.shape == (2, 30, 1) and std.shape == (2, 30, 1)
    assert torch.isfinite(mean).all() and (std > 0).all()


@pytest.mark.parametrize("dim_x", [1, 2])
@pytest.mark.parametrize("name", CONV)
def test_lattice_shift_equivariance_of_equivariant_component(name: str, dim_x: int) -> None:
    m = build(name, dim_x)
    xc, yc, xt = task(dim_x)
    # whole UNet strides: windows are anchored to the global lattice (models/lattice.py)
    cells = torch.tensor([3.0, -7.0][:dim_x]) * m.cnn.multiple * torch.tensor([5.0, 3.0][:dim_x])
    shift = cells / m.points_per_unit
    a = predict(m, xc, yc, xt, strict=True)
    b = predict(m, xc + shift, yc, xt + shift, strict=True)
    torch.testing.assert_close(a[0], b[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(a[1], b[1], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["tetnp", "aetetnp"])
def test_tetnp_equivariant_to_real_shifts(name: str) -> None:
    m = build(name)
    xc, yc, xt = task(2)
    shift = torch.tensor([0.123456, -1.987654])
    a = predict(m, xc, yc, xt, strict=True)
    b = predict(m, xc + shift, yc, xt + shift, strict=True)
    torch.testing.assert_close(a[0], b[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(a[1], b[1], atol=1e-4, rtol=1e-4)


def test_tnp_is_not_translation_equivariant() -> None:
    m = build("tnp", domain=UK)
    xc, yc, xt = task(2)
    a = predict(m, xc, yc, xt)[0]
    b = predict(m, xc + 1.0, yc, xt + 1.0)[0]
    assert (a - b).abs().max() > 1e-3


@pytest.mark.parametrize("name", APPROX)
def test_fixed_inputs_break_equivariance_inside_domain(name: str) -> None:
    m = build(name)
    xc, yc, xt = task(2, low=[52.0, -8.0], high=[55.0, -4.0])
    shift = torch.tensor([1.0, 1.0])  # a lattice multiple for points_per_unit = 4
    a = predict(m, xc, yc, xt)[0]
    b = predict(m, xc + shift, yc, xt + shift)[0]
    assert (a - b).abs().max() > 1e-4
    assert models.equivariance_deviation(m, xc, yc, xt) > 0


@pytest.mark.parametrize("name", APPROX)
def test_outside_domain_equals_equivariant_component_exactly(name: str) -> None:
    m = build(name)
    # far from the UK box: further than the grid margin, so no grid cell lies in the domain
    xc, yc, xt = task(2, low=[10.0, 60.0], high=[16.0, 66.0])
    full = predict(m, xc, yc, xt)
    strict = predict(m, xc, yc, xt, strict=True)
    assert torch.equal(full[0], strict[0]) and torch.equal(full[1], strict[1])
    assert models.equivariance_deviation(m, xc, yc, xt) == 0.0


@pytest.mark.parametrize("name", ["convcnp", "tetnp"])
def test_strict_models_have_zero_equivariance_deviation(name: str) -> None:
    m = build(name)
    assert models.equivariance_deviation(m, *task(2)) == 0.0


@pytest.mark.parametrize("name", ALL)
def test_context_permutation_invariance(name: str) -> None:
    m = build(name)
    xc, yc, xt = task(2)
    perm = torch.randperm(xc.shape[1])
    a = predict(m, xc, yc, xt)
    b = predict(m, xc[:, perm], yc[:, perm], xt)
    torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a[1], b[1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ALL)
def test_padded_context_with_mask_matches_unpadded(name: str) -> None:
    m = build(name)
    xc, yc, xt = task(2, b=1)
    pad_x = torch.cat([xc, torch.full((1, 5, 2), 1e3)], dim=1)  # garbage far away
    pad_y = torch.cat([yc, torch.full((1, 5, 1), 99.0)], dim=1)
    mask = torch.cat([torch.ones(1, 20), torch.zeros(1, 5)], dim=1)
    a = predict(m, xc, yc, xt)
    b = predict(m, pad_x, pad_y, xt, mask_c=mask)
    torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a[1], b[1], atol=1e-5, rtol=1e-5)


def test_different_context_sizes_in_one_batch() -> None:
    m = build("aeconvcnp")
    xc, yc, xt = task(2, b=2)
    mask = torch.ones(2, 20)
    mask[1, 12:] = 0
    batched = predict(m, xc, yc, xt, mask_c=mask)[0]
    alone = predict(m, xc[1:, :12], yc[1:, :12], xt[1:])[0]
    torch.testing.assert_close(batched[1:], alone, atol=1e-4, rtol=1e-4)


def test_convcnp_predictions_do_not_depend_on_other_targets() -> None:
    """The grid margin covers the receptive field: the window's edge never reaches a target."""
    m = build("aeconvcnp")
    xc, yc, xt = task(2, b=1)
    far = torch.cat([xt, torch.tensor([[[57.9, 1.9], [50.1, -9.9]]])], dim=1)
    a = predict(m, xc, yc, xt)[0]
    b = predict(m, xc, yc, far)[0][:, : xt.shape[1]]
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_pointwise_auxiliaries_reach_the_decoder() -> None:
    m = build("aeconvcnp", dim_aux=1)
    xc, yc, xt = task(2, b=1)
    aux_c, aux_t = torch.rand(1, 20, 1), torch.rand(1, 30, 1)
    a = predict(m, xc, yc, xt, aux_c=aux_c, aux_t=aux_t)[0]
    b = predict(m, xc, yc, xt, aux_c=aux_c, aux_t=aux_t + 1.0)[0]
    assert (a - b).abs().min() > 0  # every target sees its own elevation
    with pytest.raises(ValueError, match="aux_c and aux_t"):
        m(xc, yc, xt)


@pytest.mark.parametrize("name", ["tnp", "aetetnp"])
def test_pointwise_auxiliaries_in_transformers(name: str) -> None:
    m = build(name, dim_aux=1, domain=UK)
    xc, yc, xt = task(2, b=1)
    aux_c, aux_t = torch.rand(1, 20, 1), torch.rand(1, 30, 1)
    a = predict(m, xc, yc, xt, aux_c=aux_c, aux_t=aux_t)[0]
    b = predict(m, xc, yc, xt, aux_c=aux_c, aux_t=aux_t + 1.0)[0]
    assert (a - b).abs().min() > 0


def test_gridded_auxiliaries_change_predictions_and_survive_save_load(tmp_path) -> None:
    aux = {
        "names": ["orog", "land"],
        "origin": [50.0, -10.0],
        "spacing": [0.25, 0.25],
        "shape": [33, 49],
    }
    m = build("aeconvcnp", aux_grid=aux)
    raster = torch.stack([torch.rand(33, 49) * 500, (torch.rand(33, 49) > 0.5).float()])
    m.gridded_aux.set_raster(raster)
    xc, yc, xt = task(2, b=1)
    a = predict(m, xc, yc, xt)[0]
    m2 = models.load(models.save(m, tmp_path / "ck"))
    torch.testing.assert_close(predict(m2, xc, yc, xt)[0], a)
    m2.gridded_aux.set_raster(raster * 0.5, fit_normalisation=False)
    assert (predict(m2, xc, yc, xt)[0] - a).abs().max() > 1e-5
    elev = m.gridded_aux.at_points(torch.tensor([[50.0, -10.0], [0.0, 0.0]]))
    torch.testing.assert_close(elev[0], raster[:, 0, 0])
    assert torch.isnan(elev[1]).all()


def test_lattice_window_shifts_with_inputs() -> None:
    x = torch.tensor([[[50.1, -3.3], [52.7, 1.2]]])
    w = lattice_window([x], 4.0, margin=3, multiple=4)
    w2 = lattice_window([x + torch.tensor([2.0, -1.0])], 4.0, margin=3, multiple=4)
    assert w.shape == w2.shape and all(s % 4 == 0 for s in w.shape)
    assert w2.start == (w.start[0] + 8, w.start[1] - 4)  # shifts by whole strides
    assert all(s % 4 == 0 for s in w.start)  # anchored to the global lattice
    pts = w.points()
    assert pts.shape == (w.shape[0] * w.shape[1], 2)
    assert pts[:, 0].min() <= 50.1 - 3 / 4 and pts[:, 1].max() >= 1.2 + 3 / 4


def test_fixed_inputs_mask_taper_dropout_and_strict() -> None:
    fi = FixedInputs(1, 3, [[-1.0, 1.0]], taper=0.5, p_drop=0.5)
    x = torch.tensor([[-2.0], [-1.0], [-0.75], [-0.5], [0.0], [1.0], [1.5]])
    m = fi.mask(x).squeeze(-1)
    assert m[0] == 0 and m[1] == 0 and m[6] == 0 and m[5] == 0
    assert 0 < m[2] < 1 and m[3] == 1 and m[4] == 1
    f = fi.features(x)
    assert (f[0] == 0).all() and (f[6] == 0).all()
    fi.train()
    keep = fi.keep(4000, torch.device("cpu"))
    assert set(keep.unique().tolist()) <= {0.0, 1.0} and 0.45 < keep.mean() < 0.55
    assert (fi.keep(10, torch.device("cpu"), strict=True) == 0).all()
    fi.eval()
    assert (fi.keep(10, torch.device("cpu")) == 1).all()
    xb = torch.zeros(3, 5, 1)
    assert (fi(xb, strict=True) == 0).all()


def test_fixed_inputs_dropped_per_task_in_training() -> None:
    m = build("aeconvcnp", p_drop=0.5).train()
    xc, yc, xt = task(2, b=64)
    strict = predict(m, xc, yc, xt, strict=True)[0]
    full = m(xc, yc, xt).mean.detach()
    same = (full - strict).abs().amax(dim=(1, 2)) == 0
    assert 10 < int(same.sum()) < 54  # about half the tasks had their fixed inputs dropped


@pytest.mark.parametrize(
    ("name", "cfg", "match"),
    [
        ("nope", {}, "unknown model"),
        ("aeconvcnp", {"domain": None}, "need `domain`"),
        ("aeconvcnp", {"domain": [[1.0, 0.0], [0.0, 1.0]]}, "low < high"),
        ("convcnp", {"fixed_channels": 2}, "strictly equivariant"),
        ("tetnp", {"domain": UK}, "strictly equivariant"),
        ("aeconvcnp", {"domain": UK, "p_drop": 1.5}, "p_drop"),
    ],
)
def test_bad_configuration_is_refused(name: str, cfg: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        models.build_model(name, **cfg)


def test_bad_shapes_are_refused_with_the_argument_named() -> None:
    m = build("convcnp")
    xc, yc, xt = task(2)
    with pytest.raises(ValueError, match="yc must be"):
        m(xc, yc[:, :3], xt)
    with pytest.raises(ValueError, match="xt must be"):
        m(xc, yc, xt[..., :1])
    with pytest.raises(ValueError, match="empty"):
        m(xc[:, :0], yc[:, :0], xt)
    with pytest.raises(ValueError, match="non-finite"):
        m(xc * float("nan"), yc, xt)


def test_build_model_ignores_none_overrides() -> None:
    m = models.build_model("convcnp", points_per_unit=None, dim_x=1)
    assert m.points_per_unit == 4.0 and m.config == {"dim_x": 1}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ALL)
def test_cuda_matches_cpu(name: str) -> None:
    m = build(name)
    xc, yc, xt = task(2)
    a = predict(m, xc, yc, xt)[0]
    b = predict(m.cuda(), xc.cuda(), yc.cuda(), xt.cuda())[0].cpu()
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@settings(max_examples=15, deadline=None)
@given(
    k=st.tuples(st.integers(-40, 40), st.integers(-40, 40)),
    name=st.sampled_from(CONV),
)
def test_property_any_lattice_shift_leaves_equivariant_component_unchanged(k, name) -> None:
    """Any shift by whole UNet strides (the window is anchored to the global lattice)."""
    torch.manual_seed(0)
    m = build(name)
    xc, yc, xt = task(2, b=1, nc=10, nt=12)
    shift = torch.tensor(k, dtype=torch.float32) * m.cnn.multiple / m.points_per_unit
    a = predict(m, xc, yc, xt, strict=True)[0]
    b = predict(m, xc + shift, yc, xt + shift, strict=True)[0]
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
