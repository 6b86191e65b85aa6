"""Invariants of the temperature model (issue 9), on untrained and on the shipped weights.

- a constant shift of every station value shifts every predicted mean by exactly that
  constant and leaves the variances unchanged;
- the response to a target's elevation follows the stations' lapse rate (normal lapse:
  colder aloft; inversion: warmer aloft);
- targets added far away, or 1-3 cells to the south-west (the UNet's stride phase), change
  nothing at the other targets;
- the equivariant component (``strict``) is translation equivariant with every input the
  model has, gridded auxiliary rasters included;
- missing station elevations are never filled in next to given ones.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import models
from inference.bundle import DEFAULT_BUNDLE, load_bundle
from inference.predictor import BundlePredictor, Prediction
from inference.query import Query
from models.lattice import lattice_window

ARCH = {
    "points_per_unit": 4.0,
    "unet_channels": [8, 8, 8],
    "kernel_size": 3,
    "head_width": 16,
    "fixed_channels": 2,
    "fixed_width": 8,
    "extra_margin": 8,
    "domain": [[50.0, 58.0], [-10.0, 2.0]],
    "dim_aux": 1,
    "anomalies": True,
    "trend": {},
}


def untrained(**over: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return models.build_model("aeconvcnp", **(ARCH | over)).eval()


class Shipped:
    """The shipped bundle behind the predictor the service and batch gridding use."""

    def __init__(self) -> None:
        self.predictor = BundlePredictor(load_bundle(DEFAULT_BUNDLE))

    def predict(self, s_lat, s_lon, s_val, t_lat, t_lon, **kw) -> Prediction:
        return self.predictor.predict(Query(s_lat, s_lon, s_val, t_lat, t_lon, **kw))


@pytest.fixture(scope="module")
def shipped() -> Shipped:
    return Shipped()


def _network(seed: int = 0, n: int = 40, lat0: float = 46.5, lon0: float = 11.0):
    rng = np.random.default_rng(seed)
    lat = lat0 + rng.uniform(0, 1.0, n)
    lon = lon0 + rng.uniform(0, 1.5, n)
    elev = rng.uniform(200, 2800, n)
    return lat, lon, elev, rng


def _tensors(lat, lon, val, elev):
    x = torch.tensor(np.stack([lat, lon], -1), dtype=torch.float32)[None]
    y = torch.tensor(val, dtype=torch.float32)[None, :, None]
    e = torch.tensor(elev, dtype=torch.float32)[None, :, None]
    return x, y, e


# ------------------------------------------------------------------------ value shift


@torch.no_grad()
def test_value_shift_untrained_model_is_exact() -> None:
    m = untrained()
    lat, lon, elev, rng = _network()
    val = 270 + rng.normal(0, 2, len(lat))
    xc, yc, ec = _tensors(lat, lon, val, elev)
    xt, _, et = _tensors(lat[:10] + 0.05, lon[:10] - 0.05, val[:10], elev[:10] + 100)
    for strict in (False, True):
        a = m(xc, yc, xt, aux_c=ec, aux_t=et, strict=strict)
        b = m(xc, yc + 12.0, xt, aux_c=ec, aux_t=et, strict=strict)
        assert torch.allclose(b.mean - a.mean, torch.full_like(a.mean, 12.0), atol=1e-4)
        assert torch.allclose(a.variance, b.variance, rtol=1e-5)  # float32 rounding of 270 K


@pytest.mark.parametrize("shift", [12.0, -35.5])
def test_value_shift_shipped_bundle_is_exact(shipped: Shipped, shift: float) -> None:
    lat, lon, elev, rng = _network(1)
    val = 268 + rng.normal(0, 3, len(lat))
    kw = {"station_elevation": elev, "target_elevation": elev[:8] + 300}
    a = shipped.predict(lat, lon, val, lat[:8] + 0.02, lon[:8], **kw)
    b = shipped.predict(lat, lon, val + shift, lat[:8] + 0.02, lon[:8], **kw)
    np.testing.assert_allclose(b.mean - a.mean, shift, atol=1e-6)
    np.testing.assert_allclose(b.variance, a.variance, rtol=1e-6)


# ------------------------------------------------------------------------ elevation


def _lapse_response(predict, rate_k_per_km: float) -> float:
    lat, lon, elev, rng = _network(2)
    val = 275 + rate_k_per_km * elev / 1000 + rng.normal(0, 0.3, len(lat))
    t_lat, t_lon = np.array([46.9, 46.9]), np.array([11.7, 11.7])
    mean = predict(lat, lon, val, elev, t_lat, t_lon, np.array([800.0, 1800.0]))
    return float(mean[1] - mean[0])  # K per 1,000 m


def _raw(m):
    @torch.no_grad()
    def predict(lat, lon, val, elev, t_lat, t_lon, t_elev):
        xc, yc, ec = _tensors(lat, lon, val, elev)
        xt, _, et = _tensors(t_lat, t_lon, t_lat, t_elev)
        return m(xc, yc, xt, aux_c=ec, aux_t=et).mean[0, :, 0].numpy()

    return predict


def _bundle(b: Shipped):
    def predict(lat, lon, val, elev, t_lat, t_lon, t_elev):
        p = b.predict(lat, lon, val, t_lat, t_lon, station_elevation=elev, target_elevation=t_elev)
        return p.mean

    return predict


@pytest.mark.parametrize("rate", [-6.5, 4.0])
def test_elevation_response_follows_the_stations_untrained(rate: float) -> None:
    got = _lapse_response(_raw(untrained()), rate)
    assert np.sign(got) == np.sign(rate) and abs(got - rate) < 1.5


@pytest.mark.parametrize("rate", [-6.5, 4.0])
def test_elevation_response_follows_the_stations_shipped(shipped: Shipped, rate: float) -> None:
    got = _lapse_response(_bundle(shipped), rate)
    assert np.sign(got) == np.sign(rate) and abs(got - rate) < 2.0


# ------------------------------------------------------------------------ extent of a request


def test_window_start_is_anchored_to_the_unet_stride() -> None:
    x = torch.tensor([[[50.13, -3.2], [51.0, -2.0]]])
    for d in np.linspace(0.0, 2.0, 9):
        w = lattice_window([x, x - float(d)], 4.0, margin=17, multiple=4)
        assert all(s % 4 == 0 for s in w.start) and all(n % 4 == 0 for n in w.shape)


def _extent_check(predict) -> None:
    lat, lon, elev, rng = _network(3, lat0=53.0, lon0=-3.0)
    val = 280 + rng.normal(0, 1.5, len(lat))
    t_lat, t_lon, t_elev = lat[:12] + 0.03, lon[:12] + 0.04, elev[:12]
    base = predict(lat, lon, val, elev, t_lat, t_lon, t_elev)
    for d_lat, d_lon in [(-0.25, -0.25), (-0.5, -0.75), (-0.75, -0.5), (-6.0, -9.0)]:
        extra_lat = np.r_[t_lat, lat.min() + d_lat]
        extra_lon = np.r_[t_lon, lon.min() + d_lon]
        more = predict(lat, lon, val, elev, extra_lat, extra_lon, np.r_[t_elev, 100.0])
        np.testing.assert_allclose(more[0][:12], base[0], atol=2e-5)
        np.testing.assert_allclose(more[1][:12], base[1], rtol=2e-5, atol=1e-7)


def test_targets_to_the_south_west_change_nothing_untrained() -> None:
    m = untrained()

    @torch.no_grad()
    def predict(lat, lon, val, elev, t_lat, t_lon, t_elev):
        xc, yc, ec = _tensors(lat, lon, val, elev)
        xt, _, et = _tensors(t_lat, t_lon, t_lat, t_elev)
        d = m(xc, yc, xt, aux_c=ec, aux_t=et)
        return d.mean[0, :, 0].numpy(), d.variance[0, :, 0].numpy()

    _extent_check(predict)


def test_targets_far_away_change_nothing_shipped(shipped: Shipped) -> None:
    def predict(lat, lon, val, elev, t_lat, t_lon, t_elev):
        p = shipped.predict(
            lat, lon, val, t_lat, t_lon, station_elevation=elev, target_elevation=t_elev
        )
        return p.mean, p.variance

    _extent_check(predict)


# ------------------------------------------------------------------------ equivariant component


def _with_raster(m: torch.nn.Module) -> torch.nn.Module:
    g = torch.Generator().manual_seed(1)
    m.gridded_aux.set_raster(
        torch.rand(2, 33, 49, generator=g) * torch.tensor([800.0, 1.0])[:, None, None]
    )
    return m


@torch.no_grad()
@pytest.mark.parametrize("gridded", [False, True])
def test_equivariant_component_is_translation_equivariant(gridded: bool) -> None:
    aux = {
        "names": ["orog", "land_fraction"],
        "origin": [50.0, -10.0],
        "spacing": [0.25, 0.25],
        "shape": [33, 49],
    }
    m = untrained(**({"aux_grid": aux} if gridded else {}))
    if gridded:
        m = _with_raster(m)
    lat, lon, elev, rng = _network(4, lat0=53.0, lon0=-4.0)
    val = 280 + rng.normal(0, 1.5, len(lat))
    xc, yc, ec = _tensors(lat, lon, val, elev)
    xt, _, et = _tensors(lat[:10] + 0.07, lon[:10] - 0.03, val[:10], elev[:10])
    shift = torch.tensor([1.0, -3.0])  # whole UNet strides (4 cells = 1 deg)
    for strict, equal in ((True, True), (False, False)):
        a = m(xc, yc, xt, aux_c=ec, aux_t=et, strict=strict)
        b = m(xc + shift, yc, xt + shift, aux_c=ec, aux_t=et, strict=strict)
        same = torch.allclose(a.mean, b.mean, atol=1e-4) and torch.allclose(
            a.variance, b.variance, rtol=1e-4
        )
        assert same == equal


def test_equivariant_component_shipped_is_translation_equivariant(shipped: Shipped) -> None:
    lat, lon, elev, rng = _network(5, lat0=53.0, lon0=-4.0)
    val = 280 + rng.normal(0, 1.5, len(lat))
    kw = {"station_elevation": elev, "target_elevation": elev[:10], "equivariant_only": True}
    a = shipped.predict(lat, lon, val, lat[:10] + 0.07, lon[:10], **kw)
    b = shipped.predict(lat + 10.0, lon + 30.0, val, lat[:10] + 10.07, lon[:10] + 30.0, **kw)
    np.testing.assert_allclose(a.mean, b.mean, atol=1e-4)
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-4)


# ------------------------------------------------------------------------ elevation policy


def test_missing_station_elevation_is_never_filled_next_to_given_ones(shipped: Shipped) -> None:
    lat, lon, elev, rng = _network(6)
    val = 275 - 6.0 * elev / 1000 + rng.normal(0, 0.3, len(lat))
    partial = elev.copy()
    partial[:5] = np.nan
    p = shipped.predict(
        lat, lon, val, lat[:3], lon[:3], station_elevation=partial, target_elevation=elev[:3]
    )
    assert p.elevation_source == "none"
    assert any("5 of 40 stations have no elevation" in n for n in p.notes)
    none = shipped.predict(lat, lon, val, lat[:3], lon[:3])
    np.testing.assert_allclose(p.mean, none.mean, atol=1e-6)


def test_missing_target_elevation_is_said_and_widens_the_variance(shipped: Shipped) -> None:
    lat, lon, elev, rng = _network(7)
    val = 275 - 6.0 * elev / 1000 + rng.normal(0, 0.3, len(lat))
    t_elev = np.array([np.nan, float(np.mean(elev))])
    p = shipped.predict(
        lat,
        lon,
        val,
        np.full(2, 46.9),
        np.full(2, 11.7),
        station_elevation=elev,
        target_elevation=t_elev,
    )
    assert p.elevation_source == "given, stations' mean elevation"
    assert any("1 of 2 targets have no elevation" in n for n in p.notes)
    assert p.mean[0] == pytest.approx(p.mean[1], abs=1e-3)
    assert p.variance[0] > p.variance[1] + 1.0  # (6 K/km * ~0.75 km)^2 ~ 20 K^2


# ------------------------------------------------------------------------ far field


def _sydney_and_uk(m: torch.nn.Module, unbounded: bool, monkeypatch: pytest.MonkeyPatch):
    """One Sydney station, targets near it and on a UK grid: (mean, variance) [n_t]."""
    if unbounded:
        monkeypatch.setattr(type(m), "reach", lambda self: torch.tensor(torch.inf))
    lat, lon = np.meshgrid(np.linspace(50, 58, 9), np.linspace(-10, 2, 13), indexing="ij")
    t_lat = np.r_[-33.9 + np.linspace(-5, 5, 11), lat.ravel()]
    t_lon = np.r_[151.2 + np.linspace(5, -5, 11), lon.ravel()]
    xc, yc, ec = _tensors(np.array([-33.87]), np.array([151.21]), np.array([295.0]), [40.0])
    xt, _, et = _tensors(t_lat, t_lon, t_lat, np.full(t_lat.shape, 300.0))
    with torch.no_grad():
        d = m(xc, yc, xt, aux_c=ec, aux_t=et)
    monkeypatch.undo()
    return d.mean[0, :, 0], d.variance[0, :, 0]


@pytest.mark.parametrize("weights", ["untrained", "shipped"])
def test_trend_does_not_extrapolate_beyond_the_reach(
    weights: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A station 150 degrees from the targets: the trend's position slopes stop at the
    model's reach, so the far variance is bounded (it was ~350 K std); targets within reach
    get exactly what the unbounded trend gives them."""
    m = untrained() if weights == "untrained" else load_bundle(DEFAULT_BUNDLE).model
    mean, var = _sydney_and_uk(m, False, monkeypatch)
    mean_u, var_u = _sydney_and_uk(m, True, monkeypatch)
    near = slice(0, 11)  # within 5 degrees of the station, inside its reach (> 5.3 deg)
    assert torch.equal(mean[near], mean_u[near]) and torch.equal(var[near], var_u[near])
    far_std = var[11:].sqrt()
    assert float(var_u[11:].sqrt().min()) > 100.0  # what the unbounded trend extrapolated
    assert float(far_std.max()) < 25.0
    assert float(far_std.min()) > float(var[near].sqrt().max())  # still less sure far away
