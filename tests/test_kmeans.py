"""The K-means engine: parity with scikit-learn, the recorded history, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from near_ties import assert_labels_agree
from sklearn.base import clone
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.kmeans import KMeans, lloyd
from engine.kmeans.estimator import _kmeans_single_lloyd


def _sklearn(X, init, **kw):
    with warnings.catch_warnings():
        # Random data sets sometimes repeat a point; the reference says so, we know.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SKKMeans(n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", **kw).fit(X)


def _random_problem(seed, n_samples, n_features, n_clusters, dtype):
    rng = np.random.default_rng(seed)
    X, _ = make_blobs(
        n_samples=n_samples,
        n_features=n_features,
        centers=rng.integers(2, 10),
        cluster_std=rng.uniform(0.5, 3.0),
        center_box=(-20, 20),
        random_state=seed,
    )
    X = (X * rng.uniform(0.01, 100) + rng.uniform(-50, 50)).astype(dtype)
    init = X[rng.choice(n_samples, n_clusters, replace=False)].copy()
    return X, init


# ----------------------------------------------------------------------------- the toy case


def test_toy_case_by_hand():
    # Two steps of Lloyd by hand: the points split left/right of x=0.5 then stop moving.
    X = np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]], dtype=float)
    km = KMeans(n_clusters=2, init=np.array([[0, 0], [1, 1]])).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, [[0.25, 0], [0.75, 1]])
    assert km.inertia_ == pytest.approx(0.25)
    np.testing.assert_array_equal(km.labels_, [0, 0, 1, 1])
    first = km.history_.iterations[0]
    assert first.inertia_assign == pytest.approx(0.5)  # 0 + 0.25 + 0.25 + 0 against the init
    assert first.inertia_update == pytest.approx(0.25)
    assert km.history_.stop_reason == "labels unchanged"


# ----------------------------------------------------------------------------- parity


CASES = [
    (n, d, k)
    for n, d, k in [
        (50, 2, 3),
        (300, 2, 4),
        (1000, 3, 8),
        (2000, 10, 16),
        (500, 64, 20),
        (40, 1, 5),
    ]
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("n_samples", "n_features", "n_clusters"), CASES, ids=str)
@pytest.mark.parametrize("tol", [0.0, 1e-4], ids=["tol0", "tol1e-4"])
def test_parity_with_sklearn_float64(seed, n_samples, n_features, n_clusters, tol):
    X, init = _random_problem(seed, n_samples, n_features, n_clusters, np.float64)
    ours = KMeans(n_clusters, init=init, max_iter=100, tol=tol).fit(X)
    ref = _sklearn(X, init, max_iter=100, tol=tol)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-9)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("n_samples", "n_features", "n_clusters"), CASES, ids=str)
def test_parity_with_sklearn_float32_every_step(seed, n_samples, n_features, n_clusters):
    # Whole float32 runs depend on summation order: a centroid one ulp away can flip a
    # near-tie point and the runs part ways. scikit-learn itself does this (1 vs 2
    # OpenMP threads gave 99.6% agreement on one of these data sets). So every step of
    # our run is checked against one scikit-learn step from the same centroids.
    X, init = _random_problem(seed, n_samples, n_features, n_clusters, np.float32)
    ours = KMeans(n_clusters, init=init, max_iter=100).fit(X)
    assert ours.cluster_centers_.dtype == np.float32
    scale = float(np.abs(X).max())
    for it in ours.history_.iterations:
        ref = _sklearn(X, it.centers_before, max_iter=1, tol=0)
        np.testing.assert_allclose(it.centers_after, ref.cluster_centers_, atol=1e-5 * scale)
        ref.cluster_centers_ = it.centers_before  # scikit-learn's assignment to the same centroids
        ours_labels = ours.history_.labels_at(X, it.iteration)
        # Exact wherever the nearest centroid is decided beyond float32 rounding (at these
        # sizes ">= 99.99% agree" allowed no flip at all, so it assumed one summation order).
        assert_labels_agree(X, ours_labels, ref.predict(X), it.centers_before)


@pytest.mark.parametrize("seed", range(8))
def test_parity_with_sklearn_float32_whole_run(seed):
    rng = np.random.default_rng(seed)
    X, _ = make_blobs(
        n_samples=int(rng.integers(500, 5000)),
        n_features=int(rng.integers(2, 20)),
        centers=8,
        cluster_std=0.8,
        random_state=seed,
    )
    X = X.astype(np.float32)
    init = X[rng.choice(len(X), 8, replace=False)].copy()
    ours = KMeans(8, init=init, max_iter=100).fit(X)
    ref = _sklearn(X, init, max_iter=100)
    assert_labels_agree(X, ours.labels_, ref.labels_, ref.cluster_centers_, ours.cluster_centers_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-4)


def test_parity_on_large_float32_blobs():
    X, _ = make_blobs(n_samples=200_000, centers=8, random_state=1)
    X = X.astype(np.float32)
    init = X[:8].copy()
    ours = KMeans(8, init=init, max_iter=20, tol=0).fit(X)
    ref = _sklearn(X, init, max_iter=20, tol=0)
    assert_labels_agree(X, ours.labels_, ref.labels_, ref.cluster_centers_, ours.cluster_centers_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-4)


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("seed", [0, 7, 123])
def test_same_seed_draws_same_init_as_sklearn(init, seed):
    X, _ = make_blobs(n_samples=600, centers=5, n_features=3, random_state=seed)
    ours = KMeans(5, init=init, n_init=3, random_state=seed).fit(X)
    ref = SKKMeans(5, init=init, n_init=3, random_state=seed, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


def test_empty_cluster_relocated_like_sklearn():
    # Two init centroids far from every point: they receive nothing and must be relocated.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    init = np.array([[0.0, 0.0], [0.1, 0.1], [100.0, 100.0], [-100.0, 100.0]])
    ours = KMeans(4, init=init, max_iter=50).fit(X)
    ref = _sklearn(X, init, max_iter=50)
    first = ours.history_.iterations[0]
    assert first.empty_clusters == (2, 3)
    assert len(first.relocated_to) == 2
    np.testing.assert_allclose(first.centers_after[2], X[first.relocated_to[0]])
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6)


# ----------------------------------------------------------------------------- history


def test_history_records_both_half_steps_and_matches_fitted_state():
    X, _ = make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
    km = KMeans(4, init="random", random_state=3).fit(X)
    its = km.history_.iterations
    assert len(its) == km.n_iter_
    np.testing.assert_allclose(its[0].centers_before, km.history_.init_centers)
    for a, b in zip(its, its[1:], strict=False):
        np.testing.assert_allclose(a.centers_after, b.centers_before)
    np.testing.assert_allclose(its[-1].centers_after, km.cluster_centers_)
    assert its[0].n_changed == len(X)
    for it in its:
        # J after assignment recomputed from scratch from that iteration's labels.
        labels = lloyd.assign(X, it.centers_before)
        assert it.inertia_assign == pytest.approx(lloyd.inertia_of(X, it.centers_before, labels))
        assert it.inertia_update == pytest.approx(lloyd.inertia_of(X, it.centers_after, labels))
        np.testing.assert_allclose(
            it.center_shift, np.linalg.norm(it.centers_after - it.centers_before, axis=1)
        )
        assert it.counts.sum() == len(X)
    assert km.history_.inertia_curve.shape == (2 * km.n_iter_,)


def test_labels_at_recovers_each_iterations_assignment():
    X, _ = make_blobs(n_samples=500, centers=3, random_state=2)
    km = KMeans(3, init="random", random_state=1).fit(X)
    run = km.history_
    for t in range(1, run.n_iter + 1):
        labels = run.labels_at(X, t)
        counts = np.bincount(labels, minlength=3)
        np.testing.assert_array_equal(counts, run.iterations[t - 1].counts)
    if run.n_iter > 1:
        changed = (run.labels_at(X, run.n_iter) != run.labels_at(X, run.n_iter - 1)).sum()
        assert changed == run.iterations[-1].n_changed
    with pytest.raises(ValueError, match="iteration=0"):
        run.labels_at(X, 0)


def test_stop_reasons_and_scaled_tolerance():
    X, _ = make_blobs(n_samples=400, centers=4, random_state=0)
    strict = KMeans(4, random_state=0, tol=0).fit(X).history_
    assert strict.stop_reason == "labels unchanged" and strict.iterations[-1].n_changed == 0
    loose = KMeans(4, random_state=0, tol=10.0).fit(X).history_
    assert loose.stop_reason == "centroid shift within tolerance"
    assert loose.tol == pytest.approx(10.0 * np.var(X, axis=0).mean())
    assert loose.iterations[-1].center_shift_total <= loose.tol
    capped = KMeans(4, init=X[:4], max_iter=1, tol=0).fit(X).history_
    assert capped.stop_reason == "max_iter reached" and not capped.converged


def test_n_init_keeps_every_run_and_marks_the_best():
    X, _ = make_blobs(n_samples=300, centers=6, cluster_std=1.5, random_state=4)
    km = KMeans(6, init="random", n_init=8, random_state=0).fit(X)
    assert len(km.runs_) == 8
    assert sum(r.is_best for r in km.runs_) == 1
    best = next(r for r in km.runs_ if r.is_best)
    assert best is km.history_
    assert km.inertia_ == pytest.approx(min(r.inertia for r in km.runs_))


def test_kmeans_plus_plus_records_its_seeding():
    X, _ = make_blobs(n_samples=200, centers=4, random_state=0)
    km = KMeans(4, random_state=5).fit(X)
    seeding = km.history_.seeding
    assert [s.step for s in seeding] == [0, 1, 2, 3]
    np.testing.assert_allclose(km.history_.init_centers, X[[s.chosen for s in seeding]])
    for s in seeding:
        assert s.chosen in s.candidates
        p = km.history_.seeding_probabilities(X, s.step)
        assert p.sum() == pytest.approx(1.0) and p[s.chosen] > 0
    # Step 1 draws ∝ D² to the first centroid; a point already chosen (D = 0) never again.
    d2 = ((X - X[seeding[0].chosen]) ** 2).sum(axis=1)
    np.testing.assert_allclose(km.history_.seeding_probabilities(X, 1), d2 / d2.sum())
    assert km.history_.seeding_probabilities(X, 2)[seeding[0].chosen] == 0
    # With weights, w D²: a point of weight 0 is never drawn.
    w = np.random.default_rng(0).integers(0, 3, len(X)).astype(float)
    weighted = KMeans(4, random_state=5).fit(X, sample_weight=w).history_
    p1 = weighted.seeding_probabilities(X, 1, w)
    assert p1[w == 0].sum() == 0 and p1.sum() == pytest.approx(1.0)
    assert all(w[s.chosen] > 0 for s in weighted.seeding)
    potentials = [s.potential for s in seeding]
    assert potentials == sorted(potentials, reverse=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    X=hnp.arrays(
        np.float64,
        st.tuples(st.integers(2, 40), st.integers(1, 4)),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    ),
    k=st.integers(1, 6),
    seed=st.integers(0, 2**16),
    init=st.sampled_from(["k-means++", "random"]),
)
def test_objective_never_increases_between_half_steps(X, k, seed, init):
    k = min(k, len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(k, init=init, random_state=seed, tol=0).fit(X)
    curve = km.history_.inertia_curve
    scale = max(1.0, float(np.abs(curve).max()))
    assert np.all(np.diff(curve) <= 1e-9 * scale)
    assert np.isfinite(km.cluster_centers_).all()
    assert km.inertia_ <= curve[-1] + 1e-9 * scale


@settings(max_examples=25, deadline=None)
@given(
    # Integer coordinates keep every distance exact in both formulas, so ties (which the
    # two break identically: lowest index) are real ties, not rounding accidents.
    X=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 30), st.integers(1, 3)),
        elements=st.integers(-100, 100).map(float),
    ),
    k=st.integers(1, 5),
)
def test_reference_and_fast_steps_agree(X, k):
    k = min(k, len(X))
    centers = X[:k].copy()
    a = lloyd.reference_step(X, centers)
    b = lloyd.fast_step(X, centers)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_allclose(a.sums, b.sums, atol=1e-9)
    assert a.inertia == pytest.approx(b.inertia, rel=1e-9, abs=1e-9)


def test_reference_step_drives_the_same_run():
    X, _ = make_blobs(n_samples=300, centers=4, random_state=0)
    Xc = X - X.mean(axis=0)
    init = Xc[:4].copy()
    zero = np.zeros(2)
    fast, fast_labels = _kmeans_single_lloyd(Xc, init, 100, 0.0, "array", (), zero)
    ref, ref_labels = _kmeans_single_lloyd(
        Xc, init, 100, 0.0, "array", (), zero, step=lloyd.reference_step
    )
    np.testing.assert_array_equal(fast_labels, ref_labels)
    assert fast.n_iter == ref.n_iter
    np.testing.assert_allclose(fast.inertia_curve, ref.inertia_curve, rtol=1e-9)


# ----------------------------------------------------------------------------- estimator API


def test_sklearn_estimator_conventions():
    X, y = make_blobs(n_samples=200, centers=3, random_state=0)
    km = KMeans(3, random_state=0)
    assert km.get_params()["n_clusters"] == 3
    assert km.set_params(n_clusters=4) is km and km.n_clusters == 4
    with pytest.raises(NotFittedError):
        km.predict(X)
    assert km.fit(X) is km
    assert km.n_features_in_ == 2
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    np.testing.assert_array_equal(clone(km).fit_predict(X), km.labels_)
    dist = km.transform(X)
    assert dist.shape == (200, 4)
    np.testing.assert_array_equal(dist.argmin(axis=1), km.labels_)
    assert km.score(X) == pytest.approx(-km.inertia_)
    with pytest.raises(ValueError, match="X has 3 features, but KMeans is expecting 2 features"):
        km.predict(np.ones((2, 3)))


def test_works_in_pipeline_and_grid_search():
    X, _ = make_blobs(n_samples=300, centers=4, random_state=0)
    pipe = make_pipeline(StandardScaler(), KMeans(random_state=0))
    search = GridSearchCV(pipe, {"kmeans__n_clusters": [2, 4, 6]}, cv=3).fit(X)
    # -J always improves with more clusters: the search must have scored every K.
    assert search.best_params_["kmeans__n_clusters"] == 6
    assert len(search.cv_results_["mean_test_score"]) == 3


# ----------------------------------------------------------------------------- bad input


# scikit-learn's own words and error types (its validation runs in the engine's estimator);
# the K-means page translates them for students. Each row is also checked against
# sklearn.cluster.KMeans itself, except the last: overflow is the engine's own check.
BAD_INPUT = [
    (dict(X=[["a", "b"], ["c", "d"]]), ValueError, "could not convert string to float"),
    (dict(X=[[1.0, np.nan], [2.0, 3.0]]), ValueError, "Input X contains NaN"),
    (dict(X=[[1.0, np.inf], [2.0, 3.0]]), ValueError, "Input X contains infinity"),
    (dict(X=np.empty((0, 2))), ValueError, r"Found array with 0 sample\(s\) \(shape=\(0, 2\)\)"),
    (dict(X=[1.0, 2.0, 3.0]), ValueError, r"(?s)Expected 2D array.*Reshape your data"),
    (dict(X=np.ones((2, 2, 2))), ValueError, "Found array with dim 3"),
    (dict(X=[[1 + 1j, 2], [3, 4]]), TypeError, "complex"),
    (dict(n_clusters=0), ValueError, r"'n_clusters' parameter of KMeans must be an int .*Got 0"),
    (dict(n_clusters=-3), ValueError, "'n_clusters' .* Got -3 instead"),
    (dict(n_clusters=11), ValueError, "n_samples=10 should be >= n_clusters=11"),
    (dict(n_clusters=2.5), ValueError, r"'n_clusters' .* Got 2\.5 instead"),
    (dict(n_clusters="3"), ValueError, "'n_clusters' .* Got '3' instead"),
    (dict(init=np.ones((3, 2))), ValueError, r"initial centers \(3, 2\) .* number of clusters 2"),
    (dict(init=np.ones((2, 5))), ValueError, r"initial centers \(2, 5\) .* number of features"),
    (dict(init="kmeans"), ValueError, "'init' parameter of KMeans must be a str among"),
    (dict(init=[[0, np.nan], [1, 1]]), ValueError, "Input contains NaN"),
    (dict(max_iter=0), ValueError, "'max_iter' parameter of KMeans must be an int"),
    (dict(max_iter=1.5), ValueError, "'max_iter' .* Got 1.5 instead"),
    (dict(n_init=0), ValueError, "'n_init' parameter of KMeans must be a str among {'auto'}"),
    (dict(tol=-1e-3), ValueError, r"'tol' parameter of KMeans must be a float in the range"),
    (dict(tol=np.nan), ValueError, "'tol' .* Got nan instead"),
    (dict(tol="small"), ValueError, "'tol' .* Got 'small' instead"),
    (dict(algorithm="auto"), ValueError, "'algorithm' parameter of KMeans must be a str among"),
    (dict(X=np.full((10, 2), 1e200)), ValueError, "values as large as 1e\\+200.*Rescale"),
]


@pytest.mark.parametrize(("params", "error", "match"), BAD_INPUT, ids=[m for _, _, m in BAD_INPUT])
def test_bad_input_raises_scikit_learns_error(params, error, match):
    params = dict(params)
    X = params.pop("X", np.random.default_rng(0).normal(size=(10, 2)))
    params.setdefault("n_clusters", 2)
    with pytest.raises(error, match=match) as ours:
        KMeans(**params).fit(X)
    if "Rescale" in match:
        return  # the engine's own check; scikit-learn runs on and returns infinite J
    with pytest.raises(error) as theirs:
        SKKMeans(**params).fit(X)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_fewer_distinct_points_than_k_warns_and_stays_finite():
    X = np.array([[1.0, 1.0]] * 5 + [[2.0, 2.0]] * 5)
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(2\).*n_clusters \(4\)"):
        km = KMeans(4, random_state=0).fit(X)
    assert np.isfinite(km.cluster_centers_).all() and np.isfinite(km.inertia_)
    assert km.inertia_ == pytest.approx(0.0)


def test_all_points_identical_gives_a_finite_result():
    X = np.full((20, 3), 7.0)
    with pytest.warns(ConvergenceWarning):
        km = KMeans(3, random_state=0).fit(X)
    assert np.isfinite(km.cluster_centers_).all()
    assert km.inertia_ == 0.0


def test_large_but_safe_magnitudes_stay_finite():
    X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    km = KMeans(3, random_state=0).fit(X * 1e120)
    assert np.isfinite(km.cluster_centers_).all() and np.isfinite(km.inertia_)
    ref = KMeans(3, random_state=0).fit(X)
    np.testing.assert_array_equal(km.labels_, ref.labels_)


def test_integer_and_boolean_input_is_converted_to_float64():
    X = np.array([[0, 0], [0, 1], [10, 10], [10, 11]])
    km = KMeans(2, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == np.float64
    assert sorted(np.bincount(km.labels_)) == [2, 2]
    assert KMeans(1).fit(X.astype(bool)).cluster_centers_.dtype == np.float64


def test_explicit_init_with_n_init_runs_once_with_a_warning():
    X, _ = make_blobs(n_samples=100, centers=2, random_state=0)
    with pytest.warns(RuntimeWarning, match="only one init in KMeans instead of n_init=5"):
        km = KMeans(2, init=X[:2], n_init=5).fit(X)
    assert len(km.runs_) == 1


def test_fit_memory_stays_linear_in_the_data():
    # An N x K distance matrix here would be 1e6 x 64 x 4 B = 256 MB against 8 MB of data.
    import tracemalloc

    X = np.random.default_rng(0).normal(size=(1_000_000, 2)).astype(np.float32)
    KMeans(64, init=X[:64].copy(), max_iter=2).fit(X[:1000])  # kernels compiled and loaded
    tracemalloc.start()
    try:
        KMeans(64, init=X[:64].copy(), max_iter=3, tol=0).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Centred copy (1x) + one int32 label per point (0.5x): the fit needs 1.5x the data.
    assert peak < 1.75 * X.nbytes


# ----------------------------------------------------------------------------- drop-in for sklearn


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_weights_equal_repeated_rows(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 3))
    w = rng.integers(0, 4, size=len(X))  # 0: the row is left out
    init = X[w > 0][:5].copy()
    weighted = KMeans(5, init=init, tol=0).fit(X, sample_weight=w)
    repeated = KMeans(5, init=init, tol=0).fit(np.repeat(X, w, axis=0))
    np.testing.assert_array_equal(np.repeat(weighted.labels_, w), repeated.labels_)
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-12)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-12)
    assert weighted.n_iter_ == repeated.n_iter_
    assert weighted.score(X, sample_weight=w) == pytest.approx(-weighted.inertia_, rel=1e-12)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_weighted_fit_equals_sklearns_from_the_same_seed(init):
    # Weighted k-means++ (or random) draws the same points as scikit-learn's: same run.
    rng = np.random.default_rng(3)
    X, _ = make_blobs(n_samples=400, centers=5, random_state=3)
    w = rng.uniform(0, 2, size=len(X))
    ours = KMeans(5, init=init, n_init=3, random_state=7).fit(X, sample_weight=w)
    ref = SKKMeans(5, init=init, n_init=3, random_state=7).fit(X, sample_weight=w)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-12)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_csr_fit_equals_dense_fit(algorithm):
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 20)) * (rng.uniform(size=(500, 20)) < 0.2)  # 20 % non-zero
    dense = KMeans(6, random_state=0, algorithm=algorithm).fit(X)
    csr = KMeans(6, random_state=0, algorithm=algorithm).fit(sp.csr_array(X))
    np.testing.assert_array_equal(csr.labels_, dense.labels_)
    np.testing.assert_allclose(csr.cluster_centers_, dense.cluster_centers_, atol=1e-12)
    assert csr.inertia_ == pytest.approx(dense.inertia_, rel=1e-12)
    assert csr.n_iter_ == dense.n_iter_
    np.testing.assert_array_equal(csr.predict(sp.csr_matrix(X)), dense.predict(X))


def test_float32_stays_float32_in_every_method():
    X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    X32 = X.astype(np.float32)
    km = KMeans(3, random_state=0).fit(X32)
    assert km.cluster_centers_.dtype == np.float32
    assert km.transform(X32).dtype == np.float32
    assert km.fit_transform(X32).dtype == np.float32
    assert km.predict(X32).dtype == np.int32
    assert km.history_.iterations[0].centers_after.dtype == np.float32


def test_verbose_prints_scikit_learns_lines(capsys):
    X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    KMeans(3, init=X[:3], tol=0, verbose=1).fit(X)
    ours = capsys.readouterr().out.splitlines()
    SKKMeans(3, init=X[:3], tol=0, verbose=1).fit(X)
    theirs = capsys.readouterr().out.splitlines()
    assert ours[0] == theirs[0] == "Initialization complete"
    assert [line.split(",")[0] for line in ours] == [line.split(",")[0] for line in theirs]
    assert ours[-1] == theirs[-1]  # "Converged at iteration i: strict convergence."


def test_feature_names_and_pandas_output():
    import pandas as pd

    X, _ = make_blobs(n_samples=100, centers=3, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b"])
    km = KMeans(3, random_state=0).fit(frame)
    np.testing.assert_array_equal(km.feature_names_in_, ["a", "b"])
    assert list(km.get_feature_names_out()) == ["kmeans0", "kmeans1", "kmeans2"]
    out = km.set_output(transform="pandas").transform(frame)
    assert list(out.columns) == ["kmeans0", "kmeans1", "kmeans2"]
    with pytest.raises(ValueError, match="feature names should match"):  # scikit-learn's
        km.predict(frame.rename(columns={"a": "x"}))


def test_pickled_history_stays_near_scikit_learns_size():
    import pickle

    X = np.random.default_rng(0).normal(size=(5000, 2))
    ours = KMeans(8, n_init=4, random_state=0).fit(X)
    ref = SKKMeans(8, n_init=4, random_state=0).fit(X)
    n_iter = sum(run.n_iter for run in ours.runs_)
    # Per iteration: two (K, d) centroid arrays, K shifts and counts, and their wrapping.
    # (Storing k-means++'s probabilities took K x N x 8 bytes = 320 kB per run here.)
    assert len(pickle.dumps(ours)) < 2 * len(pickle.dumps(ref)) + 1024 * n_iter
