"""Lloyd's two half-steps as the Lab's readers find them, and the package around them.

``reference_step`` (assignment) and ``update_centers`` (update) are checked against values
worked out by hand and against one iteration of scikit-learn's Lloyd from the same
centroids; the estimator is checked to run its update through ``update_centers``. The
package's public face, its doctests and the README's notebook example run here too.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

import engine.kmeans
from engine.kmeans import KMeans, lloyd

ROOT = Path(__file__).resolve().parent.parent
KMEANS_MODULES = [engine.kmeans] + [
    importlib.import_module(f"engine.kmeans.{m.name}")
    for m in pkgutil.iter_modules(engine.kmeans.__path__)
    if m.name != "_lloyd_torch"  # imports torch; its own tests are in test_kmeans_fast.py
]


def _one_iteration(X, centers):
    assigned = lloyd.reference_step(X, centers)
    return assigned, lloyd.update_centers(X, centers, assigned)


# ----------------------------------------------------------------------------- by hand


def test_the_toy_case_by_hand():
    # scikit-learn's toy case: the points split left/right of x = 0.5.
    X = np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]], dtype=float)
    assigned, updated = _one_iteration(X, np.array([[0, 0], [1, 1]], dtype=float))
    np.testing.assert_array_equal(assigned.labels, [0, 0, 1, 1])
    np.testing.assert_array_equal(assigned.counts, [2, 2])
    np.testing.assert_allclose(assigned.sums, [[0.5, 0], [1.5, 2]])
    assert assigned.inertia == pytest.approx(0.5)  # 0 + 0.25 + 0.25 + 0
    assert assigned.n_changed == 4
    np.testing.assert_allclose(updated.centers, [[0.25, 0], [0.75, 1]])
    assert updated.inertia == pytest.approx(0.25)
    assert updated.empty_clusters == () and updated.relocated_to == ()


def test_ties_go_to_the_first_centroid_and_changes_are_counted():
    X = np.array([[0.0], [2.0], [4.0]])
    centers = np.array([[1.0], [3.0], [1.0]])  # 2.0 is as near to 1 as to 3; 1.0 twice
    assigned = lloyd.reference_step(X, centers, labels_prev=np.array([1, 1, 1], dtype=np.int32))
    np.testing.assert_array_equal(assigned.labels, [0, 0, 1])
    assert assigned.n_changed == 2


def test_an_empty_cluster_moves_onto_the_point_farthest_from_its_centroid():
    # 10 joins the centroid at 1 (distance² 81), nobody joins 100: it moves onto 10.
    X = np.array([[0.0], [1.0], [10.0]])
    centers = np.array([[0.0], [1.0], [100.0]])
    assigned, updated = _one_iteration(X, centers)
    np.testing.assert_array_equal(assigned.counts, [1, 2, 0])
    assert assigned.inertia == pytest.approx(81.0)
    assert updated.empty_clusters == (2,) and updated.relocated_to == (2,)
    np.testing.assert_allclose(updated.centers, [[0.0], [1.0], [10.0]])
    assert updated.inertia == 0.0  # every point now sits on its centroid


def test_an_empty_cluster_stays_when_every_point_sits_on_its_centroid():
    X = np.array([[1.0, 1.0]] * 3)
    assigned, updated = _one_iteration(X, np.array([[1.0, 1.0], [5.0, 5.0]]))
    assert updated.empty_clusters == (1,) and updated.relocated_to == ()
    # No point to move onto: it joins the heaviest cluster's centroid (scikit-learn 1.9),
    # so no centroid moves again and the run stops.
    np.testing.assert_allclose(updated.centers, [[1.0, 1.0], [1.0, 1.0]])
    assert updated.inertia == 0.0


def test_an_empty_cluster_before_the_heaviest_copies_its_sum_as_scikit_learn_does():
    # Every point sits on a centroid; cluster 0 (at 5, 5) is empty and numbered before the
    # heaviest (1): scikit-learn 1.9.1 copies cluster 1's weighted sum there, not its mean.
    X = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    init = np.array([[5.0, 5.0], [1.0, 1.0], [0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = KMeans(3, init=init, tol=0).fit(X)
        theirs = SKKMeans(3, init=init, n_init=1, tol=0, algorithm="lloyd").fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ and ours.inertia_ == theirs.inertia_ == 0.0


# ----------------------------------------------------------------------------- scikit-learn


def _sklearn_one_iteration(X, init):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SKKMeans(len(init), init=init, n_init=1, max_iter=1, tol=0,
                        algorithm="lloyd").fit(X).cluster_centers_


@pytest.mark.parametrize(
    ("n_clusters", "far_away"), [(4, 0), (6, 2), (8, 5)],
    ids=["no-empty", "two-empty", "five-empty"],
)
def test_one_iteration_equals_sklearns_lloyd_iteration(n_clusters, far_away):
    X, _ = make_blobs(n_samples=400, centers=4, cluster_std=1.0, random_state=3)
    X = X - X.mean(axis=0)  # scikit-learn centres X; the engine's estimator does too
    rng = np.random.default_rng(0)
    init = X[rng.choice(len(X), n_clusters, replace=False)].copy()
    init[n_clusters - far_away :] = 1e3 + np.arange(far_away)[:, None]  # nobody joins these
    assigned, updated = _one_iteration(X, init)
    assert len(updated.empty_clusters) == far_away == len(updated.relocated_to)
    np.testing.assert_allclose(updated.centers, _sklearn_one_iteration(X, init), atol=1e-12)
    labels = np.asarray(assigned.labels).copy()
    labels[list(updated.relocated_to)] = updated.empty_clusters
    assert updated.inertia == pytest.approx(lloyd.inertia_of(X, updated.centers, labels))


@settings(max_examples=40, deadline=None)
@given(
    X=hnp.arrays(np.float64, st.tuples(st.integers(2, 40), st.integers(1, 3)),
                 elements=st.integers(-50, 50).map(float)),
    k=st.integers(1, 6),
)
def test_the_update_never_raises_j_and_reports_it_exactly(X, k):
    k = min(k, len(X))
    assigned, updated = _one_iteration(X, X[-k:].copy())
    scale = max(1.0, assigned.inertia)
    assert updated.inertia <= assigned.inertia + 1e-9 * scale
    labels = np.asarray(assigned.labels).copy()
    labels[list(updated.relocated_to)] = updated.empty_clusters[: len(updated.relocated_to)]
    assert updated.inertia == pytest.approx(
        lloyd.inertia_of(X, updated.centers, labels), rel=1e-9, abs=1e-9
    )


def test_the_estimator_runs_its_update_through_update_centers(monkeypatch):
    calls = []
    original = lloyd.update_centers

    def counting(X, centers, assigned, sample_weight=None):
        calls.append(len(centers))
        return original(X, centers, assigned, sample_weight)

    monkeypatch.setattr(lloyd, "update_centers", counting)
    X, _ = make_blobs(n_samples=200, centers=3, random_state=1)
    km = KMeans(3, init="random", n_init=1, random_state=0).fit(X)
    assert calls == [3] * km.n_iter_


# ----------------------------------------------------------------------------- for the reader


def test_both_half_steps_sit_together_in_at_most_sixty_lines():
    source, first = inspect.getsourcelines(lloyd.reference_step)
    update, start = inspect.getsourcelines(lloyd.update_centers)
    last = start + len(update) - 1
    between = inspect.getsource(lloyd).splitlines()[first + len(source) - 1 : start - 1]
    assert all(not line.strip() for line in between)  # nothing else between the two
    assert last - first + 1 <= 60, (first, last)


def test_reference_step_takes_only_what_it_uses():
    assert list(inspect.signature(lloyd.reference_step).parameters) == [
        "X", "centers", "labels_prev", "sample_weight"]


def test_public_face_and_module_docstrings():
    for name in engine.kmeans.__all__:
        assert getattr(engine.kmeans, name) is not None, name
    for module in KMEANS_MODULES:
        assert module.__doc__ and len(module.__doc__.split()) > 20, module.__name__


def test_docstring_examples_run():
    results = [doctest.testmod(m, optionflags=doctest.ELLIPSIS) for m in KMEANS_MODULES]
    result = doctest.TestResults(*map(sum, zip(*results, strict=True)))
    assert result.attempted >= 10 and result.failed == 0


def test_the_readme_notebook_example_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S)
              if "engine.kmeans" in b and "dask" not in b]  # the dask one needs a store, a cluster
    assert blocks
    X, _ = make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
    for block in blocks:
        namespace = {"X": X}
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
        km = namespace["km"]
        assert km.n_iter_ >= 3
        if "updated" in namespace:  # the iteration by hand is the history's first iteration
            first = km.history_.iterations[0]
            assert namespace["assigned"].inertia == pytest.approx(first.inertia_assign)
            assert namespace["updated"].inertia == pytest.approx(first.inertia_update)
