"""The K-means estimator: scikit-learn's interface around Lloyd's algorithm, fully recorded.

``KMeans.fit`` reads as the algorithm does: validate the input, centre the data, then for
each of ``n_init`` starts seed the centroids (:mod:`engine.kmeans._seeding`), run Lloyd's
iterations (:func:`_kmeans_single_lloyd`) and keep the run with the lowest J. Each
iteration is the fast assignment half-step (:func:`engine.kmeans.lloyd.fast_step`,
Elkan's bounded step for ``algorithm="elkan"``, or a torch step on a GPU) and the update
half-step :func:`engine.kmeans.lloyd.update_centers`, recorded as a
:class:`~engine.kmeans.history.LloydIteration`.

It is a drop-in for ``sklearn.cluster.KMeans`` 1.9: the same parameters (plus ``device``),
the same validation (scikit-learn's own ``validate_data``, parameter constraints and
``_check_sample_weight``, so errors and warnings read the same), sample weights, CSR
input, ``verbose`` lines, feature names and ``set_output``; scikit-learn's own
``test_k_means.py`` runs against it in ``tests/test_sklearn_conformance.py``.

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

import sys
import warnings
from collections.abc import Callable
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import (
    _check_sample_weight,
    _is_arraylike_not_scalar,
    check_is_fitted,
    validate_data,
)

from engine.kmeans import lloyd
from engine.kmeans._seeding import init_centroids
from engine.kmeans.history import KMeansRun, LloydIteration, SeedingStep

__all__ = ["KMeans"]

Array = npt.NDArray[np.floating]


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering by Lloyd's algorithm, recording every iteration.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters K.
    init : {"k-means++", "random"}, callable or array-like of shape (n_clusters, n_features)
        "k-means++" seeds with greedy D² sampling (recorded in ``seeding``), "random"
        picks K distinct rows, an array gives the initial centroids, a callable
        ``init(X, n_clusters, random_state=...)`` returns them.
    n_init : "auto" or int, default="auto"
        Number of initialisations; the run with the lowest J is kept. "auto": one run
        for "k-means++" or an array, 10 for "random" or a callable (scikit-learn's
        rule). Forced to 1 (with a warning) when ``init`` is an array.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per run.
    tol : float, default=1e-4
        Stop when Σ‖centroid shift‖² ≤ tol x (mean per-feature variance of X).
        The run also stops as soon as no point changes cluster.
    verbose : int, default=0
        Print scikit-learn's lines: "Initialization complete", "Iteration i, inertia J."
        and how each run converged.
    random_state : int, RandomState instance or None
        Seeds the initialisation.
    copy_x : bool, default=True
        Centre a copy of X. With False, X (dense, float, C-ordered) is centred in place
        and restored at the end (up to rounding), as in scikit-learn.
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        "elkan" computes the same iterations with Elkan's triangle-inequality bounds,
        skipping distances that cannot change a label; its history counts them. On CSR
        input Lloyd's step runs (the same labels and centroids; no counts).
    device : str, default="cpu"
        Where the Lloyd iterations run: "cpu" (compiled kernels on every core) or a
        CUDA device ("cuda", "cuda:1") through PyTorch when it sees one. Seeding, the
        history and the fitted attributes are the same either way.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
    inertia_ : float
        Final J = Σ w ‖x − μ_label(x)‖² (w = 1 without sample weights).
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had string column names (a DataFrame).
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

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        # "k-means||" is for dask arrays (engine.kmeans.distributed); kept out of messages.
        "init": [StrOptions({"k-means++", "random"}), Hidden(StrOptions({"k-means||"})),
                 callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
        "device": [str],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | npt.ArrayLike | Callable = "k-means++",
        n_init: str | int = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: int | np.random.RandomState | None = None,
        copy_x: bool = True,
        algorithm: str = "lloyd",
        device: str = "cpu",
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.device = device

    # -- public API ------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: npt.ArrayLike, y: object = None, sample_weight: npt.ArrayLike = None):
        """Run K-means on X (n_samples, n_features) and record its history.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Dense data is centred (a copy unless ``copy_x=False``); CSR is used as is.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of every point (None: all 1). Not used by an array or callable init.

        Returns
        -------
        self : KMeans
        """
        if _is_dask_collection(X):  # a dask array: fitted chunk by chunk (issue 15)
            return _distributed().fit(self, X, sample_weight=sample_weight)
        if isinstance(self.init, str) and self.init == "k-means||":
            raise ValueError("init='k-means||' seeds a dask array, chunk by chunk; for data in "
                             "memory use 'k-means++' (the same seeding, exact).")
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
            copy=self.copy_x, accept_large_sparse=False,
        )  # fmt: skip
        self._check_params_vs_input(X)  # sets _n_init, _algorithm (scikit-learn's names)
        random_state = check_random_state(self.random_state)
        # Without weights the kernels run their unweighted code: no (N,) array of ones.
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        init = self.init
        if _is_arraylike_not_scalar(init):
            init = check_array(init, dtype=X.dtype, copy=True, order="C")
            _check_center_shape(init, self.n_clusters, X.shape[1])
        tol = _scaled_tolerance(X, self.tol)

        # Centre the data, as scikit-learn does: distances computed as ‖x‖² - 2x·c + ‖c‖²
        # lose fewer digits near the origin. Centroids and history are shifted back.
        # (CSR data is not centred: that would make it dense.)
        X_mean = np.zeros(X.shape[1], dtype=X.dtype)
        if not sp.issparse(X):
            X_mean = X.mean(axis=0)
            X -= X_mean  # a copy already, unless copy_x=False
            if isinstance(init, np.ndarray):
                init -= X_mean
        try:
            step = _step_for(self._algorithm, self.device, X, sample_weight)

            # One run per start. Every run's record is kept, but only the best run's labels
            # (N each), as in scikit-learn.
            runs, best, labels = [], 0, None
            for i in range(self._n_init):
                centers, seeding, init_name = init_centroids(
                    X, self.n_clusters, init, random_state, sample_weight
                )
                if init_name == "callable":
                    _check_center_shape(centers, self.n_clusters, X.shape[1])
                if self.verbose:
                    print("Initialization complete")
                run, run_labels = _kmeans_single_lloyd(
                    X, centers, self.max_iter, tol, init_name, seeding, X_mean, step,
                    sample_weight, self.verbose,
                )  # fmt: skip
                runs.append(run)
                # A lower J counts only if it is not the same partition renamed (sklearn's rule).
                if labels is None or (
                    run.inertia < runs[best].inertia
                    and not _same_clustering(run_labels, labels, self.n_clusters)
                ):
                    best, labels = i, run_labels
                del run_labels  # a worse run's labels go now, before the next run allocates
        finally:
            if not sp.issparse(X) and not self.copy_x:
                X += X_mean  # the caller's array, de-centred again
        runs[best] = replace(runs[best], is_best=True)
        _warn_if_clusters_lost(lloyd.cluster_sizes(labels, self.n_clusters))

        run = runs[best]
        self.cluster_centers_ = run.centers
        self._n_features_out = self.cluster_centers_.shape[0]
        self.labels_ = labels
        self.inertia_ = run.inertia
        self.n_iter_ = run.n_iter
        self.history_ = run
        self.runs_ = runs
        return self

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Index of the nearest learned centroid for every row of X."""
        if _is_dask_collection(X):  # a dask array: fitted chunk by chunk (issue 15)
            return _distributed().predict(self, X)
        X = self._check_test_data(X)
        return lloyd.assign(X, self.cluster_centers_.astype(X.dtype))

    def fit_predict(
        self, X: npt.ArrayLike, y: object = None, sample_weight: npt.ArrayLike = None
    ) -> npt.NDArray[np.int32]:
        """Fit, then return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: npt.ArrayLike) -> Array:
        """Euclidean distance from every row of X to every centroid, shape (n_samples, K).

        In X's precision when the model was fitted in it (float32 stays float32), by
        scikit-learn's ``euclidean_distances``.
        """
        if _is_dask_collection(X):  # a dask array: fitted chunk by chunk (issue 15)
            return _distributed().transform(self, X)
        X = self._check_test_data(X)
        return euclidean_distances(X, self.cluster_centers_)

    def fit_transform(
        self, X: npt.ArrayLike, y: object = None, sample_weight: npt.ArrayLike = None
    ) -> Array:
        """Fit, then return the distances of X to the centroids."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(
        self, X: npt.ArrayLike, y: object = None, sample_weight: npt.ArrayLike = None
    ) -> float:
        """−J of X under the fitted centroids (higher is better, as scikit-learn scores)."""
        if _is_dask_collection(X):  # a dask array: fitted chunk by chunk (issue 15)
            return _distributed().score(self, X)
        X = self._check_test_data(X)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        centers = self.cluster_centers_.astype(X.dtype)
        return -lloyd.inertia_of(X, centers, lloyd.assign(X, centers), sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]  # float32 stays float32
        return tags

    # -- validation --------------------------------------------------------------------

    def _check_params_vs_input(self, X) -> None:
        """What depends on X: K ≤ n_samples, the number of runs and the algorithm run."""
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        if not (self.device == "cpu" or self.device.split(":")[0] == "cuda"):
            raise ValueError(f"device={self.device!r} should be 'cpu' or 'cuda' (or 'cuda:N').")
        if sp.issparse(X) and self.device != "cpu":
            raise ValueError(f"device={self.device!r} takes dense data; CSR runs on the CPU.")
        _check_magnitude(X.data if sp.issparse(X) else X, X.shape)
        n_init = self._n_runs()
        algorithm = self.algorithm
        if algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' "
                "instead.",
                RuntimeWarning,
                stacklevel=3,
            )
            algorithm = "lloyd"
        self._n_init, self._algorithm = n_init, algorithm

    def _n_runs(self) -> int:
        """How many starts ``n_init`` asks for, read as scikit-learn reads it (numpy or dask)."""
        n_init = self.n_init
        if n_init == "auto":  # scikit-learn's rule: one k-means++ (or given) start suffices
            random_init = isinstance(self.init, str) and self.init == "random"
            n_init = 10 if random_init or callable(self.init) else 1
        if _is_arraylike_not_scalar(self.init) and n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"{self.__class__.__name__} instead of n_init={n_init}.",
                RuntimeWarning,
                stacklevel=4,
            )
            n_init = 1
        return n_init

    def _check_test_data(self, X: npt.ArrayLike):
        check_is_fitted(self)
        return validate_data(
            self, X, accept_sparse="csr", reset=False, dtype=[np.float64, np.float32],
            order="C", accept_large_sparse=False,
        )  # fmt: skip

    def _init_centroids(
        self, X, x_squared_norms, init, random_state, sample_weight, init_size=None,
        n_centroids=None,
    ) -> Array:
        """scikit-learn's private ``_BaseKMeans._init_centroids``, which its tests call."""
        n_clusters = self.n_clusters if n_centroids is None else n_centroids
        sample_weight = np.asarray(sample_weight, dtype=X.dtype)
        return init_centroids(X, n_clusters, init, random_state, sample_weight)[0]


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
    sample_weight: Array | None = None,
    verbose: int = 0,
) -> tuple[KMeansRun, npt.NDArray[np.int32]]:
    """One Lloyd run from ``centers_init`` on centred X. Prior validation of data is assumed.

    Mirrors scikit-learn's ``_kmeans_single_lloyd``: stop when no label changes
    (strict convergence) or when Σ shift² ≤ tol; otherwise after ``max_iter``.
    ``step(X, centers, labels_prev, sample_weight)`` is the assignment half-step (the
    compiled :func:`~engine.kmeans.lloyd.fast_step`, Elkan's step, a torch step, or the
    readable :func:`~engine.kmeans.lloyd.reference_step`); the update half-step is
    always :func:`~engine.kmeans.lloyd.update_centers`. Returns the run's record and
    its labels.
    """
    centers = np.array(centers_init, dtype=X.dtype, order="C")
    labels = None
    records = []
    stop_reason = "max_iter reached"
    for i in range(1, max_iter + 1):
        assigned = step(X, centers, labels, sample_weight)  # assignment half-step
        updated = lloyd.update_centers(X, centers, assigned, sample_weight)  # update half-step
        records.append(LloydIteration.of(i, centers, assigned, updated, X_mean))
        if verbose:  # scikit-learn's lines, iterations counted from 0
            print(f"Iteration {i - 1}, inertia {assigned.inertia}.")
        converged_labels = labels is not None and assigned.n_changed == 0
        labels, centers = assigned.labels, updated.centers
        if converged_labels:
            stop_reason = "labels unchanged"
            if verbose:
                print(f"Converged at iteration {i - 1}: strict convergence.")
            break
        shift_total = records[-1].center_shift_total
        if shift_total <= tol:
            stop_reason = "centroid shift within tolerance"
            if verbose:
                print(
                    f"Converged at iteration {i - 1}: center shift {shift_total} within "
                    f"tolerance {tol}."
                )
            break

    if stop_reason != "labels unchanged":
        # The last update moved the centroids: re-assign so labels match them, in place,
        # and take J from that same pass.
        final = step(X, centers, labels, sample_weight)
        labels, inertia = final.labels, final.inertia
    else:
        inertia = lloyd.inertia_of(X, centers, labels, sample_weight)
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


def _warn_if_clusters_lost(counts: npt.NDArray, stacklevel: int = 3) -> None:
    """scikit-learn's ConvergenceWarning when some cluster ended with no point.

    ``counts``: the points (or weight) of each of the K clusters; ``stacklevel`` as in
    ``warnings.warn``, counted from this function's caller's caller.
    """
    distinct, n_clusters = int(np.count_nonzero(counts)), len(counts)
    if distinct < n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
            f"({n_clusters}). Possibly due to duplicate points in X.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )


def _same_clustering(a: npt.NDArray, b: npt.NDArray, n_clusters: int) -> bool:
    """Whether labelling ``a`` is ``b`` with the clusters renamed (each a-cluster maps to one b)."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    mapping[a] = b  # if a-cluster k maps to one b-cluster, any write gives that one
    return bool(np.array_equal(mapping[a], b))


def _is_dask_collection(X: object) -> bool:
    """Whether X is a dask collection; dask is never imported here for numpy input."""
    base = sys.modules.get("dask.base")  # a dask array exists only once dask is imported
    return base is not None and base.is_dask_collection(X)


def _distributed():
    from engine.kmeans import distributed  # imports dask: only for dask input

    return distributed


def _step_for(algorithm: str, device: str, X, sample_weight):
    """The assignment half-step: the compiled CPU kernel, Elkan's step, or torch on a GPU."""
    if device != "cpu":
        from engine.kmeans import _lloyd_torch  # torch is imported only when a GPU is asked for

        return _lloyd_torch.TorchStep(X, device)
    if algorithm == "elkan" and not sp.issparse(X):
        # Elkan's bounds are kept for dense X; on CSR, Lloyd's compiled step gives the same
        # labels and centroids (the history then counts no skipped distances).
        from engine.kmeans.elkan import ElkanStep

        return ElkanStep(X, sample_weight)
    return lloyd.fast_step


def _scaled_tolerance(X, tol: float) -> float:
    """scikit-learn's rule: tol relative to the mean per-feature variance of X."""
    if tol == 0:
        return 0.0
    variances = mean_variance_axis(X, axis=0)[1] if sp.issparse(X) else np.var(X, axis=0)
    return float(np.mean(variances) * tol)


def _check_center_shape(centers: Array, n_clusters: int, n_features: int) -> None:
    """scikit-learn's check (and words) for given or computed initial centroids."""
    if centers.shape[0] != n_clusters:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match the number of "
            f"clusters {n_clusters}."
        )
    if centers.shape[1] != n_features:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match the number of "
            f"features of the data {n_features}."
        )


def _check_magnitude(values: Array, shape: tuple[int, int]) -> None:
    """Squared distances between points must fit the float type, or J turns to inf.

    scikit-learn does not check this; the Lab does, to say what to do instead of
    returning infinite J.
    """
    if values.size == 0:
        return
    n_samples, n_features = shape
    limit = np.sqrt(np.finfo(values.dtype).max / (4.0 * n_features * n_samples))
    largest = max(-float(values.min()), float(values.max()))
    if largest > limit:
        raise ValueError(
            f"X has values as large as {largest:.3g}; squared distances would overflow "
            f"{values.dtype.name} (limit ≈ {limit:.3g} here). Rescale the data, e.g. "
            "standardise each column."
        )
