"""Fusion lab: where clustering meets deep learning - clustered attention and deep clustering.

Reads like the page: a sentence on what the lab shows, then two tabs, each a function in
``app_pages/fusion_views.py`` (only the open tab is computed). Widgets → engine
(``engine.clustered_attention``, ``engine.deep_clustering``) → figures (``charts.fusion``)
→ show. Settings are the rows of one parameter table (``SETTINGS``), which draws their
widgets with their ranges and checks their values before they reach the engine; state that
survives reruns lives in ``st.session_state`` under ``fusion_*`` keys.

Expensive work is cached: models, heads and runs with ``st.cache_resource`` (shared, never
mutated, bounded); what takes seconds (an accuracy curve, a DEC retraining) runs in the
server's queue (``app_pages/components/heavy.py``), which shows its progress and shares one
computation, and its result, among everyone who asks with the same settings.
"""

from __future__ import annotations

import streamlit as st

from app_pages import fusion_views as views
from app_pages.components.params import Param, ParamTable
from app_pages.components.text import md_text
from engine.attention import TASKS

SOURCES = {"toy": "Trained toy model", "text": "Random attention on your text"}
CLUSTERINGS = {"kmeans": "Exact K-means", "lsh": "LSH + Hamming K-means"}

SETTINGS = ParamTable("fusion_", (
    Param("source", None, "Queries from", "toy", str, choices=tuple(SOURCES),
          format_func=SOURCES.__getitem__),
    Param("task", None, "Toy model", "reverse", str, choices=tuple(TASKS),
          format_func=lambda name: TASKS[name].title),
    Param("clusters", None, "Clusters C", 4, int, low=1, high=256,
          help="How many centroids attend in place of the L queries (1 ≤ C ≤ L)."),
    Param("topk", None, "Top-k keys", 2, int, low=1, high=256,
          help="i-clustered: keys per cluster recomputed exactly for every query (1 ≤ k ≤ S)."),
    Param("clustering", None, "Clustering", "kmeans", str, choices=tuple(CLUSTERINGS),
          format_func=CLUSTERINGS.__getitem__,
          help="Exact K-means on the queries (the Lab's engine), or the paper's way: "
          "random-hyperplane hash codes clustered by K-means in Hamming space."),
    Param("hash_bits", None, "Hash bits", 16, int, low=1, high=64),
    Param("seed", None, "Seed", 0, int, low=0, high=10_000,
          help="Seeds the initial centroids (and the hyperplanes)."),
    Param("text_heads", None, "Heads", 4, int, choices=(1, 2, 4, 8)),
    Param("text_seed", None, "Layer seed", 0, int, low=0, high=10_000),
    Param("n_embedding", None, "Embedding width", 10, int, low=2, high=32),
    Param("pretrain_epochs", None, "Pretraining epochs", 300, int, low=10, high=2000, step=10),
    Param("dec_epochs", None, "DEC epochs (at most)", 300, int, low=1, high=1000, step=10),
    Param("noise", None, "Pixels dropped while pretraining", 0.2, float,
          choices=(0.0, 0.1, 0.2, 0.3)),
    Param("dec_seed", None, "Training seed", 0, int, low=0, high=10_000),
))  # fmt: skip

ss = st.session_state
for _row in SETTINGS:
    ss.setdefault(SETTINGS.key(_row.name), _row.default)


def setting(name: str):
    """A setting's value, checked against its row before it reaches the engine."""
    try:
        return SETTINGS[name].check(ss[SETTINGS.key(name)])
    except ValueError as exc:
        st.error(f"{md_text(exc)}. Set it again above.", icon=":material/tune:")
        st.stop()


st.title("Fusion lab: clustering meets deep learning")
st.markdown(
    "**Clustered attention** groups a transformer's queries with K-means and computes "
    "attention once per centroid: C × S scores instead of L × S. **Deep clustering** (DEC) "
    "learns an embedding of the digits in which K-means finds the digits better."
)
TABS = {"attention": ":material/hub: Clustered attention",
        "dec": ":material/blur_on: Deep clustering (DEC)"}  # fmt: skip
tabs = dict(zip(TABS, st.tabs(list(TABS.values()), key="fusion_tab", on_change="rerun"),
                strict=True))  # fmt: skip
if tabs["attention"].open:
    with tabs["attention"]:
        views.attention_view(SETTINGS, setting)
if tabs["dec"].open:
    with tabs["dec"]:
        views.dec_view(SETTINGS, setting)
