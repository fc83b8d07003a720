"""K-means on a Dask array: the same estimator and history, one chunk of rows at a time.

``KMeans.fit(X)`` sends a ``dask.array.Array`` here (the hook at the top of each estimator
method). One Lloyd iteration is what Spark MLlib and dask-ml also do, and what
:func:`engine.kmeans.lloyd.fast_step` already computes for one block of rows:

1. every chunk runs the compiled assignment pass against the broadcast centroids and
   returns its labels (kept where they were computed) and its partial sums, counts, J and
   reassigned count - K·d + K + 2 numbers;
2. those partials are added up in a tree (:func:`_tree_sum`), so only O(K·d) numbers per
   chunk ever travel and the client receives one total;
3. the client does the update half-step with :func:`engine.kmeans.lloyd.update_centers`,
   exactly as the numpy fit does, and records the iteration.

Labels are never gathered: ``labels_`` is a dask array over the per-chunk results. An empty
cluster needs the points farthest from their own centroid; those come from a per-chunk
top-k (:func:`_farthest`), again O(K·d) per chunk. The first pass over the data gives the
mean (the data are centred, as in the numpy fit), the per-feature variance (``tol``) and the
finiteness check in one go, so bad values are found without reading the data twice.

Initialisation: an array, ``"random"`` (the same rows the numpy fit draws for the same
seed), ``"k-means++"`` (greedy k-means++ on a uniform sample of at most
:data:`KMEANS_PLUSPLUS_SAMPLE` rows: exact k-means++ needs K passes over the data) or
``"k-means||"`` (:func:`kmeans_parallel_init`, Bahmani et al. 2012: a few oversampling
passes, then a weighted k-means++ on the candidates), which is the scalable choice.

Where it runs is Dask's business: the threaded scheduler in this process by default (the
compiled kernels release the GIL), or a ``distributed`` cluster when the caller has a
``Client`` active - ``dask.compute`` picks that up by itself.

One file, near 800 lines, because it is one job: the same fit as the estimator's, on chunks
(validation pass, k-means||, the Lloyd loop, empty-cluster relocation, predict/transform/score);
each part reads the same chunk layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import dask
import dask.array as da
import numpy as np
import numpy.typing as npt
from dask.delayed import Delayed, delayed
from sklearn.base import clone
from sklearn.cluster import kmeans_plusplus
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from engine.kmeans import _seeding, lloyd
from engine.kmeans.estimator import _check_center_shape, _warn_if_clusters_lost
from engine.kmeans.history import KMeansRun, LloydIteration, SeedingStep

__all__ = [
    "KMEANS_PLUSPLUS_SAMPLE",
    "OversamplingRound",
    "check_dask_data",
    "fit",
    "kmeans_parallel_init",
    "open_array",
    "predict",
    "sample_rows",
    "score",
    "transform",
]

Array = npt.NDArray[np.floating]

KMEANS_PLUSPLUS_SAMPLE = 100_000
"""init="k-means++" on a dask array seeds from a uniform sample of at most this many rows."""

_SPLIT_EVERY = 8
"""Partials added per node of the reduction tree (dask's own ``split_every`` default)."""


@dataclass(frozen=True)
class OversamplingRound:
    """One pass of k-means|| (``KMeans.seeding_rounds_``).

    Attributes
    ----------
    round : int
        0 for the first, uniformly drawn centre; 1.. for the oversampling passes.
    n_candidates : int
        Candidates after this round.
    potential : float
        φ = Σ D², the squared distance of every point to its nearest candidate, after it.
    """

    round: int
    n_candidates: int
    potential: float


# ----------------------------------------------------------------------------- validation


def check_dask_data(X: da.Array, name: str = "X") -> da.Array:
    """Dask arrays at the boundary: 2-D, known chunk sizes, numbers, columns in one chunk.

    Values (NaN, inf, overflow) are checked in the first pass over the data, by
    :func:`_data_summary`, not here: looking now would read everything an extra time.
    """
    if not isinstance(X, da.Array):
        raise TypeError(f"{name} must be a dask.array.Array; got {type(X).__name__}.")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features); got shape {X.shape}.")
    if any(math.isnan(c) for c in (*X.chunks[0], *X.chunks[1])):
        raise ValueError(
            f"{name} has unknown chunk sizes (shape {X.shape}), as after boolean indexing or "
            f"from a dataframe; call {name} = {name}.compute_chunk_sizes() first."
        )
    kind = X.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real-valued; got complex dtype {X.dtype}.")
    if kind not in "biuf":
        raise TypeError(f"{name} must contain numbers; got dtype {X.dtype}.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"{name} is empty (shape {X.shape}); it needs at least one row and column."
        )
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})  # the kernels take whole rows
    return X


@dataclass(frozen=True)
class _Summary:
    """The first pass: mean, per-feature variance and value range, checked finite."""

    n_samples: int
    mean: npt.NDArray[np.float64]  # (d,)
    var: npt.NDArray[np.float64]  # (d,)
    largest: float  # max |x|


def _block_summary(block: Array) -> tuple:
    """Count, mean, Σ(x − mean)², min and max of one chunk, or where its first bad value is."""
    block = np.asarray(block)
    low, high = float(block.min()), float(block.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        bad = ~np.isfinite(block)
        row, col = np.argwhere(bad)[0]
        return ("bad", int(bad.sum()), int(row), int(col), bool(np.isnan(block[row, col])))
    mean = block.mean(axis=0, dtype=np.float64)  # (d,)
    m2 = ((block - mean) ** 2).sum(axis=0, dtype=np.float64)  # (d,)
    return ("ok", len(block), mean, m2, low, high)


def _combine_summaries(parts: list[tuple]) -> tuple:
    """Chan et al.'s pairwise update of count, mean and M2; the first bad chunk wins."""
    bad = [p for p in parts if p[0] == "bad"]
    if bad:
        return ("bad", sum(p[1] for p in bad), *bad[0][2:], parts.index(bad[0]))
    n, mean, m2, low, high = 0, 0.0, 0.0, math.inf, -math.inf
    for _, n_b, mean_b, m2_b, low_b, high_b in parts:
        delta = mean_b - mean
        total = n + n_b
        mean = mean + delta * (n_b / total)
        m2 = m2 + m2_b + delta**2 * (n * n_b / total)
        n, low, high = total, min(low, low_b), max(high, high_b)
    return ("ok", n, mean, m2, low, high)


def _data_summary(X: da.Array, name: str = "X") -> _Summary:
    """One pass over X: its mean and variance (for centring and ``tol``), checked finite."""
    parts = [delayed(_block_summary)(b) for b in X.to_delayed().ravel()]
    (parts,) = dask.compute(parts)  # d + 4 numbers per chunk
    bad = [(i, p) for i, p in enumerate(parts) if p[0] == "bad"]
    if bad:
        chunk, (_, _, row, col, is_nan) = bad[0]
        count = sum(p[1] for _, p in bad)
        row += int(np.sum(X.chunks[0][:chunk]))
        raise ValueError(
            f"{name} contains {count} NaN or infinite value(s) in {len(bad)} chunk(s); the first "
            f"is {'NaN' if is_nan else 'infinite'} at row {row}, column {col}. Drop or fill "
            "those rows first."
        )
    _, n, mean, m2, low, high = _combine_summaries(parts)
    largest = max(-low, high)
    limit = np.sqrt(np.finfo(X.dtype).max / (4.0 * X.shape[1] * X.shape[0]))
    if largest > limit:
        raise ValueError(
            f"{name} has values as large as {largest:.3g}; squared distances would overflow "
            f"{X.dtype.name} (limit ≈ {limit:.3g} here). Rescale the data, e.g. standardise "
            "each column."
        )
    return _Summary(n, np.asarray(mean), np.asarray(m2) / n, largest)


def _check_params(est, X: da.Array) -> int:
    """The estimator's parameter checks, with "k-means||" allowed as init (dask input only);
    returns the number of runs (``n_init="auto"`` as scikit-learn reads it)."""
    parallel = isinstance(est.init, str) and est.init == "k-means||"
    (clone(est).set_params(init="k-means++") if parallel else est)._validate_params()
    if callable(est.init):
        raise ValueError("A callable init needs the whole data in memory; for a dask array "
                         "use 'k-means||', 'k-means++', 'random' or an array of centroids.")
    if X.shape[0] < est.n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={est.n_clusters}.")
    if est.device != "cpu":
        raise ValueError(
            f"device={est.device!r}: a dask array is fitted on the CPUs of its scheduler; "
            "use device='cpu' (or a numpy/torch array for a GPU)."
        )
    return est._n_runs()


# ----------------------------------------------------------------------------- one iteration


def _step_result(sums: Array, counts, inertia: float, n_changed: int, labels=None):
    """A StepResult from reduced partials (no weights on dask: ``weights`` are the counts)."""
    return lloyd.StepResult(
        labels=labels, sums=sums, counts=counts, inertia=inertia, n_changed=n_changed,
        weights=counts.astype(np.float64),
    )


def _label_dtype(n_clusters: int) -> np.dtype:
    """The smallest unsigned type for labels 0..K-1: kept labels are 1 byte a point for
    K ≤ 256, so the labels of 2·10⁸ points take 200 MB of the workers' memory, not 800."""
    return np.min_scalar_type(n_clusters - 1)


def _assign_block(block: Array, labels_prev, *, mean: Array, centers: Array) -> tuple:
    """The compiled assignment pass on one chunk: its labels, and its partials to reduce.

    ``labels_prev`` (kept small, :func:`_label_dtype`) is widened to a fresh int32 array,
    which fast_step overwrites with the new labels; the kept one is never written to.
    """
    Xc = np.ascontiguousarray(block - mean)  # centred, as the numpy fit centres X
    prev = None if labels_prev is None else labels_prev.astype(np.int32)
    step = lloyd.fast_step(Xc, centers, prev)
    partial = (step.sums.astype(np.float64), step.counts, step.inertia, step.n_changed)
    return step.labels.astype(_label_dtype(len(centers))), partial


def _add(*parts: tuple) -> tuple:
    """Add partials (sums, counts, J, changed) element-wise, in the order given."""
    total = list(parts[0])
    for part in parts[1:]:
        total = [a + b for a, b in zip(total, part, strict=True)]
    return tuple(total)


def _tree_sum(parts: list[Delayed], combine=_add, split_every: int = _SPLIT_EVERY) -> Delayed:
    """Reduce delayed partials in a tree of fan-in ``split_every``, as ``da.reduction`` does.

    Each level runs where its inputs are, so a cluster moves one partial per chunk at most
    one hop, and the client receives only the root. The order of the sums is fixed by the
    chunks, so the result does not depend on the scheduler or the number of workers.
    """
    while len(parts) > 1:
        parts = [
            delayed(combine, pure=True)(*parts[i : i + split_every])
            for i in range(0, len(parts), split_every)
        ]
    return parts[0]


def _farthest_block(block, labels, offset: int, *, mean, centers, m: int) -> tuple:
    """The ``m`` rows of a chunk farthest from their own centroid: (d², row, label, x)."""
    Xc = np.ascontiguousarray(block - mean)
    d2 = lloyd.distances_to_own_centroid(Xc, centers, labels.astype(np.int32))  # (n,)
    d2 = d2.astype(np.float64)
    m = min(m, len(d2))
    top = np.argpartition(d2, -m)[-m:]  # (m,)
    return d2[top], top + offset, labels[top], Xc[top]


def _merge_farthest(*parts: tuple) -> tuple:
    """Keep the ``m`` largest of the candidates (farthest first, lower row first on ties)."""
    d2, rows, labels, points = (np.concatenate(a) for a in zip(*parts, strict=True))
    m = max(len(p[0]) for p in parts)
    order = np.lexsort((rows, -d2))[:m]
    return d2[order], rows[order], labels[order], points[order]


def _inertia_block(block, labels, *, mean, centers) -> float:
    """J of one chunk for given labels."""
    return lloyd.inertia_of(np.ascontiguousarray(block - mean), centers, labels.astype(np.int32))


def _contingency_block(a, b, n_clusters: int) -> npt.NDArray[np.int64]:
    """(K, K) counts of label pairs in one chunk: two labellings compared without moving them."""
    return np.bincount(a.astype(np.int64) * n_clusters + b, minlength=n_clusters**2).reshape(
        n_clusters, n_clusters
    )


@dataclass
class _Data:
    """A validated dask array and what the first pass learned, shared by every run."""

    X: da.Array
    blocks: list[Delayed]  # one per chunk of rows
    offsets: npt.NDArray[np.int64]  # first row of each chunk
    mean: Array  # (d,) in X's dtype, as the numpy fit centres
    tol: float

    def map(self, func, *per_block, **shared) -> list[Delayed]:
        """``func(block, *per-block args, **shared)`` as one delayed task per chunk."""
        return [
            delayed(func, pure=True)(b, *(a[i] for a in per_block), **shared)
            for i, b in enumerate(self.blocks)
        ]


def _update(data: _Data, centers: Array, assigned, labels: list[Delayed]):
    """The update half-step, as :func:`lloyd.update_centers`; empty clusters need the data."""
    d = centers.shape[1]
    if not (assigned.counts == 0).any():
        # Nothing to relocate: update_centers reads only the sums, counts and J.
        return lloyd.update_centers(np.empty((0, d), data.X.dtype), centers, assigned)
    # Relocate each empty cluster onto one of the points farthest from their own centroid
    # (scikit-learn's rule): a per-chunk top-k and a tree merge, O(k·d) per chunk.
    empty = np.flatnonzero(assigned.counts == 0)
    per_chunk = data.map(
        _farthest_block, labels, data.offsets, mean=data.mean, centers=centers, m=len(empty)
    )
    d2, rows, owners, points = dask.compute(_tree_sum(per_chunk, _merge_farthest))[0]
    sums, counts = assigned.sums.copy(), assigned.counts.astype(data.X.dtype)
    far = np.empty(0, dtype=np.int64)
    if d2[0] > 0:  # else every point sits on its centroid: nowhere useful to go
        far = rows
        for k, owner, x in zip(empty, owners, points, strict=True):
            sums[owner] -= x
            counts[owner] -= 1
            sums[k], counts[k] = x, 1
    new_centers = sums.copy()
    filled = counts > 0
    new_centers[filled] /= counts[filled, np.newaxis]
    if len(far):
        # J after the update with the relocated points alone on their new centroid.
        moved = [
            delayed(_relabel, pure=True)(lab, off, rows, empty)
            for lab, off in zip(labels, data.offsets, strict=True)
        ]
        parts = data.map(_inertia_block, moved, mean=data.mean, centers=new_centers)
        inertia = float(dask.compute(_tree_sum(parts, _add_floats))[0])
    else:
        shift2 = ((new_centers - centers) ** 2).sum(axis=1)
        inertia = max(assigned.inertia - float((assigned.counts * shift2).sum()), 0.0)
    return lloyd.UpdateResult(new_centers, inertia, tuple(map(int, empty)), tuple(map(int, far)))


def _relabel(labels, offset: int, rows, clusters):
    """A chunk's labels with the given global ``rows`` moved to ``clusters``."""
    inside = (rows >= offset) & (rows < offset + len(labels))
    if not inside.any():
        return labels
    labels = labels.copy()
    labels[rows[inside] - offset] = np.asarray(clusters)[inside]
    return labels


def _add_floats(*values: float) -> float:
    return math.fsum(values)


def _add_arrays(*arrays):
    return np.sum(arrays, axis=0)


def _assign(data: _Data, centers: Array, labels: list[Delayed] | None):
    """The assignment half-step on every chunk: the labels stay put, the partials are reduced.

    Returns the StepResult (without labels) and one delayed labels array per chunk, persisted
    where it was computed (in this process on the threaded scheduler, on the workers of a
    cluster).
    """
    prev = [None] * len(data.blocks) if labels is None else labels
    pairs = dask.persist(*data.map(_assign_block, prev, mean=data.mean, centers=centers))
    new_labels = [p[0] for p in pairs]
    sums, counts, inertia, n_changed = dask.compute(_tree_sum([p[1] for p in pairs]))[0]
    assigned = _step_result(sums.astype(data.X.dtype), counts, float(inertia), int(n_changed))
    return assigned, new_labels


def _single_lloyd(data: _Data, centers_init: Array, max_iter: int, init_name: str,
                  seeding: tuple[SeedingStep, ...], on_iteration=None):  # fmt: skip
    """One Lloyd run from ``centers_init`` (centred): the numpy fit's loop, chunk by chunk.

    Mirrors :func:`engine.kmeans.estimator._kmeans_single_lloyd` line for line; returns the
    run's record, its per-chunk labels and its final counts.
    """
    X_mean = data.mean
    centers = np.array(centers_init, dtype=data.X.dtype, order="C")
    labels = None
    records = []
    stop_reason = "max_iter reached"
    for i in range(1, max_iter + 1):
        assigned, new_labels = _assign(data, centers, labels)  # assignment half-step
        updated = _update(data, centers, assigned, new_labels)  # update half-step
        records.append(LloydIteration.of(i, centers, assigned, updated, X_mean))
        if on_iteration is not None:
            on_iteration(records[-1])
        converged_labels = labels is not None and assigned.n_changed == 0
        labels, centers, counts = new_labels, updated.centers, assigned.counts
        if converged_labels:
            stop_reason = "labels unchanged"
            break
        if records[-1].center_shift_total <= data.tol:
            stop_reason = "centroid shift within tolerance"
            break

    if stop_reason != "labels unchanged":
        # The last update moved the centroids: re-assign, and take J from that same pass.
        final, labels = _assign(data, centers, labels)
        inertia, counts = final.inertia, final.counts
    else:
        parts = data.map(_inertia_block, labels, mean=X_mean, centers=centers)
        inertia = float(dask.compute(_tree_sum(parts, _add_floats))[0])
    run = KMeansRun(
        init=init_name,
        init_centers=np.asarray(centers_init) + X_mean,
        seeding=seeding,
        iterations=tuple(records),
        tol=data.tol,
        stop_reason=stop_reason,
        centers=centers + X_mean,
        inertia=inertia,
        n_iter=len(records),
    )
    return run, labels, counts


# ----------------------------------------------------------------------------- initialisation


def _rows(data: _Data, rows: npt.NDArray[np.integer]) -> Array:
    """Centred rows of X by global index, in the order given (a small gather)."""
    order = np.argsort(rows)
    picked = data.X[np.asarray(rows)[order]].compute() - data.mean
    out = np.empty_like(picked)
    out[order] = picked
    return np.ascontiguousarray(out)


def _init_centroids(data: _Data, n_clusters: int, init, random_state, n_rounds: int):
    """Initial centroids (centred), the seeding record, the init's name, k-means|| rounds."""
    n_samples = data.X.shape[0]
    if not isinstance(init, str):
        return init - data.mean, (), "array", ()
    if init == "random":
        # The same draw as the numpy fit (_seeding.init_centroids), so the same rows.
        uniform = np.full(n_samples, 1.0 / n_samples)
        seeds = random_state.choice(n_samples, size=n_clusters, replace=False, p=uniform)
        return _rows(data, seeds), (), init, ()
    if init == "k-means++":
        size = min(n_samples, KMEANS_PLUSPLUS_SAMPLE)
        sample = np.sort(random_state.choice(n_samples, size=size, replace=False))
        rows = _rows(data, sample)
        centers, steps = _seeding.kmeans_plusplus(
            rows, n_clusters, random_state=random_state, sample_weight=np.ones(size, rows.dtype)
        )
        # Rows of the sample → rows of X (the D² draws were over the sample only).
        steps = tuple(
            replace(s, chosen=int(sample[s.chosen]), candidates=sample[s.candidates])
            for s in steps
        )  # fmt: skip
        return centers, steps, init, ()
    centers, steps, rounds = kmeans_parallel_init(data, n_clusters, random_state, n_rounds)
    return centers, steps, init, rounds


def _candidate_block(block, offset, seed, *, mean, candidates, scale) -> tuple:
    """One chunk of a k-means|| round: D² to the candidates, then rows kept w.p. min(1, ℓD²/φ).

    ``scale`` = ℓ/φ. Returns the chunk's φ part and its drawn rows (global index, centred x).
    """
    Xc = np.ascontiguousarray(block - mean)
    step = lloyd.fast_step(Xc, candidates)
    d2 = lloyd.distances_to_own_centroid(Xc, candidates, step.labels).astype(np.float64)
    rng = np.random.default_rng(seed)  # one stream per (run seed, round, chunk)
    keep = np.flatnonzero(rng.random(len(d2)) < d2 * scale)
    return step.inertia, keep + offset, Xc[keep]


def _potential_block(block, *, mean, candidates) -> float:
    """φ of one chunk: Σ D² to the nearest candidate."""
    return lloyd.fast_step(np.ascontiguousarray(block - mean), candidates).inertia


def _weights_block(block, *, mean, candidates) -> npt.NDArray[np.int64]:
    """Points nearest each candidate in one chunk: the candidates' weights."""
    return lloyd.fast_step(np.ascontiguousarray(block - mean), candidates).counts


def kmeans_parallel_init(data: _Data, n_clusters: int, random_state, n_rounds: int = 5,
                         oversampling: float = 2.0):  # fmt: skip
    """k-means|| (Bahmani, Moseley, Vattani, Kumar & Vassilvitskii, 2012), recorded.

    k-means++ draws K centres one after another, one pass over the data each. k-means||
    draws many at once: start from one uniform row; in each of ``n_rounds`` passes keep
    every point independently with probability min(1, ℓ·D²(x)/φ), ℓ = ``oversampling``·K,
    where D² is its squared distance to the candidates so far and φ = Σ D². About ℓ points
    join per round, so some ℓ·rounds + 1 candidates cover the data the way k-means++ would.
    One more pass weighs each candidate by the points nearest it, and a weighted greedy
    k-means++ (scikit-learn's :func:`sklearn.cluster.kmeans_plusplus`) picks K of them.

    A round's draw needs φ of the candidates before it, so a round is two passes over the
    data: the draw, then φ of the grown set (2·rounds + 2 passes in all, with the first φ and
    the weights). The draws come from one random stream per (seed, round, chunk), so the
    result does not depend on the scheduler or the number of workers.

    Returns the centred centroids (K, d), one :class:`SeedingStep` per centre (``chosen`` is
    the row of X; ``potential`` the weighted Σ w·D² over the candidates) and the rounds.
    """
    n_samples = data.X.shape[0]
    ell = oversampling * n_clusters
    seed = int(random_state.randint(np.iinfo(np.int32).max))
    first = int(random_state.randint(n_samples))
    rows = np.array([first], dtype=np.int64)
    candidates = _rows(data, rows)  # (1, d)

    def potential(cands) -> float:
        parts = data.map(_potential_block, mean=data.mean, candidates=cands)
        return float(dask.compute(_tree_sum(parts, _add_floats))[0])

    phi = potential(candidates)
    rounds = [OversamplingRound(0, 1, phi)]
    for r in range(1, n_rounds + 1):
        if phi == 0:  # every point is a candidate already
            break
        seeds = [(seed, r, i) for i in range(len(data.blocks))]
        parts = data.map(_candidate_block, data.offsets, seeds, mean=data.mean,
                         candidates=candidates, scale=ell / phi)  # fmt: skip
        drawn = dask.compute(parts)[0]  # about ℓ rows in all
        new_rows = np.concatenate([p[1] for p in drawn])
        if len(new_rows):
            rows = np.concatenate([rows, new_rows])
            candidates = np.ascontiguousarray(
                np.concatenate([candidates, *(p[2] for p in drawn)]), dtype=data.X.dtype
            )
        phi = potential(candidates)
        rounds.append(OversamplingRound(r, len(rows), phi))

    weights = _tree_sum(data.map(_weights_block, mean=data.mean, candidates=candidates),
                        _add_arrays)  # fmt: skip
    weights = dask.compute(weights)[0].astype(np.float64)  # (n_candidates,)
    if len(rows) < n_clusters:  # fewer candidates than K (tiny data): pad with uniform rows
        extra = random_state.choice(n_samples, size=n_clusters - len(rows), replace=False)
        rows = np.concatenate([rows, extra])
        candidates = np.concatenate([candidates, _rows(data, extra)])
        weights = np.concatenate([weights, np.ones(len(extra))])
    cand64 = candidates.astype(np.float64)
    _, chosen = kmeans_plusplus(
        cand64, n_clusters, sample_weight=weights, random_state=random_state
    )
    centers = np.ascontiguousarray(candidates[chosen])
    # The record: per centre, its row in X and the weighted potential after choosing it.
    d2 = np.full(len(cand64), np.inf)
    steps = []
    for c, idx in enumerate(chosen):
        d2 = np.minimum(d2, ((cand64 - cand64[idx]) ** 2).sum(axis=1))
        steps.append(SeedingStep(c, int(rows[idx]), np.array([rows[idx]]),
                                 float((weights * d2).sum())))  # fmt: skip
    return centers, tuple(steps), tuple(rounds)


# ----------------------------------------------------------------------------- public face


def _prepare(est, X: da.Array) -> tuple[_Data, object, int]:
    X = check_dask_data(X)
    n_init = _check_params(est, X)
    init = est.init
    if not isinstance(init, str):  # the estimator's checks of an init array
        init = check_array(init, dtype=X.dtype, copy=True, order="C")
        _check_center_shape(init, est.n_clusters, X.shape[1])
    summary = _data_summary(X)
    mean = summary.mean.astype(X.dtype)
    tol = 0.0 if est.tol == 0 else float(np.mean(summary.var) * est.tol)
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)
    data = _Data(X, list(X.to_delayed().ravel()), offsets, mean, tol)
    return data, init, n_init


def fit(est, X: da.Array, *, sample_weight=None, n_rounds: int = 5, on_iteration=None):
    """``KMeans.fit`` for a dask array; fills the same attributes as the numpy fit.

    ``labels_`` is a dask array (its chunks stay where they were computed);
    ``seeding_rounds_`` holds the k-means|| passes (empty for other inits). ``n_rounds``
    is the number of k-means|| oversampling passes; ``on_iteration(record)`` is called
    after every Lloyd iteration (the command line's progress bar).
    """
    if sample_weight is not None:
        raise ValueError("sample_weight is not supported for a dask array yet: fit the "
                         "rows repeated, or a numpy array.")
    data, init, n_init = _prepare(est, X)
    n_clusters = est.n_clusters
    random_state = check_random_state(est.random_state)
    runs, best, labels, best_counts, best_rounds = [], 0, None, None, ()
    for i in range(n_init):
        centers, seeding, init_name, rounds = _init_centroids(
            data, n_clusters, init, random_state, n_rounds
        )
        run, run_labels, counts = _single_lloyd(
            data, centers, est.max_iter, init_name, seeding, on_iteration
        )
        runs.append(run)
        if labels is None or (
            run.inertia < runs[best].inertia
            and not _same_clustering(data, run_labels, labels, n_clusters)
        ):
            best, labels, best_counts, best_rounds = i, run_labels, counts, rounds
    runs[best] = replace(runs[best], is_best=True)
    _warn_if_clusters_lost(best_counts, stacklevel=4)  # one frame deeper than the estimator's
    run = runs[best]
    est.cluster_centers_ = run.centers
    est.labels_ = da.concatenate([
        da.from_delayed(lab, shape=(int(n),), dtype=_label_dtype(n_clusters))
        for lab, n in zip(labels, data.X.chunks[0], strict=True)
    ]).astype(np.int32)  # fmt: skip
    est.inertia_ = run.inertia
    est.n_iter_ = run.n_iter
    est.n_features_in_ = data.X.shape[1]
    est.history_ = run
    est.runs_ = runs
    est.seeding_rounds_ = best_rounds
    return est


def _same_clustering(data: _Data, a: list[Delayed], b: list[Delayed], n_clusters: int) -> bool:
    """Whether labelling ``a`` is ``b`` renamed, from the summed (K, K) contingency table."""
    parts = [
        delayed(_contingency_block, pure=True)(x, y, n_clusters) for x, y in zip(a, b, strict=True)
    ]
    table = dask.compute(_tree_sum(parts, _add_arrays))[0]
    return bool(((table > 0).sum(axis=1) <= 1).all())


def _fitted_data(est, X: da.Array) -> da.Array:
    check_is_fitted(est, "cluster_centers_")
    X = check_dask_data(X)
    if X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but KMeans was fitted with "
            f"{est.n_features_in_} features."
        )
    return X


def _finite(block: Array) -> Array:
    """The block, or a clear error if it holds NaN or inf (checked chunk by chunk, lazily)."""
    if not np.isfinite(block.min()) or not np.isfinite(block.max()):
        raise ValueError("X contains NaN or infinite values; drop or fill those rows first.")
    return np.ascontiguousarray(block)


def predict(est, X: da.Array) -> da.Array:
    """Nearest learned centroid of every row, as a lazy int32 dask array."""
    X = _fitted_data(est, X)
    centers = est.cluster_centers_.astype(X.dtype, copy=False)
    return X.map_blocks(lambda b: lloyd.assign(_finite(b), centers), drop_axis=1,
                        dtype=np.int32)  # fmt: skip


def transform(est, X: da.Array) -> da.Array:
    """Distances to every centroid, shape (n_samples, K), as a lazy dask array."""
    X = _fitted_data(est, X)
    centers = est.cluster_centers_
    # As the numpy fit's transform: scikit-learn's euclidean_distances, in X's precision.
    return X.map_blocks(lambda b: euclidean_distances(_finite(b), centers.astype(b.dtype)),
                        chunks=(X.chunks[0], (len(centers),)), dtype=X.dtype)  # fmt: skip


def score(est, X: da.Array) -> float:
    """−J of X under the fitted centroids (computed: a score is a number)."""
    X = _fitted_data(est, X)
    centers = est.cluster_centers_.astype(X.dtype, copy=False)

    def block_j(b):
        b = _finite(b)
        return lloyd.inertia_of(b, centers, lloyd.assign(b, centers))

    parts = [delayed(block_j, pure=True)(b) for b in X.to_delayed().ravel()]
    return -float(dask.compute(_tree_sum(parts, _add_floats))[0])


# ----------------------------------------------------------------------------- data on disk


def _npy_rows(path: str, start: int, stop: int) -> Array:
    """Rows start..stop of a .npy file, read through a memory map (only those rows)."""
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def open_array(path, chunk_rows: int = 1_000_000) -> tuple[da.Array, tuple[str, ...]]:
    """A dask array over the rows of a Zarr store, a ``.npy`` file or a CSV file, and its
    feature names.

    Zarr and ``.npy`` are read chunk by chunk where the tasks run (out of core: no process
    ever holds the whole array); a Zarr store keeps its own row chunks. A CSV file is read
    into memory by pandas (its numeric columns), then chunked: use Zarr or ``.npy`` for data
    larger than memory.
    """
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such data file or store: {str(path)!r}.")
    suffix = path.suffix.lower()
    if suffix == ".zarr" or (path.is_dir() and (path / "zarr.json").exists()):
        X = da.from_zarr(str(path))
        if X.ndim == 2 and X.numblocks[1] > 1:
            X = X.rechunk({1: -1})
    elif suffix == ".npy":
        header = np.load(path, mmap_mode="r")
        if header.ndim != 2:
            raise ValueError(f"{path.name} holds a {header.ndim}-D array; K-means needs 2-D.")
        n, d = header.shape
        parts = [
            da.from_delayed(delayed(_npy_rows, pure=True)(str(path), s, min(s + chunk_rows, n)),
                            shape=(min(s + chunk_rows, n) - s, d), dtype=header.dtype)
            for s in range(0, n, chunk_rows)
        ]  # fmt: skip
        X = da.concatenate(parts)
    elif suffix in (".csv", ".txt"):
        import pandas as pd

        frame = pd.read_csv(path).select_dtypes("number")
        if frame.shape[1] == 0:
            raise ValueError(f"{path.name} has no numeric column to cluster.")
        X = da.from_array(frame.to_numpy(dtype=np.float64), chunks=(chunk_rows, -1))
        return X, tuple(str(c) for c in frame.columns)
    else:
        raise ValueError(f"{path.name}: expected a Zarr store (.zarr), a .npy or a .csv file.")
    d = X.shape[1] if X.ndim == 2 else 0
    return X, tuple(f"x{j + 1}" for j in range(d))


def sample_rows(X: da.Array, n: int = 2_000, max_chunks: int = 8, seed: int = 0) -> Array:
    """Up to ``n`` random rows from at most ``max_chunks`` evenly spread chunks (cheap on disk)."""
    rng = np.random.default_rng(seed)
    picks = np.unique(np.linspace(0, X.numblocks[0] - 1, max_chunks).round().astype(int))
    per_chunk = max(1, n // len(picks))

    def some(block):
        return block[np.sort(rng.choice(len(block), min(per_chunk, len(block)), replace=False))]

    parts = [delayed(some)(X.blocks[i]) for i in picks]
    return np.concatenate(dask.compute(parts)[0])[:n].astype(np.float64)
