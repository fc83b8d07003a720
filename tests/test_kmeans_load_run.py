"""The K-means page's "Load a run", driven by AppTest: a history file written by the command
line (fit → file → page), its charts, a corrupt file, closing the run."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from streamlit.testing.v1 import AppTest

from engine.kmeans import history_io
from engine.kmeans.__main__ import main

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def run_file(tmp_path_factory) -> Path:
    """A run of the command line on 4-D blobs (so the plane is a PCA projection)."""
    folder = tmp_path_factory.mktemp("cli")
    X, _ = make_blobs(n_samples=3_000, centers=3, n_features=4, random_state=2)
    np.save(folder / "blobs.npy", X)
    argv = ["fit", str(folder / "blobs.npy"), "--k", "3", "--chunk-rows", "1000",
            "--init", "random", "--out", str(folder / "run.json")]  # fmt: skip
    assert main(argv) == 0
    return folder / "run.json"


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/kmeans.py")
    at.run()
    assert not at.exception
    return at


def load(at: AppTest, name: str, content: bytes) -> AppTest:
    n = at.session_state["kmeans_run_upload_n"]
    at.file_uploader(key=f"kmeans_run_upload_{n}").set_value((name, content, "application/json"))
    return at.run()


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def charts(at: AppTest) -> dict[str, dict]:
    return {el.proto.id.rsplit("-", 1)[-1]: json.loads(el.proto.spec)
            for el in at.get("plotly_chart")}  # fmt: skip


def numbers(values) -> list[float]:
    """A Plotly array from the figure's JSON: a list, or base64 'bdata' with its dtype."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_the_page_shows_a_run_written_by_the_command_line(run_file):
    saved = history_io.load(run_file)
    at = load(open_page(), "run.json", run_file.read_bytes())
    assert not at.exception and not at.error
    assert metric(at, "Final J") == f"{saved.run.inertia:,.3f}"
    assert metric(at, "Iterations") == str(saved.run.n_iter)
    figures = charts(at)
    assert {"kmeans_loaded_chart", "kmeans_loaded_j_chart", "kmeans_loaded_shift_chart",
            "kmeans_loaded_playback_chart"} <= set(figures)  # fmt: skip
    # The J curve is the run's: both half-steps of every iteration.
    j = figures["kmeans_loaded_j_chart"]["data"]
    drawn = np.array([y for trace in j for y in numbers(trace["y"])])
    for value in saved.run.inertia_curve:
        assert np.isclose(drawn, value, rtol=1e-12).any(), value
    # The plane is a PCA projection of the 4 features, and the paths have every iteration.
    plane = figures["kmeans_loaded_chart"]["layout"]
    assert "PC1" in json.dumps(plane["xaxis"]["title"])
    assert len(figures["kmeans_loaded_playback_chart"]["frames"]) == 2 * saved.run.n_iter
    # The table lists the reassigned points of each iteration.
    table = at.dataframe[0].value
    assert list(table["points reassigned"]) == [it.n_changed for it in saved.run.iterations]


def test_a_corrupt_file_is_refused_and_the_loaded_run_stays(run_file):
    at = load(open_page(), "run.json", run_file.read_bytes())
    before = metric(at, "Final J")
    at = load(at, "broken.json", run_file.read_bytes()[:300])
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in at.error]  # user text is escaped
    assert any("broken.json" in m and "history file" in m for m in shown), shown
    assert metric(at, "Final J") == before  # still the run loaded before


def test_closing_the_run_brings_back_the_users_own_fit(run_file):
    at = open_page()
    own = metric(at, "Final J")
    at = load(at, "run.json", run_file.read_bytes())
    assert metric(at, "Final J") != own
    next(b for b in at.button if b.label == "Close this run").click()
    at.run()
    assert not at.exception
    assert metric(at, "Final J") == own
    assert "kmeans_loaded_run" not in at.session_state
