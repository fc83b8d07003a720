"""Elkan's step against Lloyd's: the same labels and sums, and exactly the skips its bounds allow.

Oracles: :func:`engine.kmeans.lloyd.reference_step` (labels, counts, sums, J at every
iteration), scikit-learn's ``KMeans(algorithm="elkan")`` (a whole fit), and
:func:`_plain_elkan_counts` below, a plain re-statement of Elkan's rules over a
brute-force distance matrix, which counts the distances the bounds let through and
checks that every one they skipped was indeed no nearer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from near_ties import assert_labels_agree, counts_and_sums
from sklearn.cluster import KMeans as SKKMeans

from engine.kmeans import KMeans, _lloyd_numba, lloyd
from engine.kmeans.elkan import ElkanStep, elkan_counts, reference_elkan_step

DTYPES = [np.float32, np.float64]
# (n_samples, n_features, n_clusters): one point, fewer points than a block, many tasks.
SHAPES = [(1, 2, 1), (7, 2, 3), (300, 1, 5), (257, 2, 8), (1000, 4, 16), (3000, 64, 12),
          (45_000, 2, 8), (20_000, 16, 32)]  # fmt: skip


def _ids(shape):
    return "x".join(map(str, shape))


def _problem(shape, dtype, seed=0):
    n_samples, n_features, n_clusters = shape
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=6, size=(max(n_clusters, 1), n_features))
    X = means[rng.integers(len(means), size=n_samples)] + rng.normal(size=(n_samples, n_features))
    X = np.ascontiguousarray(X, dtype=dtype)
    centers = X[rng.choice(n_samples, n_clusters, replace=n_clusters > n_samples)].copy()
    return X, centers


def _means(sums, weights, centers):
    new = centers.astype(np.float64).copy()
    filled = weights > 0
    new[filled] = sums[filled] / weights[filled, np.newaxis]
    return new.astype(centers.dtype)


def _assert_same_step(fast, ref, dtype, X=None, centers=None):
    """Elkan's step is the reference step. With ``X`` and ``centers``, labels are compared
    where the nearest centroid is decided beyond rounding (tests/near_ties.py: Elkan's
    float64 distances and the reference's float32 ones may part on a near-tie), counts and
    sums against Elkan's own labels; without, everything is exact."""
    assert fast.sums.dtype == dtype and fast.labels.dtype == np.int32
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    scale = max(1.0, float(np.abs(ref.sums).max()))
    if X is None:
        np.testing.assert_array_equal(fast.labels, ref.labels)
        own_counts, own_sums = ref.counts, ref.sums
    else:
        assert_labels_agree(X, fast.labels, ref.labels, centers)
        own_counts, own_sums = counts_and_sums(X, fast.labels, len(centers))
    np.testing.assert_array_equal(fast.counts, own_counts)
    np.testing.assert_allclose(fast.sums, own_sums, rtol=rtol, atol=rtol * scale)
    assert fast.inertia == pytest.approx(ref.inertia, rel=rtol, abs=1e-12)
    assert abs(fast.n_changed - ref.n_changed) <= int((fast.labels != ref.labels).sum())
    assert fast.n_distances + fast.n_skipped == len(fast.labels) * len(fast.counts)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", SHAPES, ids=_ids)
def test_elkan_equals_the_reference_step_at_every_iteration(shape, dtype):
    X, centers = _problem(shape, dtype)
    step = ElkanStep(X)
    labels = ref_labels = None
    for _ in range(6):
        ref = lloyd.reference_step(X, centers, ref_labels)
        fast = step(X, centers, labels)
        _assert_same_step(fast, ref, dtype, X, centers)
        np.testing.assert_array_equal(fast.weights, fast.counts)
        labels, ref_labels = fast.labels, ref.labels.copy()
        centers = lloyd.update_centers(X, centers, ref).centers


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_elkan_skips_most_distances_once_well_separated_clusters_settle(dtype):
    X, centers = _problem((5000, 2, 8), dtype, seed=3)
    step, labels = ElkanStep(X), None
    for _ in range(5):
        result = step(X, centers, labels)
        labels = result.labels
        centers = lloyd.update_centers(X, centers, result).centers
    assert result.n_skipped > 0.8 * len(X) * len(centers)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_elkan_with_empty_clusters_duplicate_centroids_and_duplicate_points(dtype):
    X = np.repeat(np.array([[0.0, 0.0], [0.0, 0.0], [4.0, 1.0], [4.0, 1.0]], dtype=dtype), 3, 0)
    centers = np.array([[4, 1], [0, 0], [4, 1], [50, 50], [0, 0]], dtype=dtype)
    step = ElkanStep(X)
    labels = ref_labels = None
    for _ in range(4):
        ref = lloyd.reference_step(X, centers, ref_labels)
        fast = step(X, centers, labels)
        _assert_same_step(fast, ref, dtype)
        labels, ref_labels = fast.labels, ref.labels.copy()
        centers = lloyd.update_centers(X, centers, ref).centers


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("n_features", [2, 12])
def test_elkan_on_integer_grid_ties_takes_the_first_centroid(n_features, dtype):
    rng = np.random.default_rng(1)
    X = rng.integers(-3, 4, size=(2000, n_features)).astype(dtype)
    centers = rng.integers(-3, 4, size=(9, n_features)).astype(dtype)
    step = ElkanStep(X)
    first = step(X, centers)
    _assert_same_step(first, lloyd.reference_step(X, centers), dtype)
    # Centroids moved onto other grid points: the bounds carry over and ties still go first.
    moved = rng.integers(-3, 4, size=(9, n_features)).astype(dtype)
    ref = lloyd.reference_step(X, moved, first.labels.copy())
    _assert_same_step(step(X, moved, first.labels), ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_weighted_elkan_gives_weighted_sums_weights_and_j(dtype):
    X, centers = _problem((2000, 3, 6), dtype, seed=5)
    w = np.random.default_rng(5).uniform(0.1, 3.0, size=len(X)).astype(dtype)
    step = ElkanStep(X, sample_weight=w)
    labels = None
    for _ in range(4):
        ref = lloyd.reference_step(X, centers)
        fast = step(X, centers, labels)
        np.testing.assert_array_equal(fast.labels, ref.labels)
        onehot = np.eye(len(centers))[ref.labels]  # (N, K)
        w64, X64 = w.astype(np.float64), X.astype(np.float64)
        np.testing.assert_allclose(fast.weights, onehot.T @ w64, rtol=1e-12)
        rtol = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(fast.sums, onehot.T @ (w64[:, None] * X64), rtol=rtol)
        d2 = ((X64 - centers.astype(np.float64)[ref.labels]) ** 2).sum(axis=1)
        assert fast.inertia == pytest.approx(float(w64 @ d2), rel=1e-10)
        labels = fast.labels
        centers = _means(fast.sums, fast.weights, centers)


def test_weights_given_per_call_take_the_place_of_the_constructor_s():
    X, centers = _problem((500, 2, 4), np.float64, seed=12)
    w = np.random.default_rng(12).uniform(0.5, 2.0, size=len(X))
    per_call = ElkanStep(X)(X, centers, None, sample_weight=w)
    built_in = ElkanStep(X, sample_weight=w)(X, centers)
    unweighted = ElkanStep(X)(X, centers)
    np.testing.assert_array_equal(per_call.weights, built_in.weights)
    assert per_call.inertia == built_in.inertia != unweighted.inertia
    np.testing.assert_array_equal(unweighted.weights, unweighted.counts)


def test_lloyd_s_step_reports_no_distance_counts():
    X, centers = _problem((100, 2, 3), np.float64)
    fast = lloyd.fast_step(X, centers)
    assert fast.n_distances is None and fast.n_skipped is None


def test_integer_weights_equal_repeated_rows():
    X, centers = _problem((400, 2, 5), np.float64, seed=7)
    reps = np.random.default_rng(7).integers(1, 4, size=len(X))
    weighted = ElkanStep(X, sample_weight=reps.astype(np.float64))(X, centers)
    Xr = np.repeat(X, reps, axis=0)
    repeated = ElkanStep(Xr)(Xr, centers)
    np.testing.assert_array_equal(np.repeat(weighted.labels, reps), repeated.labels)
    np.testing.assert_allclose(weighted.sums, repeated.sums, rtol=1e-12)
    np.testing.assert_array_equal(weighted.weights, repeated.weights)
    assert weighted.inertia == pytest.approx(repeated.inertia, rel=1e-12)


def test_elkan_gives_the_same_bits_for_any_number_of_threads(monkeypatch):
    X, centers = _problem((60_000, 3, 10), np.float32, seed=2)
    runs = []
    for n_threads in (1, 2, 5):
        monkeypatch.setattr(_lloyd_numba, "_N_THREADS", n_threads)
        monkeypatch.setattr(_lloyd_numba, "_MIN_WORK_PER_THREAD", 1)
        step, labels, c = ElkanStep(X), None, centers
        out = []
        for _ in range(3):
            r = step(X, c, labels)
            out.append((r.labels.copy(), r.sums.tobytes(), r.inertia, r.n_distances))
            labels, c = r.labels, lloyd.update_centers(X, c, r).centers
        runs.append(out)
    for other in runs[1:]:
        for (la, sa, ja, na), (lb, sb, jb, nb) in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(la, lb)
            assert (sa, ja, na) == (sb, jb, nb)


def test_bounds_start_afresh_when_the_labels_are_not_the_last_call_s():
    X, centers = _problem((500, 2, 4), np.float64, seed=4)
    step = ElkanStep(X)
    first = step(X, centers)
    someone_elses = first.labels.copy()
    again = step(X, centers, someone_elses)
    assert again.n_changed == 0
    # Afresh: the first pass computes at least one distance per point.
    assert again.n_distances >= len(X)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", [(1, 2, 1), (60, 1, 3), (300, 3, 6)], ids=_ids)
def test_the_readable_elkan_step_computes_what_the_compiled_one_does(shape, dtype):
    X, centers = _problem(shape, dtype, seed=11)
    centers[-1] = centers[0]  # a duplicate centroid: it must get no point in either
    step, labels, bounds = ElkanStep(X), None, None
    for _ in range(5):
        fast = step(X, centers, labels)
        readable, bounds = reference_elkan_step(X, centers, bounds)
        _assert_same_step(fast, readable, dtype)
        assert (fast.n_distances, fast.n_skipped) == (readable.n_distances, readable.n_skipped)
        np.testing.assert_array_equal(readable.labels, lloyd.reference_step(X, centers).labels)
        labels = fast.labels
        centers = lloyd.update_centers(X, centers, readable).centers


# ----------------------------------------------------------------------------- skip counts


def _ruled_out(j, label, u, lower_ij, half_lj):
    """Elkan's two skip rules; a lower index wins ties, so below ``label`` only strictly."""
    if j < label:
        return u < lower_ij or u < half_lj
    return u <= lower_ij or u <= half_lj


def _plain_elkan_counts(X, centers_per_iter):
    """Distances Elkan computes per iteration, by its rules stated plainly over all distances.

    Returns one count per iteration. Also asserts that every skipped distance was no
    nearer than the point's final centroid (the bounds were sound), and that the labels
    are the nearest centroids (first index on ties).
    """
    X = X.astype(np.float64)
    n, k = len(X), len(centers_per_iter[0])

    def dist(x, c):  # the same order of operations as the kernel: features in order
        sq = 0.0
        for a, b in zip(x, c, strict=True):
            sq += (float(a) - float(b)) ** 2
        return math.sqrt(sq)

    counts, upper, lower, labels, prev = [], [0.0] * n, [[0.0] * k for _ in range(n)], [0] * n, None
    for t, C in enumerate(centers_per_iter):
        C = np.asarray(C, dtype=np.float64)
        D = np.array([[dist(x, c) for c in C] for x in X])  # brute force: all N·K distances
        half = np.array([[dist(a, b) / 2 for b in C] for a in C])
        s = [min([half[a, b] for b in range(k) if b != a], default=math.inf) for a in range(k)]
        shift = [0.0] * k if prev is None else [dist(a, b) for a, b in zip(C, prev, strict=True)]
        computed = 0
        for i in range(n):
            seen = set()
            if t == 0:  # no bounds yet: every distance is measured
                seen.update(range(k))
                lower[i] = list(D[i])
                label = int(np.argmin(D[i]))
            else:
                label = labels[i]
                u = upper[i] + shift[label]
                lower[i] = [max(lo - sh, 0.0) for lo, sh in zip(lower[i], shift, strict=True)]
                tight = False
                if u >= s[label]:
                    # First the bounds as they stand; ties stay open for the loop to decide.
                    open_ = [
                        j for j in range(k) if j != label and u >= max(lower[i][j], half[label, j])
                    ]
                    for j in open_:
                        if _ruled_out(j, label, u, lower[i][j], half[label, j]):
                            continue
                        if not tight:
                            u, tight = D[i, label], True
                            lower[i][label] = u
                            seen.add(label)
                            if _ruled_out(j, label, u, lower[i][j], half[label, j]):
                                continue
                        seen.add(j)
                        lower[i][j] = D[i, j]
                        if D[i, j] < u or (D[i, j] == u and j < label):
                            label, u = j, D[i, j]
            assert label == int(np.argmin(D[i]))  # nearest, first on ties
            assert all(D[i, j] >= D[i, label] for j in range(k) if j not in seen)
            computed += len(seen)
            labels[i], upper[i] = label, D[i, label]
            lower[i][label] = upper[i]
        counts.append(computed)
        prev = C
    return counts


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("n_samples", "n_features", "n_clusters"), [(120, 2, 5), (80, 6, 4)])
def test_skip_counts_equal_a_plain_count_of_what_the_bounds_allow(
    seed, n_samples, n_features, n_clusters
):
    X, centers = _problem((n_samples, n_features, n_clusters), np.float64, seed=seed)
    step, labels, centers_per_iter, reported = ElkanStep(X), None, [], []
    for _ in range(6):
        centers_per_iter.append(centers.copy())
        result = step(X, centers, labels)
        reported.append((result.n_distances, result.n_skipped))
        labels = result.labels
        centers = lloyd.update_centers(X, centers, result).centers
    expected = _plain_elkan_counts(X, centers_per_iter)
    assert [d for d, _ in reported] == expected
    assert [s for _, s in reported] == [n_samples * n_clusters - e for e in expected]
    assert sum(s for _, s in reported) > 0  # the bounds did skip something


# ----------------------------------------------------------------------------- whole fits


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("n_features", "n_clusters"), [(2, 8), (5, 3), (24, 10)], ids=str)
def test_a_fit_through_elkan_equals_sklearns_elkan_and_our_lloyd(
    seed, n_features, n_clusters
):
    X, _ = _problem((1500, n_features, n_clusters), np.float64, seed=seed)
    init = X[np.random.default_rng(seed).choice(len(X), n_clusters, replace=False)]
    lloyd_fit = KMeans(n_clusters=n_clusters, init=init, max_iter=100).fit(X)
    ours = KMeans(algorithm="elkan", n_clusters=n_clusters, init=init, max_iter=100).fit(X)
    sk = SKKMeans(n_clusters=n_clusters, init=init, n_init=1, max_iter=100, algorithm="elkan")
    sk.fit(X)
    np.testing.assert_array_equal(ours.labels_, sk.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, sk.cluster_centers_, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ours.labels_, lloyd_fit.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, lloyd_fit.cluster_centers_, rtol=1e-13)
    assert ours.n_iter_ == lloyd_fit.n_iter_
    assert ours.inertia_ == pytest.approx(sk.inertia_, rel=1e-10)


# ----------------------------------------------------------------------------- the history


def test_the_history_records_elkan_s_counts_and_none_for_lloyd():
    X, _ = _problem((2000, 2, 6), np.float64, seed=8)
    lloyd_run = KMeans(n_clusters=6, init="random", random_state=1).fit(X).history_
    assert all(it.n_distances is None and it.n_skipped is None for it in lloyd_run.iterations)
    elkan = KMeans(algorithm="elkan", n_clusters=6, init="random", random_state=1)
    elkan_run = elkan.fit(X).history_
    assert len(elkan_run.iterations) == len(lloyd_run.iterations)
    for it in elkan_run.iterations:
        assert it.n_distances + it.n_skipped == len(X) * 6
        assert 0 < it.n_distances <= len(X) * 6
    assert elkan_run.iterations[-1].n_skipped > elkan_run.iterations[0].n_skipped


def test_elkan_counts_replays_a_lloyd_run_as_an_elkan_fit_records_it():
    X, _ = _problem((2000, 5, 7), np.float64, seed=9)
    lloyd_run = KMeans(n_clusters=7, init="random", random_state=2).fit(X).history_
    replayed = elkan_counts(X, lloyd_run)
    elkan = KMeans(algorithm="elkan", n_clusters=7, init="random", random_state=2)
    elkan_run = elkan.fit(X).history_
    recorded = elkan_counts(X, elkan_run)
    assert (replayed.n_samples, replayed.n_clusters) == (recorded.n_samples, 7) == (2000, 7)
    np.testing.assert_array_equal(replayed.n_distances, recorded.n_distances)
    np.testing.assert_array_equal(replayed.n_skipped, recorded.n_skipped)
    np.testing.assert_allclose(replayed.skipped_share, replayed.n_skipped / (2000 * 7))
    assert replayed.lloyd_distances == 14_000
