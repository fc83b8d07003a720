"""Warm the server: import the labs' heavy libraries and load their kernels in the background.

A fresh server process has imported Streamlit and nothing else. The first visit to a lab
then paid, before its first chart, for importing pandas and scikit-learn (K-means), PyTorch
(Attention) and Plotly's figure classes, for loading the compiled Lloyd kernels from
numba's disk cache (compiling them, on a fresh clone), and for PyTorch's first forward pass:
on this project's shared 2-core machine, most of a 9-15 s first visit.

One daemon thread per server process does that work up front, in :data:`STEPS` order: what
every page needs, then each lab as a first visit with default settings would. It never
blocks a request: ``/_stcore/health`` answers as before, and a page that needs a module the
thread is importing waits for that import (Python's import lock), as it would have done
itself. When a visitor arrives, their lab's steps go first and the other labs' wait until
that page has been drawn, so the thread never competes with the page it could not help.
A step that fails is logged and skipped.

Streamlit runs no code of the app before the first visitor, so the thread is started

- at server start by ``serve.py`` (``make run`` and the Docker image use it), or
- by ``app.py`` on the first script run, when the server was started with
  ``streamlit run app.py``.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("lab.warmup")

PAGE_WAIT_S = 30.0
"""Longest the other labs' steps wait for the first visitor's page to be drawn."""

PEEKED_AT = ("numpy", "pandas", "torch")
"""Modules that other code looks up in ``sys.modules`` without the import lock: :func:`settle`
imports them in the page's own thread, so a page never sees one that another thread has
half imported. Plotly looks up pandas; SciPy (under scikit-learn) looks up torch, and
``getattr(torch, "Tensor")`` on a half-imported torch raised ``AttributeError`` in the
thread importing scikit-learn (seen here: the warm-up's step failed while an Attention
page imported PyTorch; a K-means page could meet the warm-up's import the same way). The
warm-up imports torch first of all, so a page waits for it only in the first second or so
of a server's life."""


def _import(*names: str) -> Callable[[], None]:
    def work() -> None:
        for name in names:
            importlib.import_module(name)

    return work


def _kmeans_fit() -> None:
    """The default K-means page on fewer points: Lloyd kernels (float64, 2-D) and figures."""
    import numpy as np

    from charts import kmeans as charts
    from engine import kmeans
    from engine.data import make_dataset

    data = make_dataset("blobs", n_samples=60)
    model = kmeans.KMeans(n_clusters=4, init="random", n_init=1, random_state=0).fit(data.X)
    view = kmeans.make_plane_view(data.X, data.feature_names)
    points = view.points(data.X)
    ranges = kmeans.plane_ranges(np.vstack([points, model.cluster_centers_]))
    step = kmeans.half_step(model.history_, data.X, view.index, model.n_iter_, "update")
    grid = kmeans.voronoi_grid(step.centers, *ranges, resolution=20)
    charts.result_figure(points, step.labels, step.centers, distances=step.distances,
                         voronoi=grid, ranges=ranges).to_plotly_json()  # fmt: skip
    charts.convergence_figure(model.history_, at=(1, "assign")).to_plotly_json()


def _attention_run() -> None:
    """The default Attention page: the toy model's weights, a forward pass, the heads' grid."""
    from charts import attention as charts
    from engine.attention import TASKS, AttentionRun
    from engine.attention.weights import load_pretrained

    task = TASKS["previous_token"]
    run = AttentionRun.from_toy(load_pretrained(task.name), task, [task.example])
    labels = run.labels(0, padded=False)
    charts.head_grid_figure(run.weights(0, 0, padded=False), labels, labels).to_plotly_json()


@dataclass(frozen=True)
class Step:
    lab: str | None  # the URL path of the lab it serves; None: every page
    name: str
    work: Callable[[], None]


STEPS = (
    Step(None, "PyTorch, numpy, pandas, Plotly, the Lab's template",
         _import("torch", *PEEKED_AT, "plotly.graph_objects", "charts.theme")),  # torch first
    Step(None, "scikit-learn (engine.data)", _import("engine.data")),  # both labs import it
    Step("kmeans", "numba (engine.kmeans)", _import("engine.kmeans", "charts.kmeans")),
    Step("kmeans", "a K-means fit and its figures", _kmeans_fit),
    Step("attention", "the attention engine", _import("engine.attention", "charts.attention")),
    Step("attention", "a toy model's run and its figure", _attention_run),
)
"""What warming means, in order; a visitor's lab goes first."""

_lock = threading.Lock()
_thread: threading.Thread | None = None
_first: str | None = None  # the lab of the first page opened
_page_drawn = threading.Event()
done = threading.Event()
"""Set when the warm-up has finished (tests and benchmarks wait on it)."""


def begin() -> bool:
    """Start the warm-up thread now (server start); True if this call started it."""
    global _thread
    with _lock:
        if _thread is not None:
            return False
        _thread = threading.Thread(target=_run, name="lab-warmup", daemon=True)
    import housekeeping  # the Lab's log lines go beside Streamlit's

    housekeeping.configure_logging()
    _thread.start()
    return True


def settle() -> None:
    """In a page's script run: import :data:`PEEKED_AT` in this thread, waiting for any that
    another thread is importing right now. ``app.py`` calls it before importing anything
    that looks them up. Does nothing outside a running Streamlit server (AppTest, notebooks,
    imports)."""
    if _in_a_server():
        _import(*PEEKED_AT)()


def start(first: str | None = None) -> bool:
    """From a page's script run, after :func:`settle`: put lab ``first`` (a URL path) first,
    and start the thread unless ``serve.py`` already has; True if started. Does nothing
    outside a running Streamlit server."""
    if not _in_a_server():
        return False
    global _first
    with _lock:
        if _first is None:
            _first = first
    return begin()


def _in_a_server() -> bool:
    from streamlit import config
    from streamlit.runtime import Runtime

    return Runtime.exists() and not config.get_option("global.appTest")


def page_drawn() -> None:
    """The first visitor's page has run: the other labs' steps may go ahead."""
    _page_drawn.set()


def _next(remaining: list[Step]) -> Step:
    """The next step: every page's first, then the first visitor's lab, then the rest."""
    with _lock:
        first = _first
    return min(remaining, key=lambda s: (s.lab is not None, s.lab != first))


def _run() -> None:
    started = time.perf_counter()
    remaining = list(STEPS)
    try:
        while remaining:
            step = _next(remaining)
            remaining.remove(step)
            with _lock:
                first = _first
            if step.lab not in (None, first) and first is not None:
                _page_drawn.wait(PAGE_WAIT_S)  # never compete with the page being drawn
            _timed(step)
        log.info("Warm-up done in %.1f s.", time.perf_counter() - started)
    finally:
        done.set()


def _timed(step: Step) -> None:
    started = time.perf_counter()
    try:
        step.work()
    except Exception:  # a warm-up that fails costs the first visitor time, nothing else
        log.exception("Warm-up step %r failed.", step.name)
    else:
        log.info("Warm-up: %s in %.2f s.", step.name, time.perf_counter() - started)
