"""The K-means lab's curves: J at every half-step, the centroid shift, several starts, choosing K.

Engine results in (:class:`~engine.kmeans.KMeansRun`, the study tables), figures out. The
J curve can mark the half-step on screen ("you are here"), so that it follows the
step-through and the playback. Iteration axes tick whole numbers only; what stopped a run
is said above the plot (the title's note), never written on the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts._figure import titled, whole_number_ticks
from charts.theme import DARK, TEMPLATE
from engine.kmeans import KMeansRun

__all__ = [
    "HERE_COLOUR",
    "convergence_figure",
    "elbow_figure",
    "half_step_x",
    "j_curve_traces",
    "restart_figure",
    "runs_figure",
    "shift_figure",
    "stop_text",
]

ASSIGN_COLOUR, UPDATE_COLOUR, HERE_COLOUR = "#4f46e5", "#f59e0b", "#dc2626"


def half_step_x(iteration: int, half: str) -> float:
    """Where a half-step sits on an iteration axis: the assignment of t at t, its update at
    t + ½."""
    return iteration + (0.5 if half == "update" else 0.0)


def stop_text(run: KMeansRun) -> str:
    """Why and when the run stopped, in words."""
    if run.stop_reason == "max_iter reached":
        return f"stopped: max_iter = {run.n_iter} reached before converging"
    return f"converged at iteration {run.n_iter}: {run.stop_reason}"


def j_curve_traces(
    iterations: npt.ArrayLike, j_assign: npt.ArrayLike, j_update: npt.ArrayLike
) -> list[go.Scatter]:
    """J after every assignment (x = t) and update (x = t + ½), joined in order.

    J never rises from one half-step to the next: the grey line joins them as they came.
    """
    t = np.asarray(iterations, dtype=np.float64)
    j_assign, j_update = np.asarray(j_assign), np.asarray(j_update)
    return [
        go.Scatter(
            x=np.column_stack([t, t + 0.5]).ravel(),
            y=np.column_stack([j_assign, j_update]).ravel(),
            mode="lines", name="J, half-step by half-step", showlegend=False,
            line={"color": "#9ca3af", "width": 2}, hoverinfo="skip",
        ),
        go.Scatter(
            x=t, y=j_assign, mode="markers", name="after assignment",
            marker={"symbol": "circle", "size": 10, "color": ASSIGN_COLOUR},
            hovertemplate="iteration %{x}<br>J after assignment = %{y:,.4f}<extra></extra>",
        ),
        go.Scatter(
            x=t + 0.5, y=j_update, mode="markers", name="after update",
            marker={"symbol": "diamond", "size": 10, "color": UPDATE_COLOUR},
            customdata=t,
            hovertemplate="iteration %{customdata}<br>J after update = %{y:,.4f}<extra></extra>",
        ),
    ]  # fmt: skip


def here_marker(x: float, j: float, label: str) -> go.Scatter:
    """The "you are here" ring on the J curve, at the half-step on screen."""
    return go.Scatter(
        x=[x], y=[j], mode="markers", name="you are here",
        marker={"symbol": "circle-open", "size": 24, "color": HERE_COLOUR,
                "line": {"width": 3, "color": HERE_COLOUR}},
        hovertemplate=f"you are here: {label}<br>J = %{{y:,.4f}}<extra></extra>",
    )  # fmt: skip


def convergence_figure(
    run: KMeansRun,
    *,
    log_y: bool = False,
    at: tuple[int, str] | None = None,
    title: str = "Objective J = Σ‖x − μ‖² at every half-step",
    height: int = 420,
) -> go.Figure:
    """J per iteration after the assignment (x = t) and after the update (x = t + ½).

    Parameters
    ----------
    run : KMeansRun
    log_y : bool
        J on a log axis (only when every J is positive).
    at : (iteration, half), optional
        The half-step on screen (half is "assign" or "update"): marked "you are here".
    title : str
    height : int

    Returns
    -------
    go.Figure
        Where the run stopped is a star (converged) or a cross (max_iter) on the last
        update; the reason is the title's note, above the plot.
    """
    its = run.iterations
    t = np.array([it.iteration for it in its], dtype=np.float64)
    j_assign = np.array([it.inertia_assign for it in its])
    j_update = np.array([it.inertia_update for it in its])
    fig = go.Figure(j_curve_traces(t, j_assign, j_update))
    converged = run.converged
    fig.add_trace(
        go.Scatter(
            x=[t[-1] + 0.5], y=[j_update[-1]], mode="markers",
            name="converged" if converged else "stopped (max_iter)",
            marker={"symbol": "star" if converged else "x", "size": 18,
                    "color": "#16a34a" if converged else HERE_COLOUR,
                    "line": {"width": 1, "color": DARK}},
            hovertemplate=f"{stop_text(run)}<br>J = %{{y:,.4f}}<extra></extra>",
        )
    )  # fmt: skip
    if at is not None:
        iteration, half = at
        record = its[iteration - 1]
        j = record.inertia_assign if half == "assign" else record.inertia_update
        label = f"iteration {iteration}, after {'assignment' if half == 'assign' else 'update'}"
        fig.add_trace(here_marker(half_step_x(iteration, half), j, label))
    titled(fig, title, [stop_text(run)], height=height)
    positive = bool((run.inertia_curve > 0).all())
    fig.update_yaxes(title_text="J" + (" (log scale)" if log_y and positive else ""),
                     type="log" if log_y and positive else "linear")
    fig.update_xaxes(title_text="iteration", range=[t[0] - 0.3, t[-1] + 0.8],
                     **whole_number_ticks(len(t)))
    # J falls from the top left, so the top right is free for the legend.
    fig.update_layout(legend={"x": 0.99, "y": 0.98, "xanchor": "right", "yanchor": "top",
                              "bgcolor": "rgba(255,255,255,0.8)"})
    return fig  # fmt: skip


def shift_figure(run: KMeansRun, *, height: int = 420) -> go.Figure:
    """Σ‖Δμ‖² per iteration on a log axis, with the tolerance it is compared against."""
    t = np.array([it.iteration for it in run.iterations])
    shift = np.array([it.center_shift_total for it in run.iterations])
    fig = go.Figure(
        go.Scatter(
            x=t, y=shift, mode="lines+markers", name="centroid shift Σ‖Δμ‖²",
            line={"color": "#0ea5e9", "width": 3}, marker={"size": 9},
            hovertemplate="iteration %{x}<br>Σ‖Δμ‖² = %{y:.3e}<extra></extra>",
        )
    )  # fmt: skip
    if run.tol > 0:
        fig.add_trace(
            go.Scatter(
                x=[t.min() - 0.3, t.max() + 0.3], y=[run.tol, run.tol], mode="lines",
                name=f"tolerance {run.tol:.3g} (tol × mean feature variance)",
                line={"color": HERE_COLOUR, "dash": "dash", "width": 2},
                hovertemplate=f"tolerance = {run.tol:.3e}<extra></extra>",
            )
        )  # fmt: skip
    notes = [] if run.tol > 0 else ["tol = 0: the run stops only when no point changes cluster."]
    if (shift == 0).any():
        notes.append("A shift of exactly 0 cannot be drawn on a log axis.")
    titled(fig, "How far the centroids moved", notes, height=height, bottom=90)
    fig.update_yaxes(type="log", title_text="Σ‖Δμ‖² (log scale)", exponentformat="power", dtick=1)
    fig.update_xaxes(title_text="iteration", **whole_number_ticks(len(t)))
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return fig


def runs_figure(runs: Sequence[KMeansRun], *, height: int = 440) -> go.Figure:
    """J after each update for every run of one fit (``n_init``); the kept run is marked."""
    fig = go.Figure()
    longest = 1
    for i, run in enumerate(runs):
        j = np.array([it.inertia_update for it in run.iterations])
        t = np.arange(1, len(j) + 1)
        longest = max(longest, len(j))
        best = run.is_best
        fig.add_trace(
            go.Scatter(
                x=t, y=j, mode="lines+markers",
                name=f"run {i + 1}{' (best)' if best else ''}: J = {run.inertia:,.3f}",
                line={"width": 4 if best else 1.5, "color": "#16a34a" if best else None},
                marker={"size": 8 if best else 5},
                opacity=1.0 if best else 0.6,
                hovertemplate=f"run {i + 1}<br>iteration %{{x}}<br>J = %{{y:,.4f}}<extra></extra>",
            )
        )  # fmt: skip
    titled(fig, f"{len(runs)} starts, one J curve each: the lowest final J is kept",
           height=height)  # fmt: skip
    fig.update_xaxes(title_text="iteration", **whole_number_ticks(longest))
    fig.update_yaxes(title_text="J after update")
    return fig


def _minima_text(n: int) -> str:
    return f"{n} distinct minim{'um' if n == 1 else 'a'}"


def restart_figure(study: pd.DataFrame, minima: pd.DataFrame, *, height: int = 440) -> go.Figure:
    """Histogram of final J over many seeds, one per init; the best J as a dashed line.

    Both inits share the same bins and stand side by side in each bin, so no bar hides
    another.
    """
    colors = {"random": "#ef4444", "k-means++": ASSIGN_COLOUR}
    j = study["J"].to_numpy(dtype=np.float64)
    low, high = float(j.min()), float(j.max())
    # 40 bins over the whole study; a study whose runs all end at one J gets one bin.
    size = (high - low) / 40 if high > low else max(abs(low), 1.0) * 1e-3
    bins = {"start": low - size / 2, "end": high + size / 2, "size": size}
    fig = go.Figure()
    for init, group in study.groupby("init", sort=False):
        n_min = int((minima["init"] == init).sum())
        hits = int(minima.loc[(minima["init"] == init) & minima["best"], "runs"].sum())
        fig.add_trace(
            go.Histogram(
                x=group["J"].to_numpy(), xbins=bins, autobinx=False,
                name=f"{init}: {_minima_text(n_min)}, best found {hits}/{len(group)}",
                marker_color=colors.get(str(init)), opacity=0.9,
                hovertemplate=f"{init}<br>final J %{{x}}<br>%{{y}} runs<extra></extra>",
            )
        )  # fmt: skip
    best = float(study["J"].min())
    fig.add_vline(x=best, line_dash="dash", line_color="#16a34a")
    titled(fig, "Final J over many seeds: local minima made visible",
           [f"Dashed line: the best J found, {best:,.3f}."], height=height, bottom=90)
    fig.update_layout(barmode="group", bargap=0.15, legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(title_text="final J")
    fig.update_yaxes(title_text="runs")
    return fig


def elbow_figure(sweep: pd.DataFrame, *, chosen_k: int | None = None,
                 height: int = 420) -> go.Figure:  # fmt: skip
    """Final J against K (the elbow) beside the silhouette score against K."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        "Elbow: final J for each K", "Silhouette score (higher is better)"))  # fmt: skip
    fig.add_trace(go.Scatter(x=sweep["K"], y=sweep["J"], mode="lines+markers", name="J",
                             line={"color": ASSIGN_COLOUR, "width": 3}, marker={"size": 9}),
                  row=1, col=1)  # fmt: skip
    has_sil = sweep["silhouette"].notna()
    fig.add_trace(go.Scatter(x=sweep.loc[has_sil, "K"], y=sweep.loc[has_sil, "silhouette"],
                             mode="lines+markers", name="silhouette",
                             line={"color": UPDATE_COLOUR, "width": 3}, marker={"size": 9}),
                  row=1, col=2)  # fmt: skip
    if has_sil.any():
        best = sweep.loc[sweep["silhouette"].idxmax()]
        fig.add_trace(go.Scatter(x=[best["K"]], y=[best["silhouette"]], mode="markers",
                                 name=f"best silhouette: K = {int(best['K'])}",
                                 marker={"symbol": "star", "size": 20, "color": "#16a34a"}),
                      row=1, col=2)  # fmt: skip
    if chosen_k is not None:
        for col in (1, 2):
            fig.add_vline(x=chosen_k, line_dash="dot", line_color="#6b7280", row=1, col=col)
    fig.update_layout(template=TEMPLATE, height=height, margin={"l": 10, "r": 10, "t": 50, "b": 90},
                      legend={"orientation": "h", "y": -0.25})  # fmt: skip
    fig.update_xaxes(title_text="K", **whole_number_ticks(int(sweep["K"].max()), first=1))
    return fig
