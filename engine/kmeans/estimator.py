"""The K-means estimator: scikit-learn's interface around Lloyd's algorithm, fully recorded.

``KMeans.fit`` reads as the algorithm does: validate the input, centre the data, then for
each of ``n_init`` starts seed the centroids (:mod:`engine.kmeans._seeding`), run Lloyd's
iterations (:func:`_kmeans_single_lloyd`) and keep the run with the lowest J. Each
iteration is the fast assignment half-step (:func:`engine.kmeans.lloyd.fast_step`, or a
torch step on a GPU) and the update half-step :func:`engine.kmeans.lloyd.update_centers`,
recorded as a :class:`~engine.kmeans.history.LloydIteration`.

The iterations are written here by hand, not borrowed from scikit-learn, because they are
what the Lab shows: every centroid position, both half-steps of J and every reassignment
are kept in ``history_``. Given the same initial centroids the result equals
``sklearn.cluster.KMeans(algorithm="lloyd")``: the same centring of the data, convergence
rule and empty-cluster relocation.

Example
-------
>>> from sklearn.datasets import make_blobs
>>> from engine.kmeans import KMeans
>>> X, _ = make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
>>> km = KMeans(n_clusters=4, random_state=0).fit(X)
>>> [round(it.inertia_assign, 1) for it in km.history_.iterations][:2]  # doctest: +SKIP
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import replace

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from engine._checks import check_int
from engine.kmeans import lloyd
from engine.kmeans._seeding import init_centroids
from engine.kmeans.history import KMeansRun, LloydIteration, SeedingStep

__all__ = ["KMeans"]

Array = npt.NDArray[np.floating]


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """K-means clustering by Lloyd's algorithm, recording every iteration.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters K.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features)
        "k-means++" seeds with greedy D² sampling (recorded in ``seeding``), "random"
        picks K distinct rows, an array gives the initial centroids.
    n_init : int, default=1
        Number of initialisations; the run with the lowest J is kept. Forced to 1
        (with a warning) when ``init`` is an array, as in scikit-learn.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per run.
    tol : float, default=1e-4
        Stop when Σ‖centroid shift‖² ≤ tol x (mean per-feature variance of X).
        The run also stops as soon as no point changes cluster.
    random_state : int, RandomState instance or None
        Seeds the initialisation.
    device : str, default="cpu"
        Where the Lloyd iterations run: "cpu" (compiled kernels on every core) or a
        CUDA device ("cuda", "cuda:1") through PyTorch when it sees one. Seeding, the
        history and the fitted attributes are the same either way.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
        Final J = Σ ‖x − μ_label(x)‖².
    n_iter_ : int
    n_features_in_ : int
    history_ : KMeansRun
        The run that produced the model.
    runs_ : list of KMeansRun
        Every run when ``n_init > 1``; ``is_best`` marks the kept one.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]])
    >>> km = KMeans(n_clusters=2, init=np.array([[0, 0], [1, 1]])).fit(X)
    >>> km.cluster_centers_
    array([[0.25, 0.  ],
           [0.75, 1.  ]])
    >>> float(km.inertia_)
    0.25
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | npt.ArrayLike = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        device: str = "cpu",
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.device = device

    # -- public API ------------------------------------------------------------------

    def fit(self, X: npt.ArrayLike, y: object = None) -> KMeans:
        """Run K-means on X (n_samples, n_features) and record its history.

        Returns
        -------
        self : KMeans
        """
        X = _check_data(X, "X")
        self._check_params(X)
        init, n_init = self._checked_init(X)
        random_state = check_random_state(self.random_state)
        tol = _scaled_tolerance(X, self.tol)

        # Centre the data, as scikit-learn does: distances computed as ‖x‖² - 2x·c + ‖c‖²
        # lose fewer digits near the origin. Centroids and history are shifted back.
        X_mean = X.mean(axis=0)
        Xc = X - X_mean
        if not isinstance(init, str):
            init = init - X_mean
        step = _step_for_device(self.device, Xc)

        # One run per start. Every run's record is kept, but only the best run's labels
        # (N each), as in scikit-learn.
        runs, best, labels = [], 0, None
        for i in range(n_init):
            centers, seeding, init_name = init_centroids(Xc, self.n_clusters, init, random_state)
            run, run_labels = _kmeans_single_lloyd(
                Xc, centers, self.max_iter, tol, init_name, seeding, X_mean, step
            )
            runs.append(run)
            # A lower J counts only if it is not the same partition renamed (sklearn's rule).
            if labels is None or (
                run.inertia < runs[best].inertia
                and not _same_clustering(run_labels, labels, self.n_clusters)
            ):
                best, labels = i, run_labels
            del run_labels  # a worse run's labels go now, before the next run allocates its own
        runs[best] = replace(runs[best], is_best=True)
        _warn_if_clusters_lost(labels, self.n_clusters)

        run = runs[best]
        self.cluster_centers_ = run.centers
        self.labels_ = labels
        self.inertia_ = run.inertia
        self.n_iter_ = run.n_iter
        self.n_features_in_ = X.shape[1]
        self.history_ = run
        self.runs_ = runs
        return self

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Index of the nearest learned centroid for every row of X."""
        X = self._check_fitted_data(X)
        return lloyd.assign(X, self.cluster_centers_.astype(X.dtype, copy=False))

    def fit_predict(self, X: npt.ArrayLike, y: object = None) -> npt.NDArray[np.int32]:
        """Fit, then return ``labels_``."""
        return self.fit(X).labels_

    def transform(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Euclidean distance from every row of X to every centroid, shape (n_samples, K)."""
        X = self._check_fitted_data(X)
        return np.sqrt(lloyd.squared_distances(X, self.cluster_centers_))

    def score(self, X: npt.ArrayLike, y: object = None) -> float:
        """−J of X under the fitted centroids (higher is better, as scikit-learn scores)."""
        X = self._check_fitted_data(X)
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        return -lloyd.inertia_of(X, centers, lloyd.assign(X, centers))

    # -- validation --------------------------------------------------------------------

    def _check_params(self, X: Array) -> None:
        check_int("n_clusters", self.n_clusters, 1)
        check_int("n_init", self.n_init, 1)
        check_int("max_iter", self.max_iter, 1)
        if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real):
            raise TypeError(f"tol must be a real number, got {self.tol!r}.")
        if not np.isfinite(self.tol) or self.tol < 0:
            raise ValueError(f"tol={self.tol} should be a finite number >= 0.")
        if isinstance(self.init, str) and self.init not in ("k-means++", "random"):
            raise ValueError(
                f"init={self.init!r} should be 'k-means++', 'random' or an array of shape "
                "(n_clusters, n_features)."
            )
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        if not isinstance(self.device, str) or not (
            self.device == "cpu" or self.device.split(":")[0] == "cuda"
        ):
            raise ValueError(f"device={self.device!r} should be 'cpu' or 'cuda' (or 'cuda:N').")

    def _check_fitted_data(self, X: npt.ArrayLike) -> Array:
        check_is_fitted(self, "cluster_centers_")
        X = _check_data(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but KMeans was fitted with "
                f"{self.n_features_in_} features."
            )
        return X

    def _checked_init(self, X: Array) -> tuple[str | Array, int]:
        """``init`` checked, and the number of runs (one for given centroids, as sklearn)."""
        if isinstance(self.init, str):
            return self.init, self.n_init
        init = _check_init_array(self.init, X, self.n_clusters)
        if self.n_init != 1:
            warnings.warn(
                f"Explicit initial centroids were given, so n_init={self.n_init} runs would all "
                "be identical; running once.",
                RuntimeWarning,
                stacklevel=3,
            )
        return init, 1


# ----------------------------------------------------------------------------- the loop


def _kmeans_single_lloyd(
    X: Array,
    centers_init: Array,
    max_iter: int,
    tol: float,
    init_name: str,
    seeding: tuple[SeedingStep, ...],
    X_mean: Array,
    step=lloyd.fast_step,
) -> tuple[KMeansRun, npt.NDArray[np.int32]]:
    """One Lloyd run from ``centers_init`` on centred X. Prior validation of data is assumed.

    Mirrors scikit-learn's ``_kmeans_single_lloyd``: stop when no label changes
    (strict convergence) or when Σ shift² ≤ tol; otherwise after ``max_iter``.
    ``step(X, centers, labels_prev)`` is the assignment half-step (the compiled
    :func:`~engine.kmeans.lloyd.fast_step`, a torch step, or the readable
    :func:`~engine.kmeans.lloyd.reference_step`); the update half-step is always
    :func:`~engine.kmeans.lloyd.update_centers`. Returns the run's record and its labels.
    """
    centers = np.array(centers_init, dtype=X.dtype, order="C")
    labels = None
    records = []
    stop_reason = "max_iter reached"
    for i in range(1, max_iter + 1):
        assigned = step(X, centers, labels)  # assignment half-step
        updated = lloyd.update_centers(X, centers, assigned)  # update half-step
        shift = np.sqrt(((updated.centers - centers) ** 2).sum(axis=1))  # (K,)
        shift_total = float((shift**2).sum())
        records.append(
            LloydIteration(
                iteration=i,
                centers_before=centers + X_mean,
                centers_after=updated.centers + X_mean,
                inertia_assign=assigned.inertia,
                inertia_update=updated.inertia,
                center_shift=shift,
                center_shift_total=shift_total,
                n_changed=assigned.n_changed,
                counts=assigned.counts,
                empty_clusters=updated.empty_clusters,
                relocated_to=updated.relocated_to,
            )
        )
        converged_labels = labels is not None and assigned.n_changed == 0
        labels, centers = assigned.labels, updated.centers
        if converged_labels:
            stop_reason = "labels unchanged"
            break
        if shift_total <= tol:
            stop_reason = "centroid shift within tolerance"
            break

    if stop_reason != "labels unchanged":
        # The last update moved the centroids: re-assign so labels match them, in place,
        # and take J from that same pass.
        final = step(X, centers, labels)
        labels, inertia = final.labels, final.inertia
    else:
        inertia = lloyd.inertia_of(X, centers, labels)
    return KMeansRun(
        init=init_name,
        init_centers=np.asarray(centers_init) + X_mean,
        seeding=seeding,
        iterations=tuple(records),
        tol=tol,
        stop_reason=stop_reason,
        centers=centers + X_mean,
        inertia=inertia,
        n_iter=len(records),
    ), labels


# ----------------------------------------------------------------------------- helpers


def _warn_if_clusters_lost(labels: npt.NDArray[np.int32], n_clusters: int) -> None:
    """scikit-learn's ConvergenceWarning when some cluster ended with no point."""
    distinct = np.count_nonzero(lloyd.cluster_sizes(labels, n_clusters))
    if distinct < n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
            f"({n_clusters}). Possibly due to duplicate points in X.",
            ConvergenceWarning,
            stacklevel=3,
        )


def _same_clustering(a: npt.NDArray, b: npt.NDArray, n_clusters: int) -> bool:
    """Whether labelling ``a`` is ``b`` with the clusters renamed (each a-cluster maps to one b)."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    mapping[a] = b  # if a-cluster k maps to one b-cluster, any write gives that one
    return bool(np.array_equal(mapping[a], b))


def _step_for_device(device: str, X: Array):
    """Lloyd's step for ``device``: the compiled CPU kernel, or a torch step with X on the GPU."""
    if device == "cpu":
        return lloyd.fast_step
    from engine.kmeans import _lloyd_torch  # torch is imported only when a GPU is asked for

    return _lloyd_torch.TorchStep(X, device)


def _scaled_tolerance(X: Array, tol: float) -> float:
    """scikit-learn's rule: tol relative to the mean per-feature variance of X."""
    if tol == 0:
        return 0.0
    return float(np.mean(np.var(X, axis=0)) * tol)


def _check_data(X: npt.ArrayLike, name: str) -> Array:
    """Validate X once at the boundary: 2-D, numeric, finite, not empty, not overflowing."""
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 2-D array of numbers; could not read it: {exc}") from exc
    if arr.dtype.kind in "OUSV" or arr.dtype.kind in "mM":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must contain only numbers; got dtype {arr.dtype} that could not be "
                f"converted to float ({exc})."
            ) from exc
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real-valued; got complex dtype {arr.dtype}.")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must contain numbers; got dtype {arr.dtype}.")
    if arr.ndim != 2:
        hint = " Reshape with X.reshape(-1, 1) for a single feature." if arr.ndim == 1 else ""
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features); got {arr.ndim}-D with shape "
            f"{arr.shape}.{hint}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} is empty (shape {arr.shape}); it needs at least one row and column."
        )
    dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    # min and max see any NaN (it propagates) or inf without an (N, d) temporary, which
    # would raise the fit's peak memory; only a bad value makes us look for where it is.
    low, high = float(arr.min()), float(arr.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        finite = np.isfinite(arr)
        row, col = np.argwhere(~finite)[0]
        bad = arr[row, col]
        kind = "NaN" if np.isnan(bad) else "infinite"
        raise ValueError(
            f"{name} contains {int((~finite).sum())} NaN or infinite value(s); the first is {kind} "
            f"at row {row}, column {col}. Drop or fill those rows first."
        )
    # Squared distances between points must fit the float type, or J turns to inf.
    limit = np.sqrt(np.finfo(dtype).max / (4.0 * arr.shape[1] * arr.shape[0]))
    largest = max(-low, high)
    if largest > limit:
        raise ValueError(
            f"{name} has values as large as {largest:.3g}; squared distances would overflow "
            f"{np.dtype(dtype).name} (limit ≈ {limit:.3g} "
            "here). Rescale the data, e.g. standardise each column."
        )
    return arr


def _check_init_array(init: npt.ArrayLike, X: Array, n_clusters: int) -> Array:
    centers = _check_data(init, "init")
    if centers.shape != (n_clusters, X.shape[1]):
        raise ValueError(
            f"init has shape {centers.shape}; it should be (n_clusters, n_features) = "
            f"({n_clusters}, {X.shape[1]})."
        )
    return centers.astype(X.dtype)
