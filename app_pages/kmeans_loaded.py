"""The K-means lab's "Load a run": a history file written elsewhere, shown as the lab's own runs.

A run fitted on a cluster (``python -m engine.kmeans fit ... --out run.json``) leaves a small
history file (:mod:`engine.kmeans.history_io`). :func:`load_panel` is the sidebar control
that opens one; :func:`show_loaded_run` draws it with the lab's own chart builders: the
final clusters of the stored sample of points beside the J curve, the centroid shifts, the
per-iteration table (reassigned points, empty clusters) and the playback with every
centroid's path, projected on two principal components when there are more than two
features. A file that cannot be read is refused with a message; the page keeps what it had.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from app_pages.components.figures import show_figure
from app_pages.components.text import md_text, show_error
from app_pages.kmeans_views import PLANE_ASPECT, STORY_HEIGHT
from charts import kmeans as charts
from engine import kmeans
from engine.kmeans import history_io

MAX_FILE_MB = 50
"""Largest history file accepted (a run of 300 iterations, K = 30, d = 50 is ~10 MB)."""

_KEY = "kmeans_loaded_run"  # (digest, file name, SavedRun) of the run on screen
_UPLOADS = "kmeans_run_upload_n"  # bumped to clear the uploader when the run is closed


def load_panel(messages) -> history_io.SavedRun | None:
    """The sidebar's "Load a run" uploader; returns the loaded run to show, if any.

    A new file is read and checked once; a bad one is reported in ``messages`` and the run
    already loaded (or the page's own fit) stays on screen.
    """
    ss = st.session_state
    ss.setdefault(_UPLOADS, 0)
    st.header("2 · Load a run")
    uploaded = st.file_uploader(
        "History file (.json or .npz)", type=None, key=f"kmeans_run_upload_{ss[_UPLOADS]}",
        help="Written by `python -m engine.kmeans fit DATA --out run.json`, e.g. on a Dask "
             "cluster: the page shows how that run converged.",
    )  # fmt: skip
    if uploaded is not None:
        content = uploaded.getvalue()
        digest = hashlib.sha256(content).hexdigest()
        held = ss.get(_KEY)
        if held is None or held[0] != digest:
            try:
                if len(content) > MAX_FILE_MB * 2**20:
                    raise history_io.HistoryFileError(
                        f"{uploaded.name!r} is {len(content) / 2**20:.0f} MB; a history file "
                        f"is at most {MAX_FILE_MB} MB."
                    )
                saved = history_io.from_bytes(content, uploaded.name)
            except history_io.HistoryFileError as exc:
                with messages:
                    show_error(exc, next_step="Nothing on the page changed: choose a file "
                               "written by `python -m engine.kmeans fit`.")  # fmt: skip
            else:
                ss[_KEY] = (digest, uploaded.name, saved)
    held = ss.get(_KEY)
    return None if held is None else held[2]


def _close() -> None:
    st.session_state.pop(_KEY, None)
    st.session_state[_UPLOADS] += 1  # a fresh uploader: the closed file is not read again


def show_loaded_run(saved: history_io.SavedRun) -> None:
    """The loaded run, drawn as the lab draws its own: clusters + J, shifts, table, paths."""
    run = saved.run
    k, d = run.centers.shape
    name = st.session_state[_KEY][1]
    top = st.columns([4, 1], vertical_alignment="bottom")
    top[0].subheader(f"Loaded run · {md_text(name)}")
    top[1].button("Close this run", key="kmeans_close_run_button", on_click=_close,
                  icon=":material/close:", width="stretch")  # fmt: skip
    st.caption(
        f"{saved.n_samples:,} points × {d} features · K = {k} · init {md_text(run.init)}"
        + (f" · data {md_text(saved.source)}" if saved.source else "")
        + " · fitted outside this page (e.g. on a Dask cluster); your own data and fit are kept."
    )
    m = st.columns(4)
    m[0].metric("Final J", f"{run.inertia:,.3f}", help="Σ‖x − μ‖² over all points")
    m[1].metric("Iterations", run.n_iter)
    m[2].metric("Stopped because", "converged" if run.converged else "max_iter",
                help=run.stop_reason)  # fmt: skip
    m[3].metric("Clusters K", k)

    left, right = st.columns([3, 2], gap="small")
    if saved.sample is not None:
        sample = saved.sample
        view = kmeans.make_plane_view(sample, saved.feature_names)
        rows = view.index
        centers = np.vstack([it.centers_before for it in run.iterations] + [run.centers])
        points = view.points(sample)
        ranges = kmeans.plane_ranges(np.vstack([points, view.project(centers)]),
                                     aspect=PLANE_ASPECT)  # fmt: skip
        notes = [*charts.plane_notes(view),
                 f"{len(sample):,} of {saved.n_samples:,} points drawn (stored in the file)."]
        final = kmeans.half_step(run, sample, rows, run.n_iter, "update")
        centers_2d = view.project(final.centers)
        fig = charts.result_figure(
            points, final.labels, centers_2d, distances=final.distances, row_numbers=rows,
            voronoi=kmeans.voronoi_grid(centers_2d, *ranges, resolution=120) if d == 2 else None,
            ranges=ranges, axis_titles=view.axis_titles, notes=notes,
            counts=run.iterations[-1].counts, height=STORY_HEIGHT,
            title=f"{k} clusters · J = {run.inertia:,.3f}",
        )  # fmt: skip
        show_figure(fig, key="kmeans_loaded_chart", container=left)
    else:
        left.info("This file stores no sample of the points, so the plane is not drawn.")
    show_figure(charts.convergence_figure(run, at=(run.n_iter, "update"), title="Objective J",
                                          height=STORY_HEIGHT),
                key="kmeans_loaded_j_chart", container=right)  # fmt: skip

    left, right = st.columns(2)
    show_figure(charts.shift_figure(run), key="kmeans_loaded_shift_chart", container=left)
    with right:
        st.markdown("**Every iteration:** J after each half-step, points reassigned, empty "
                    "clusters.")
        st.dataframe(kmeans.iteration_table(run), hide_index=True, height=360,
                     key="kmeans_loaded_table")  # fmt: skip
    if saved.seeding_rounds:
        st.caption("k-means|| seeding: " + "; ".join(
            f"round {r}: {c:,} candidates, φ = {p:,.4g}" for r, c, p in saved.seeding_rounds))
    if saved.sample is not None:
        steps = kmeans.half_steps(run, sample, rows)
        show_figure(
            charts.playback_figure(points, steps, project=view.project, row_numbers=rows,
                                   ranges=ranges, axis_titles=view.axis_titles, notes=notes),
            key="kmeans_loaded_playback_chart",
        )  # fmt: skip
        st.caption("Press ▶ Play: dotted lines are the paths the centroids took.")
