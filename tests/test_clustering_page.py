"""The Clustering family lab, driven by Streamlit's AppTest: the grid, every method's view on
the standard shapes and on an uploaded CSV, overrides and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
METHODS = ("kmeans", "dbscan", "hdbscan", "birch", "mean_shift", "gmm", "ward")
CSV = ("width,height,depth,kind\n" + "".join(
    f"{(i % 4) + 10 * (i % 3)},{(i % 5) + 10 * (i % 3)},{(i * 7) % 11},{'abc'[i % 3]}\n"
    for i in range(90)
)).encode()


def open_page(query: dict | None = None) -> AppTest:
    """The page as a link opens it; 300 points per shape (not 1,500) keep the suite quick."""
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in ({"n": "300"} | (query or {})).items():
        at.query_params[key] = value
    at.switch_page("app_pages/clustering.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest) -> dict[str, dict]:
    return {el.proto.id: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


def grid_spec(at: AppTest) -> dict:
    return next(spec for spec in figures(at).values() if len(spec["data"]) >= 7)


def shown(elements) -> list[str]:
    """Texts of messages as a reader sees them (markdown escapes removed)."""
    return [e.value.replace("\\", "") for e in elements]


def no_failures(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "Something went wrong" in e.value]


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.radio(key="clustering_source").set_value("Upload CSV").run()
    at.file_uploader(key="clustering_upload").set_value((name, content, "text/csv"))
    return at.run()


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page()


def test_grid_shows_every_shape_with_every_method(page):
    spec = grid_spec(page)
    assert len(spec["data"]) == 7 * len(METHODS)
    texts = " ".join(a["text"] for a in spec["layout"]["annotations"])
    for name in ("K-means", "DBSCAN", "HDBSCAN", "BIRCH", "Mean-Shift", "GMM", "Ward",
                 "Two moons", "Overlapping Gaussians", "No structure"):
        assert name in texts
    assert "ARI" in texts and "silh." in texts  # ARI with true groups; silhouette on the null set
    rules = page.dataframe[0].value
    assert len(rules) == 7 * len(METHODS) and rules["rule"].str.len().min() > 20


@pytest.mark.parametrize("method", METHODS)
def test_every_method_view_opens_on_the_default_data(page, method):
    page.selectbox(key="clustering_method").set_value(method).run()
    no_failures(page)
    assert page.subheader[0].value.endswith("on Two moons")
    assert any(m.label == "Clusters" for m in page.metric)
    assert len(figures(page)) >= 2  # the grid and at least one figure of the view
    assert page.markdown[0].value.startswith("**Rule:**") or any(
        md.value.startswith("**Rule:**") for md in page.markdown
    )


def test_the_url_opens_a_cell_and_a_bad_value_is_named():
    at = open_page({"method": "gmm", "row": "circles", "n": "99999"})
    assert at.subheader[0].value == "GMM on Concentric circles"
    assert any("99999" in w.value and "Points per shape" in w.value for w in at.warning)


def test_a_bad_override_fails_only_that_cell_with_a_message():
    at = open_page({"method": "dbscan", "row": "blobs"})
    at.number_input(key="clustering_ovr_eps").set_value(0.0)
    next(b for b in at.button if b.label == "Apply to this cell").click().run()
    no_failures(at)
    messages = shown(at.error) + shown(at.warning)
    assert any("must be a number > 0" in m for m in messages)
    spec = grid_spec(at)
    texts = [a["text"] for a in spec["layout"]["annotations"]]
    assert sum("failed" in t for t in texts) == 1  # only that cell
    next(b for b in at.button if b.label == "Back to the default rule").click().run()
    assert not any("failed" in a["text"] for a in grid_spec(at)["layout"]["annotations"])


def test_k_larger_than_n_and_a_zero_bandwidth_get_their_messages():
    at = open_page({"method": "gmm", "row": "blobs", "n": "100"})
    at.number_input(key="clustering_ovr_n_components").set_value(500)
    next(b for b in at.button if b.label == "Apply to this cell").click().run()
    assert any("n_components = 500" in m for m in shown(at.error))
    at.selectbox(key="clustering_method").set_value("mean_shift").run()
    at.number_input(key="clustering_ovr_bandwidth").set_value(0.0)
    next(b for b in at.button if b.label == "Apply to this cell").click().run()
    no_failures(at)
    assert any("bandwidth = 0.0" in m for m in shown(at.error))


@pytest.fixture(scope="module")
def uploaded() -> AppTest:
    at = open_page()
    return upload(at, "points <b>.csv", CSV)


def test_an_uploaded_csv_gets_one_grid_row_and_projections(uploaded):
    no_failures(uploaded)
    spec = grid_spec(uploaded)
    assert len(spec["data"]) == len(METHODS)
    texts = " ".join(a["text"] for a in spec["layout"]["annotations"])
    assert "points &lt;b&gt;.csv" in texts  # user text escaped in the figure
    assert any(s.value.startswith("Projections") for s in uploaded.subheader)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_view_opens_on_the_uploaded_csv(uploaded, method):
    uploaded.selectbox(key="clustering_method").set_value(method).run()
    no_failures(uploaded)
    assert "points" in uploaded.subheader[0].value


def test_a_broken_upload_keeps_the_data_and_says_why():
    at = open_page()
    upload(at, "broken.csv", b"a,b\n1,2\n3\n4,5,6,7\n")
    no_failures(at)
    assert any("line" in e.value.lower() for e in at.error)
    assert len(grid_spec(at)["data"]) == 7 * len(METHODS)  # the shapes are still on the page


def test_tsne_runs_on_demand_and_states_its_caveats(uploaded):
    uploaded.selectbox(key="clustering_method").set_value("kmeans").run()
    next(b for b in uploaded.button if b.label == "Run t-SNE").click().run()
    # 90 points allow a perplexity of at most 29.7: the default 30 gets a message
    assert any("perplexity = 30.0 must be between 1 and" in m for m in shown(uploaded.error))
    uploaded.number_input(key="clustering_perplexity").set_value(10.0).run()
    next(b for b in uploaded.button if b.label == "Run t-SNE").click().run()
    no_failures(uploaded)
    assert any("Cluster sizes in a t-SNE picture mean nothing" in m.value
               for m in uploaded.markdown)
