"""Tables of one fit, for the page to show and the user to download.

:func:`iteration_table` is the convergence table (one row per Lloyd iteration),
:func:`history_table` the whole recorded history (one row per iteration and cluster),
:func:`labelled_rows` the user's rows with their cluster joined (every lab's, from
:mod:`engine.data.export`), and
:func:`centroids_table` the final centroids, in original units too when the data were
standardised. Column names are the only formatting done here: they are what the page
shows and what a spreadsheet opens. Cluster numbers are 1-based, as the page shows them.

Pure pandas and numpy; never streamlit or plotly.

Examples
--------
>>> from engine.data import make_dataset
>>> from engine.kmeans import KMeans
>>> data = make_dataset("blobs")
>>> km = KMeans(n_clusters=4, random_state=0).fit(data.X)
>>> iteration_table(km.history_).shape[0] == km.n_iter_
True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.data import Dataset
from engine.data.export import labelled_rows
from engine.kmeans.history import KMeansRun

__all__ = ["centroids_table", "history_table", "iteration_table", "labelled_rows"]


def iteration_table(run: KMeansRun) -> pd.DataFrame:
    """One row per Lloyd iteration: J after each half-step, ΔJ, shift, reassignments, empties.

    ΔJ is the change of J after the update from the previous iteration (from the first
    assignment for iteration 1). Cluster numbers are 1-based, as the page shows them.
    """
    its = run.iterations
    j_assign = np.array([it.inertia_assign for it in its])
    j_update = np.array([it.inertia_update for it in its])
    previous = np.concatenate([[j_assign[0]], j_update[:-1]]) if len(its) else j_update
    return pd.DataFrame(
        {
            "iteration": [it.iteration for it in its],
            "J after assignment": j_assign,
            "J after update": j_update,
            "ΔJ": j_update - previous,
            "centroid shift Σ‖Δμ‖²": [it.center_shift_total for it in its],
            "largest centroid move": [float(np.max(it.center_shift)) for it in its],
            "points reassigned": [it.n_changed for it in its],
            "empty clusters": [", ".join(str(k + 1) for k in it.empty_clusters) for it in its],
        }
    )


def history_table(run: KMeansRun, feature_names: tuple[str, ...]) -> pd.DataFrame:
    """The whole history, one row per (iteration, cluster): J, size, shift and centroid moves."""
    rows = []
    for it in run.iterations:
        for k in range(len(it.counts)):
            row = {
                "iteration": it.iteration,
                "cluster": k + 1,
                "J after assignment": it.inertia_assign,
                "J after update": it.inertia_update,
                "points in cluster": int(it.counts[k]),
                "points reassigned": it.n_changed,
                "centroid shift": float(it.center_shift[k]),
                "was empty": k in it.empty_clusters,
            }
            for j, name in enumerate(feature_names):
                row[f"{name} before"] = float(it.centers_before[k, j])
            for j, name in enumerate(feature_names):
                row[f"{name} after"] = float(it.centers_after[k, j])
            rows.append(row)
    return pd.DataFrame(rows)


def centroids_table(data: Dataset, centers: npt.ArrayLike, counts: npt.ArrayLike) -> pd.DataFrame:
    """Final centroids, one row per cluster; in original units too when data was standardised."""
    centers = np.asarray(centers, dtype=np.float64)
    out = pd.DataFrame({"cluster": np.arange(1, len(centers) + 1), "points": counts})
    for j, name in enumerate(data.feature_names):
        out[name] = centers[:, j]
    if data.standardization is not None:
        original = data.standardization.inverse_transform(centers)  # (n_clusters, n_features)
        for j, name in enumerate(data.feature_names):
            out[f"{name} (original units)"] = original[:, j]
    return out
