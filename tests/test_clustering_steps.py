"""DBSCAN, HDBSCAN, BIRCH step recorders and projections, against scikit-learn."""

import numpy as np
import pytest
from sklearn.cluster import DBSCAN, HDBSCAN, Birch
from sklearn.datasets import make_blobs, make_moons
from sklearn.decomposition import PCA

from engine.clustering import (
    birch_steps,
    branching_effects,
    dbscan_steps,
    hdbscan_steps,
    k_distance,
    pca_view,
    size_effects,
    subcluster_counts,
    tsne_run,
)
from engine.clustering._dbscan import knee_index


def _sets():
    rng = np.random.default_rng(0)
    return {
        "blobs": make_blobs(300, centers=4, random_state=0)[0],
        "moons": make_moons(300, noise=0.08, random_state=1)[0],
        "uniform": rng.uniform(size=(250, 2)),
        "3d": make_blobs(200, n_features=3, centers=3, random_state=2)[0],
    }


SETS = _sets()

# ----------------------------------------------------------------------------- DBSCAN


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("min_samples", [3, 8])
def test_dbscan_labels_equal_sklearn_and_growth_order_is_complete(name, min_samples):
    X = SETS[name]
    eps = k_distance(X, min_samples).eps
    run = dbscan_steps(X, eps, min_samples)
    theirs = DBSCAN(eps=eps, min_samples=min_samples).fit(X)
    np.testing.assert_array_equal(run.labels, theirs.labels_)
    np.testing.assert_array_equal(np.flatnonzero(run.kinds == "core"),
                                  theirs.core_sample_indices_)  # fmt: skip
    clustered = np.flatnonzero(run.labels >= 0)
    np.testing.assert_array_equal(np.sort(run.order), clustered)
    np.testing.assert_array_equal(run.labels_at(run.n_steps), run.labels)
    assert (run.labels_at(0) == -1).all()
    # Everyone reached from somewhere was reached from a core point within ε.
    for i in clustered:
        j = run.reached_from[i]
        if j >= 0:
            assert run.kinds[j] == "core" and np.linalg.norm(X[i] - X[j]) <= eps
            assert run.labels[j] == run.labels[i]
    assert set(run.kinds[run.labels == -1]) <= {"noise"}


def test_dbscan_clusters_grow_one_after_another():
    X = SETS["blobs"]
    run = dbscan_steps(X, 0.6, 5)
    labels_in_order = run.labels[run.order]
    assert (np.diff(labels_in_order) >= 0).all()  # cluster 1 starts after cluster 0 ends


def test_knee_of_a_hand_made_curve():
    curve = np.array([1.0, 1.1, 1.2, 1.3, 1.4, 5.0, 9.0])
    assert knee_index(curve) == 4
    assert knee_index(np.ones(5)) == 4  # flat: no knee, take the end


def test_k_distance_is_the_distance_to_the_kth_neighbour_counting_itself():
    X = np.array([[0.0], [1.0], [3.0], [6.0]])
    curve = k_distance(X, 2)
    np.testing.assert_allclose(curve.distances, [1.0, 1.0, 2.0, 3.0])


BAD_DBSCAN = [(0.0, 5, "must be a number > 0"), (-1.0, 5, "must be a number > 0"),
              (float("nan"), 5, "must be a number > 0"), (0.5, 0, "min_samples = 0"),
              (0.5, 301, "min_samples = 301"), (0.5, 2.5, "min_samples = 2.5")]  # fmt: skip


@pytest.mark.parametrize(("eps", "min_samples", "match"), BAD_DBSCAN)
def test_dbscan_bad_parameters_are_refused(eps, min_samples, match):
    with pytest.raises(ValueError, match=match):
        dbscan_steps(SETS["blobs"], eps, min_samples)


# ----------------------------------------------------------------------------- HDBSCAN


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize(("mcs", "ms"), [(5, None), (15, None), (10, 3), (25, 8)])
def test_hdbscan_labels_and_strengths_equal_sklearn(name, mcs, ms):
    X = SETS[name]
    run = hdbscan_steps(X, mcs, ms)
    theirs = HDBSCAN(min_cluster_size=mcs, min_samples=ms, copy=True).fit(X)
    np.testing.assert_array_equal(run.labels, theirs.labels_)
    np.testing.assert_allclose(run.probabilities, theirs.probabilities_, rtol=1e-12)


def _tied_sets():
    rng = np.random.default_rng(5)
    lattice = np.array([[i, j] for i in range(12) for j in range(12)], dtype=float)
    return {
        "lattice": lattice,  # every distance tied with many others
        "lattice_blobs": np.vstack([lattice, lattice[:40] + 30.0]),
        "duplicates": np.repeat(rng.integers(0, 6, size=(40, 2)).astype(float), 4, axis=0),
    }


@pytest.mark.parametrize("name", ["lattice", "lattice_blobs", "duplicates"])
@pytest.mark.parametrize(("mcs", "ms"), [(5, None), (8, 3)])
def test_hdbscan_equals_sklearn_where_distances_tie(name, mcs, ms):
    # Tied mutual reachabilities make several spanning trees possible; only scikit-learn's
    # own order of them gives its labels, which is why the steps run its pipeline.
    X = _tied_sets()[name]
    run = hdbscan_steps(X, mcs, ms)
    theirs = HDBSCAN(min_cluster_size=mcs, min_samples=ms, copy=True).fit(X)
    np.testing.assert_array_equal(run.labels, theirs.labels_)
    np.testing.assert_allclose(run.probabilities, theirs.probabilities_, rtol=1e-12)
    np.testing.assert_array_equal(run.linkage[:, 2],
                                  theirs._single_linkage_tree_["value"])  # fmt: skip


def test_hdbscan_spanning_tree_weights_are_the_single_linkage_heights():
    X = SETS["moons"]
    run = hdbscan_steps(X, 10)
    assert run.mst_edges.shape == (len(X) - 1, 2)
    np.testing.assert_allclose(np.sort(run.mst_weights), np.sort(run.linkage[:, 2]))
    a, b = run.mst_edges.T  # each weight is the mutual reachability of its two points
    reach = np.maximum.reduce([run.core_distances[a], run.core_distances[b],
                               np.linalg.norm(X[a] - X[b], axis=1)])  # fmt: skip
    np.testing.assert_allclose(run.mst_weights, reach)
    # the edges connect every point
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    graph = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(len(X), len(X)))
    assert connected_components(graph, directed=False)[0] == 1


def test_condensed_tree_accounts_for_every_point_once_and_selects_stable_clusters():
    X = SETS["blobs"]
    run = hdbscan_steps(X, 15)
    tree = run.condensed
    points = tree.child[tree.child < tree.n_samples]
    np.testing.assert_array_equal(np.sort(points), np.arange(len(X)))
    assert (tree.birth() <= tree.death()).all()
    assert (run.stability >= 0).all()
    assert run.n_clusters >= 2 and run.n_clusters == len(np.unique(run.labels[run.labels >= 0]))
    # each selected cluster's points carry its label
    for node, label in run.label_of_node().items():
        assert node in tree.clusters
        assert (run.labels == label).any()


@pytest.mark.parametrize(("mcs", "ms", "match"), [(1, None, "min_cluster_size = 1"),
                                                  (500, None, "min_cluster_size = 500"),
                                                  (5, 0, "min_samples = 0")])  # fmt: skip
def test_hdbscan_bad_sizes_are_refused(mcs, ms, match):
    with pytest.raises(ValueError, match=match):
        hdbscan_steps(SETS["blobs"], mcs, ms)


# ----------------------------------------------------------------------------- BIRCH


@pytest.mark.parametrize("name", SETS)
def test_birch_subclusters_and_labels_equal_sklearn(name):
    X = SETS[name]
    threshold = 0.1 * float(X.std())
    run = birch_steps(X, threshold=threshold, branching_factor=10, n_clusters=3)
    theirs = Birch(threshold=threshold, branching_factor=10, n_clusters=3).fit(X)
    np.testing.assert_allclose(run.centers, theirs.subcluster_centers_, rtol=1e-12)
    np.testing.assert_array_equal(run.labels, theirs.labels_)
    assert run.sizes.sum() == len(X)
    # every subcluster's radius respects the threshold (a lone point has radius 0)
    assert (run.radii <= threshold * (1 + 1e-9)).all()
    assert run.depth >= 2 and run.n_leaves > 1  # branching factor 10 forces splits


def test_birch_threshold_sets_the_number_of_subclusters():
    counts = subcluster_counts(SETS["blobs"], [0.2, 0.5, 1.0, 2.0])
    assert (np.diff(counts) <= 0).all() and counts[0] > counts[-1]


def test_birch_asks_for_fewer_clusters_than_subclusters():
    with pytest.raises(ValueError, match="only 1 subclusters"):
        birch_steps(SETS["blobs"], threshold=100.0, n_clusters=3)
    with pytest.raises(ValueError, match="threshold"):
        birch_steps(SETS["blobs"], threshold=0.0)
    with pytest.raises(ValueError, match="branching_factor"):
        birch_steps(SETS["blobs"], branching_factor=1)


# ----------------------------------------------------------------------------- projections


def test_pca_view_equals_sklearn():
    X = SETS["3d"]
    view = pca_view(X)
    pca = PCA(n_components=3).fit(X)
    np.testing.assert_allclose(view.explained_variance_ratio, pca.explained_variance_ratio_)
    np.testing.assert_allclose(np.abs(view.points), np.abs(pca.transform(X)[:, :2]))


def test_tsne_records_the_layout_as_it_unfolds():
    X = SETS["3d"][:120]
    seen = []
    run = tsne_run(X, perplexity=10, exaggeration_iterations=50, iterations=50,
                   snapshot_every=25, on_progress=seen.append)  # fmt: skip
    assert run.iterations == (0, 25, 50, 75, 100)
    assert all(s.shape == (120, 2) for s in run.snapshots)
    assert not np.allclose(run.snapshots[0], run.snapshots[-1])
    assert seen[-1] == pytest.approx(1.0)


def test_tsne_samples_above_its_cap_and_checks_perplexity():
    X = SETS["blobs"]
    run = tsne_run(X, perplexity=5, exaggeration_iterations=0, iterations=25, max_points=100)
    assert len(run.rows) == 100 and run.snapshots[-1].shape == (100, 2)
    with pytest.raises(ValueError, match="perplexity = 200"):
        tsne_run(X, perplexity=200)


def test_hdbscan_size_effects_match_direct_fits():
    X = SETS["blobs"]
    rows = size_effects(X, [5, 30], [1, None, 10_000])
    assert [(r["min_cluster_size"], r["min_samples"]) for r in rows] == [(5, 1), (5, 5),
                                                                         (30, 1), (30, 30)]
    for r in rows:
        labels = HDBSCAN(min_cluster_size=r["min_cluster_size"], min_samples=r["min_samples"],
                         copy=True).fit(X).labels_
        assert r["clusters"] == labels.max() + 1
        assert r["noise"] == pytest.approx((labels == -1).mean())


def test_birch_branching_factor_shapes_the_tree():
    rows = branching_effects(SETS["blobs"], 0.2, [3, 50])
    narrow, wide = rows
    assert narrow["depth"] > wide["depth"] and narrow["leaves"] > wide["leaves"]
