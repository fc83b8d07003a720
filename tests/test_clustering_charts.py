"""Figures of the Clustering-family lab: colours agree, text is escaped, fonts are readable."""

import numpy as np
import plotly.graph_objects as go
import pytest
from sklearn.datasets import make_blobs

from charts import clustering as charts
from charts.theme import cluster_colors
from engine.clustering import METHODS as M
from engine.clustering import (
    GaussianMixture,
    MeanShift,
    birch_steps,
    dbscan_steps,
    hdbscan_steps,
    k_distance,
    pca_view,
    run_cell,
    tsne_run,
)
from engine.data import Dataset

X = make_blobs(240, centers=3, cluster_std=0.7, random_state=3)[0]


def _scatter_color_of_label(fig: go.Figure, label: int) -> set[str]:
    trace = fig.data[0]
    labels = np.asarray(trace.customdata)
    return set(np.asarray(charts.point_colors(trace), dtype=object)[labels == label])


def test_condensed_tree_colours_are_the_scatter_colours_of_the_same_clusters():
    run = hdbscan_steps(X, 10)
    assert run.n_clusters >= 2
    scatter = charts.labels_figure(X, run.labels, title="HDBSCAN", strength=run.probabilities)
    tree = charts.condensed_tree_figure(run)
    filled = {t.meta["label"]: t.fillcolor for t in tree.data if t.meta["label"] is not None}
    assert sorted(filled) == list(range(run.n_clusters))  # every selected cluster is drawn
    for label, color in filled.items():
        assert _scatter_color_of_label(scatter, label) == {color}
    # and the unselected nodes are not painted in any cluster's colour
    others = {t.fillcolor for t in tree.data if t.meta["label"] is None}
    assert others.isdisjoint(set(cluster_colors(run.n_clusters)))


def test_noise_is_grey_and_clusters_use_the_theme_palette():
    labels = np.array([0, 1, -1, 2])
    colors = charts.label_colors(labels)
    assert colors[2] == charts.NOISE_COLOR
    assert colors[:2] + colors[3:] == cluster_colors(3)
    drawn = charts.labels_figure(np.zeros((4, 2)), labels, title="t").data[0]
    assert charts.point_colors(drawn) == colors


def test_grid_has_one_trace_per_cell_and_titles_say_clusters_and_score():
    rows = [Dataset.from_points(X, title="<b>mine</b>"),
            Dataset.from_points(X, np.zeros(240), name="blobs", title="Blobs")]
    cells = [[run_cell(r, M["dbscan"]), run_cell(r, M["gmm"], {"n_components": 10_000})]
             for r in rows]
    fig = charts.grid_figure([(r.title, r.X) for r in rows], cells, ["DBSCAN", "GMM"])
    assert len(fig.data) == 4
    texts = [a.text for a in fig.layout.annotations]
    assert any("failed" in t for t in texts)  # the bad GMM cell
    assert any("&lt;b&gt;mine&lt;/b&gt;" in t for t in texts)  # user text escaped
    assert all(a.font.size >= 14 for a in fig.layout.annotations)


def test_dbscan_figure_draws_the_eps_ball_and_only_reached_points_in_colour():
    run = dbscan_steps(X, k_distance(X, 5).eps, 5)
    fig = charts.dbscan_figure(X, run, step=10, focus=int(run.order[0]))
    ball = [t for t in fig.data if t.name and t.name.startswith("ε-ball")]
    assert len(ball) == 1
    radius = np.hypot(np.asarray(ball[0].x) - X[run.order[0], 0],
                      np.asarray(ball[0].y) - X[run.order[0], 1])
    np.testing.assert_allclose(radius, run.eps)
    core = next(t for t in fig.data if t.name.startswith("core"))
    colored = [c for c in core.marker.color if c not in (charts.UNREACHED_COLOR,)]
    assert 0 < len(colored) <= 10
    assert charts.k_distance_figure(k_distance(X, 5)).data[1].x == (k_distance(X, 5).knee,)


def test_gmm_ellipses_are_one_and_two_sigma_of_the_component():
    gm = GaussianMixture(3, random_state=0).fit(X)
    resp = gm.history_.responsibilities_at(X, gm.n_iter_)
    fig = charts.gmm_figure(X, gm.history_, resp, gm.n_iter_)
    one_sigma = fig.data[2]  # component 0, 1σ (after its white halo)
    pts = np.column_stack([one_sigma.x, one_sigma.y]) - gm.means_[0]
    mahalanobis = np.einsum("ij,jk,ik->i", pts, np.linalg.inv(gm.covariances_[0]), pts)
    np.testing.assert_allclose(mahalanobis, 1.0, rtol=1e-6)
    curve = charts.lower_bound_figure(gm.history_, iteration=1)
    assert list(curve.data[0].y) == gm.lower_bounds_


def test_mean_shift_figure_animates_seeds_to_their_modes():
    ms = MeanShift(bandwidth=1.5).fit(X)
    fig = charts.mean_shift_figure(X, ms, max_paths=50)
    assert len(fig.frames) >= 2
    last = fig.frames[-1].data[0]
    final = np.column_stack([last.x, last.y])
    modes = ms.merge_.modes
    assert all(np.min(np.linalg.norm(modes - p, axis=1)) < 1e-9 for p in final)


def test_birch_circles_have_the_subcluster_radii():
    run = birch_steps(X, threshold=0.6, n_clusters=3)
    fig = charts.birch_figure(X, run)
    circles = fig.data[1]
    x = np.asarray(circles.x, dtype=float)[:61]
    y = np.asarray(circles.y, dtype=float)[:61]
    np.testing.assert_allclose(np.hypot(x - run.centers[0, 0], y - run.centers[0, 1]),
                               run.radii[0])


def test_projection_figures_show_variance_and_snapshots():
    X4 = make_blobs(150, n_features=4, centers=3, random_state=0)[0]
    labels = np.arange(150) % 3
    fig = charts.pca_figure(pca_view(X4), labels, feature_names=["a", "b", "c", "d"])
    assert "PCA keeps" in fig.layout.title.text
    run = tsne_run(X4, perplexity=10, exaggeration_iterations=25, iterations=25)
    anim = charts.tsne_figure(run, labels)
    assert len(anim.frames) == len(run.snapshots)


@pytest.mark.parametrize("figure", ["grid", "tree", "k"])
def test_tick_fonts_are_readable_on_a_projector(figure):
    run = hdbscan_steps(X, 10)
    fig = {
        "grid": lambda: charts.labels_figure(X, run.labels, title="t"),
        "tree": lambda: charts.condensed_tree_figure(run),
        "k": lambda: charts.k_distance_figure(k_distance(X, 4)),
    }[figure]()
    assert fig.layout.font.size >= 14
    assert fig.layout.xaxis.tickfont.size >= 14 and fig.layout.yaxis.tickfont.size >= 14
