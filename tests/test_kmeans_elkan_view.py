"""The K-means page's Elkan tab and its figures: Elkan's skipped distances beside Lloyd's N·K."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from charts import kmeans as charts
from engine.data import make_dataset
from engine.kmeans import ElkanCounts, KMeans, elkan_counts

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _values(array) -> list:
    """A trace's numbers from a figure's JSON (plotly sends numpy arrays base64-encoded)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


@pytest.fixture(scope="module")
def blobs_counts():
    X = make_dataset("blobs").X
    run = KMeans(n_clusters=4, init="random", random_state=0).fit(X).history_
    return elkan_counts(X, run)


def test_elkan_figure_sets_elkan_s_distances_beside_lloyd_s(blobs_counts):
    fig = charts.elkan_figure(blobs_counts)
    lloyd, elkan = fig.data
    n_iter = len(blobs_counts.n_distances)
    assert list(lloyd.x) == list(elkan.x) == list(range(1, n_iter + 1))
    assert list(lloyd.y) == [300 * 4] * n_iter
    np.testing.assert_array_equal(elkan.y, blobs_counts.n_distances)
    expected = [f"{s:.0%}" for s in blobs_counts.n_skipped / 1200]
    assert list(elkan.text) == expected
    assert "N = 300 points × K = 4" in fig.layout.title.subtitle.text
    assert fig.layout.barmode == "group"


def test_elkan_figure_of_a_run_that_skipped_nothing_says_zero():
    counts = ElkanCounts(10, 3, np.array([30, 30]), np.array([0, 0]))
    fig = charts.elkan_figure(counts)
    assert list(fig.data[1].text) == ["0%", "0%"]
    assert "(0% over the run)" in fig.layout.title.subtitle.text


def test_elkan_share_figure_draws_one_line_per_data_set_with_escaped_names(blobs_counts):
    other = ElkanCounts(300, 4, np.array([1200, 1200, 600]), np.array([0, 0, 600]))
    fig = charts.elkan_share_figure({"blobs": blobs_counts, "<b>noise</b>": other})
    assert [t.name for t in fig.data] == ["blobs", "&lt;b&gt;noise&lt;/b&gt;"]
    np.testing.assert_allclose(fig.data[0].y, blobs_counts.skipped_share * 100)
    assert list(fig.data[1].y) == [0.0, 0.0, 50.0]


def test_the_elkan_tab_shows_the_run_s_skips_and_the_two_data_sets():
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/kmeans.py")
    at.run()
    at.session_state["kmeans_tab"] = "Elkan"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    specs = {el.proto.id: json.loads(el.proto.spec) for el in at.get("plotly_chart")}
    run_chart = next(s for key, s in specs.items() if "kmeans_elkan_chart" in key)
    cases = next(s for key, s in specs.items() if "kmeans_elkan_cases_chart" in key)
    # The default page: 300 blobs, K = 4, a random start with seed 0.
    X = make_dataset("blobs").X
    expected = elkan_counts(X, KMeans(n_clusters=4, init="random", random_state=0).fit(X).history_)
    assert _values(run_chart["data"][1]["y"]) == expected.n_distances.tolist()
    metrics = {m.label: m.value for m in at.metric}
    total = int(expected.n_distances.sum())
    assert metrics["Elkan: distances"] == f"{total:,}"
    assert metrics["Lloyd: distances"] == f"{1200 * len(expected.n_distances):,}"
    names = [trace["name"] for trace in cases["data"]]
    assert names == ["blobs, 2-D (the default data)", "uniform noise, 50-D"]
    blobs, noise = (np.array(_values(trace["y"])) for trace in cases["data"])
    # The point of the view: the bounds skip far more on separated blobs than on noise.
    assert blobs[1] > 50 and noise[1] < 10
    assert any("50 dimensions" in c.value for c in at.caption)
