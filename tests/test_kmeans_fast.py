"""The compiled Lloyd step (and the torch one) against the readable reference step.

``reference_step`` is the oracle: the fast paths must give the same labels, counts
and number of changed labels, and sums and J equal up to summation order. No timing
is asserted here; speed is measured in ``bench/kmeans.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans as SKKMeans

from engine.kmeans import KMeans, _lloyd_numba, _lloyd_torch, lloyd

DTYPES = [np.float32, np.float64]
# (n_samples, n_features, n_clusters): the fused kernel (d <= 8) and the BLAS one (d > 8)
# with each of its block sizes (512 rows for K d = 36 and 4096, 64 for K d = 1024); one
# row, fewer rows than a block, several blocks, several tasks and more than one thread.
SHAPES = [
    (1, 1, 1),
    (1, 3, 1),
    (7, 2, 3),
    (300, 1, 5),
    (257, 2, 8),
    (1000, 4, 16),
    (2500, 8, 64),
    (600, 9, 4),
    (3000, 64, 64),
    (2000, 64, 16),
    (45_000, 2, 8),
    (45_000, 16, 12),
]


def _problem(shape, dtype, seed=0):
    n_samples, n_features, n_clusters = shape
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)) * rng.uniform(0.1, 10) + rng.uniform(-5, 5)
    X = np.ascontiguousarray(X, dtype=dtype)
    centers = X[rng.choice(n_samples, n_clusters, replace=n_clusters > n_samples)].copy()
    centers += rng.normal(scale=0.01, size=centers.shape).astype(dtype)
    return X, centers


def _assert_same_step(fast, ref, dtype):
    np.testing.assert_array_equal(fast.labels, ref.labels)
    assert fast.labels.dtype == np.int32
    np.testing.assert_array_equal(fast.counts, ref.counts)
    assert fast.counts.dtype == np.int64
    assert fast.sums.dtype == dtype
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    scale = max(1.0, float(np.abs(ref.sums).max()))
    np.testing.assert_allclose(fast.sums, ref.sums, rtol=rtol, atol=rtol * scale)
    assert fast.inertia == pytest.approx(ref.inertia, rel=rtol, abs=1e-12)
    assert fast.n_changed == ref.n_changed


def _ids(shape):
    return "x".join(map(str, shape))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", SHAPES, ids=_ids)
def test_fast_step_equals_reference_step(shape, dtype):
    X, centers = _problem(shape, dtype)
    ref = lloyd.reference_step(X, centers)
    _assert_same_step(lloyd.fast_step(X, centers), ref, dtype)
    # A second step from moved centroids counts the labels that changed.
    moved = (centers * 1.05 + 0.1).astype(dtype)
    ref2 = lloyd.reference_step(X, moved, ref.labels)
    _assert_same_step(lloyd.fast_step(X, moved, ref.labels), ref2, dtype)
    np.testing.assert_array_equal(lloyd.assign(X, moved), ref2.labels)
    assert lloyd.inertia_of(X, moved, ref2.labels) == pytest.approx(
        ref2.inertia, rel=1e-4 if dtype == np.float32 else 1e-9
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("n_features", [2, 12], ids=["fused", "blas"])
def test_fast_step_with_empty_clusters_and_duplicate_points(n_features, dtype):
    rng = np.random.default_rng(1)
    X = np.repeat(rng.normal(size=(5, n_features)), 40, axis=0).astype(dtype)  # 5 points x 40
    far = np.full((3, n_features), 1e3, dtype=dtype)  # no point is nearest to these
    centers = np.vstack([X[[0, 40]], far, X[[0]]])  # and two identical centroids: first wins
    ref = lloyd.reference_step(X, centers)
    fast = lloyd.fast_step(X, centers)
    _assert_same_step(fast, ref, dtype)
    assert (fast.counts[2:] == 0).all()


def test_distinct_centers_keeps_the_first_of_identical_rows_in_order():
    centers = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0], [-0.0, 0.0], [3.0, 1.0], [0.0, 0.0]])
    distinct, first = lloyd.distinct_centers(centers)
    np.testing.assert_array_equal(first, [0, 1, 4])
    assert first.dtype == np.int32
    np.testing.assert_array_equal(distinct, centers[[0, 1, 4]])
    no_copies = np.arange(6.0).reshape(3, 2)
    assert lloyd.distinct_centers(no_copies)[0] is no_copies  # nothing to remove: no copy


def check_identical_centroids_tie_to_the_first(n_cases: int = 60) -> None:
    """Every fast path gives points equidistant to identical centroids to the first copy.

    The later copy sits anywhere among up to 70 centroids with up to 129 features, so a
    GEMM computes the two copies' scores in different tiles and edge kernels. Run in
    this process and, by the test below, under forced generic BLAS kernels.
    """
    rng = np.random.default_rng(0)
    for case in range(n_cases):
        dtype = DTYPES[case % 2]
        n_features, n_clusters = int(rng.integers(2, 130)), int(rng.integers(2, 71))
        X = rng.normal(size=(300, n_features)).astype(dtype)
        centers = X[rng.choice(len(X), n_clusters, replace=False)].copy()
        original, copy = np.sort(rng.choice(n_clusters, 2, replace=False))
        centers[copy] = centers[original]
        ref = lloyd.reference_step(X, centers)
        assert ref.counts[copy] == 0 and ref.counts[original] > 0  # the answer is unambiguous
        where = f"case {case}: d={n_features}, K={n_clusters}, copies {original} and {copy}"
        fast = lloyd.fast_step(X, centers)
        np.testing.assert_array_equal(fast.labels, ref.labels, err_msg=where)
        np.testing.assert_array_equal(fast.counts, ref.counts, err_msg=where)
        np.testing.assert_array_equal(lloyd.assign(X, centers), ref.labels, err_msg=where)
        on_torch = _lloyd_torch.TorchStep(X, "cpu")(X, centers)
        np.testing.assert_array_equal(on_torch.labels, ref.labels, err_msg=where)
        np.testing.assert_array_equal(on_torch.counts, ref.counts, err_msg=where)


# Generic kernels that run on any x86-64 CPU: OpenBLAS (numba's np.dot, through scipy)
# for SSE3, MKL (torch on CPU) for SSE4.2. Both rounded identical rows differently
# before the fast paths scored each distinct centroid once.
_GENERIC_BLAS_KERNELS = {"OPENBLAS_CORETYPE": "Prescott", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}


@pytest.mark.parametrize("kernels", ["this-cpu", "generic"])
def test_identical_centroids_tie_to_the_first_whatever_the_blas_kernel(kernels):
    if kernels == "this-cpu":
        check_identical_centroids_tie_to_the_first()
        return
    # The BLAS libraries pick their kernels when they load: a fresh process is needed.
    tests = Path(__file__).resolve().parent
    code = (
        f"import sys; sys.path[:0] = [{str(tests.parent)!r}, {str(tests)!r}]; "
        "import test_kmeans_fast; test_kmeans_fast.check_identical_centroids_tie_to_the_first()"
    )
    env = {**os.environ, **_GENERIC_BLAS_KERNELS}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("n_features", [2, 12], ids=["fused", "blas"])
def test_fast_step_on_integer_grid_ties_takes_the_first_centroid(n_features, dtype):
    # Small integers: every product and sum is exact in any order, on any CPU, so equal
    # distances are real ties, and the reference's answer (the first) is the only one.
    rng = np.random.default_rng(2)
    X = rng.integers(-3, 4, size=(2000, n_features)).astype(dtype)
    centers = rng.integers(-1, 2, size=(7, n_features)).astype(dtype)
    ref = lloyd.reference_step(X, centers)
    _assert_same_step(lloyd.fast_step(X, centers), ref, dtype)
    d2 = ((X[:, np.newaxis, :] - centers[np.newaxis]) ** 2).sum(axis=2)
    assert ((d2 == d2.min(axis=1, keepdims=True)).sum(axis=1) > 1).sum() > 50  # real ties


@pytest.fixture
def small_tasks(monkeypatch):
    """Tasks of a few thousand values, each worth a thread: test data then spans many."""
    monkeypatch.setattr(_lloyd_numba, "_TASK_VALUES", 4096)
    monkeypatch.setattr(_lloyd_numba, "_MIN_WORK_PER_THREAD", 1)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("n_features", [3, 20], ids=["fused", "blas"])
def test_fast_step_gives_the_same_bits_for_any_number_of_threads(
    n_features, dtype, small_tasks, monkeypatch
):
    X, centers = _problem((20_000, n_features, 10), dtype, seed=3)
    prev = lloyd.reference_step(X, centers * 1.01).labels
    results = []
    for n_threads in (1, 2, 3):
        monkeypatch.setattr(_lloyd_numba, "_N_THREADS", n_threads)
        step = lloyd.fast_step(X, centers, prev.copy())
        inertia = lloyd.inertia_of(X, centers, step.labels)
        distances = lloyd.distances_to_own_centroid(X, centers, step.labels)
        results.append((step, inertia, distances))
    (one, inertia_one, distances_one), *others = results
    for step, inertia, distances in others:
        np.testing.assert_array_equal(step.labels, one.labels)
        np.testing.assert_array_equal(step.sums, one.sums)  # bit for bit, not approximately
        np.testing.assert_array_equal(step.counts, one.counts)
        assert step.inertia == one.inertia and step.n_changed == one.n_changed
        assert inertia == inertia_one
        np.testing.assert_array_equal(distances, distances_one)
    _assert_same_step(one, lloyd.reference_step(X, centers, prev), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("n_features", [2, 30])
def test_distances_to_own_centroid_match_numpy(n_features, dtype):
    X, centers = _problem((5000, n_features, 6), dtype, seed=4)
    labels = lloyd.reference_step(X, centers).labels
    distances = lloyd.distances_to_own_centroid(X, centers, labels)
    assert distances.dtype == dtype and distances.shape == (len(X),)
    expected = ((X.astype(np.float64) - centers.astype(np.float64)[labels]) ** 2).sum(axis=1)
    np.testing.assert_allclose(distances, expected, rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("n_features", "n_clusters"), [(2, 8), (5, 3), (24, 10)], ids=str)
def test_estimator_matches_sklearn_through_the_fast_path(seed, n_features, n_clusters):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, n_features)) + 4 * rng.integers(0, 4, size=(3000, 1))
    init = X[rng.choice(len(X), n_clusters, replace=False)]
    ours = KMeans(n_clusters, init=init, max_iter=50, tol=0).fit(X)
    ref = SKKMeans(n_clusters, init=init, n_init=1, max_iter=50, tol=0, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-9)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


# ----------------------------------------------------------------------------- torch


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", [(1, 2, 1), (500, 2, 8), (800, 12, 5)], ids=_ids)
def test_torch_step_on_cpu_equals_reference_step(shape, dtype):
    X, centers = _problem(shape, dtype)
    step = _lloyd_torch.TorchStep(X, "cpu")
    ref = lloyd.reference_step(X, centers)
    first = step(X, centers)
    _assert_same_step(first, ref, dtype)
    moved = (centers * 1.05 + 0.1).astype(dtype)
    _assert_same_step(
        step(X, moved, first.labels), lloyd.reference_step(X, moved, ref.labels), dtype
    )


def test_device_is_validated_in_fit():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="device='tpu'"):
        KMeans(2, device="tpu").fit(X)
    assert KMeans(2, device="cuda:1").get_params()["device"] == "cuda:1"  # stored unchanged


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_cuda_without_a_gpu_says_so():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="sees no CUDA device"):
        KMeans(2, device="cuda").fit(X)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU: torch.cuda.is_available() is False"
)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_cuda_fit_matches_the_cpu_fit(dtype):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(20_000, 3)) + 5 * rng.integers(0, 5, size=(20_000, 1))).astype(dtype)
    init = X[:6].copy()
    cpu = KMeans(6, init=init, max_iter=30, tol=0).fit(X)
    gpu = KMeans(6, init=init, max_iter=30, tol=0, device="cuda").fit(X)
    agreement = (cpu.labels_ == gpu.labels_).mean()
    assert agreement == 1.0 if dtype == np.float64 else agreement >= 0.9999
    np.testing.assert_allclose(gpu.cluster_centers_, cpu.cluster_centers_, rtol=1e-4, atol=1e-4)
    assert gpu.inertia_ == pytest.approx(cpu.inertia_, rel=1e-4)
