"""Gaussian mixture models fitted by EM, with every iteration recorded.

scikit-learn's ``GaussianMixture`` keeps only the final parameters and the lower bound per
iteration. The Lab shows EM as it happens: the means walking, the ellipses turning, the
responsibilities shifting. So the E-step and the M-step are written here by hand, with the
same arithmetic as scikit-learn 1.9 (``sklearn/mixture/_gaussian_mixture.py``), and each
iteration's weights, means and covariances are kept in ``history_``. With the same
``random_state`` and ``init_params``, or the same explicit initial values, the fitted
parameters, ``lower_bound_``, ``n_iter_`` and ``predict`` equal scikit-learn's
(``tests/test_clustering_gmm.py`` checks 1e-6 relative on float64 for all four covariance
types). The starts themselves come from scikit-learn's public ``KMeans`` and
``kmeans_plusplus``, called exactly as scikit-learn calls them, so the same seed draws the
same start.

One module, longer than most (about 600 lines), because the estimator, its records and the
four covariance types' arithmetic are read together: each helper mirrors one scikit-learn
function and the tests compare them as a whole.

Shapes of a covariance, by ``covariance_type`` (K components, d features):
``"full"`` (K, d, d) · ``"tied"`` (d, d) · ``"diag"`` (K, d) · ``"spherical"`` (K,).

Example
-------
>>> from sklearn.datasets import make_blobs
>>> X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
>>> gm = GaussianMixture(3, random_state=0).fit(X)
>>> bool(np.all(np.diff(gm.history_.lower_bounds) > -1e-9))  # EM never goes downhill
True
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import linalg
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClusterMixin, DensityMixin
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

Array = npt.NDArray[np.float64]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")

SINGULAR_MESSAGE = (
    "A component's covariance became singular (it collapsed onto too few distinct points, "
    "or a feature is constant within it), so its Gaussian density is undefined. Lower the "
    "number of components, raise reg_covar, or standardise the features."
)


class SingularCovarianceError(ValueError):
    """A component's covariance is not positive definite; the message says what to change."""


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class EMIteration:
    """One EM iteration: the E-step's lower bound and the parameters the M-step produced.

    Attributes
    ----------
    iteration : int
        1-based.
    lower_bound : float
        Mean log-likelihood per point computed in this iteration's E-step, i.e. of the
        parameters the iteration *started* from (scikit-learn's ``lower_bounds_`` entry).
    weights : ndarray of shape (K,)
        Mixing weights after the M-step.
    means : ndarray of shape (K, d)
    covariances : ndarray
        After the M-step, shaped by ``covariance_type`` (see the module docstring).
    """

    iteration: int
    lower_bound: float
    weights: Array
    means: Array
    covariances: Array


@dataclass(frozen=True)
class EMRun:
    """Everything one start of EM did.

    Attributes
    ----------
    covariance_type : str
    initial_weights, initial_means, initial_covariances : ndarray
        The start, before the first E-step. With ``precisions_init`` given, the initial
        covariances are the inverses of those precisions.
    iterations : tuple of EMIteration
    converged : bool
        Whether the change of the lower bound fell below ``tol`` before ``max_iter``.
    is_best : bool
        Whether this start gave the fitted parameters (highest final lower bound).
    """

    covariance_type: str
    initial_weights: Array
    initial_means: Array
    initial_covariances: Array
    iterations: tuple[EMIteration, ...]
    converged: bool
    is_best: bool = False

    @property
    def n_iter(self) -> int:
        return len(self.iterations)

    @property
    def lower_bounds(self) -> Array:
        """The lower bound per iteration, shape (n_iter,): EM's analogue of K-means' J."""
        return np.array([it.lower_bound for it in self.iterations])

    def parameters_at(self, iteration: int) -> tuple[Array, Array, Array]:
        """``(weights, means, covariances)`` after ``iteration`` (0 = the start)."""
        if iteration == 0:
            return self.initial_weights, self.initial_means, self.initial_covariances
        it = self.iterations[iteration - 1]
        return it.weights, it.means, it.covariances

    def responsibilities_at(self, X: npt.ArrayLike, iteration: int) -> Array:
        """Each point's posterior over the components after ``iteration``, shape (n, K).

        Recomputed from that iteration's parameters, so nothing of size n is stored per
        iteration.
        """
        weights, means, covariances = self.parameters_at(iteration)
        X = np.asarray(X, dtype=np.float64)
        chol = _precision_cholesky(covariances, self.covariance_type)
        weighted = _log_gaussian_prob(X, means, chol, self.covariance_type) + np.log(weights)
        return np.exp(weighted - logsumexp(weighted, axis=1)[:, np.newaxis])

    def __repr__(self) -> str:
        return (
            f"EMRun(covariance_type={self.covariance_type!r}, n_iter={self.n_iter}, "
            f"converged={self.converged}, is_best={self.is_best})"
        )


# ----------------------------------------------------------------------------- estimator


class GaussianMixture(ClusterMixin, DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by expectation-maximisation, recording every iteration.

    Same parameters, defaults and results as ``sklearn.mixture.GaussianMixture`` (without
    ``warm_start`` and ``verbose``).

    Parameters
    ----------
    n_components : int, default=1
        Number of Gaussian components K.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Each component's own full matrix; one matrix shared by all; per-feature variances;
        one variance per component.
    tol : float, default=1e-3
        EM stops when the lower bound changes by less than this.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, keeping it positive definite.
    max_iter : int, default=100
        EM iterations per start (at least 1).
    n_init : int, default=1
        Number of starts; the one with the highest lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How the starting responsibilities are drawn (as scikit-learn draws them).
    random_state : int, RandomState instance or None, default=None
    weights_init : array-like of shape (K,), default=None
    means_init : array-like of shape (K, d), default=None
    precisions_init : array-like, default=None
        Inverse covariances, shaped by ``covariance_type``.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
    lower_bounds_ : list of float
    history_ : EMRun
        The kept start, iteration by iteration.
    runs_ : tuple of EMRun
        Every start (``is_best`` marks the kept one).
    n_features_in_ : int

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [0.1, 0.2], [0.2, 0.1], [5.0, 5.0], [5.1, 5.2], [5.2, 5.1]])
    >>> gm = GaussianMixture(2, random_state=0).fit(X)
    >>> np.round(gm.means_[np.argsort(gm.means_[:, 0])], 2).tolist()
    [[0.1, 0.1], [5.1, 5.1]]
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state=None,
        weights_init: npt.ArrayLike | None = None,
        means_init: npt.ArrayLike | None = None,
        precisions_init: npt.ArrayLike | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init

    # ------------------------------------------------------------------ fit
    def fit(self, X: npt.ArrayLike, y: object = None) -> GaussianMixture:
        """Run EM ``n_init`` times from the chosen starts and keep the best; return self."""
        X = self._check_data(X)
        start = self._check_params(X)
        random_state = check_random_state(self.random_state)

        runs, best, best_bound = [], None, -np.inf
        for _ in range(self.n_init):
            params = start if start is not None else self._initial_parameters(X, random_state)
            run, params = self._em(X, params)
            final_bound = run.iterations[-1].lower_bound
            # scikit-learn's rule: the first start, then any start with a higher bound.
            if best is None or final_bound > best_bound:
                best, best_bound, best_params = len(runs), final_bound, params
            runs.append(run)

        runs[best] = replace(runs[best], is_best=True)
        self.runs_ = tuple(runs)
        self.history_ = runs[best]
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = best_params
        self.precisions_ = _precisions(self.precisions_cholesky_, self.covariance_type)
        self.converged_ = self.history_.converged
        self.n_iter_ = self.history_.n_iter
        self.lower_bound_ = float(best_bound)
        self.lower_bounds_ = self.history_.lower_bounds.tolist()
        self.n_features_in_ = X.shape[1]
        if not self.converged_:
            warnings.warn(
                f"EM did not converge in max_iter={self.max_iter} iterations (the lower bound "
                f"still changed by more than tol={self.tol}). Raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def fit_predict(self, X: npt.ArrayLike, y: object = None) -> npt.NDArray[np.intp]:
        return self.fit(X).predict(X)

    def _em(self, X: Array, params: tuple) -> tuple[EMRun, tuple]:
        """One start of EM, recorded. Prior validation of data is assumed."""
        weights, means, covariances, prec_chol = params
        initial = (weights, means, covariances)
        lower_bound, iterations, converged = -np.inf, [], False
        for n_iter in range(1, self.max_iter + 1):
            previous = lower_bound
            # E-step: log p(x, z=k) for every point and component, normalised per point.
            weighted = _log_gaussian_prob(X, means, prec_chol, self.covariance_type)
            weighted += np.log(weights)  # (n, K)
            log_norm = logsumexp(weighted, axis=1)  # (n,) = log p(x)
            with np.errstate(under="ignore"):
                log_resp = weighted - log_norm[:, np.newaxis]  # (n, K)
            lower_bound = float(np.mean(log_norm))
            # M-step: weighted counts, means and covariances under those responsibilities.
            weights, means, covariances = _estimate_parameters(
                X, np.exp(log_resp), self.reg_covar, self.covariance_type
            )
            weights /= weights.sum()
            prec_chol = _precision_cholesky(covariances, self.covariance_type)
            iterations.append(
                EMIteration(n_iter, lower_bound, weights, means, covariances)
            )
            if abs(lower_bound - previous) < self.tol:
                converged = True
                break
        run = EMRun(self.covariance_type, *initial, tuple(iterations), converged)
        return run, (weights, means, covariances, prec_chol)

    def _initial_parameters(self, X: Array, random_state: np.random.RandomState) -> tuple:
        """Start from responsibilities drawn as scikit-learn draws them (same random stream)."""
        n_samples, K = X.shape[0], self.n_components
        resp = np.zeros((n_samples, K))
        if self.init_params == "kmeans":
            labels = KMeans(n_clusters=K, n_init=1, random_state=random_state).fit(X).labels_
            resp[np.arange(n_samples), labels] = 1
        elif self.init_params == "random":
            resp = random_state.uniform(size=(n_samples, K))
            resp /= resp.sum(axis=1)[:, np.newaxis]
        elif self.init_params == "random_from_data":
            rows = random_state.choice(n_samples, size=K, replace=False)
            resp[rows, np.arange(K)] = 1
        else:  # "k-means++"
            _, rows = kmeans_plusplus(X, K, random_state=random_state)
            resp[rows, np.arange(K)] = 1
        weights, means, covariances = _estimate_parameters(
            X, resp, self.reg_covar, self.covariance_type
        )
        weights /= n_samples  # not renormalised: scikit-learn's start, to the last bit
        return self._with_given(X, weights, means, covariances)

    def _with_given(self, X: Array, weights, means, covariances) -> tuple:
        """Replace the start's pieces by those the user gave (weights, means, precisions)."""
        if self.weights_init is not None:
            weights = self._weights_init
        if self.means_init is not None:
            means = self._means_init
        if self.precisions_init is None:
            return weights, means, covariances, _precision_cholesky(
                covariances, self.covariance_type
            )
        prec_chol = _cholesky_of_precisions(self._precisions_init, self.covariance_type)
        return weights, means, _covariances_from(self._precisions_init, self.covariance_type), (
            prec_chol
        )

    # ------------------------------------------------------------------ use
    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """The most probable component of each point."""
        return np.argmax(self._weighted_log_prob(X), axis=1)

    def predict_proba(self, X: npt.ArrayLike) -> Array:
        """Responsibilities: each point's posterior over the components, shape (n, K)."""
        weighted = self._weighted_log_prob(X)
        return np.exp(weighted - logsumexp(weighted, axis=1)[:, np.newaxis])

    def score_samples(self, X: npt.ArrayLike) -> Array:
        """log p(x) of each point under the fitted mixture."""
        return logsumexp(self._weighted_log_prob(X), axis=1)

    def score(self, X: npt.ArrayLike, y: object = None) -> float:
        """Mean log-likelihood per point."""
        return float(np.mean(self.score_samples(X)))

    def bic(self, X: npt.ArrayLike) -> float:
        """Bayesian information criterion: −2 log L + p log n (lower is better)."""
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X: npt.ArrayLike) -> float:
        """Akaike information criterion: −2 log L + 2 p (lower is better)."""
        return -2 * self.score(X) * np.shape(X)[0] + 2 * self._n_parameters()

    def _weighted_log_prob(self, X: npt.ArrayLike) -> Array:
        check_is_fitted(self, "means_")
        X = self._check_data(X, fitted=True)
        log_prob = _log_gaussian_prob(X, self.means_, self.precisions_cholesky_,
                                      self.covariance_type)  # fmt: skip
        return log_prob + np.log(self.weights_)

    def _n_parameters(self) -> int:
        K, d = self.means_.shape
        covariance = {"full": K * d * (d + 1) / 2, "diag": K * d, "tied": d * (d + 1) / 2,
                      "spherical": K}[self.covariance_type]  # fmt: skip
        return int(covariance + K * d + K - 1)

    # ------------------------------------------------------------------ checks
    def _check_data(self, X: npt.ArrayLike, *, fitted: bool = False) -> Array:
        X = check_array(X, dtype=np.float64, ensure_min_samples=1 if fitted else 2)
        if fitted and X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but this mixture was fitted on "
                f"{self.n_features_in_}."
            )
        return X

    def _check_params(self, X: Array) -> tuple | None:
        """Validate the settings once; return the full start if every piece was given."""
        n_samples, n_features = X.shape
        K = self.n_components
        _check_int("n_components", K, 1)
        _check_int("max_iter", self.max_iter, 1)
        _check_int("n_init", self.n_init, 1)
        if n_samples < K:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_components={K}: a mixture needs at "
                "least one point per component."
            )
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type={self.covariance_type!r} is not one of {COVARIANCE_TYPES}."
            )
        if self.init_params not in INIT_PARAMS:
            raise ValueError(f"init_params={self.init_params!r} is not one of {INIT_PARAMS}.")
        for name in ("tol", "reg_covar"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value >= 0:
                raise ValueError(f"{name}={value!r} should be a number >= 0.")

        self._weights_init = self._means_init = self._precisions_init = None
        if self.weights_init is not None:
            w = check_array(self.weights_init, dtype=np.float64, ensure_2d=False)
            if w.shape != (K,) or (w < 0).any() or (w > 1).any():
                raise ValueError(f"weights_init should be {K} numbers in [0, 1].")
            if not math.isclose(float(w.sum()), 1.0, rel_tol=0, abs_tol=1e-8):
                raise ValueError(f"weights_init should sum to 1, not {w.sum():.5f}.")
            self._weights_init = w
        if self.means_init is not None:
            m = check_array(self.means_init, dtype=np.float64)
            if m.shape != (K, n_features):
                raise ValueError(f"means_init should have shape {(K, n_features)}, not {m.shape}.")
            self._means_init = m
        if self.precisions_init is not None:
            self._precisions_init = _check_precisions(
                self.precisions_init, self.covariance_type, K, n_features
            )
        if any(v is None for v in (self.weights_init, self.means_init, self.precisions_init)):
            return None
        return self._with_given(X, None, None, None)


# ----------------------------------------------------------------------------- the maths
# Private helpers: prior validation of data is assumed. Each mirrors the scikit-learn 1.9
# function named in its docstring, operation for operation, so results agree to the last
# bits and the convergence test stops at the same iteration.


def _estimate_parameters(
    X: Array, resp: Array, reg_covar: float, covariance_type: str
) -> tuple[Array, Array, Array]:
    """M-step: (Nk, means, covariances) from responsibilities (``_estimate_gaussian_parameters``).

    The returned weights are the raw counts Nk; the caller divides them.
    """
    nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps  # (K,), never exactly 0
    means = (resp.T @ X) / nk[:, np.newaxis]  # (K, d)
    d = X.shape[1]
    if covariance_type == "full":
        covariances = np.empty((len(nk), d, d))
        for k in range(len(nk)):
            diff = X - means[k]  # (n, d)
            covariances[k] = ((resp[:, k] * diff.T) @ diff) / nk[k]
            covariances[k].flat[:: d + 1] += reg_covar
    elif covariance_type == "tied":
        covariances = X.T @ X - nk * means.T @ means  # (d, d)
        covariances /= nk.sum()
        covariances.flat[:: d + 1] += reg_covar
    else:
        diag = (resp.T @ (X * X)) / nk[:, np.newaxis] - means**2 + reg_covar  # (K, d)
        covariances = diag if covariance_type == "diag" else diag.mean(axis=1)
    return nk, means, covariances


def _precision_cholesky(covariances: Array, covariance_type: str) -> Array:
    """Cholesky factor of each precision matrix (``_compute_precision_cholesky``).

    For Σ = L Lᵀ, the precision Σ⁻¹ = (L⁻¹)ᵀ L⁻¹, so (L⁻¹)ᵀ is its upper factor.
    """
    if covariance_type in ("full", "tied"):
        stack = covariances if covariance_type == "full" else covariances[np.newaxis]
        d = stack.shape[-1]
        chol = np.empty_like(stack)
        for k, covariance in enumerate(stack):
            try:
                cov_chol = linalg.cholesky(covariance, lower=True)
            except linalg.LinAlgError:
                raise SingularCovarianceError(SINGULAR_MESSAGE) from None
            chol[k] = linalg.solve_triangular(cov_chol, np.eye(d), lower=True).T
        return chol if covariance_type == "full" else chol[0]
    if np.any(covariances <= 0.0):
        raise SingularCovarianceError(SINGULAR_MESSAGE)
    return 1.0 / np.sqrt(covariances)


def _cholesky_of_precisions(precisions: Array, covariance_type: str) -> Array:
    """Upper Cholesky factor U (P = U Uᵀ) of given precisions, by flipping rows and columns.

    ``_compute_precision_cholesky_from_precisions``: with J the exchange matrix,
    J P J = L Lᵀ gives U = J L J.
    """
    if covariance_type == "full":
        return np.stack([_flip(linalg.cholesky(_flip(p), lower=True)) for p in precisions])
    if covariance_type == "tied":
        return _flip(linalg.cholesky(_flip(precisions), lower=True))
    return np.sqrt(precisions)


def _flip(matrix: Array) -> Array:
    return np.flip(np.flip(matrix, axis=1), axis=0)


def _covariances_from(precisions: Array, covariance_type: str) -> Array:
    """Covariances of given precisions, for the record of the start."""
    if covariance_type == "full":
        return np.stack([np.linalg.inv(p) for p in precisions])
    if covariance_type == "tied":
        return np.linalg.inv(precisions)
    return 1.0 / precisions


def _precisions(prec_chol: Array, covariance_type: str) -> Array:
    if covariance_type == "full":
        return np.stack([c @ c.T for c in prec_chol])
    if covariance_type == "tied":
        return prec_chol @ prec_chol.T
    return prec_chol**2


def _log_gaussian_prob(X: Array, means: Array, prec_chol: Array, covariance_type: str) -> Array:
    """log N(x | μ_k, Σ_k) for every point and component, shape (n, K).

    ``_estimate_log_gaussian_prob``: with U the precision's Cholesky factor, the squared
    Mahalanobis distance is ‖(x − μ) U‖², and −½ log det Σ = Σ log diag(U).
    """
    n_samples, d = X.shape
    K = means.shape[0]
    if covariance_type == "full":
        log_det = np.log(prec_chol.reshape(K, -1)[:, :: d + 1]).sum(axis=1)  # (K,)
        mahalanobis = np.empty((n_samples, K))
        for k in range(K):
            y = X @ prec_chol[k] - means[k] @ prec_chol[k]  # (n, d)
            mahalanobis[:, k] = np.sum(np.square(y), axis=1)
    elif covariance_type == "tied":
        log_det = np.sum(np.log(np.diagonal(prec_chol)))
        mahalanobis = np.empty((n_samples, K))
        for k in range(K):
            y = X @ prec_chol - means[k] @ prec_chol
            mahalanobis[:, k] = np.sum(np.square(y), axis=1)
    elif covariance_type == "diag":
        log_det = np.sum(np.log(prec_chol), axis=1)
        precisions = prec_chol**2  # (K, d)
        mahalanobis = (
            np.sum(means**2 * precisions, axis=1)
            - 2.0 * (X @ (means * precisions).T)
            + (X**2 @ precisions.T)
        )
    else:  # spherical
        log_det = d * np.log(prec_chol)
        precisions = prec_chol**2  # (K,)
        mahalanobis = (
            np.sum(means**2, axis=1) * precisions
            - 2 * (X @ means.T * precisions)
            + np.outer(np.einsum("ij,ij->i", X, X), precisions)
        )
    return -0.5 * (d * math.log(2 * math.pi) + mahalanobis) + log_det


def _check_precisions(precisions, covariance_type: str, K: int, d: int) -> Array:
    p = check_array(precisions, dtype=np.float64, ensure_2d=False,
                    allow_nd=covariance_type == "full")  # fmt: skip
    shape = {"full": (K, d, d), "tied": (d, d), "diag": (K, d), "spherical": (K,)}
    if p.shape != shape[covariance_type]:
        raise ValueError(
            f"precisions_init for covariance_type={covariance_type!r} should have shape "
            f"{shape[covariance_type]}, not {p.shape}."
        )
    if covariance_type in ("diag", "spherical"):
        if (p <= 0).any():
            raise ValueError("precisions_init should be positive.")
        return p
    for m in p if covariance_type == "full" else p[np.newaxis]:
        if not (np.allclose(m, m.T) and (np.linalg.eigvalsh(m) > 0).all()):
            raise ValueError("precisions_init should be symmetric and positive definite.")
    return p


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}={value!r} should be a whole number >= {minimum}.")


def information_criteria(
    X: npt.ArrayLike,
    ks: range | list[int],
    covariance_types: tuple[str, ...] = COVARIANCE_TYPES,
    *,
    random_state: int = 0,
) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, float]]]:
    """BIC and AIC of a mixture for every K in ``ks`` and every covariance type.

    Returns two tables ``{covariance_type: {K: value}}``; a (K, type) whose fit fails (a
    collapsed component) is left out. Runs with one BLAS thread: these matrices are small and
    threads cost more than they give on a busy machine (see ``_compare.run_cell``).
    """
    X = np.asarray(X, dtype=np.float64)
    with threadpool_limits(limits=1):
        return _criteria(X, ks, covariance_types, random_state)


def _criteria(X, ks, covariance_types, random_state):
    bic: dict[str, dict[int, float]] = {t: {} for t in covariance_types}
    aic: dict[str, dict[int, float]] = {t: {} for t in covariance_types}
    for covariance_type in covariance_types:
        for k in ks:
            if k > len(X):
                break
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    gm = GaussianMixture(k, covariance_type=covariance_type,
                                         random_state=random_state).fit(X)  # fmt: skip
            except SingularCovarianceError:
                continue
            bic[covariance_type][k] = gm.bic(X)
            aic[covariance_type][k] = gm.aic(X)
    return bic, aic
