"""What the K-means page computes around a fit: views, half-steps, tables, studies."""

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.metrics import adjusted_rand_score

from engine.data import Dataset, make_dataset, prepare_features, read_csv_bytes
from engine.kmeans import (
    KMeans,
    adjusted_rand,
    centroids_table,
    cross_check,
    display_sample,
    distinct_minima,
    elbow_sweep,
    half_step,
    half_steps,
    history_table,
    iteration_table,
    labelled_rows,
    make_plane_view,
    plane_ranges,
    restart_study,
    voronoi_grid,
)


@pytest.fixture(scope="module")
def fitted():
    data = make_dataset("blobs")
    return data, KMeans(n_clusters=4, init="random", random_state=1).fit(data.X)


def test_display_sample_is_bounded_sorted_and_distinct():
    rows = display_sample(1_000_000, 20_000, random_state=3)
    assert len(rows) == 20_000 == len(np.unique(rows))
    assert np.all(np.diff(rows) > 0) and rows[-1] < 1_000_000
    np.testing.assert_array_equal(display_sample(10, 20), np.arange(10))


def test_plane_view_projects_more_than_two_features_with_pca():
    X = make_dataset("blobs", n_features=5).X
    view = make_plane_view(X, tuple("abcde"))
    assert view.projected and view.axis_titles[0].startswith("PC1")
    P = view.points(X)
    assert P.shape == (300, 2)
    # PCA axes are uncorrelated and the first carries the most variance.
    assert abs(np.corrcoef(P.T)[0, 1]) < 1e-8 and P[:, 0].var() >= P[:, 1].var()


def test_plane_view_keeps_two_features_as_they_are():
    X = make_dataset("moons").X
    view = make_plane_view(X, ("x", "y"))
    assert not view.projected and not view.sampled
    np.testing.assert_array_equal(view.points(X), X)


def test_half_step_labels_and_centers_match_the_history(fitted):
    data, model = fitted
    run = model.history_
    rows = np.arange(data.n_samples)
    for t in range(1, run.n_iter + 1):
        a = half_step(run, data.X, rows, t, "assign")
        u = half_step(run, data.X, rows, t, "update")
        np.testing.assert_array_equal(a.labels, run.labels_at(data.X, t))
        np.testing.assert_array_equal(u.labels, a.labels)  # the update moves centroids only
        np.testing.assert_allclose(u.centers, run.iterations[t - 1].centers_after)
        assert a.inertia == run.iterations[t - 1].inertia_assign
        expected = np.linalg.norm(data.X[:, None] - a.centers[None], axis=2)
        np.testing.assert_allclose(a.distances, expected, rtol=1e-5)
    assert len(half_steps(run, data.X, rows, max_iterations=2)) == 4
    with pytest.raises(ValueError, match="iteration=99"):
        half_step(run, data.X, rows, 99)


def test_voronoi_grid_labels_each_node_with_its_nearest_centroid():
    centers = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    grid = voronoi_grid(centers, (-1, 5), (-1, 5), resolution=31)
    gx, gy = np.meshgrid(grid.x, grid.y)
    d = (gx[..., None] - centers[:, 0]) ** 2 + (gy[..., None] - centers[:, 1]) ** 2
    np.testing.assert_array_equal(grid.labels, d.argmin(axis=2))


def test_plane_ranges_cover_the_points_at_the_asked_aspect():
    pts = np.array([[0.0, 0.0], [1.0, 10.0]])
    (x0, x1), (y0, y1) = plane_ranges(pts, aspect=1.5)
    assert x0 < 0 and x1 > 1 and y0 < 0 and y1 > 10
    assert (x1 - x0) / (y1 - y0) == pytest.approx(1.5)


def test_iteration_table_has_one_row_per_iteration(fitted):
    _, model = fitted
    run = model.history_
    table = iteration_table(run)
    assert list(table["iteration"]) == list(range(1, run.n_iter + 1))
    np.testing.assert_array_equal(table["J after update"],
                                  [it.inertia_update for it in run.iterations])
    np.testing.assert_array_equal(table["points reassigned"],
                                  [it.n_changed for it in run.iterations])
    assert (table["ΔJ"].iloc[1:] <= 1e-9).all()  # J never rises between iterations


def test_history_table_holds_every_centroid_of_every_iteration(fitted):
    data, model = fitted
    run = model.history_
    table = history_table(run, data.feature_names)
    assert len(table) == run.n_iter * 4
    last = table[table["iteration"] == run.n_iter].sort_values("cluster")
    np.testing.assert_allclose(last["x1 after"], run.centers[:, 0])


def test_labelled_rows_join_clusters_back_to_uploaded_rows_and_leave_dropped_rows_empty():
    table = read_csv_bytes(b"x,y,name\n1,2,a\nnan,3,b\n5,6,c\n7,8,d\n", filename="t.csv")
    features = prepare_features(table.frame, ["x", "y"])
    data = Dataset.from_upload(table, features)
    out = labelled_rows(data, np.array([0, 1, 1]))
    assert list(out["name"]) == ["a", "b", "c", "d"]
    assert out["cluster"].tolist() == [1, pd.NA, 2, 2]
    assert any("1 of 4 rows" in n for n in data.notes)


def test_centroids_table_gives_original_units_when_standardised():
    data = make_dataset("blobs").with_standardized_features()
    np.testing.assert_allclose(data.X.mean(axis=0), 0, atol=1e-12)
    model = KMeans(n_clusters=4, random_state=0).fit(data.X)
    table = centroids_table(data, model.cluster_centers_, np.bincount(model.labels_))
    means_raw = np.array([data.raw[model.labels_ == k].mean(axis=0) for k in range(4)])
    np.testing.assert_allclose(table[["x1 (original units)", "x2 (original units)"]],
                               means_raw, rtol=1e-9)


def test_cross_check_agrees_with_sklearn(fitted):
    data, model = fitted
    check = cross_check(data.X, model.history_, max_iter=300, tol=1e-4)
    assert check.relative_inertia_difference < 1e-9
    assert check.max_center_difference < 1e-9 and check.label_agreement == 1.0
    assert check.engine_n_iter == check.sklearn_n_iter


def test_elbow_sweep_matches_sklearn_inertia_per_k():
    X = make_dataset("blobs").X
    sweep = elbow_sweep(X, 5, random_state=0)
    assert list(sweep["K"]) == [1, 2, 3, 4, 5]
    assert np.isnan(sweep["silhouette"][0]) and sweep["silhouette"][1:].notna().all()
    ref = SklearnKMeans(n_clusters=4, random_state=0, n_init=1).fit(X).inertia_
    assert sweep.loc[3, "J"] == pytest.approx(ref, rel=1e-9)
    assert sweep["silhouette"].idxmax() == 3  # K = 4 separates the 4 blobs best


def test_elbow_sweep_reports_progress():
    seen = []
    elbow_sweep(make_dataset("blobs").X, 3, on_progress=lambda f, _: seen.append(f))
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_restart_study_and_its_distinct_minima():
    X = make_dataset("varied", random_state=2).X
    study = restart_study(X, 4, 12)
    assert len(study) == 24 and set(study["init"]) == {"random", "k-means++"}
    minima = distinct_minima(study)
    for init, group in study.groupby("init"):
        assert minima.loc[minima["init"] == init, "runs"].sum() == len(group)
    assert minima.loc[minima["best"], "J"].min() == pytest.approx(study["J"].min())


def test_distinct_minima_groups_values_equal_within_tolerance():
    study = pd.DataFrame({"init": ["random"] * 4, "J": [10.0, 10.0 + 1e-9, 12.0, 15.0]})
    minima = distinct_minima(study)
    assert minima["J"].tolist() == [10.0, 12.0, 15.0]
    assert minima["runs"].tolist() == [2, 1, 1]
    assert minima["best"].tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("labels_true", "labels_pred"),
    [
        ([0, 0, 1, 1], [1, 1, 0, 0]),
        ([0, 0, 0, 0], [0, 0, 0, 0]),
        ([0, 1, 2, 3], [0, 1, 2, 3]),
        ([0, 0, 0, 1, 1, 1, 2], [0, 0, 1, 1, 2, 2, 2]),
        (["a", "b", "a", "b"], [0, 0, 1, 1]),  # not integers: scikit-learn's own path
        ([-1, 0, 0, 5], [3, 3, 1, 1]),
    ],
    ids=["swapped", "one-group", "singletons", "mixed", "strings", "negative"],
)
def test_adjusted_rand_matches_scikit_learn(labels_true, labels_pred):
    expected = adjusted_rand_score(labels_true, labels_pred)
    assert adjusted_rand(np.array(labels_true), np.array(labels_pred)) == pytest.approx(
        expected, abs=1e-12)


def test_adjusted_rand_matches_scikit_learn_on_many_noisy_labels():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 8, 200_000)
    noisy = np.where(rng.random(truth.size) < 0.2, rng.integers(0, 6, truth.size), truth % 6)
    assert adjusted_rand(truth, noisy) == pytest.approx(
        adjusted_rand_score(truth, noisy), abs=1e-12)
    assert adjusted_rand(None, noisy) is None
