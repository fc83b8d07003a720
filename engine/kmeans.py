"""K-means clustering with Lloyd's algorithm, and a complete record of how it converged.

The iterations are written here by hand, not borrowed from scikit-learn, because
they are what the Lab shows: every centroid position, both half-steps of J and
every reassignment are kept in ``history_``. Given the same initial centroids the
result equals ``sklearn.cluster.KMeans(algorithm="lloyd")``: the same centring of
the data, convergence rule and empty-cluster relocation.

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
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from engine import lloyd

Array = npt.NDArray[np.floating]

# Above this many (n_samples x n_clusters) values, k-means++ probabilities are not
# stored per step; `KMeansRun.seeding_probabilities` recomputes them on demand.
_MAX_STORED_PROBABILITIES = 2_000_000


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SeedingStep:
    """How k-means++ chose centroid number ``step`` (0-based).

    Attributes
    ----------
    step : int
        Which centroid this is.
    chosen : int
        Row index of the point that became the centroid.
    candidates : ndarray of int
        Rows drawn with probability ∝ D² ("greedy" k-means++ tries several and keeps
        the one that lowers the potential most). Only ``chosen`` for step 0.
    potential : float
        Σ D² after adding the chosen point: the J of the seeding so far.
    probabilities : ndarray of shape (n_samples,) or None
        D(x)² / Σ D² before this choice (uniform at step 0); None when not stored
        for very large data - recompute with :meth:`KMeansRun.seeding_probabilities`.
    """

    step: int
    chosen: int
    candidates: npt.NDArray[np.intp]
    potential: float
    probabilities: npt.NDArray[np.float64] | None


@dataclass(frozen=True)
class LloydIteration:
    """Everything one iteration of Lloyd's algorithm did.

    Attributes
    ----------
    iteration : int
        1-based iteration number.
    centers_before : ndarray of shape (n_clusters, n_features)
        Centroids the points were assigned to.
    centers_after : ndarray of shape (n_clusters, n_features)
        Centroids after the update (means of their points, empty ones relocated).
    inertia_assign : float
        J after the assignment half-step: points at their nearest ``centers_before``.
    inertia_update : float
        J after the update half-step: the same points against ``centers_after``.
    center_shift : ndarray of shape (n_clusters,)
        Distance each centroid moved.
    center_shift_total : float
        Σ shift², the quantity compared with the (scaled) tolerance.
    n_changed : int
        Points whose cluster changed in this assignment (every point at iteration 1).
    counts : ndarray of shape (n_clusters,)
        Points per cluster after the assignment.
    empty_clusters : tuple of int
        Clusters that received no point.
    relocated_to : tuple of int
        For each empty cluster, the row of the point it was moved onto (the point
        farthest from its own centroid), as scikit-learn does.
    """

    iteration: int
    centers_before: Array
    centers_after: Array
    inertia_assign: float
    inertia_update: float
    center_shift: Array
    center_shift_total: float
    n_changed: int
    counts: npt.NDArray[np.int64]
    empty_clusters: tuple[int, ...]
    relocated_to: tuple[int, ...]


@dataclass(frozen=True)
class KMeansRun:
    """One run of Lloyd's algorithm from one initialisation.

    Labels are not stored per iteration (that would be N per iteration); get them
    with :meth:`labels_at`, which re-assigns the data to that iteration's centroids.

    Attributes
    ----------
    init : str
        "k-means++", "random" or "array".
    init_centers : ndarray of shape (n_clusters, n_features)
    seeding : tuple of SeedingStep
        The k-means++ choices (empty for other inits).
    iterations : tuple of LloydIteration
    tol : float
        The absolute tolerance used: ``tol`` x mean per-feature variance of X.
    stop_reason : str
        "labels unchanged", "centroid shift within tolerance" or "max_iter reached".
    centers : ndarray of shape (n_clusters, n_features)
        Final centroids.
    inertia : float
        Final J.
    n_iter : int
    is_best : bool
        Whether this run gave the fitted model (lowest J over ``n_init`` runs).
    """

    init: str
    init_centers: Array
    seeding: tuple[SeedingStep, ...]
    iterations: tuple[LloydIteration, ...]
    tol: float
    stop_reason: str
    centers: Array
    inertia: float
    n_iter: int
    is_best: bool = False

    @property
    def converged(self) -> bool:
        return self.stop_reason != "max_iter reached"

    @property
    def inertia_curve(self) -> npt.NDArray[np.float64]:
        """J after each half-step: [assign₁, update₁, assign₂, update₂, ...]."""
        return np.array(
            [j for it in self.iterations for j in (it.inertia_assign, it.inertia_update)]
        )

    def labels_at(self, X: npt.ArrayLike, iteration: int) -> npt.NDArray[np.int32]:
        """Cluster of every row of X in the assignment half-step of ``iteration`` (1-based)."""
        if not 1 <= iteration <= len(self.iterations):
            raise ValueError(
                f"iteration={iteration} is outside 1..{len(self.iterations)} for this run."
            )
        centers = self.iterations[iteration - 1].centers_before
        return lloyd.assign(np.ascontiguousarray(X, dtype=centers.dtype), centers)

    def seeding_probabilities(self, X: npt.ArrayLike, step: int) -> npt.NDArray[np.float64]:
        """D² probabilities k-means++ used to draw centroid ``step``: uniform at step 0."""
        X = np.asarray(X, dtype=np.float64)
        if step == 0:
            return np.full(len(X), 1.0 / len(X))
        chosen = X[[s.chosen for s in self.seeding[:step]]]
        d2 = lloyd.squared_distances(X, chosen).min(axis=1)
        total = d2.sum()
        return d2 / total if total > 0 else np.full(len(X), 1.0 / len(X))


# ----------------------------------------------------------------------------- estimator


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
        init = self.init
        n_init = self.n_init
        if not isinstance(init, str):
            init = _check_init_array(init, X, self.n_clusters)
            if n_init != 1:
                warnings.warn(
                    f"Explicit initial centroids were given, so n_init={n_init} runs would all "
                    "be identical; running once.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                n_init = 1
        random_state = check_random_state(self.random_state)
        tol = _scaled_tolerance(X, self.tol)

        # Centre the data, as scikit-learn does: distances computed as ‖x‖² - 2x·c + ‖c‖²
        # lose fewer digits near the origin. Centroids and history are shifted back.
        X_mean = X.mean(axis=0)
        Xc = X - X_mean
        # Only k-means++ needs ‖x‖² (N more values); Lloyd's step does without.
        x_squared_norms = (
            np.einsum("ij,ij->i", Xc, Xc) if isinstance(init, str) and init == "k-means++" else None
        )
        step = _step_for_device(self.device, Xc)

        # Keep every run's record but only the best run's labels (N each), as scikit-learn.
        runs, best, labels = [], 0, None
        for i in range(n_init):
            if isinstance(init, str):
                centers, seeding = _init_centroids(
                    Xc, self.n_clusters, init, random_state, x_squared_norms
                )
                init_name = init
            else:
                centers, seeding, init_name = init - X_mean, (), "array"
            run, run_labels = _kmeans_single_lloyd(
                Xc, centers, self.max_iter, tol, x_squared_norms, init_name, seeding, X_mean, step
            )
            runs.append(run)
            # A lower J counts only if it is not the same partition renamed (sklearn's rule).
            if labels is None or (
                run.inertia < runs[best].inertia
                and not _same_clustering(run_labels, labels, self.n_clusters)
            ):
                best, labels = i, run_labels
            del run_labels

        runs[best] = replace(runs[best], is_best=True)
        run = runs[best]

        distinct = np.count_nonzero(lloyd.cluster_sizes(labels, self.n_clusters))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )

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
        _check_int(self.n_clusters, "n_clusters", minimum=1)
        _check_int(self.n_init, "n_init", minimum=1)
        _check_int(self.max_iter, "max_iter", minimum=1)
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


# ----------------------------------------------------------------------------- the loop


def _kmeans_single_lloyd(
    X: Array,
    centers_init: Array,
    max_iter: int,
    tol: float,
    x_squared_norms: Array | None,
    init_name: str,
    seeding: tuple[SeedingStep, ...],
    X_mean: Array,
    step=lloyd.fast_step,
) -> tuple[KMeansRun, npt.NDArray[np.int32]]:
    """One Lloyd run from ``centers_init`` on centred X. Prior validation of data is assumed.

    Mirrors scikit-learn's ``_kmeans_single_lloyd``: stop when no label changes
    (strict convergence) or when Σ shift² ≤ tol; otherwise after ``max_iter``.
    Returns the run's record and its final labels.
    """
    centers = np.array(centers_init, dtype=X.dtype, order="C")
    labels = None
    records = []
    stop_reason = "max_iter reached"
    for i in range(1, max_iter + 1):
        result = step(X, centers, labels, x_squared_norms)
        new_centers, inertia_update, empty, relocated = _update_centers(X, centers, result)
        shift = np.sqrt(((new_centers - centers) ** 2).sum(axis=1))
        shift_total = float((shift**2).sum())
        records.append(
            LloydIteration(
                iteration=i,
                centers_before=centers + X_mean,
                centers_after=new_centers + X_mean,
                inertia_assign=result.inertia,
                inertia_update=inertia_update,
                center_shift=shift,
                center_shift_total=shift_total,
                n_changed=result.n_changed,
                counts=result.counts,
                empty_clusters=empty,
                relocated_to=relocated,
            )
        )
        converged_labels = labels is not None and result.n_changed == 0
        labels = result.labels
        centers = new_centers
        if converged_labels:
            stop_reason = "labels unchanged"
            break
        if shift_total <= tol:
            stop_reason = "centroid shift within tolerance"
            break

    if stop_reason != "labels unchanged":
        # The last update moved the centroids: re-assign so labels match them, in place,
        # and take J from that same pass.
        result = step(X, centers, labels, x_squared_norms)
        labels, inertia = result.labels, result.inertia
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


def _update_centers(
    X: Array, centers_old: Array, result: lloyd.StepResult
) -> tuple[Array, float, tuple[int, ...], tuple[int, ...]]:
    """Update half-step: centroids to their cluster means, empty clusters relocated.

    Returns the new centroids, J after the update, the empty clusters and the rows
    they were moved onto.
    """
    sums = result.sums.copy()
    counts = result.counts.astype(X.dtype)
    empty = np.flatnonzero(result.counts == 0)
    relocated: tuple[int, ...] = ()
    if len(empty):
        relocated = _relocate_empty_clusters(X, centers_old, result.labels, empty, sums, counts)

    new_centers = sums.copy()
    filled = counts > 0
    new_centers[filled] /= counts[filled, np.newaxis]
    # An empty cluster that could not be relocated (all points identical) keeps sum 0,
    # i.e. sits at the data mean, exactly as in scikit-learn.

    if relocated:
        # Relocated points now sit alone on their new centroid (distance 0).
        labels = result.labels.copy()
        labels[list(relocated)] = empty[: len(relocated)]
        inertia_update = lloyd.inertia_of(X, new_centers, labels)
    else:
        # Each centroid moved to its cluster mean m from c, and for any cluster
        #   Σ‖x − c‖² = Σ‖x − m‖² + n‖m − c‖²,
        # so J after the update is J after the assignment minus Σ n‖shift‖²: no pass over X.
        moved = ((new_centers - centers_old) ** 2).sum(axis=1)
        inertia_update = result.inertia - float((result.counts * moved).sum())
        inertia_update = max(inertia_update, 0.0)
    return new_centers, inertia_update, tuple(int(k) for k in empty), relocated


def _relocate_empty_clusters(
    X: Array,
    centers_old: Array,
    labels: npt.NDArray[np.int32],
    empty: npt.NDArray[np.intp],
    sums: Array,
    counts: Array,
) -> tuple[int, ...]:
    """Move each empty centroid onto one of the points farthest from their own centroid.

    Same rule and order as scikit-learn's ``_relocate_empty_clusters_dense``; updates
    ``sums`` and ``counts`` in place and returns the rows used.
    """
    n_empty = len(empty)
    distances = lloyd.distances_to_own_centroid(X, centers_old, labels)  # (N,)
    if np.max(distances) == 0:
        return ()  # more clusters than distinct points: nowhere useful to go
    far_from_centers = np.argpartition(distances, -n_empty)[: -n_empty - 1 : -1]
    for new_cluster, far in zip(empty, far_from_centers, strict=True):
        old_cluster = labels[far]
        sums[old_cluster] -= X[far]
        sums[new_cluster] = X[far]
        counts[new_cluster] = 1
        counts[old_cluster] -= 1
    return tuple(int(i) for i in far_from_centers)


# ----------------------------------------------------------------------------- seeding


def _init_centroids(
    X: Array,
    n_clusters: int,
    init: str,
    random_state: np.random.RandomState,
    x_squared_norms: Array,
) -> tuple[Array, tuple[SeedingStep, ...]]:
    """Initial centroids by ``init``; draws exactly as scikit-learn does for the same seed."""
    n_samples = X.shape[0]
    if init == "random":
        uniform = np.full(n_samples, 1.0 / n_samples)
        seeds = random_state.choice(n_samples, size=n_clusters, replace=False, p=uniform)
        return X[seeds].copy(), ()
    return _kmeans_plusplus(X, n_clusters, random_state, x_squared_norms)


def _kmeans_plusplus(
    X: Array, n_clusters: int, random_state: np.random.RandomState, x_squared_norms: Array
) -> tuple[Array, tuple[SeedingStep, ...]]:
    """Greedy k-means++ (Arthur & Vassilvitskii, 2007), recording every choice.

    Each new centroid is drawn with probability ∝ D(x)², the squared distance to the
    nearest centroid chosen so far; 2 + ln K candidates are drawn and the one that
    lowers the potential Σ D² most is kept. Distances come from scikit-learn's
    ``euclidean_distances`` so the same seed draws the same points as scikit-learn; like
    scikit-learn's, their last bits depend on the BLAS kernel, so of two candidates with
    identical coordinates the recorded ``chosen`` row may differ from CPU to CPU (the
    centroid does not).
    """
    n_samples = X.shape[0]
    store = n_samples * n_clusters <= _MAX_STORED_PROBABILITIES
    n_local_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)

    first = random_state.choice(n_samples, p=np.full(n_samples, 1.0 / n_samples))
    centers[0] = X[first]
    closest_dist_sq = euclidean_distances(
        centers[[0]], X, Y_norm_squared=x_squared_norms, squared=True
    ).ravel()  # (N,)
    potential = float(closest_dist_sq.sum())
    steps = [
        SeedingStep(
            0,
            int(first),
            np.array([first]),
            potential,
            np.full(n_samples, 1.0 / n_samples) if store else None,
        )
    ]

    for c in range(1, n_clusters):
        probabilities = closest_dist_sq / potential if store and potential > 0 else None
        rand_vals = random_state.uniform(size=n_local_trials) * potential
        candidates = np.searchsorted(np.cumsum(closest_dist_sq), rand_vals)
        np.clip(candidates, None, n_samples - 1, out=candidates)

        dist_to_candidates = euclidean_distances(
            X[candidates], X, Y_norm_squared=x_squared_norms, squared=True
        )  # (n_local_trials, N)
        np.minimum(closest_dist_sq, dist_to_candidates, out=dist_to_candidates)
        candidate_potentials = dist_to_candidates.sum(axis=1)

        best = int(np.argmin(candidate_potentials))
        potential = float(candidate_potentials[best])
        closest_dist_sq = dist_to_candidates[best]
        centers[c] = X[candidates[best]]
        steps.append(
            SeedingStep(
                c,
                int(candidates[best]),
                candidates.copy(),
                potential,
                probabilities.astype(np.float64) if probabilities is not None else None,
            )
        )
    return centers, tuple(steps)


# ----------------------------------------------------------------------------- helpers


def _same_clustering(a: npt.NDArray, b: npt.NDArray, n_clusters: int) -> bool:
    """Whether labelling ``a`` is ``b`` with the clusters renamed (each a-cluster maps to one b)."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    mapping[a] = b  # if a-cluster k maps to one b-cluster, any write gives that one
    return bool(np.array_equal(mapping[a], b))


def _step_for_device(device: str, X: Array):
    """Lloyd's step for ``device``: the compiled CPU kernel, or a torch step with X on the GPU."""
    if device == "cpu":
        return lloyd.fast_step
    from engine import _lloyd_torch  # torch is imported only when a GPU is asked for

    return _lloyd_torch.TorchStep(X, device)


def _scaled_tolerance(X: Array, tol: float) -> float:
    """scikit-learn's rule: tol relative to the mean per-feature variance of X."""
    if tol == 0:
        return 0.0
    return float(np.mean(np.var(X, axis=0)) * tol)


def _check_int(value: object, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name}={value} should be >= {minimum}.")


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
