"""engine.clustering.GaussianMixture against scikit-learn's, the test oracle."""

import warnings

import numpy as np
import pytest
from sklearn import mixture

from engine.clustering import COVARIANCE_TYPES, GaussianMixture, SingularCovarianceError

INITS = ("kmeans", "k-means++", "random", "random_from_data")


def _data(seed: int, n: int = 90, d: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(3, d))
    return np.vstack([rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, d) + c for c in centers])


def _fit_both(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: both sides warn alike
        return GaussianMixture(**params).fit(X), mixture.GaussianMixture(**params).fit(X)


def _assert_same(ours, theirs, X):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-6)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-6)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-6)
    np.testing.assert_allclose(ours.precisions_, theirs.precisions_, rtol=1e-6)
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-6)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INITS)
@pytest.mark.parametrize("seed", [0, 1])
def test_fit_equals_sklearn(covariance_type, init_params, seed):
    X = _data(seed)
    params = dict(n_components=3, covariance_type=covariance_type, init_params=init_params,
                  random_state=seed, max_iter=40)  # fmt: skip
    _assert_same(*_fit_both(X, **params), X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_several_starts_keep_the_same_start_as_sklearn(covariance_type):
    X = _data(7)
    ours, theirs = _fit_both(X, n_components=4, covariance_type=covariance_type, n_init=3,
                             random_state=5)  # fmt: skip
    _assert_same(ours, theirs, X)
    assert len(ours.runs_) == 3 and sum(run.is_best for run in ours.runs_) == 1
    assert ours.history_.is_best


def _precisions(covariance_type, K, d, rng):
    if covariance_type == "full":
        return np.stack([np.eye(d) * rng.uniform(0.5, 2.0) for _ in range(K)])
    if covariance_type == "tied":
        return np.eye(d) * 0.7
    if covariance_type == "diag":
        return rng.uniform(0.5, 2.0, size=(K, d))
    return rng.uniform(0.5, 2.0, size=K)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("given", ["all", "means", "weights_and_precisions"])
def test_explicit_initial_values_equal_sklearn(covariance_type, given):
    X = _data(3)
    rng = np.random.default_rng(0)
    K, d = 3, X.shape[1]
    init = {
        "means_init": X[[0, 100, 200]],
        "weights_init": np.array([0.2, 0.3, 0.5]),
        "precisions_init": _precisions(covariance_type, K, d, rng),
    }
    if given == "means":
        init = {"means_init": init["means_init"]}
    elif given == "weights_and_precisions":
        del init["means_init"]
    ours, theirs = _fit_both(X, n_components=K, covariance_type=covariance_type,
                             random_state=1, **init)  # fmt: skip
    _assert_same(ours, theirs, X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(covariance_type):
    X = _data(11)
    gm = GaussianMixture(4, covariance_type=covariance_type, tol=1e-8, max_iter=200,
                         random_state=0).fit(X)  # fmt: skip
    bounds = gm.history_.lower_bounds
    assert len(bounds) > 3
    # EM's guarantee; reg_covar makes the M-step a hair off the exact maximum.
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_history_ends_at_the_fitted_parameters_and_recomputes_responsibilities():
    X = _data(4)
    gm = GaussianMixture(3, init_params="random", random_state=0).fit(X)
    last = gm.history_.iterations[-1]
    np.testing.assert_array_equal(last.means, gm.means_)
    np.testing.assert_array_equal(last.covariances, gm.covariances_)
    resp = gm.history_.responsibilities_at(X, gm.n_iter_)
    np.testing.assert_allclose(resp, gm.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)
    w0, m0, c0 = gm.history_.parameters_at(0)
    assert m0.shape == gm.means_.shape and c0.shape == gm.covariances_.shape
    assert not np.allclose(m0, gm.means_)  # EM moved the means


def test_bic_and_aic_equal_sklearn():
    X = _data(2)
    for covariance_type in COVARIANCE_TYPES:
        ours, theirs = _fit_both(X, n_components=2, covariance_type=covariance_type,
                                 random_state=0)  # fmt: skip
        assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=1e-9)
        assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=1e-9)


def test_one_component_is_the_sample_mean_and_covariance():
    X = _data(5)
    gm = GaussianMixture(1, reg_covar=0.0).fit(X)
    np.testing.assert_allclose(gm.means_[0], X.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(gm.covariances_[0], np.cov(X.T, bias=True), rtol=1e-8)
    assert gm.n_iter_ == 2  # the second E-step finds the same bound


BAD = [
    (dict(n_components=0), "n_components=0"),
    (dict(n_components=500), "n_samples=270 should be >= n_components=500"),
    (dict(covariance_type="round"), "covariance_type='round'"),
    (dict(init_params="magic"), "init_params='magic'"),
    (dict(tol=-1.0), "tol=-1.0"),
    (dict(max_iter=0), "max_iter=0"),
    (dict(n_components=2, weights_init=[0.2, 0.2]), "sum to 1"),
    (dict(n_components=2, means_init=np.zeros((3, 3))), "means_init should have shape"),
    (dict(n_components=2, precisions_init=-np.ones((2, 3)), covariance_type="diag"),
     "positive"),
    (dict(n_components=1, precisions_init=-np.eye(3)[None]), "positive definite"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "match"), BAD, ids=[m for _, m in BAD])
def test_bad_parameters_are_refused_with_a_message(params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**params).fit(_data(0))


def test_a_collapsed_component_raises_a_singular_covariance_error():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 10, axis=0)
    with pytest.raises(SingularCovarianceError, match="singular"):
        GaussianMixture(3, reg_covar=0.0, random_state=0).fit(X)


def test_nan_in_the_data_is_refused():
    X = _data(0)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2).fit(X)
