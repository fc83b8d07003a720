"""The Clustering family lab, driven by Streamlit's AppTest: the grid, every method's view on
the standard shapes and on an uploaded CSV, overrides and bad input. Data comes in through the
data panel the K-means lab shares (app_pages/components/data_panel.py), with the standard
shapes as this lab's own first source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bad_files import CASES, upload_name
from heavy_util import finish_heavy
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
    for key, value in ({"pts": "300"} | (query or {})).items():
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
    if at.radio(key="clustering_source").value != "Upload CSV":
        at.radio(key="clustering_source").set_value("Upload CSV").run()
    at.file_uploader(key="clustering_upload").set_value((name, content, "text/csv"))
    return at.run()


def row_titles(at: AppTest) -> list[str]:
    """The grid's row titles, top to bottom (the annotations written sideways)."""
    return [a["text"] for a in grid_spec(at)["layout"]["annotations"] if a.get("textangle")]


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page()


def test_grid_shows_every_shape_with_every_method(page):
    spec = grid_spec(page)
    assert len(spec["data"]) == 7 * len(METHODS)
    texts = " ".join(a["text"] for a in spec["layout"]["annotations"])
    for name in ("K-means", "DBSCAN", "HDBSCAN", "BIRCH", "Mean-Shift", "GMM", "Ward",
                 "Two moons", "Overlapping Gaussians", "Uniform noise"):
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
    at = open_page({"method": "gmm", "row": "circles", "pts": "99999"})
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
    at = open_page({"method": "gmm", "row": "blobs", "pts": "100"})
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
    assert row_titles(uploaded) == ["<b>points &lt;b&gt;.csv</b>"]  # user text escaped
    assert any(s.value.startswith("Projections") for s in uploaded.subheader)
    data = uploaded.session_state["clustering_data"]  # the panel's own, as in the K-means lab
    assert data.source == "upload" and data.feature_names == ("width", "height", "depth")
    assert "src" not in uploaded.query_params  # an upload cannot travel in a link


@pytest.mark.parametrize("method", METHODS)
def test_every_method_view_opens_on_the_uploaded_csv(uploaded, method):
    uploaded.selectbox(key="clustering_method").set_value(method).run()
    no_failures(uploaded)
    assert "points" in uploaded.subheader[0].value


def test_the_panels_label_column_and_standardisation_reach_the_grid(uploaded):
    label = next(s for s in uploaded.selectbox if s.key.startswith("clustering_label_"))
    label.set_value("kind").run()
    no_failures(uploaded)
    texts = " ".join(a["text"] for a in grid_spec(uploaded)["layout"]["annotations"])
    assert "ARI" in texts and "silh." not in texts  # true groups known: scored by ARI
    uploaded.toggle(key="clustering_standardize").set_value(True).run()
    no_failures(uploaded)
    X = uploaded.session_state["clustering_rows"][0].X
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1.0)
    assert any("standardised" in c.value for c in uploaded.caption)


def test_a_broken_upload_keeps_the_standard_shapes_and_says_why():
    at = open_page()
    upload(at, "broken.csv", b"a,b\n1,2\n3\n4,5,6,7\n")
    no_failures(at)
    assert any("line" in e.value.lower() for e in at.error)
    assert len(grid_spec(at)["data"]) == 7 * len(METHODS)  # the shapes are still on the page


# The panel's messages are the K-means lab's (tests/bad_files.py): a sample of them.
BAD_SAMPLE = ("ragged", "binary", "no_numeric", "all_nan_inf", "one_row_left", "huge_values")


def test_a_bad_upload_after_a_good_one_keeps_the_good_one_with_the_k_means_labs_messages():
    at = open_page()
    upload(at, "good.csv", CSV)
    before = grid_spec(at)
    assert row_titles(at) == ["<b>good.csv</b>"]
    for name in BAD_SAMPLE:
        content, expected = CASES[name]
        upload(at, upload_name(name), content)
        no_failures(at)
        assert any(expected in e for e in shown(at.error)), (name, shown(at.error))
        assert grid_spec(at) == before, name  # the same row, the same cells
    upload(at, "two.csv", b"a,b\n1,2\n3,5\n")  # this lab's own check: 3 points at least
    assert any("needs at least 3" in e for e in shown(at.error))
    assert row_titles(at) == ["<b>good.csv</b>"]


def test_generated_data_and_sample_tables_come_from_the_shared_panel():
    at = open_page()
    at.radio(key="clustering_source").set_value("Generate").run()
    kinds = at.selectbox(key="clustering_gen_kind")
    assert "Overlapping Gaussians" in kinds.options  # the catalog's shapes, both labs
    kinds.set_value("overlapping").run()
    next(b for b in at.button if b.label == "Generate data").click().run()
    no_failures(at)
    assert row_titles(at) == ["<b>Overlapping Gaussians</b>"]
    assert at.subheader[0].value.endswith("on Overlapping Gaussians")
    assert at.query_params["src"] == "generate" and at.query_params["kind"] == "overlapping"
    at.radio(key="clustering_source").set_value("Sample table").run()
    at.selectbox(key="clustering_sample").set_value("wine").run()
    no_failures(at)
    assert row_titles(at) == ["<b>Wines</b>"]
    assert any(s.value.startswith("Projections") for s in at.subheader)  # 13 features
    at.radio(key="clustering_source").set_value("Standard shapes").run()
    assert len(row_titles(at)) == 7 and at.query_params["src"] == "shapes"


def test_a_shared_link_reopens_the_panels_data():
    at = open_page({"src": "sample", "sample": "iris", "z": "1", "method": "gmm"})
    no_failures(at)
    assert not at.warning  # every key of the link was understood
    assert row_titles(at) == ["<b>Iris flowers</b>"]
    assert at.subheader[0].value == "GMM on Iris flowers"
    assert at.session_state["clustering_rows"][0].standardized


def test_tsne_runs_on_demand_and_states_its_caveats(uploaded):
    uploaded.selectbox(key="clustering_method").set_value("kmeans").run()
    next(b for b in uploaded.button if b.label == "Run t-SNE").click().run()
    # 90 points allow a perplexity of at most 29.7: the default 30 gets a message
    assert any("perplexity = 30.0 must be between 1 and" in m for m in shown(uploaded.error))
    uploaded.number_input(key="clustering_perplexity").set_value(10.0).run()
    next(b for b in uploaded.button if b.label == "Run t-SNE").click().run()
    finish_heavy(uploaded)
    no_failures(uploaded)
    assert any("Cluster sizes in a t-SNE picture mean nothing" in m.value
               for m in uploaded.markdown)


# ----------------------------------------------------------------------------- shared links

BAD_LINKS = [
    # (query, the texts the one notice must name): every kind of bad value, in this lab's
    # own keys, the shared data panel's and the grid's row
    ({"seed": "-1", "ds": "-1"}, ["seed=-1", "ds=-1"]),  # negative
    ({"perp": "nan", "std": "NaN"}, ["perp=nan", "std=NaN"]),  # NaN
    ({"seed": "99999999999999999999", "perp": "1e400"}, ["seed=9999", "perp=1e400"]),  # huge
    ({"perp": "many", "method": "kmeans++"}, ["perp=many", "method=kmeans++"]),  # not numbers
    ({"colour": "red", "<b>x</b>": "1"}, ["colour", "<b>x</b>"]),  # unknown keys
    ({"src": "generate", "kind": "spiral"}, ["kind=spiral"]),  # unknown shape
    ({"row": "spiral"}, ["row=spiral"]),  # unknown grid row
    ({"method": ["gmm", "ward"], "row": ["blobs", "moons"]}, ["method (given 2", "row (given 2"]),
]


def link_notices(at: AppTest) -> list[str]:
    return [w for w in shown(at.warning) if "this link" in w]


@pytest.fixture(scope="module")
def default_link():
    at = open_page()
    assert link_notices(at) == []
    return dict(at.query_params)


@pytest.mark.parametrize(("query", "named"), BAD_LINKS, ids=[str(q) for q, _ in BAD_LINKS])
def test_a_bad_link_falls_back_to_defaults_with_one_notice(query, named, default_link):
    at = open_page(query)
    no_failures(at)
    notices = link_notices(at)
    assert len(notices) == 1, notices
    for text in named:
        assert text in notices[0], (text, notices[0])
    assert not [e for e in shown(at.error)]
    # The page works, on the defaults of the values it ignored (the good ones kept: here only
    # src=generate, whose one row is the default shape), and the link now says so.
    generated = query.get("src") == "generate"
    assert len(row_titles(at)) == (1 if generated else 7)
    link = dict(at.query_params)
    if generated:
        assert link["src"] == "generate" and link["kind"] == "blobs"
        link = {k: v for k, v in link.items() if k in default_link and k not in ("src", "row")}
        assert link == {k: v for k, v in default_link.items() if k in link}
    else:
        assert link == default_link
    at.run()  # a later rerun does not repeat the notice
    assert link_notices(at) == [] and not at.exception


def test_a_click_on_a_dbscan_point_names_that_point():
    from app_pages.clustering_views import clicked_point

    # As Streamlit hands it over: a row of numpy customdata becomes {"0": …, "1": …}.
    click = {"selection": {"points": [{"curve_number": 1, "customdata": {"0": 7, "1": 12}}]}}
    assert clicked_point(click, 10) == 7
    assert clicked_point({"selection": {"points": [{"customdata": [3, 5]}]}}, 10) == 3
    assert clicked_point({"selection": {"points": [{"curve_number": 0}]}}, 10) is None  # a line
    assert clicked_point(click, 5) is None  # a stale click from a larger sample
    assert clicked_point(None, 10) is None
