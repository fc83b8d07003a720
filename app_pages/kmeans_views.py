"""The K-means lab's result tabs: one function per tab, drawn only when its tab is open.

The page script (``app_pages/kmeans.py``) fits and hands the fit over as :class:`Results`;
:func:`show_tabs` draws the open tab. The lab's story is :func:`story`: the clusters of one
half-step beside the J curve with that half-step marked ("you are here"); the Result tab
shows it for the final iteration (in presenter mode it heads the page instead), the Step
through tab for the iteration on its slider. Each tab asks the engine (``engine.kmeans``)
for what it shows, ``charts.kmeans`` for the figure, and shows it: nothing here computes
what the engine should. :data:`VIEW` is the parameter table of the tabs' own controls (the
step-through's iteration and half-step travel in shared links).

One file, over 550 lines, because it is one job: the lab's tabs, one function each, over
the shared :class:`Results`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from admission import Kind, Work
from app_pages.components import heavy
from app_pages.components.figures import presenting, show_figure
from app_pages.components.params import Param, ParamTable
from app_pages.components.text import show_error
from app_pages.components.tsne import tsne_panel
from charts import clustering as cluster_charts
from charts import kmeans as charts
from engine import clustering as projections
from engine import data as data_io
from engine import kmeans
from engine.kmeans import KMeans

K_MAX = 30
"""Largest K offered anywhere on the page."""

PLANE_ASPECT = 1.5
"""Width/height of the plane's window: every scatter of a data set shows this same window."""

STORY_HEIGHT = 440
"""Height of the story's two charts: both fit on the first screen at 1440×900."""

ELKAN_HEIGHT = 400
"""Height of the Elkan tab's two charts: below the tabs, both within 900 px."""

ROUNDING = 1e-9
"""ΔJ smaller than this × J is rounding, shown as 0 (J is a sum of n float64 terms)."""

VIEW = ParamTable("kmeans_", (
    Param("iteration", "it", "Iteration", 1, int, low=1, high=1000, control="slider"),
    Param("half", "half", "Half-step", "update", str, choices=("assign", "update"),
          control="radio",
          format_func=lambda h: "1 · assignment" if h == "assign" else "2 · update"),
    Param("log_j", None, "Log scale for J", False, bool),
    Param("seed_step", None, "Seeding step", 2, int, low=1, high=K_MAX, control="slider"),
    Param("study_seeds", None, "Seeds per initialisation", 40, int, low=10, high=200, step=10,
          control="slider"),
    Param("elbow_kmax", None, "Largest K to try", 10, int, low=2, high=K_MAX, control="slider"),
    Param("perplexity", None, "t-SNE perplexity", 30.0, float, low=2.0, high=100.0, step=1.0,
          help="About how many neighbours each point keeps close (at most a third of the "
               "points, minus one)."),
))  # fmt: skip
"""What the tabs show: the step-through's iteration and half-step (in links), study sizes."""

STUDY = Kind("kmeans.restart_study", "Restart study", seconds_per_unit=0.002)
ELBOW = Kind("kmeans.elbow", "Elbow and silhouette sweep", seconds_per_unit=0.002)
"""The two studies run in the server's queue; a unit of cost is one fit on 1,000 points."""


@dataclass(frozen=True, eq=False)
class Results:
    """The fit on screen and the plane it is drawn on: what every tab draws from.

    ``settings`` are the ones the fit was made with; ``fit_key`` keys work cached on the fit.
    """

    data: data_io.Dataset
    model: KMeans
    settings: dict
    fit_key: tuple
    view: kmeans.PlaneView
    points: np.ndarray  # (n_drawn, 2) plane coordinates of the drawn rows
    notes: list[str]  # what the plane shows (projection, sample), for every scatter
    ranges: tuple  # ((x0, x1), (y0, y1)): the one window of every scatter of this fit

    @classmethod
    def of(cls, data: data_io.Dataset, model: KMeans, settings: dict, fit_key: tuple) -> Results:
        view = plane_view(data.digest, data.X, data.feature_names)
        points = view.points(data.X)
        # Every centroid the run ever had, so that no step or frame leaves the window.
        run = model.history_
        centers = np.vstack([it.centers_before for it in run.iterations] + [run.centers])
        ranges = kmeans.plane_ranges(np.vstack([points, view.project(centers)]),
                                     aspect=PLANE_ASPECT)
        return cls(data, model, settings, fit_key, view, points, charts.plane_notes(view),
                   ranges)

    @property
    def run(self) -> kmeans.KMeansRun:
        return self.model.history_

    @property
    def k(self) -> int:
        return self.settings["k"]


# Computed from a session's data: private to the session, dropped with it.
@st.cache_data(max_entries=8, scope="session", show_spinner=False)
def plane_view(digest: str, _X: np.ndarray, feature_names: tuple[str, ...]) -> kmeans.PlaneView:
    """The display sample and the plane it is drawn on, once per data set (keyed on digest)."""
    return kmeans.make_plane_view(_X, feature_names)


@st.cache_data(max_entries=8, scope="session",
               show_spinner="Running scikit-learn from the same start…")
def cross_check(fit_key: tuple, _X: np.ndarray, _run, max_iter: int,
                tol: float) -> kmeans.CrossCheck:
    """scikit-learn's run from the same start, cached on the fit's key (data digest, settings)."""
    return kmeans.cross_check(_X, _run, max_iter=max_iter, tol=tol)


def show_tabs(res: Results) -> None:
    """The result tabs; only the open one is computed and sent.

    Lazy tabs: a rerun runs, and sends to the browser, only the tab on screen. With every tab
    drawn on each run, 1,000,000 points took seconds more per Run than the fit itself.
    """
    shown = {name: draw for name, draw in TABS.items()
             if not (presenting() and name == "Result")}  # presenter mode: it heads the page
    tabs = st.tabs(list(shown), key="kmeans_tab", on_change="rerun")
    for draw, tab in zip(shown.values(), tabs, strict=True):
        if tab.open:
            with tab:
                draw(res)


def result_picture(res: Results, step: kmeans.HalfStep, counts: np.ndarray, *, title: str,
                   key: str, container=st, height: int = STORY_HEIGHT) -> None:
    """Points, centroids and (for 2-D data) Voronoi regions of one half-step."""
    centers = res.view.project(step.centers)
    voronoi = None
    if res.data.n_features == 2:
        voronoi = kmeans.voronoi_grid(centers, *res.ranges, resolution=120)
    fig = charts.result_figure(
        res.points, step.labels, centers, distances=step.distances, row_numbers=res.view.index,
        voronoi=voronoi, ranges=res.ranges, axis_titles=res.view.axis_titles, title=title,
        notes=res.notes, counts=counts,  # cluster sizes over all points, not the display sample
        height=height,
    )
    show_figure(fig, key=key, container=container)


def story(res: Results, step: kmeans.HalfStep, counts: np.ndarray, *, title: str,
          keys: tuple[str, str]) -> None:
    """The lab's point in one row: the clusters of ``step`` beside the J curve, with that
    half-step marked on the curve ("you are here")."""
    left, right = st.columns([3, 2], gap="small")
    result_picture(res, step, counts, title=title, key=keys[0], container=left)
    show_figure(
        charts.convergence_figure(res.run, at=(step.iteration, step.half), title="Objective J",
                                  height=STORY_HEIGHT),
        key=keys[1], container=right,
    )


def final_step(res: Results) -> kmeans.HalfStep:
    """The final state: the last update, labelled with the model's final labels."""
    run, model = res.run, res.model
    final = kmeans.half_step(run, res.data.X, res.view.index, run.n_iter, "update")
    return kmeans.HalfStep(run.n_iter, "update", run.centers, model.labels_[res.view.index],
                           final.distances, run.inertia)


# ----------------------------------------------------------------------------- Result


def result_tab(res: Results) -> None:
    """The final clusters beside the J curve, the end of the run marked on it."""
    story(res, final_step(res), np.bincount(res.model.labels_, minlength=res.k),
          title=f"{res.k} clusters · J = {res.model.inertia_:,.3f}",
          keys=("kmeans_result_chart", "kmeans_result_j_chart"))
    st.caption("Hover over a point to see its distance to every centroid: it belongs to the "
               "nearest." + (" Shaded regions are the points of the plane nearest each "
                             "centroid (Voronoi regions)." if res.data.n_features == 2 else "")
               + " **Step through** shows every half-step, and plays the whole run.")


# ----------------------------------------------------------------------------- Convergence


def convergence_tab(res: Results) -> None:
    run = res.run
    log_y = VIEW.widget("log_j")
    left, right = st.columns(2)
    show_figure(charts.convergence_figure(run, log_y=log_y), key="kmeans_j_chart",
                container=left)
    show_figure(charts.shift_figure(run), key="kmeans_shift_chart", container=right)
    st.markdown(
        f"**Stopped:** {run.stop_reason} after {run.n_iter} iteration(s). The tolerance "
        f"{res.settings['tol']:g} × mean feature variance = {run.tol:.3g} is compared with "
        "Σ‖Δμ‖², the squared distance all centroids moved."
    )
    table = kmeans.iteration_table(run)
    # J is a sum of n squared distances; summed in another order it differs in its last
    # digits, so a ΔJ below that rounding is no change at all and is shown as 0.
    rounding = ROUNDING * float(np.abs(run.inertia_curve).max())
    table["ΔJ"] = table["ΔJ"].where(table["ΔJ"].abs() > rounding, 0.0)
    j_format = st.column_config.NumberColumn(format="%.4f")
    st.dataframe(table, hide_index=True, key="kmeans_iteration_table", column_config={
        "J after assignment": j_format, "J after update": j_format, "ΔJ": j_format,
        "centroid shift Σ‖Δμ‖²": st.column_config.NumberColumn(format="%.3g"),
        "largest centroid move": st.column_config.NumberColumn(format="%.3g"),
    })  # fmt: skip
    st.caption(f"ΔJ is J after this update minus J after the previous one. A change smaller "
               f"than J × {ROUNDING:g} is floating-point rounding (J adds up "
               f"{res.data.n_samples:,} squared distances) and is shown as 0.")


# ----------------------------------------------------------------------------- Step through


@st.fragment
def step_through(res: Results) -> None:
    """Slider over iterations and the half-step toggle: moving them never re-fits.

    A fragment: a step reruns this function alone and sends only the step's clusters and
    J curve. The fit is held in session state, so K-means never reruns for a step.
    """
    run, ss = res.run, st.session_state
    n_iter = run.n_iter
    left, right = st.columns([3, 2])
    with left:
        if n_iter > 1:
            ss["kmeans_iteration"] = min(max(ss["kmeans_iteration"], 1), n_iter)
            t = VIEW.widget("iteration", max_value=n_iter)
        else:
            t = 1
            st.caption("The run took a single iteration.")
    with right:
        half = VIEW.widget("half", horizontal=True)
    st.query_params.update(VIEW.to_url({"iteration": t, "half": half}))
    step = kmeans.half_step(run, res.data.X, res.view.index, t, half)
    record = run.iterations[t - 1]
    c = st.columns(4)
    c[0].metric("J at this half-step", f"{step.inertia:,.3f}")
    c[1].metric("Points reassigned", f"{record.n_changed:,}")
    c[2].metric("Centroid shift Σ‖Δμ‖²", f"{record.center_shift_total:.3g}")
    c[3].metric("Empty clusters", ", ".join(str(e + 1) for e in record.empty_clusters) or "none")
    story(res, step, record.counts, keys=("kmeans_step_chart", "kmeans_step_j_chart"),
          title=f"Iteration {t} of {n_iter} · "
                f"{'after assignment' if half == 'assign' else 'after update'}")
    st.markdown("**Assignment:** every point joins its nearest centroid (the stars)."
                if half == "assign" else
                "**Update:** every centroid moves to the mean of the points that joined it.")


def step_through_tab(res: Results) -> None:
    run, data, view = res.run, res.data, res.view
    step_through(res)
    st.subheader("Playback")
    anim_rows = view.index[kmeans.display_sample(len(view.index), kmeans.ANIMATION_MAX_POINTS, 1)]
    steps = kmeans.half_steps(run, data.X, anim_rows)
    anim_notes = list(res.notes[:1])
    if len(anim_rows) < data.n_samples:
        anim_notes.append(f"Animating a random sample of {len(anim_rows):,} of "
                          f"{data.n_samples:,} points; K-means ran on all of them.")
    if run.n_iter > kmeans.ANIMATION_MAX_ITERATIONS:
        anim_notes.append(f"First {kmeans.ANIMATION_MAX_ITERATIONS} of {run.n_iter} iterations.")
    show_figure(
        charts.playback_figure(view.project(data.X[anim_rows]), steps, project=view.project,
                               row_numbers=anim_rows, ranges=res.ranges,
                               axis_titles=view.axis_titles, notes=anim_notes),
        key="kmeans_playback_chart",
    )
    st.caption("Press ▶ Play: the animation runs in your browser, and the ring on the J curve "
               "follows it. Dotted lines are the paths the centroids took.")


# ----------------------------------------------------------------------------- Seeding


def seeding_tab(res: Results) -> None:
    run, data, view, k = res.run, res.data, res.view, res.k
    if not run.seeding:
        st.info(f"This run started from **{run.init}** initial centroids, which are K distinct "
                "points drawn uniformly: choose init = k-means++ to see its seeding.")
        return
    if k > 1:
        st.session_state["kmeans_seed_step"] = min(st.session_state["kmeans_seed_step"], k)
        s = VIEW.widget("seed_step", max_value=k)
    else:
        s = 1
    seed_step = run.seeding[s - 1]
    probs = run.seeding_probabilities(data.X, s - 1)[view.index]  # recomputed, not stored
    earlier = data.X[[q.chosen for q in run.seeding[: s - 1]]]
    show_figure(
        charts.seeding_figure(
            res.points, probs, view.project(earlier).reshape(-1, 2),
            view.project(data.X[seed_step.candidates]),
            view.project(data.X[[seed_step.chosen]])[0], step=s - 1, n_clusters=k,
            ranges=res.ranges, axis_titles=view.axis_titles, notes=res.notes),
        key="kmeans_seeding_chart",
    )
    st.caption(
        f"Each new centroid is drawn with probability ∝ D², the squared distance to the "
        f"nearest centroid so far. Greedy k-means++ draws {len(seed_step.candidates)} "
        f"candidate(s) and keeps the one that lowers Σ D² most "
        f"(now {seed_step.potential:,.3f})."
    )


# ----------------------------------------------------------------------------- Several starts


def several_starts_tab(res: Results) -> None:
    data, settings, ss = res.data, res.settings, st.session_state
    if len(res.model.runs_) > 1:
        show_figure(charts.runs_figure(res.model.runs_), key="kmeans_runs_chart")
    else:
        st.info("Set **Starts (n_init)** above 1 and run again to see every start's J curve "
                "on one chart.")
    st.markdown("**Restart study:** many seeds, random vs k-means++ starts.")
    n_seeds = VIEW.widget("study_seeds")
    study_key = (data.digest, res.k, n_seeds, settings["max_iter"], settings["tol"])
    if st.button("Run restart study", key="kmeans_study_button", icon=":material/repeat:"):
        rows = min(data.n_samples, kmeans.STUDY_MAX_POINTS)
        try:
            work = study_work(data.X, res.k, n_seeds, settings)
        except ValueError as exc:
            show_error(exc)
        else:
            heavy.submit(STUDY, study_key, work, cost=2 * n_seeds * rows / 1000)
    st.caption(f"{2 * VIEW['study_seeds'].high} fits at most, on a random sample of at most "
               f"{kmeans.STUDY_MAX_POINTS:,} points; it runs in the server's queue.")
    heavy.follow(STUDY, lambda job: ss.update(kmeans_study=(job.key, job.result)),
                 key="kmeans_study")
    if ss.get("kmeans_study", (None,))[0] == study_key:
        study = ss["kmeans_study"][1]
        minima = kmeans.distinct_minima(study)
        show_figure(charts.restart_figure(study, minima), key="kmeans_study_chart")
        st.dataframe(minima, hide_index=True)


def study_work(X: np.ndarray, k: int, n_seeds: int, settings: dict) -> Work:
    """The restart study as a job: its size checked here, in the server, whatever the
    widget allowed; it reports (and stops) after every fit."""
    n_seeds = VIEW["study_seeds"].check(n_seeds)
    return lambda report: kmeans.restart_study(X, k, n_seeds, max_iter=settings["max_iter"],
                                               tol=settings["tol"], on_progress=report)


# ----------------------------------------------------------------------------- Choosing K


def choosing_k_tab(res: Results) -> None:
    data, settings, ss = res.data, res.settings, st.session_state
    k_max = VIEW.widget("elbow_kmax")
    elbow_key = (data.digest, k_max, settings["init"], settings["seed"], settings["max_iter"],
                 settings["tol"])  # fmt: skip
    if st.button("Compute elbow and silhouette", key="kmeans_elbow_button",
                 icon=":material/show_chart:"):
        rows = min(data.n_samples, kmeans.STUDY_MAX_POINTS)
        try:
            work = elbow_work(data.X, k_max, settings)
        except ValueError as exc:
            show_error(exc)
        else:
            heavy.submit(ELBOW, elbow_key, work, cost=k_max * rows / 1000)
    st.caption(f"K = 1 to {VIEW['elbow_kmax'].high} at most, on a random sample of at most "
               f"{kmeans.STUDY_MAX_POINTS:,} points; it runs in the server's queue.")
    heavy.follow(ELBOW, lambda job: ss.update(kmeans_elbow=(job.key, job.result)),
                 key="kmeans_elbow")
    if ss.get("kmeans_elbow", (None,))[0] == elbow_key:
        show_figure(charts.elbow_figure(ss["kmeans_elbow"][1], chosen_k=res.k),
                    key="kmeans_elbow_chart")
        st.caption("J always falls as K grows; look for the bend (the elbow). The silhouette "
                   "compares each point's distance to its own cluster with the next nearest: "
                   "the K with the highest score separates the data best.")
        if data.n_samples > kmeans.STUDY_MAX_POINTS:
            st.caption(f"Computed on a random sample of {kmeans.STUDY_MAX_POINTS:,} points.")


def elbow_work(X: np.ndarray, k_max: int, settings: dict) -> Work:
    """The elbow sweep as a job: K checked here, in the server, whatever the widget allowed."""
    k_max = VIEW["elbow_kmax"].check(k_max)
    return lambda report: kmeans.elbow_sweep(X, k_max, init=settings["init"],
                                             random_state=settings["seed"],
                                             max_iter=settings["max_iter"], tol=settings["tol"],
                                             on_progress=report)  # fmt: skip


# ----------------------------------------------------------------------------- Cross-check


def cross_check_tab(res: Results) -> None:
    st.markdown("The same run through **scikit-learn** (`KMeans(algorithm=\"lloyd\")`) from "
                "the same initial centroids, max_iter and tol.")
    check = cross_check(res.fit_key, res.data.X, res.run, res.settings["max_iter"],
                        res.settings["tol"])
    c = st.columns(4)
    c[0].metric("J, this engine", f"{check.engine_inertia:,.6f}")
    c[1].metric("J, scikit-learn", f"{check.sklearn_inertia:,.6f}")
    c[2].metric("Largest centroid difference", f"{check.max_center_difference:.2e}")
    c[3].metric("Labels that agree", f"{check.label_agreement:.2%}")
    st.caption(f"Iterations: engine {check.engine_n_iter}, scikit-learn {check.sklearn_n_iter}. "
               f"Relative difference in J: {check.relative_inertia_difference:.1e}.")


# ----------------------------------------------------------------------------- Elkan

# Two data sets the Elkan tab sets side by side (fixed: cached once for every session):
# the page's default blobs, and noise in as many dimensions as the data panel allows.
ELKAN_CASES = {
    "blobs, 2-D (the default data)": ("blobs", 2),
    "uniform noise, 50-D": ("uniform", 50),
}


@st.cache_data(max_entries=8, scope="session",
               show_spinner="Replaying the run with Elkan's bounds…")
def elkan_counts(fit_key: tuple, _X: np.ndarray, _run: kmeans.KMeansRun) -> kmeans.ElkanCounts:
    """Elkan's distance counts for the fit on screen, cached on the fit's key."""
    return kmeans.elkan_counts(_X, _run)


@st.cache_data(max_entries=1, show_spinner=False)
def elkan_cases(k: int) -> dict[str, kmeans.ElkanCounts]:
    """The skipped share on :data:`ELKAN_CASES` (300 points, random start, seed 0) with K=k."""
    out = {}
    for name, (kind, n_features) in ELKAN_CASES.items():
        X = data_io.make_dataset(kind, n_features=n_features).X
        run = KMeans(n_clusters=k, init="random", random_state=0).fit(X).history_
        out[name] = kmeans.elkan_counts(X, run)
    return out


def elkan_tab(res: Results) -> None:
    """Distances Elkan's bounds skip, per iteration, beside Lloyd's N·K (charts first: the
    point of the tab fits the first screen at 1440×900)."""
    counts = elkan_counts(res.fit_key, res.data.X, res.run)
    left, right = st.columns([3, 2], gap="small")
    show_figure(charts.elkan_figure(counts, height=ELKAN_HEIGHT), key="kmeans_elkan_chart",
                container=left)
    show_figure(charts.elkan_share_figure(elkan_cases(res.k), height=ELKAN_HEIGHT,
                                          title=f"Share skipped on two data sets, K = {res.k}"),
                key="kmeans_elkan_cases_chart", container=right)
    total = int(counts.n_distances.sum())
    lloyd_total = counts.lloyd_distances * len(counts.n_distances)
    c = st.columns(3)
    c[0].metric("Lloyd: distances", f"{lloyd_total:,}", help="N·K per iteration")
    c[1].metric("Elkan: distances", f"{total:,}", help="The same clusters, the same iterations")
    c[2].metric("Skipped by the bounds", f"{1 - total / lloyd_total:.0%}")
    st.markdown(
        "**Elkan's algorithm** gives exactly Lloyd's clusters with fewer distances. Lloyd's "
        "assignment measures every point against every centroid, N·K distances per "
        "iteration. Elkan keeps, for every point, an upper bound on the distance to its own "
        "centroid and a lower bound on the distance to each other one: when the triangle "
        "inequality proves that no other centroid can be nearer, those distances are skipped. "
        "The first iteration has no bounds yet, so it measures all N·K: that is where they "
        "start."
    )
    st.caption(
        "Right: the default blobs are well separated, so from the second iteration the bounds "
        "rule out most centroids for most points. In uniform noise in 50 dimensions every "
        "centroid is about equally far from every point (distances concentrate in many "
        "dimensions), so the bounds decide almost nothing at first and far less later: there "
        "Elkan pays for its N·K bounds and saves little. Try it: **Data → uniform**, "
        "**Features 50**. (The 64-D Digits sample does have groups and falls in between.)"
    )


# ----------------------------------------------------------------------------- Projections


@st.cache_data(max_entries=8, show_spinner=False)
def pca_of(digest: str, _X: np.ndarray) -> projections.PcaView:
    """PCA of the data, once per data set (keyed on its digest)."""
    return projections.pca_view(_X)


def projections_tab(res: Results) -> None:
    """The clusters found, seen through PCA and t-SNE when the data have more than two
    features (the Clustering lab's projections: engine.clustering)."""
    data, labels = res.data, res.model.labels_
    if data.n_features <= 2:
        st.info("These data have two features: the plane in the other tabs is the data "
                "itself. Projections matter from three features on — pick the **Digits** "
                "sample table (64 features) or generate data with more **Features**.",
                icon=":material/info:")
        return
    st.markdown(f"**{data.n_features} features, coloured by the {res.k} clusters found.** "
                "PCA is a rotation: the plane of the two directions in which the data vary "
                "most, with the share of the variance each keeps.")
    show_figure(cluster_charts.pca_figure(pca_of(data.digest, data.X), labels,
                                          feature_names=data.feature_names),
                key="kmeans_pca_chart")
    st.markdown("**t-SNE** places the points so that neighbours stay neighbours, at the cost "
                "of everything else; ▶ Play shows the optimisation as it unfolds.")
    left, right, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
    perplexity = VIEW.widget("perplexity", left)
    tsne_panel("kmeans", data.digest, data.X, perplexity, labels, button=right)


# ----------------------------------------------------------------------------- Export


def export_tab(res: Results) -> None:
    data, model, run = res.data, res.model, res.run
    st.markdown("Download the results as CSV files (UTF-8, open in any spreadsheet).")
    stem = "kmeans" if data.source != "upload" else re.sub(r"[^\w-]+", "_", data.title)[:40]
    c = st.columns(3)
    c[0].download_button(
        "Rows with their cluster", key="kmeans_dl_labels", icon=":material/download:",
        data=lambda: data_io.to_csv_bytes(kmeans.labelled_rows(data, model.labels_)),
        file_name=f"{stem}_labels.csv", mime="text/csv", on_click="ignore",
    )
    centroids = kmeans.centroids_table(data, model.cluster_centers_,
                                       np.bincount(model.labels_, minlength=res.k))
    c[1].download_button(
        "Centroids", key="kmeans_dl_centroids", icon=":material/download:",
        data=data_io.to_csv_bytes(centroids), file_name=f"{stem}_centroids.csv",
        mime="text/csv", on_click="ignore",
    )
    c[2].download_button(
        "Per-iteration history", key="kmeans_dl_history", icon=":material/download:",
        data=lambda: data_io.to_csv_bytes(kmeans.history_table(run, data.feature_names)),
        file_name=f"{stem}_history.csv", mime="text/csv", on_click="ignore",
    )
    st.dataframe(centroids, hide_index=True)
    st.caption("This page's settings are in its address: copy the link to reopen the same "
               "generated data, parameters and iteration.")


TABS: dict[str, Callable[[Results], None]] = {
    "Result": result_tab,
    "Convergence": convergence_tab,
    "Step through": step_through_tab,
    "k-means++ seeding": seeding_tab,
    "Several starts": several_starts_tab,
    "Choosing K": choosing_k_tab,
    "Cross-check": cross_check_tab,
    "Elkan": elkan_tab,
    "Projections": projections_tab,
    "Export": export_tab,
}
"""The result tabs in order, each with the function that draws it."""
