"""Warm the server: import the labs' heavy libraries and load their kernels in the background.

A fresh server process has imported Streamlit and nothing else. The first visit to a lab
then pays, before its first chart, for importing pandas and scikit-learn (K-means), PyTorch
(Attention) and Plotly's figure classes, for loading the compiled Lloyd kernels from
numba's disk cache (compiling them on a fresh clone), and for PyTorch's first forward pass.
On this project's 2-core machine that was 4-6 s of a 9-15 s first visit.

So, once per server process, :func:`start` runs one daemon thread that does that work up
front: the lab being opened first (so the thread helps that visit instead of competing with
it), then the others. It never blocks a request: ``/_stcore/health`` answers as before,
and a page that needs a module the thread is still importing simply waits for that import
(Python's import lock), which it would have done itself. What it does mirrors a first visit
of each lab with its default settings; failures are logged and never reach a page.

Streamlit runs no code of the app before the first session, so ``app.py`` starts the thread
on the first script run of the process, as it starts :mod:`housekeeping`.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("lab.warmup")

_started = False
_start_lock = threading.Lock()
done = threading.Event()
"""Set when the warm-up thread has finished (tests and benchmarks wait on it)."""


def _kmeans() -> None:
    """K-means lab: its imports, the Lloyd kernels (float64, 2 features) and its figures."""
    import numpy as np

    from charts import kmeans as charts
    from engine import kmeans
    from engine.data import make_dataset

    data = make_dataset("blobs", n_samples=60)  # the default shape, fewer points
    model = kmeans.KMeans(n_clusters=4, init="random", random_state=0).fit(data.X)
    view = kmeans.make_plane_view(data.X, data.feature_names)
    points = view.points(data.X)
    ranges = kmeans.plane_ranges(np.vstack([points, model.cluster_centers_]))
    step = kmeans.half_step(model.history_, data.X, view.index, model.n_iter_, "update")
    grid = kmeans.voronoi_grid(step.centers, *ranges, resolution=20)
    charts.result_figure(points, step.labels, step.centers, distances=step.distances,
                         voronoi=grid, ranges=ranges).to_plotly_json()  # fmt: skip
    charts.convergence_figure(model.history_, at=(1, "assign")).to_plotly_json()


def _attention() -> None:
    """Attention lab: PyTorch, the default toy model's first forward pass and its figures."""
    from charts import attention as charts
    from engine.attention import TASKS, AttentionRun
    from engine.attention.weights import load_pretrained

    task = TASKS["previous_token"]
    run = AttentionRun.from_toy(load_pretrained(task.name), task, [task.example])
    labels = run.labels(0, padded=False)
    charts.head_grid_figure(run.weights(0, 0, padded=False), labels, labels).to_plotly_json()


LABS: dict[str, Callable[[], None]] = {"kmeans": _kmeans, "attention": _attention}
"""What warming each lab means, by its URL path."""

# Imported whatever the page: the pages' own shared pieces and Streamlit's chart element.
_COMMON = ("plotly.graph_objects", "app_pages.components.data_panel",
           "streamlit.elements.plotly_chart")  # fmt: skip
_PEEKED_AT = ("numpy", "pandas")


def warm(first: str | None = None) -> None:
    """Do the warm-up now, in this thread: lab ``first`` (a URL path), then the rest."""
    order = sorted(LABS, key=lambda name: name != first)
    started = time.perf_counter()
    for name in _COMMON:
        _timed(f"import {name}", lambda name=name: importlib.import_module(name))
    for name in order:
        _timed(f"{name} lab", LABS[name])
    log.info("Warm-up done in %.1f s.", time.perf_counter() - started)


def start(first: str | None = None) -> bool:
    """Start the warm-up thread once per server process; True if this call started it.

    ``first`` is the URL path of the page being opened (its lab is warmed first). Does
    nothing outside a running Streamlit server (AppTest, notebooks, imports).
    """
    global _started
    from streamlit import config
    from streamlit.runtime import Runtime

    with _start_lock:
        if _started or not Runtime.exists() or config.get_option("global.appTest"):
            return False
        _started = True
    # Plotly looks for pandas in sys.modules without taking the import lock: a pandas that
    # this thread had half imported would look present and fail a page's figure. So the
    # modules others peek at like that are imported here, in the caller's thread, first.
    for name in _PEEKED_AT:
        importlib.import_module(name)

    def run() -> None:
        try:
            warm(first)
        finally:
            done.set()

    threading.Thread(target=run, name="lab-warmup", daemon=True).start()
    return True


def _timed(what: str, work: Callable[[], object]) -> None:
    started = time.perf_counter()
    try:
        work()
    except Exception:  # a warm-up that fails costs the first visitor time, nothing else
        log.exception("Warm-up step %r failed.", what)
    else:
        log.info("Warm-up: %s in %.2f s.", what, time.perf_counter() - started)
