"""K-means lab: bring data, run Lloyd's algorithm, watch J converge iteration by iteration.

Reads top to bottom like the page: the fit settings (a parameter table, which draws the
widgets and reads shared links), data in (the shared data panel,
``app_pages/components/data_panel.py``), K-means settings, the fit, a summary, then the
results in lazy tabs (``app_pages/kmeans_views.py``, one function per tab). The engine
computes (``engine.kmeans``, ``engine.data``) and ``charts.kmeans`` draws; the page scripts
only wire them to widgets.

State that survives reruns lives in ``st.session_state`` under ``kmeans_*`` keys: the last
good data set and the last good fit are kept there, so a bad upload or a bad setting shows a
message and leaves the results on the page as they were.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app_pages.components.data_panel import DataPanel
from app_pages.components.params import Param, ParamTable, query_lists, read_link
from app_pages.components.text import md_text, show_error
from app_pages.kmeans_views import K_MAX, VIEW, Results, show_tabs
from engine import data as data_io
from engine import kmeans
from engine.kmeans import KMeans

# ----------------------------------------------------------------------------- settings

DATA = DataPanel("kmeans_")  # "1 · Data": generate, sample table or upload (shared by labs)

FIT = ParamTable("kmeans_", (
    Param("k", "k", "Clusters K", 4, int, low=1, high=K_MAX,
          help="How many clusters K-means looks for."),
    Param("init", "init", "Initialisation", "k-means++", str, choices=("k-means++", "random"),
          help="Where the centroids start: k-means++ spreads them out by D² sampling; "
               "random picks K distinct points."),
    Param("n_init", "ninit", "Starts (n_init)", 1, int, low=1, high=50,
          help="Runs from different starts; the one with the lowest J is kept."),
    Param("max_iter", "maxit", "max_iter", 300, int, low=1, high=1000,
          help="Most Lloyd iterations per run."),
    Param("tol", "tol", "Tolerance (tol)", 1e-4, float,
          choices=(0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
          format_func=lambda t: "0" if t == 0 else f"{t:.0e}",
          help="Stop when the centroids move less than this × the mean feature variance "
               "(0: only when no point changes cluster)."),
    Param("seed", "seed", "Seed (random_state)", 0, int, low=0, high=2**31 - 1,
          help="The same seed gives the same start."),
))  # fmt: skip
"""Fit settings: applied when "Run K-means" is pressed (kept in ``kmeans_fit_spec``)."""


# ----------------------------------------------------------------------------- cached work


@dataclass(frozen=True, eq=False)
class Fit:
    """The last good fit, with the exact data and settings it was made from."""

    key: tuple
    data: data_io.Dataset
    model: KMeans
    settings: dict
    warnings: tuple[str, ...]


# Everything computed from a session's data is private to that session and dropped with it,
# so the server's memory falls back when students leave.
@st.cache_data(max_entries=16, scope="session", show_spinner=False)
def fit_kmeans(digest: str, _X: np.ndarray, k: int, init: str, n_init: int, max_iter: int,
               tol: float, seed: int) -> tuple[KMeans, tuple[str, ...]]:
    """Fit K-means; cached on ``digest`` (all of X's values), never on a sample of X.

    Streamlit hashes large arrays from a sample of their values, so ``_X`` is excluded from
    the key and the full-content digest stands in for it.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = KMeans(n_clusters=k, init=init, n_init=n_init, max_iter=max_iter, tol=tol,
                       random_state=seed).fit(_X)
    return model, tuple(str(w.message) for w in caught)


# ----------------------------------------------------------------------------- state & link

ss = st.session_state
# A shared link (?src=generate&kind=blobs&n=300&k=4&...&it=2) reopens the same data,
# settings and iteration. Read once per session, every table at once: a value its row
# refuses keeps its default, and one notice names them all. Afterwards the page writes its
# state back into the link.
link_notice = None
if not ss.get("kmeans_url_read"):
    ss["kmeans_url_read"] = True
    link = read_link(query_lists(st.query_params), (*DATA.tables, FIT, VIEW))
    ss.update(link.values)
    link_notice = link.notice()
FIT.keep(ss)
VIEW.keep(ss)
ss.setdefault("kmeans_fit_spec", FIT.values(ss))
settings = ss["kmeans_fit_spec"]  # what "Run K-means" last applied (its callback ran first)
k = settings["k"]

# ----------------------------------------------------------------------------- page: data in

st.title("K-means lab")
st.caption(
    "Bring data, run Lloyd's algorithm and watch the objective "
    "J = Σ‖x − μ‖² fall at every half-step: assign each point to its nearest centroid, "
    "then move each centroid to the mean of its points."
)
messages = st.container()  # errors about data and settings appear here, above the results
if link_notice:
    messages.warning(md_text(link_notice), icon=":material/link_off:")

with st.sidebar:
    data = DATA.show(messages, check=lambda d: data_io.check_enough_rows(d.X, k))

    st.header("2 · K-means")
    with st.form("kmeans_fit_form", border=False):
        c1, c2 = st.columns(2)
        for name, column in (("k", c1), ("init", c2), ("n_init", c1), ("max_iter", c2),
                             ("tol", st), ("seed", st)):
            FIT.widget(name, column)
        st.form_submit_button("Run K-means", icon=":material/play_arrow:", type="primary",
                              width="stretch",
                              on_click=lambda: ss.update(kmeans_fit_spec=FIT.values(ss)))

if data is None:
    st.info("Generate data, pick a sample table or upload a CSV file to start.")
    st.stop()

# ----------------------------------------------------------------------------- run K-means

fit_key = (data.digest, *(settings[name] for name in FIT.defaults()))
held: Fit | None = ss.get("kmeans_fit")
if held is not None and held.key == fit_key and held.data is not data:
    # Same points, new labels, names or notes (e.g. a label column picked): same fit.
    held = Fit(held.key, data, held.model, held.settings, held.warnings)
    ss["kmeans_fit"] = held
elif held is None or held.key != fit_key:
    try:
        data_io.check_enough_rows(data.X, k)
        with st.spinner(f"Running K-means on {data.n_samples:,} points…"):
            model, fit_warnings = fit_kmeans(data.digest, data.X, **settings)
    except ValueError as exc:  # DataError included: too few points for K
        with messages:
            show_error(exc, next_step="The results below are from the last run that worked.")
    else:
        held = Fit(fit_key, data, model, dict(settings), fit_warnings)
        ss["kmeans_fit"] = held
        if ss["kmeans_iteration"] > model.n_iter_:
            ss["kmeans_iteration"] = model.n_iter_

if held is None:
    st.stop()
data, model, run = held.data, held.model, held.model.history_
for text in held.warnings:
    messages.warning(md_text(text), icon=":material/warning:")
if held.data is not ss.get("kmeans_data"):
    messages.info("The results below are for the previous data set: fix the problem above "
                  "and press **Run K-means**.", icon=":material/history:")

# Settings in the URL, so a copied link reopens this page as it is.
st.query_params.from_dict(DATA.link() | FIT.to_url(settings)
                          | {key: st.query_params[key] for key in VIEW.url_keys
                             if key in st.query_params})

# ----------------------------------------------------------------------------- results

st.subheader(md_text(data.title))
st.caption(
    f"{data.n_samples:,} points × {data.n_features} features"
    + (f" · {len(data.label_names)} true groups" if data.label_names else "")
    + (" · standardised" if data.standardized else "")
)
if data.kmeans_note:
    st.markdown(f":material/lightbulb: {md_text(data.kmeans_note)}")
for note in data.notes:
    st.caption(md_text(note))

ari = kmeans.adjusted_rand(data.labels, model.labels_)
m = st.columns(5)
m[0].metric("Final J", f"{model.inertia_:,.3f}", help="Σ‖x − μ‖² over all points")
m[1].metric("Iterations", model.n_iter_)
m[2].metric("Stopped because", "converged" if run.converged else "max_iter",
            help=run.stop_reason)
m[3].metric("Clusters K", held.settings["k"])
m[4].metric("Adjusted Rand index", "—" if ari is None else f"{ari:.3f}",
            help="Agreement of the clusters with the true labels: 1 is perfect, 0 is chance.")

show_tabs(Results.of(data, model, held.settings, held.key))
