"""K-means lab: bring data, run Lloyd's algorithm, watch J converge iteration by iteration.

Reads top to bottom like the page: the fit settings (a parameter table, which draws the
widgets and reads shared links), data in (the shared data panel in the sidebar,
``app_pages/components/data_panel.py``), the K-means settings bar with "Run K-means", the
fit, a summary, then the results in lazy tabs (``app_pages/kmeans_views.py``, one function
per tab), the first of which is the lab's story: the clusters beside the J curve. The engine
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
from app_pages.components.present import presenting
from app_pages.components.text import md_text, show_error
from app_pages.kmeans_loaded import load_panel, show_loaded_run
from app_pages.kmeans_views import K_MAX, VIEW, Results, final_step, show_tabs, story
from engine import data as data_io
from engine import kmeans
from engine.kmeans import KMeans

# ----------------------------------------------------------------------------- settings

DATA = DataPanel("kmeans_")  # "1 · Data": generate, sample table or upload (shared by labs)

FIT = ParamTable("kmeans_", (
    Param("k", "k", "Clusters K", 4, int, low=1, high=K_MAX,
          help="How many clusters K-means looks for."),
    # A random start by default: from it J falls over several iterations (6 on the default
    # blobs), so the first screen shows the descent; k-means++ is one choice away.
    Param("init", "init", "Initialisation", "random", str, choices=("random", "k-means++"),
          help="Where the centroids start: random picks K distinct points (a poor start, "
               "so J has far to fall); k-means++ spreads them out by D² sampling."),
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

head = st.container()  # presenter mode: the headline charts, above everything else
st.title("K-means lab")
st.caption(
    "Watch J = Σ‖x − μ‖² fall as Lloyd's algorithm alternates two half-steps: assign each "
    "point to its nearest centroid, then move each centroid to the mean of its points."
)
messages = st.container()  # errors about data and settings appear here, above the results
if link_notice:
    messages.warning(md_text(link_notice), icon=":material/link_off:")

with st.sidebar:
    data = DATA.show(messages, check=lambda d: data_io.check_enough_rows(d.X, k))
    loaded = load_panel(messages)  # "2 · Load a run": a history file fitted elsewhere


def fit_bar() -> None:
    """The K-means settings and "Run K-means" in one row above the results (they apply when
    it is pressed); the settings a class rarely changes wait in a popover."""
    with st.form("kmeans_fit_form", border=False):
        cols = st.columns([1, 1.1, 1.2, 1, 1.3], vertical_alignment="bottom")
        FIT.widget("k", cols[0])
        FIT.widget("init", cols[1])
        FIT.widget("seed", cols[2])
        with cols[3].popover("More", icon=":material/tune:", width="stretch"):
            for name in ("n_init", "max_iter", "tol"):
                FIT.widget(name)
        cols[4].form_submit_button("Run K-means", icon=":material/play_arrow:", type="primary",
                                   width="stretch",
                                   on_click=lambda: ss.update(kmeans_fit_spec=FIT.values(ss)))


if loaded is not None:  # a run from a file replaces the results; the user's fit is kept
    show_loaded_run(loaded)
    st.stop()
if data is None:
    fit_bar()
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
    + (f" · :material/lightbulb: {md_text(data.kmeans_note)}" if data.kmeans_note else "")
)
for note in data.notes:
    st.caption(md_text(note))
fit_bar()

ari = kmeans.adjusted_rand(data.labels, model.labels_)
m = st.columns(5)
m[0].metric("Final J", f"{model.inertia_:,.3f}", help="Σ‖x − μ‖² over all points")
m[1].metric("Iterations", model.n_iter_)
m[2].metric("Stopped because", "converged" if run.converged else "max_iter",
            help=run.stop_reason)
m[3].metric("Clusters K", held.settings["k"])
m[4].metric("Adjusted Rand index", "—" if ari is None else f"{ari:.3f}",
            help="Agreement of the clusters with the true labels: 1 is perfect, 0 is chance.")

results = Results.of(data, model, held.settings, held.key)
if presenting():  # the lab's point first, above the title and the controls
    with head:
        story(results, final_step(results), np.bincount(model.labels_, minlength=results.k),
              title=f"{results.k} clusters · J = {model.inertia_:,.3f}",
              keys=("kmeans_head_chart", "kmeans_head_j_chart"))
show_tabs(results)
