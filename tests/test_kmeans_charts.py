"""The K-means figures carry the engine's numbers: tested on their data, not their looks."""

import html

import numpy as np
import plotly.graph_objects as go
import pytest

from charts import kmeans as charts
from engine.data import make_dataset
from engine.kmeans import (
    KMeans,
    distinct_minima,
    elbow_sweep,
    half_step,
    half_steps,
    make_plane_view,
    restart_study,
    voronoi_grid,
)

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def blobs():
    data = make_dataset("blobs")
    model = KMeans(n_clusters=4, random_state=0, n_init=3).fit(data.X)
    return data, model


def _trace(fig, name):
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


def test_result_figure_draws_centroids_as_stars_at_their_positions(blobs):
    data, model = blobs
    centers = model.cluster_centers_
    fig = charts.result_figure(data.X, model.labels_, centers)
    stars = _trace(fig, "centroids")
    np.testing.assert_allclose(stars.x, centers[:, 0])
    np.testing.assert_allclose(stars.y, centers[:, 1])
    assert stars.marker.symbol == "star"


def test_result_figure_has_one_trace_per_cluster_with_exactly_its_points(blobs):
    data, model = blobs
    fig = charts.result_figure(data.X, model.labels_, model.cluster_centers_)
    for k in range(4):
        members = data.X[model.labels_ == k]
        trace = _trace(fig, f"cluster {k + 1} ({len(members)})")
        np.testing.assert_allclose(trace.x, members[:, 0].astype(np.float32))
        np.testing.assert_allclose(trace.y, members[:, 1].astype(np.float32))
    assert sum(len(t.x) for t in fig.data if t.name.startswith("cluster")) == len(data.X)


def test_hover_carries_distance_to_every_centroid(blobs):
    data, model = blobs
    step = half_step(model.history_, data.X, np.arange(len(data.X)), model.n_iter_, "assign")
    fig = charts.result_figure(data.X, step.labels, step.centers, distances=step.distances)
    trace = _trace(fig, f"cluster 1 ({int((step.labels == 0).sum())})")
    members = np.flatnonzero(step.labels == 0)
    expected = np.linalg.norm(data.X[members, None, :] - step.centers[None], axis=2)
    np.testing.assert_allclose(np.asarray(trace.customdata)[:, 1:], expected, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(trace.customdata)[:, 0], members)
    for k in range(4):
        assert f"distance to centroid {k + 1}: %{{customdata[{k + 1}]" in trace.hovertemplate
    # The point's own centroid is the nearest one at the assignment half-step.
    assert (np.asarray(trace.customdata)[:, 1:].argmin(axis=1) == 0).all()


def test_voronoi_regions_are_shaded_behind_the_points(blobs):
    data, model = blobs
    grid = voronoi_grid(model.cluster_centers_, (-5, 5), (-2, 10), resolution=50)
    fig = charts.result_figure(data.X, model.labels_, model.cluster_centers_, voronoi=grid)
    assert isinstance(fig.data[0], go.Heatmap)  # first trace is drawn first, i.e. behind
    np.testing.assert_array_equal(fig.data[0].z, grid.labels)
    nearest = np.linalg.norm(
        np.array([[grid.x[7], grid.y[9]]]) - model.cluster_centers_, axis=1).argmin()
    assert grid.labels[9, 7] == nearest


def test_large_scatter_uses_webgl_and_small_one_svg():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 6_000)
    big = charts.result_figure(rng.normal(size=(6_000, 2)), labels, np.zeros((3, 2)))
    small = charts.result_figure(rng.normal(size=(100, 2)), labels[:100], np.zeros((3, 2)))
    assert {type(t) for t in big.data if t.name.startswith("cluster")} == {go.Scattergl}
    assert {type(t) for t in small.data if t.name.startswith("cluster")} == {go.Scatter}


def test_user_text_is_escaped_in_titles_axes_and_notes():
    fig = charts.result_figure(
        np.zeros((2, 2)), np.array([0, 0]), np.zeros((1, 2)),
        axis_titles=(XSS, "<b>y</b>"), title=XSS, notes=[f"file {XSS}"],
    )
    assert fig.layout.title.text == html.escape(XSS)
    assert fig.layout.xaxis.title.text == html.escape(XSS)
    assert fig.layout.yaxis.title.text == "&lt;b&gt;y&lt;/b&gt;"
    notes = fig.layout.title.subtitle.text  # notes sit above the plot, never on the data
    assert "<img" not in notes and html.escape(XSS) in notes


def test_plane_notes_say_projection_and_sample():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30_000, 5))
    view = make_plane_view(X, tuple(f"f{j}" for j in range(5)), max_points=1_000)
    notes = " ".join(charts.plane_notes(view))
    assert "PCA projection of 5 features" in notes
    assert "1,000 of 30,000 points" in notes
    assert charts.plane_notes(make_plane_view(X[:50, :2], ("a", "b"))) == []


def test_convergence_figure_plots_both_half_steps_of_the_history(blobs):
    _, model = blobs
    run = model.history_
    fig = charts.convergence_figure(run)
    assign, update = _trace(fig, "after assignment"), _trace(fig, "after update")
    np.testing.assert_array_equal(assign.y, [it.inertia_assign for it in run.iterations])
    np.testing.assert_array_equal(update.y, [it.inertia_update for it in run.iterations])
    np.testing.assert_array_equal(update.x, np.asarray(assign.x) + 0.5)
    zigzag = _trace(fig, "J, half-step by half-step")
    np.testing.assert_array_equal(zigzag.y, run.inertia_curve)
    assert np.all(np.diff(zigzag.x) > 0)
    marker = _trace(fig, "converged")
    assert marker.x[0] == run.n_iter + 0.5 and marker.y[0] == update.y[-1]
    assert fig.layout.yaxis.type == "linear"
    assert charts.convergence_figure(run, log_y=True).layout.yaxis.type == "log"


def test_convergence_marker_says_when_max_iter_stopped_the_run():
    X = make_dataset("blobs").X
    run = KMeans(n_clusters=4, init="random", max_iter=1, random_state=3).fit(X).history_
    fig = charts.convergence_figure(run)
    assert _trace(fig, "stopped (max_iter)").marker.symbol == "x"


def test_shift_figure_shows_shift_per_iteration_and_the_tolerance(blobs):
    _, model = blobs
    run = model.history_
    fig = charts.shift_figure(run)
    shift = fig.data[0]
    np.testing.assert_array_equal(shift.y, [it.center_shift_total for it in run.iterations])
    tol = next(t for t in fig.data if t.name.startswith("tolerance"))
    assert list(tol.y) == [run.tol, run.tol]
    assert fig.layout.yaxis.type == "log"


def test_playback_has_a_frame_per_half_step_and_moves_the_centroids(blobs):
    data, model = blobs
    run = model.history_
    rows = np.arange(len(data.X))
    steps = half_steps(run, data.X, rows)
    fig = charts.playback_figure(data.X, steps)
    assert len(fig.frames) == 2 * run.n_iter
    assert [f.name for f in fig.frames][:2] == ["1 assign", "1 update"]
    for frame, step in zip(fig.frames, steps, strict=True):
        centroids = frame.data[2]
        np.testing.assert_allclose(centroids.x, step.centers[:, 0])
        np.testing.assert_allclose(centroids.y, step.centers[:, 1])
        np.testing.assert_array_equal(frame.data[0].marker.color, step.labels)
    # The update frame of iteration t has the centroids after the update.
    np.testing.assert_allclose(fig.frames[1].data[2].x, run.iterations[0].centers_after[:, 0])
    # Animated traces are SVG scatters (Plotly does not animate WebGL).
    assert all(type(t) is go.Scatter for t in fig.data)
    play = fig.layout.updatemenus[0].buttons[0]
    assert play.method == "animate" and "Play" in play.label
    assert len(fig.layout.sliders[0].steps) == len(fig.frames)


def test_playback_trajectories_grow_frame_by_frame(blobs):
    data, model = blobs
    steps = half_steps(model.history_, data.X, np.arange(len(data.X)))
    fig = charts.playback_figure(data.X, steps)
    lengths = [np.count_nonzero(~np.isnan(np.asarray(f.data[1].x, dtype=float)))
               for f in fig.frames]
    assert lengths == [4 * (i + 1) for i in range(len(steps))]


def test_playback_drops_hover_distances_beyond_its_budget(blobs):
    data, model = blobs
    steps = half_steps(model.history_, data.X, np.arange(len(data.X)))
    assert fig_has_customdata(charts.playback_figure(data.X, steps))
    assert not fig_has_customdata(charts.playback_figure(data.X, steps, hover_budget=10))


def fig_has_customdata(fig):
    return all(f.data[0].customdata is not None for f in fig.frames)


def test_seeding_figure_sizes_points_by_d2_probability(blobs):
    data, model = blobs
    run = model.history_
    step = run.seeding[2]
    p = run.seeding_probabilities(data.X, 2)
    fig = charts.seeding_figure(
        data.X, p, data.X[[s.chosen for s in run.seeding[:2]]], data.X[step.candidates],
        data.X[step.chosen], step=2, n_clusters=4)
    points = fig.data[0]
    np.testing.assert_allclose(points.marker.color, p.astype(np.float32))
    sizes = np.asarray(points.marker.size)
    assert sizes[p.argmax()] == sizes.max() and sizes[p.argmin()] == sizes.min()
    chosen = _trace(fig, "chosen (lowest Σ D²)")
    assert (chosen.x[0], chosen.y[0]) == tuple(data.X[step.chosen])
    assert len(_trace(fig, "centroids so far").x) == 2


def test_runs_figure_marks_the_best_run(blobs):
    _, model = blobs
    fig = charts.runs_figure(model.runs_)
    assert len(fig.data) == len(model.runs_)
    best = [t for t in fig.data if "(best)" in t.name]
    assert len(best) == 1
    kept = next(r for r in model.runs_ if r.is_best)
    np.testing.assert_array_equal(best[0].y, [it.inertia_update for it in kept.iterations])


def test_restart_figure_histograms_every_final_j(blobs):
    data, _ = blobs
    study = restart_study(data.X, 4, 8)
    fig = charts.restart_figure(study, distinct_minima(study))
    for init in ("random", "k-means++"):
        trace = next(t for t in fig.data if t.name.startswith(init))
        np.testing.assert_array_equal(trace.x, study.loc[study["init"] == init, "J"])


def test_elbow_figure_plots_j_and_silhouette_per_k(blobs):
    data, _ = blobs
    sweep = elbow_sweep(data.X, 5)
    fig = charts.elbow_figure(sweep, chosen_k=4)
    np.testing.assert_array_equal(fig.data[0].y, sweep["J"])
    np.testing.assert_array_equal(fig.data[1].x, [2, 3, 4, 5])
    best = fig.data[2]
    assert best.x[0] == sweep.loc[sweep["silhouette"].idxmax(), "K"] == 4


def test_j_curve_marks_the_half_step_on_screen(blobs):
    _, model = blobs
    run = model.history_
    fig = charts.convergence_figure(run, at=(2, "assign"))
    here = _trace(fig, "you are here")
    assert (here.x[0], here.y[0]) == (2.0, run.iterations[1].inertia_assign)
    fig = charts.convergence_figure(run, at=(1, "update"))
    assert _trace(fig, "you are here").x[0] == 1.5
    assert not [t for t in charts.convergence_figure(run).data if t.name == "you are here"]


def test_iteration_axes_tick_whole_numbers_only():
    X = make_dataset("blobs").X
    run = KMeans(n_clusters=4, init="random", random_state=0).fit(X).history_
    for fig in (charts.convergence_figure(run), charts.shift_figure(run),
                charts.runs_figure([run])):
        axis = fig.layout.xaxis
        assert axis.tickmode == "linear" and axis.tick0 == 1 and axis.tickformat == "d"
        assert float(axis.dtick).is_integer() and axis.dtick >= 1
    long = KMeans(n_clusters=4, init="random", max_iter=40, tol=0, random_state=9).fit(
        make_dataset("blobs", n_samples=2000, centers=12, cluster_std=2.5).X).history_
    dtick = charts.convergence_figure(long).layout.xaxis.dtick
    assert long.n_iter / dtick <= 12  # few enough ticks to read, still whole numbers


def test_stop_reason_is_said_above_the_plot_never_on_the_data(blobs):
    _, model = blobs
    fig = charts.convergence_figure(model.history_)
    assert fig.layout.title.subtitle.text.startswith("converged at iteration")
    assert all(t.mode != "markers+text" and not t.text for t in fig.data)
    assert not fig.layout.annotations


def test_every_scatter_of_a_data_set_shares_one_equal_aspect_window(blobs):
    data, model = blobs
    run = model.history_
    ranges = ((-12.0, 12.0), (-5.0, 11.0))
    step = half_step(run, data.X, np.arange(len(data.X)), 1, "assign")
    steps = half_steps(run, data.X, np.arange(len(data.X)))
    seeding = run.seeding[1]
    figures = [
        charts.result_figure(data.X, step.labels, step.centers, ranges=ranges),
        charts.playback_figure(data.X, steps, ranges=ranges),
        charts.seeding_figure(data.X, run.seeding_probabilities(data.X, 1), data.X[:1],
                              data.X[seeding.candidates], data.X[seeding.chosen], step=1,
                              n_clusters=4, ranges=ranges),
    ]
    for fig in figures:
        assert tuple(fig.layout.xaxis.range) == ranges[0]
        assert tuple(fig.layout.yaxis.range) == ranges[1]
        assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1


def test_playback_moves_the_ring_on_j_and_names_j_in_its_label(blobs):
    data, model = blobs
    steps = half_steps(model.history_, data.X, np.arange(len(data.X)))
    fig = charts.playback_figure(data.X, steps)
    for frame, step in zip(fig.frames, steps, strict=True):
        ring = frame.data[3]
        assert ring.y[0] == step.inertia
        assert ring.x[0] == step.iteration + (0.5 if step.half == "update" else 0.0)
    labels = [s.label for s in fig.layout.sliders[0].steps]
    assert labels[1] == f"iteration 1 · after update · J = {steps[1].inertia:,.3f}"
    assert fig.data[3].xaxis == "x2"  # the ring lives on the J curve beside the plane


def test_restart_bars_share_bins_side_by_side_and_say_minimum_in_the_singular(blobs):
    data, _ = blobs
    study = restart_study(data.X, 4, 8)
    fig = charts.restart_figure(study, distinct_minima(study))
    bins = [t.xbins for t in fig.data]
    assert all(b == bins[0] for b in bins) and fig.layout.barmode == "group"
    plus = next(t for t in fig.data if t.name.startswith("k-means++"))
    assert "1 distinct minimum," in plus.name  # the blobs have one minimum from k-means++
