"""Clustering-family lab: K-means, DBSCAN, HDBSCAN, BIRCH, Mean-Shift and GMM side by side,
then inside each one.

Reads top to bottom like the page: data in (the shared data panel,
``app_pages/components/data_panel.py``, with this lab's own source first: the standard
shapes, one grid row each), the grid of data sets × methods, the opened cell's own view,
projections for data with more than two features. The engine does the computing
(``engine.clustering``; the K-means column through ``app_pages/clustering_methods.py``),
``charts.clustering`` draws, and ``app_pages/clustering_views.py`` holds each method's view.

State lives in ``st.session_state`` under ``clustering_*`` keys: the grid's last rows, the
open cell and each cell's parameter overrides survive reruns and visits to other pages; the
data panel keeps its own last good data under the same prefix.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import streamlit as st

from app_pages import clustering_views as views
from app_pages.clustering_methods import COLUMNS
from app_pages.components.data_panel import DataPanel
from app_pages.components.params import Param, ParamTable, UrlValues, query_lists, read_link
from app_pages.components.text import md_text
from app_pages.components.tsne import tsne_panel
from charts import clustering as charts
from engine import clustering as cl
from engine import data as data_io

COLUMN = {m.key: m for m in COLUMNS}
SHAPES = "Standard shapes"
# "1 · Data": the standard shapes (the whole grid), or one data set of the user's own from
# the panel every lab shares: generated, a sample table or an uploaded CSV (one grid row).
DATA = DataPanel("clustering_", lab_source=(SHAPES, "shapes"))

SETTINGS = ParamTable("clustering_", (
    Param("n_samples", "pts", "Points per shape", cl.GRID_SAMPLES, int, low=100, high=5_000,
          step=100, help="Every standard shape gets this many points."),
    Param("seed", "seed", "Data seed", 0, int, low=0, high=2**31 - 1,
          help="The same seed draws the same points."),
    Param("method", "method", "Method", "dbscan", str, choices=tuple(COLUMN),
          format_func=lambda k: COLUMN[k].name),
    Param("perplexity", "perp", "t-SNE perplexity", 30.0, float, low=2.0, high=100.0, step=1.0),
))

# Override widgets: deliberately loose bounds, so a bad value (ε = 0, K > N) reaches the
# method and comes back as that cell's message, as it would from a notebook.
OVERRIDES = ParamTable("clustering_ovr_", (
    Param("eps", None, "ε (eps)", 0.5, float, low=0.0, step=0.01, format="%.4g"),
    Param("min_samples", None, "min_samples", 5, int, low=0, high=1_000_000),
    Param("min_cluster_size", None, "min_cluster_size", 15, int, low=0, high=1_000_000),
    Param("threshold", None, "threshold", 0.5, float, low=0.0, step=0.01, format="%.4g"),
    Param("branching_factor", None, "branching_factor", 50, int, low=0, high=10_000),
    Param("bandwidth", None, "bandwidth", 1.0, float, low=0.0, step=0.05, format="%.4g"),
    Param("bin_seeding", None, "Seed from a grid (bin_seeding)", True, bool),
    Param("n_components", None, "n_components (K)", 3, int, low=0, high=100_000),
    Param("covariance_type", None, "covariance_type", "full", str,
          choices=cl.COVARIANCE_TYPES),
    Param("n_clusters", None, "n_clusters (K)", 3, int, low=0, high=100_000),
))


# ----------------------------------------------------------------------------- caches


@st.cache_data(max_entries=8, ttl="1h", show_spinner=False)
def standard_rows(n_samples: int, seed: int, standardize: bool) -> tuple[data_io.Dataset, ...]:
    rows = cl.grid_datasets(n_samples, seed)
    return tuple(r.with_standardized_features() for r in rows) if standardize else rows


def cell_key(row: data_io.Dataset) -> str:
    """What a cell depends on: every value of the points, and of their true groups (scored
    against). The same points with a label column picked are another cell."""
    return row.digest if row.labels is None else row.digest + data_io.content_digest(row.labels)


@st.cache_data(max_entries=600, ttl="1h", show_spinner=False)
def grid_cell(key: str, _row: data_io.Dataset, method: str, overrides: tuple) -> cl.Cell:
    """One cell, keyed on :func:`cell_key` of its row and its parameters."""
    return cl.run_cell(_row, COLUMN[method], dict(overrides))


@st.cache_data(max_entries=8, scope="session", show_spinner=False)
def plane_of(digest: str, _X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if _X.shape[1] <= 2:
        plane = _X if _X.shape[1] == 2 else np.column_stack([_X[:, 0], np.zeros(len(_X))])
        return plane, None
    view = cl.pca_view(_X)
    return view.points, view.components


def own_row(data: data_io.Dataset) -> data_io.Dataset:
    """The panel's data as the grid's one row (sampled above the grid's cap), made once."""
    held = ss.get("clustering_own_row")
    if held is None or held[0] is not data:
        held = (data, cl.grid_row(data))
        ss["clustering_own_row"] = held
    return held[1]


# ----------------------------------------------------------------------------- state & link

ss = st.session_state
# A shared link (?src=shapes&pts=300&method=hdbscan&row=blobs, or the panel's own keys)
# reopens the same data and cell. Read once per session, every table at once: a value its
# row refuses keeps its default, and one notice names them all.
# The grid's row is checked once the rows are known, and named in the same notice.
link_ignored, row_asked = None, None
if not ss.get("clustering_url_read"):
    ss["clustering_url_read"] = True
    query = query_lists(st.query_params)
    rows_asked = query.pop("row", [])
    link = read_link(query, (*DATA.tables, SETTINGS))
    ss.update(link.values)
    link_ignored = list(link.ignored)
    if len(rows_asked) == 1:
        row_asked = ss["clustering_row"] = rows_asked[0]
    elif rows_asked:
        link_ignored.append(f"row (given {len(rows_asked)} times)")
SETTINGS.keep(ss)
ss.setdefault("clustering_overrides", {})

st.title("Clustering family lab")
st.caption("Seven ways to find groups, on the same data: each cell is one method on one data "
           "set with a default chosen from the data (the rule is stated below). Click a cell "
           "to see what happens inside that method.")
messages = st.container()


def show_link_notice(row_names: list[str] | None = None) -> None:
    """The link's one notice, naming the grid row too once ``row_names`` are known."""
    ignored = list(link_ignored or ())
    if row_asked is not None and row_names is not None and row_asked not in row_names:
        asked = row_asked if len(row_asked) <= 40 else row_asked[:39] + "…"  # user text, bounded
        ignored.append(f"row={asked} (not a data set here: {', '.join(row_names)})")
    if notice := UrlValues({}, tuple(ignored)).notice():
        messages.warning(md_text(notice), icon=":material/link_off:")


with st.sidebar:
    data = DATA.show(messages, check=cl.check_grid_data)
    if DATA.source == SHAPES:
        st.caption(f"One grid row for each of {len(cl.GRID_SHAPES)} data sets: the K-means "
                   "lab's shapes, overlapping Gaussians and uniform noise (no structure at "
                   "all). Generate, pick a table or upload a CSV to put your own data in the "
                   "grid.")
        SETTINGS.widget("n_samples")
        SETTINGS.widget("seed")
        ss["clustering_rows"] = standard_rows(ss["clustering_n_samples"], ss["clustering_seed"],
                                              DATA.standardize)
    elif data is not None:
        ss["clustering_rows"] = (own_row(data),)
# Until the panel has data (no file chosen yet, or the first file was broken), the grid
# keeps the rows it had: nothing on the page is lost.
rows: tuple[data_io.Dataset, ...] | None = ss.get("clustering_rows")
if rows is None:
    show_link_notice()
    st.info("Choose the standard shapes, generate data, pick a sample table or upload a CSV "
            "file to start.")
    st.stop()
for note in dict.fromkeys(note for row in rows for note in row.notes):
    messages.caption(md_text(note))

# ----------------------------------------------------------------------------- the grid

names = [row.name for row in rows]
if link_ignored is not None:
    show_link_notice(names)
if ss.get("clustering_row") not in names:
    ss["clustering_row"] = names[1] if len(names) > 1 else names[0]  # moons: the classic contrast
click = (ss.get("clustering_grid_select") or {}).get("selection", {}).get("points", [])
if click and click != ss.get("clustering_grid_seen"):  # a click on a cell opens it
    ss["clustering_grid_seen"] = click
    trace = click[0]["curve_number"]
    ss["clustering_row"] = names[trace // len(COLUMNS)]
    ss["clustering_method"] = COLUMNS[trace % len(COLUMNS)].key

overrides: dict = ss["clustering_overrides"]
digests = [row.digest for row in rows]
cells, bar = [], None
for row in rows:
    line = []
    for method in COLUMNS:
        if bar is None:
            bar = st.progress(0.0, text="Computing the grid…")
        extra = tuple(sorted(overrides.get((row.name, method.key), {}).items()))
        line.append(grid_cell(cell_key(row), row, method.key, extra))
        done = (len(cells) * len(COLUMNS) + len(line)) / (len(rows) * len(COLUMNS))
        bar.progress(done, text=f"{method.name} on {row.title}")
    cells.append(line)
if bar is not None:
    bar.empty()

planes = [plane_of(d, row.X) for row, d in zip(rows, digests, strict=True)]
grid = charts.grid_figure([(row.title, plane) for row, (plane, _) in zip(rows, planes,
                                                                           strict=True)],
                          cells, [m.name for m in COLUMNS],
                          cell_height=210 if len(rows) > 1 else 300)
st.plotly_chart(grid, key="clustering_grid_select", on_select="rerun", selection_mode="points",
                theme=None, config={"displayModeBar": False})
score = "adjusted Rand index vs the true groups (noise counts as a group)"
st.caption(f"Each cell: the **score** ({score}; silhouette where no groups are known), the "
           "number of clusters, the share of points left as noise (grey) and the fit time "
           "alone, on this server.")
for row, line in zip(rows, cells, strict=True):
    for cell in line:
        if cell.error:
            messages.warning(f"**{COLUMN[cell.method].name} on {md_text(row.title)}:** "
                             f"{md_text(cell.error)}", icon=":material/warning:")

with st.expander("The default rule of every cell"):
    st.dataframe(pd.DataFrame([
        {"data": row.title, "method": COLUMN[c.method].name, "rule": c.rule,
         "fit (s)": round(c.seconds, 3), "rule (s)": round(c.choose_seconds, 3)}
        for row, line in zip(rows, cells, strict=True) for c in line
    ]), hide_index=True, key="clustering_rules_table")

# ----------------------------------------------------------------------------- one cell

st.divider()
c1, c2 = st.columns(2)
c1.selectbox("Data set", names, key="clustering_row",
             format_func=lambda n: rows[names.index(n)].title)
SETTINGS.widget("method", c2)
r = names.index(ss["clustering_row"])
method = COLUMN[ss["clustering_method"]]
cell = cells[r][[m.key for m in COLUMNS].index(method.key)]
row = views.Row(rows[r], digests[r], planes[r][0],
                ("x1", "x2") if planes[r][1] is None else ("PC1", "PC2"), planes[r][1])
in_link = ("n_samples", "seed") * (DATA.source == SHAPES) + ("method", "perplexity")
st.query_params.from_dict(DATA.link()
                          | SETTINGS.to_url({n: ss[SETTINGS.key(n)] for n in in_link})
                          | {"row": ss["clustering_row"]})

st.subheader(f"{method.name} on {md_text(row.data.title)}")
st.caption(md_text(row.data.description))
st.markdown(f"**Rule:** {md_text(cell.rule)}")
if cell.error:
    st.error(md_text(cell.error) + "  \nChange the parameters below, or go back to the rule.",
             icon=":material/error:")
else:
    m = st.columns(4)
    m[0].metric("Clusters", cell.n_clusters)
    m[1].metric("Noise", f"{cell.noise_share:.0%}")
    m[2].metric("Score", cell.score_text)
    m[3].metric("Fit time", f"{cell.seconds:.3f} s")
    for note in cell.notes:
        st.caption(md_text(note))
    stem = re.sub(r"[^\w-]+", "_", row.data.title)[:40].strip("_") or "data"
    # Built only when clicked, from this cell's labels (bound now: the script goes on).
    # Column names and text cells are user text: to_csv_bytes defuses spreadsheet formulas.
    st.download_button(
        f"Rows with their {method.name} cluster (CSV)", key="clustering_dl_labels",
        data=lambda data=row.data, labels=cell.labels: data_io.to_csv_bytes(
            data_io.labelled_rows(data, labels)),
        file_name=f"{stem}_{method.key}_labels.csv", mime="text/csv",
        icon=":material/download:", on_click="ignore",
    )  # fmt: skip

with st.expander("Change this cell's parameters"), st.form("clustering_override_form"):
    shown = [n for n in method.param_names if n in {p.name for p in OVERRIDES}]
    if ss.get("clustering_override_cell") != (row.data.name, method.key):
        ss["clustering_override_cell"] = (row.data.name, method.key)
        for name in shown:  # start from the values the cell used
            value = cell.params.get(name)
            if value is not None:
                ss[OVERRIDES.key(name)] = value
    if method.key == "hdbscan":
        shown = [n for n in shown if n != "min_samples"]
    for name in shown:
        OVERRIDES.widget(name)
    left, right = st.columns(2)
    if left.form_submit_button("Apply to this cell", type="primary"):
        overrides[(row.data.name, method.key)] = {n: ss[OVERRIDES.key(n)] for n in shown}
        st.rerun()
    if right.form_submit_button("Back to the default rule"):
        overrides.pop((row.data.name, method.key), None)
        ss.pop("clustering_override_cell", None)
        st.rerun()

if cell.error is None:
    if method.key in views.VIEWS:
        views.VIEWS[method.key](row, cell)
    else:
        views.result_view(row, cell, method.name)

# ----------------------------------------------------------------------------- projections

if row.data.n_features > 2:
    st.divider()
    st.subheader("Projections: the data has more than two features")
    st.caption("Every picture above is drawn on the first two principal components, coloured "
               "here by the true groups if known, else by the open cell's clusters. t-SNE "
               "gives another picture of the same points; read its caveats.")
    views.pca_panel(row, cell)
    SETTINGS.widget("perplexity")
    labels = row.data.labels if row.data.labels is not None else cell.labels
    tsne_panel("clustering", row.digest, row.data.X, ss["clustering_perplexity"],
               labels if labels is not None else np.zeros(len(row.data.X), int))
