"""The Predictor: a bundle's predictions in physical units, alone and coalesced."""

from __future__ import annotations

import numpy as np

from inference.bundle import load_bundle
from inference.predictor import BundlePredictor, Prediction
from inference.query import Query
from tests.conftest import UK
from tests.inference.test_bundle import make_bundle


class Predictor(BundlePredictor):
    """``predict`` with the query's fields as arguments, for short tests."""

    def predict(self, *args, **kwargs) -> Prediction:  # type: ignore[override]
        return super().predict(Query(*args, **kwargs))


def test_round_trip_and_prediction_in_kelvin(tmp_path) -> None:
    bundle = load_bundle(make_bundle(tmp_path))
    assert bundle.name == "aeconvcnp" and bundle.domain == UK and len(bundle.sha256) == 64
    b = Predictor(bundle)
    lat, lon = np.meshgrid(np.linspace(51, 57, 5), np.linspace(-8, 1, 4), indexing="ij")
    p = b.predict([52, 53, 54], [-1, 358, -3], [281.0, 279.5, 283.0], lat, lon)
    assert p.mean.shape == (5, 4) and p.variance.shape == (5, 4)
    assert (p.variance > 0).all() and np.isfinite(p.mean).all()
    assert 250 < p.mean.mean() < 310  # kelvin, not normalised units
    assert p.in_domain.all() and p.elevation_source == "model orography"
    given = b.predict(
        [52, 53],
        [-1, -2],
        [281.0, 279.5],
        lat,
        lon,
        station_elevation=[10, 20],
        target_elevation=np.full((5, 4), 50.0),
    )
    assert given.elevation_source == "given"
    assert not np.allclose(given.mean, p.mean)


def test_out_of_domain_falls_back_to_training_mean_elevation(tmp_path) -> None:
    b = Predictor(load_bundle(make_bundle(tmp_path)))
    p = b.predict([40.0, 41.0], [-100.0, -101.0], [290.0, 291.0], [40.5], [-100.5])
    assert not p.in_domain.any() and p.elevation_source == "training mean"
    strict = b.predict(
        [40.0, 41.0], [-100.0, -101.0], [290.0, 291.0], [40.5], [-100.5], equivariant_only=True
    )
    np.testing.assert_array_equal(p.mean, strict.mean)


def test_predict_batch_matches_one_query_at_a_time(tmp_path) -> None:
    """Coalesced queries (padded stations and targets) give what each gives alone."""
    b = BundlePredictor(load_bundle(make_bundle(tmp_path)))
    lat, lon = np.meshgrid(np.linspace(51, 57, 7), np.linspace(-8, 1, 6), indexing="ij")
    rng = np.random.default_rng(0)
    queries = [
        Query(
            rng.uniform(52, 56, n),
            rng.uniform(-6, 0, n),
            rng.uniform(275, 285, n),
            lat[:: 1 + k],  # different target counts on the same window
            lon[:: 1 + k],
            station_elevation=rng.uniform(0, 300, n) if n == 5 else None,
        )
        for k, n in ((0, 3), (1, 5), (0, 9))
    ]
    # points on the same window: coalesced with the grids, which then go as points too
    q0 = queries[0]
    queries.append(
        Query(
            q0.station_lat, q0.station_lon, q0.station_value_k, lat.ravel()[::3], lon.ravel()[::3]
        )
    )
    queries.append(Query([40.0], [-100.0], [290.0], [40.5], [-100.5]))  # another window
    queries.append(Query([52.0], [-1.0], [281.0], lat, lon, equivariant_only=True))
    cells = {b.grid_cells(q) for q in queries[:3]}
    assert len(cells) == 1 and cells.pop() > 0
    batched = b.predict_batch(queries)
    for q, p in zip(queries, batched, strict=True):
        alone = b.predict_batch([q])[0]
        assert p.mean.shape == np.shape(q.target_lat) and p.notes == alone.notes
        np.testing.assert_allclose(p.mean, alone.mean, rtol=0, atol=1e-4)
        np.testing.assert_allclose(p.variance, alone.variance, rtol=1e-4)
        np.testing.assert_array_equal(p.in_domain, alone.in_domain)
    assert not batched[-1].in_domain.any() and batched[0].in_domain.all()


def test_grid_targets_read_out_separably_equal_points(tmp_path) -> None:
    """A [n_lat, n_lon] meshgrid of targets takes the separable path; the same targets
    flattened take the point path; both give the same numbers, alone and batched with
    grids of other sizes (axes padded, then cropped)."""
    from inference.targets import grid_axes as _grid_axes

    b = BundlePredictor(load_bundle(make_bundle(tmp_path)))
    lat, lon = np.meshgrid(np.linspace(50.3, 57.1, 23), np.linspace(-9, 1.5, 31), indexing="ij")
    assert _grid_axes(lat.shape, lat.ravel(), lon.ravel()) is not None
    assert _grid_axes(lat.shape, lon.ravel(), lat.ravel()) is None
    rng = np.random.default_rng(1)
    s = (rng.uniform(51, 56, 12), rng.uniform(-7, 0, 12), rng.uniform(275, 285, 12))
    grid = b.predict_batch([Query(*s, lat, lon), Query(*s, lat[:9, :5], lon[:9, :5])])
    points = b.predict_batch([Query(*s, lat.ravel(), lon.ravel())])[0]
    np.testing.assert_allclose(grid[0].mean.ravel(), points.mean, rtol=0, atol=1e-4)
    np.testing.assert_allclose(grid[0].variance.ravel(), points.variance, rtol=1e-4)
    np.testing.assert_allclose(grid[1].mean, grid[0].mean[:9, :5], rtol=0, atol=1e-4)


def test_queries_with_different_windows_in_the_same_stride_phase_share_a_call(tmp_path) -> None:
    """Windows that differ by whole UNet strides coalesce into one model call, and every
    query still gets exactly its own answer. Windows start on multiples of the stride of the
    global lattice (models/lattice.py, issue 9), so a shift of one lattice cell keeps the
    phase too and all three share the call."""
    b = BundlePredictor(load_bundle(make_bundle(tmp_path)))
    model = b.bundle.model
    step = model.cnn.multiple / model.points_per_unit  # degrees per stride of the UNet
    lat, lon = np.meshgrid(np.linspace(51, 54, 13), np.linspace(-6, -2, 17), indexing="ij")
    rng = np.random.default_rng(3)
    s_lat, s_lon = rng.uniform(51.5, 53.5, 9), rng.uniform(-5.5, -2.5, 9)
    vals = rng.uniform(276, 284, 9)
    queries = [
        Query(s_lat + k * d, s_lon, vals, lat + k * d, lon)
        for k, d in ((0, 0.0), (1, step), (1, 1 / model.points_per_unit))
    ]
    windows = [b._prepare(q).window for q in queries]
    assert len(set(windows)) == 3
    calls = []
    forward = model.forward

    def counting(*args, **kwargs):
        calls.append(args[0].shape[0])
        return forward(*args, **kwargs)

    model.forward = counting
    try:
        together = b.predict_batch(queries)
    finally:
        model.forward = forward
    assert sorted(calls) == [3]  # every window is in the lattice's stride phase
    for q, p in zip(queries, together, strict=True):
        alone = b.predict_batch([q])[0]
        np.testing.assert_allclose(p.mean, alone.mean, rtol=0, atol=1e-4)
        np.testing.assert_allclose(p.variance, alone.variance, rtol=1e-4)


def test_admission_and_prediction_share_one_window(tmp_path, monkeypatch) -> None:
    """The cost estimate's coordinates and lattice window serve the prediction too, also
    after the service fills in target elevations (``with_target_elevation``)."""
    b = BundlePredictor(load_bundle(make_bundle(tmp_path)))
    lat, lon = np.meshgrid(np.linspace(51, 57, 7), np.linspace(-8, 1, 6), indexing="ij")
    q = Query([52.0, 55.0], [-1.0, -3.0], [281.0, 279.0], lat, lon)
    windows: list[object] = []
    real = b._window
    monkeypatch.setattr(b, "_window", lambda xc, xt: windows.append(1) or real(xc, xt))
    macs, cells = b.cost(q)
    filled = q.with_target_elevation(np.full(lat.shape, 100.0))
    assert filled.coordinates is q.coordinates
    pred = b.predict(filled)
    assert len(windows) == 1 and macs > 0 and cells > 0
    fresh = Query(
        q.station_lat, q.station_lon, q.station_value_k, lat, lon, None, filled.target_elevation
    )
    np.testing.assert_array_equal(pred.mean, b.predict(fresh).mean)
    assert len(windows) == 2  # a new query: its own window


def test_a_region_across_the_antimeridian_is_one_region() -> None:
    """The shipped model is translation equivariant outside its trained box: stations and a
    grid around 0 E, moved 180 degrees to straddle the antimeridian, give the same field (the
    stations at -171.8 are 8 degrees from the grid's 180 E, not 350)."""
    from inference.bundle import DEFAULT_BUNDLE

    b = Predictor(load_bundle(DEFAULT_BUNDLE))
    s_lat, s_lon, s_val = [-17.7, -18.1, -13.8], [-1.6, -1.55, 8.2], [299.0, 300.0, 301.0]
    lat, lon = np.meshgrid(np.arange(-25.0, -8.0, 0.5), np.arange(-10.0, 15.0, 0.5), indexing="ij")
    here = b.predict(s_lat, s_lon, s_val, lat, lon)
    moved = [x + 180.0 for x in s_lon]  # 178.4, 178.45, 188.2 (= -171.8)
    moved[2] -= 360.0
    there = b.predict(s_lat, moved, s_val, lat, lon + 180.0)
    assert not here.in_domain.any() and not there.in_domain.any()
    np.testing.assert_allclose(there.mean, here.mean, atol=1e-3)
    np.testing.assert_allclose(there.variance, here.variance, rtol=1e-3)
