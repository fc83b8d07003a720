"""t-SNE on a page: the Run button, the server's queue, the picture as it unfolds, its caveats.

The K-means and Clustering labs both show it for data with more than two features; the work
is :func:`engine.clustering.tsne_run`, handed to the server's queue (``admission.py``) as
one kind, so a student who runs t-SNE on the same data and perplexity in either lab shares
the computation already done.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import streamlit as st

from admission import Kind, Work
from app_pages.components import heavy
from app_pages.components.figures import show_figure
from app_pages.components.text import show_error
from charts import clustering as charts
from engine import clustering as cl

TSNE = Kind("tsne", "t-SNE", max_cached=8, seconds_per_unit=0.004)
"""t-SNE runs in the server's queue; a unit of cost is one point embedded (2,000 at most)."""


def tsne_work(X: np.ndarray, perplexity: float) -> Work:
    """t-SNE as a job, reporting (and stopping) after each snapshot; its sample size and
    perplexity are checked by the engine call."""
    return lambda report: cl.tsne_run(
        X, perplexity, on_progress=lambda f: report(f, f"t-SNE: optimising, {f:.0%}"))


def tsne_panel(prefix: str, digest: str, X: np.ndarray, perplexity: float,
               labels: npt.ArrayLike, *, button=st) -> None:  # fmt: skip
    """The "Run t-SNE" button (drawn in ``button``), the queued job's panel, then the held
    picture for (``digest``, ``perplexity``) coloured by ``labels``, with its caveats.

    ``prefix`` keys the widgets and this session's copy of the result (``{prefix}_tsne_*``).
    """
    ss, key = st.session_state, (digest, float(perplexity))
    n_embedded = min(len(X), cl.TSNE_MAX_POINTS)
    if button.button("Run t-SNE", key=f"{prefix}_tsne_button", icon=":material/play_arrow:"):
        try:  # a perplexity the sample cannot have is said now, not after the queue
            cl.check_perplexity(key[1], n_embedded)
        except ValueError as exc:
            show_error(exc)
        else:
            heavy.submit(TSNE, key, tsne_work(X, key[1]), cost=n_embedded)
    st.caption(f"t-SNE embeds a random sample of at most {cl.TSNE_MAX_POINTS:,} points, in "
               "the server's queue.")
    heavy.follow(TSNE, lambda job: ss.update({f"{prefix}_tsne_run": (job.key, job.result)}),
                 key=f"{prefix}_tsne")
    held = ss.get(f"{prefix}_tsne_run")
    if held is None or held[0] != key:
        return
    run = held[1]
    show_figure(charts.tsne_figure(run, labels), key=f"{prefix}_tsne_chart")
    if len(run.rows) < len(X):
        st.caption(f"t-SNE ran on a random sample of {len(run.rows):,} points.")
    for caveat in cl.TSNE_CAVEATS:
        st.markdown(f"- {caveat}")
