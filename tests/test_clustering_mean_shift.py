"""engine.clustering.MeanShift against scikit-learn's, and its trajectories."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import cluster

from engine.clustering import MeanShift


def _data(seed: int, n: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(n, 2)) + c for c in ([0, 0], [5, 0], [0, 5])])


CASES = [
    dict(bandwidth=1.5),
    dict(bandwidth=1.5, bin_seeding=True),
    dict(),  # bandwidth from estimate_bandwidth
    dict(bandwidth=1.0, cluster_all=False),
    dict(bandwidth=2.0, max_iter=2),
    dict(bandwidth=0.7, bin_seeding=True, min_bin_freq=3),
]


@pytest.mark.parametrize("params", CASES, ids=[str(c) for c in CASES])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_centers_and_labels_equal_sklearn(params, seed):
    X = _data(seed)
    ours = MeanShift(**params).fit(X)
    theirs = cluster.MeanShift(**params).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-12)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.predict(X[:20]), theirs.predict(X[:20]))


def test_explicit_seeds_equal_sklearn():
    X = _data(3)
    seeds = X[::7] + 0.3
    ours = MeanShift(bandwidth=1.2, seeds=seeds).fit(X)
    theirs = cluster.MeanShift(bandwidth=1.2, seeds=seeds).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-12)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_array_equal(ours.seeds_, seeds)


def test_trajectories_start_at_the_seeds_and_end_at_the_modes():
    X = _data(4)
    ms = MeanShift(bandwidth=1.5).fit(X)
    assert len(ms.trajectories_) == len(X)
    modes = {tuple(m) for m in ms.merge_.modes}
    for seed, path, label in zip(X, ms.trajectories_, ms.seed_labels_, strict=True):
        np.testing.assert_array_equal(path[0], seed)
        assert tuple(path[-1]) in modes
        # the mode the seed reached lies within bandwidth of its cluster's centre
        assert np.linalg.norm(path[-1] - ms.cluster_centers_[label]) <= ms.bandwidth_
    for center in ms.cluster_centers_:  # every centre is where some seed stopped
        assert any(np.array_equal(center, path[-1]) for path in ms.trajectories_)


def test_each_step_moves_to_the_mean_of_its_window():
    X = _data(5)
    ms = MeanShift(bandwidth=1.5).fit(X)
    path = max(ms.trajectories_, key=len)
    assert len(path) > 2
    for here, there in zip(path[:-1], path[1:], strict=True):
        window = np.linalg.norm(X - here, axis=1) <= 1.5
        np.testing.assert_allclose(there, X[window].mean(axis=0), rtol=1e-12)
    # the last move is below 1e-3 × bandwidth: the stopping rule
    assert np.linalg.norm(path[-1] - path[-2]) <= 1.5e-3


def test_positions_at_a_step_hold_stopped_seeds_in_place():
    ms = MeanShift(bandwidth=1.5).fit(_data(6))
    final = ms.positions_at(10_000)
    np.testing.assert_array_equal(final, np.stack([p[-1] for p in ms.trajectories_]))
    np.testing.assert_array_equal(ms.positions_at(0), ms.seeds_)


def test_merged_modes_are_absorbed_by_a_stronger_kept_mode_within_bandwidth():
    ms = MeanShift(bandwidth=2.0).fit(_data(7))
    merge = ms.merge_
    assert merge.kept.sum() == len(ms.cluster_centers_) < len(merge.modes)
    for i in np.flatnonzero(~merge.kept):
        j = merge.absorbed_by[i]
        assert merge.kept[j] and merge.intensities[j] >= merge.intensities[i]
        assert np.linalg.norm(merge.modes[i] - merge.modes[j]) <= 2.0


@pytest.mark.parametrize("bandwidth", [0, 0.0, -1.0, float("nan"), float("inf"), "1", True])
def test_bad_bandwidth_is_refused_with_a_message(bandwidth):
    with pytest.raises(ValueError, match="bandwidth"):
        MeanShift(bandwidth=bandwidth).fit(_data(0))


def test_seeds_far_from_every_point_are_refused():
    with pytest.raises(ValueError, match="No point lies within"):
        MeanShift(bandwidth=0.5, seeds=[[100.0, 100.0]]).fit(_data(0))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    points=st.lists(
        st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=2, max_size=30
    ),
    bandwidth=st.floats(0.01, 100),
)
def test_any_data_and_positive_bandwidth_give_consistent_clusters(points, bandwidth):
    X = np.array(points, dtype=np.float64)
    ms = MeanShift(bandwidth=bandwidth).fit(X)
    assert ms.labels_.shape == (len(X),)
    assert 0 <= ms.labels_.min() and ms.labels_.max() < len(ms.cluster_centers_)
    assert all(np.array_equal(p[0], s) for p, s in zip(ms.trajectories_, X, strict=True))
    theirs = cluster.MeanShift(bandwidth=bandwidth).fit(X)
    np.testing.assert_array_equal(ms.labels_, theirs.labels_)
