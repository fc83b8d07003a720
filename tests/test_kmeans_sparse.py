"""Lloyd's step on CSR input against the dense step, and what it must not do (densify).

Oracles: :func:`engine.kmeans.lloyd.fast_step` and ``reference_step`` on the same data made
dense (labels, counts, sums, J), a weighted sum written out in numpy for sample weights,
and scikit-learn's own sparse Lloyd kernel for the labels.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from near_ties import assert_labels_agree, counts_and_sums
from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_sparse

from engine.kmeans import _lloyd_numba, _sparse_numba, lloyd

DTYPES = [np.float32, np.float64]


def _problem(n_samples, n_features, n_clusters, dtype, density=0.2, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(
        n_samples, n_features, density=density, format="csr", dtype=np.float64, random_state=seed
    )
    X.data = rng.normal(size=X.nnz) * 3
    X = X.astype(dtype)
    centers = X[rng.choice(n_samples, n_clusters, replace=False)].toarray()
    centers += rng.normal(scale=0.05, size=centers.shape)
    return X, np.ascontiguousarray(centers, dtype=dtype)


def _assert_same_step(sparse, dense, dtype, X=None, centers=None):
    """The CSR step is the dense one. With ``X`` (dense) and ``centers``, labels are compared
    where the nearest centroid is decided beyond rounding (tests/near_ties.py: the dense side
    scores through BLAS, whose last bits depend on the CPU), and the counts and sums are
    checked against the CSR step's own labels; without, everything is exact."""
    assert sparse.sums.dtype == dtype and sparse.labels.dtype == np.int32
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    scale = max(1.0, float(np.abs(dense.sums).max()))
    if X is None:
        np.testing.assert_array_equal(sparse.labels, dense.labels)
        own_counts, own_sums = dense.counts, dense.sums
    else:
        assert_labels_agree(X, sparse.labels, dense.labels, centers)
        own_counts, own_sums = counts_and_sums(X, sparse.labels, len(centers))
    flipped = int((sparse.labels != dense.labels).sum())
    np.testing.assert_array_equal(sparse.counts, own_counts)
    np.testing.assert_allclose(sparse.sums, own_sums, rtol=rtol, atol=rtol * scale)
    j_rtol = 1e-10 if dtype == np.float64 else 1e-6
    assert sparse.inertia == pytest.approx(dense.inertia, rel=j_rtol)
    assert abs(sparse.n_changed - dense.n_changed) <= flipped
    np.testing.assert_array_equal(sparse.weights, sparse.counts)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize(
    ("n_samples", "n_features", "n_clusters", "density"),
    [(1, 3, 1, 1.0), (50, 7, 3, 0.3), (2000, 40, 8, 0.1), (30_000, 200, 12, 0.02)],
    ids=str,
)
def test_csr_step_equals_the_dense_step(n_samples, n_features, n_clusters, density, dtype):
    X, centers = _problem(n_samples, n_features, n_clusters, dtype, density)
    dense = np.ascontiguousarray(X.toarray())
    first = lloyd.fast_step(X, centers)
    _assert_same_step(first, lloyd.reference_step(dense, centers), dtype, dense, centers)
    # A second step, labels carried over (and overwritten in place, as the dense step does).
    moved = centers + np.asarray(0.1, dtype=dtype)
    ref = lloyd.fast_step(dense, moved, first.labels.copy())
    _assert_same_step(lloyd.fast_step(X, moved, first.labels), ref, dtype, dense, moved)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_csr_step_agrees_with_sklearns_sparse_lloyd_labels(dtype):
    X, centers = _problem(3000, 60, 10, dtype, 0.1, seed=4)
    labels = np.empty(X.shape[0], dtype=np.int32)
    lloyd_iter_chunked_sparse(
        X, np.ones(X.shape[0], dtype=dtype), centers, centers.copy(),
        np.zeros(len(centers), dtype=dtype), labels, np.zeros(len(centers), dtype=dtype),
        n_threads=1, update_centers=False,
    )  # fmt: skip
    np.testing.assert_array_equal(lloyd.fast_step(X, centers).labels, labels)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_weighted_csr_step_gives_weighted_sums_weights_and_j(dtype):
    X, centers = _problem(1500, 30, 6, dtype, 0.15, seed=2)
    w = np.random.default_rng(2).uniform(0.1, 3, size=X.shape[0]).astype(dtype)
    result = lloyd.fast_step(X, centers, sample_weight=w)
    dense = X.toarray().astype(np.float64)
    ref = lloyd.reference_step(np.ascontiguousarray(X.toarray()), centers)
    np.testing.assert_array_equal(result.labels, ref.labels)
    onehot = np.eye(len(centers))[ref.labels]  # (N, K)
    w64 = w.astype(np.float64)
    np.testing.assert_allclose(result.weights, onehot.T @ w64, rtol=1e-12)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(result.sums, onehot.T @ (w64[:, None] * dense), rtol=rtol, atol=1e-6)
    d2 = ((dense - centers.astype(np.float64)[ref.labels]) ** 2).sum(axis=1)
    assert result.inertia == pytest.approx(float(w64 @ d2), rel=1e-10)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_csr_step_with_empty_clusters_and_duplicate_centroids(dtype):
    X = sp.csr_matrix(np.repeat(np.array([[0, 0, 2], [5, 0, 0]], dtype=dtype), 4, axis=0))
    centers = np.array([[5, 0, 0], [0, 0, 2], [5, 0, 0], [90, 90, 90]], dtype=dtype)
    result = lloyd.fast_step(X, centers)
    ref = lloyd.reference_step(np.ascontiguousarray(X.toarray()), centers)
    _assert_same_step(result, ref, dtype)
    assert result.counts.tolist() == [4, 4, 0, 0]  # the copy and the far one get nothing
    assert result.inertia == 0.0


def test_j_keeps_its_digits_for_a_point_on_its_centroid_far_from_the_origin():
    # ‖x‖² − 2x·c + ‖c‖² would be 3e16 − 6e16 + 3e16: every digit cancels.
    X = sp.csr_matrix(np.array([[1e8, 1e8, 1e8, 0.0], [1e8, 1e8, 1e8 + 2.0, 0.0]]))
    centers = np.array([[1e8, 1e8, 1e8 + 1.0, 0.0]])
    assert lloyd.fast_step(X, centers).inertia == 2.0


def test_non_canonical_csr_is_summed_on_a_copy():
    dense = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    # Row 0 stores column 2 twice (1 + 1) and out of order: scipy means their sum.
    X = sp.csr_matrix((np.array([1.0, 1.0, 1.0, 3.0]), np.array([2, 0, 2, 1]), np.array([0, 3, 4])))
    assert not X.has_canonical_format
    centers = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    result = lloyd.fast_step(X, centers)
    assert result.labels.tolist() == [0, 1] and result.inertia == 0.0
    np.testing.assert_array_equal(result.sums, dense)
    assert X.data.tolist() == [1.0, 1.0, 1.0, 3.0]  # the caller's matrix is untouched


def test_csr_step_gives_the_same_bits_for_any_number_of_threads(monkeypatch):
    X, centers = _problem(40_000, 50, 9, np.float32, 0.2, seed=6)
    monkeypatch.setattr(_sparse_numba, "_TASK_VALUES", 1 << 14)  # many tasks on small data
    monkeypatch.setattr(_lloyd_numba, "_MIN_WORK_PER_THREAD", 1)
    results = []
    for n_threads in (1, 2, 3):
        monkeypatch.setattr(_lloyd_numba, "_N_THREADS", n_threads)
        r = lloyd.fast_step(X, centers)
        results.append((r.labels.tobytes(), r.sums.tobytes(), r.inertia))
    assert results[0] == results[1] == results[2]


def test_csr_step_builds_no_dense_copy_of_x(monkeypatch):
    X, centers = _problem(500, 20, 4, np.float64, 0.1)

    def refuse(*args, **kwargs):
        raise AssertionError("X was densified")

    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sp.csr_matrix, "todense", refuse)
    monkeypatch.setattr(sp.csr_matrix, "__array__", refuse, raising=False)
    result = lloyd.fast_step(X, centers)
    assert result.counts.sum() == 500
