"""The K-means page, driven by Streamlit's AppTest: controls, results, uploads, bad input."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace

import numpy as np
import pytest
from bad_files import BAD, CASES, upload_name
from heavy_util import finish_heavy
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import make_blobs
from streamlit.testing.v1 import AppTest

from engine.data import Dataset

APP = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "app.py")
# Uploads too big to be worth a page round trip here; tests/test_data.py reads them.
SLOW = {"too_many_rows", "ragged_deep", "too_many_columns"}


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/kmeans.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page, by the key they were drawn with."""
    out = {}
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        out[element.proto.id] = spec
    return out


def chart(at: AppTest, key: str) -> dict:
    matches = [spec for id_, spec in charts(at).items() if key in id_]
    assert len(matches) == 1, list(charts(at))
    return matches[0]


def open_tab(at: AppTest, name: str) -> AppTest:
    """Select a result tab: tabs are lazy, so only the open tab's content is on the page."""
    at.session_state["kmeans_tab"] = name
    return at.run()


def errors(at: AppTest) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


def press(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    if at.radio(key="kmeans_source").value != "Upload CSV":
        at.radio(key="kmeans_source").set_value("Upload CSV").run()
    at.file_uploader(key="kmeans_upload").set_value((name, content, "text/csv"))
    return at.run()


@pytest.fixture(scope="module")
def default_page():
    return open_page()


def test_default_run_finds_the_four_blobs(default_page):
    at = default_page
    X, _ = make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
    # The default start is random: J falls over several iterations, to the same four blobs.
    reference = SklearnKMeans(n_clusters=4, init="random", random_state=0, n_init=1).fit(X)
    assert int(metric(at, "Iterations")) >= 5
    assert metric(at, "Clusters K") == "4"
    assert metric(at, "Final J") == f"{reference.inertia_:,.3f}"
    assert metric(at, "Adjusted Rand index") == "1.000"
    names = [t["name"] for t in chart(at, "kmeans_result_chart")["data"]]
    assert names == ["Voronoi regions"] + [f"cluster {k} (75)" for k in range(1, 5)] + [
        "centroids"]
    assert errors(at) == [] and not at.exception


def test_convergence_tab_has_the_j_curve_and_a_row_per_iteration(default_page):
    at = open_tab(default_page, "Convergence")
    n_iter = int(metric(at, "Iterations"))
    j_curve = chart(at, "kmeans_j_chart")
    assert {t["name"] for t in j_curve["data"]} >= {"after assignment", "after update",
                                                     "converged"}
    table = next(df for df in at.dataframe if "J after update" in df.value.columns)
    assert len(table.value) == n_iter


def test_playback_has_a_frame_per_half_step(default_page):
    at = open_tab(default_page, "Step through")
    spec = chart(at, "kmeans_playback_chart")
    assert len(spec["frames"]) == 2 * int(metric(at, "Iterations"))
    assert spec["layout"]["updatemenus"][0]["buttons"][0]["method"] == "animate"


def test_only_the_open_tab_is_computed_and_sent():
    at = open_page()
    assert [key.rsplit("-", 1)[-1] for key in charts(at)] == [
        "kmeans_result_chart", "kmeans_result_j_chart"]
    fit = at.session_state["kmeans_fit"]
    open_tab(at, "Cross-check")
    assert charts(at) == {}
    assert metric(at, "J, scikit-learn") == f"{fit.model.inertia_:,.6f}"
    open_tab(at, "Convergence")
    assert sorted(key.rsplit("-", 1)[-1] for key in charts(at)) == [
        "kmeans_j_chart", "kmeans_shift_chart"]
    assert at.session_state["kmeans_fit"] is fit  # switching tabs never re-fits


def test_url_holds_the_settings(default_page):
    q = default_page.query_params
    assert q["src"] == "generate" and q["k"] == "4" and q["n"] == "300"


def test_changing_k_and_init_reruns_with_the_new_settings():
    at = open_page()
    at.number_input(key="kmeans_k").set_value(3)
    at.selectbox(key="kmeans_init").set_value("k-means++")
    press(at, "Run K-means")
    assert metric(at, "Clusters K") == "3"
    names = [t["name"] for t in chart(at, "kmeans_result_chart")["data"]]
    assert sum(n.startswith("cluster") for n in names) == 3
    assert at.query_params["k"] == "3" and at.query_params["init"] == "k-means++"
    X, _ = make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
    ref = SklearnKMeans(n_clusters=3, init="k-means++", random_state=0, n_init=1).fit(X)
    assert metric(at, "Final J") == f"{ref.inertia_:,.3f}"


def test_several_starts_draw_one_curve_per_run():
    at = open_page()
    at.number_input(key="kmeans_n_init").set_value(5)
    press(at, "Run K-means")
    data = chart(open_tab(at, "Several starts"), "kmeans_runs_chart")["data"]
    assert len(data) == 5 and sum("(best)" in t["name"] for t in data) == 1


def test_step_through_moves_between_iterations_without_refitting():
    at = open_tab(open_page(), "Step through")
    fit_before = at.session_state["kmeans_fit"]
    at.slider(key="kmeans_iteration").set_value(2).run()
    at.radio(key="kmeans_half").set_value("assign").run()
    assert chart(at, "kmeans_step_chart")["layout"]["title"]["text"].startswith(
        "Iteration 2 of")
    assert at.session_state["kmeans_fit"] is fit_before
    assert at.query_params["it"] == "2" and at.query_params["half"] == "assign"


def test_generating_moons_shows_its_note_and_true_groups():
    at = open_page()
    at.selectbox(key="kmeans_gen_kind").set_value("moons").run()
    at.number_input(key="kmeans_gen_n_samples").set_value(500)
    press(at, "Generate data")
    assert any("slices each moon" in m.value for m in at.caption)
    assert at.session_state["kmeans_data"].n_samples == 500


def test_choosing_a_shape_shows_that_shape_at_once():
    at = open_page()
    at.selectbox(key="kmeans_gen_kind").set_value("moons").run()  # no "Generate data" press
    assert at.session_state["kmeans_data"].name == "moons"
    assert "Two moons" in [h.value for h in at.subheader]
    assert any("half circles" in c.value for c in at.caption)  # the note describes moons
    assert not any("make_blobs" in c.value for c in at.caption)


def test_delta_j_within_rounding_is_shown_as_zero(default_page):
    at = open_tab(default_page, "Convergence")
    table = next(df for df in at.dataframe if "ΔJ" in df.value.columns).value
    run = at.session_state["kmeans_fit"].model.history_
    raw = np.diff([run.iterations[0].inertia_assign]
                  + [it.inertia_update for it in run.iterations])
    tiny = np.abs(raw) <= 1e-9 * run.inertia_curve.max()
    assert tiny.any()  # the last iteration changes J by rounding only
    assert (table["ΔJ"][tiny] == 0).all() and (table["ΔJ"][~tiny] == raw[~tiny]).all()
    assert any("shown as 0" in c.value for c in at.caption)


def test_presenter_mode_puts_the_clusters_and_j_curve_first():
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/kmeans.py")
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception and at.session_state["lab_present"]
    keys = [key.rsplit("-", 1)[-1] for key in charts(at)]
    assert keys[:2] == ["kmeans_head_chart", "kmeans_head_j_chart"]
    assert "Result" not in [t.label for t in at.tabs]  # the result heads the page instead
    assert link_notices(at) == []  # present=1 is the Lab's key, not a setting to refuse
    spec = chart(at, "kmeans_head_j_chart")
    assert spec["layout"]["template"]["layout"]["font"]["size"] > 16  # larger type


def test_more_clusters_than_points_is_refused_and_results_stay():
    at = open_page()
    before = metric(at, "Final J")
    at.number_input(key="kmeans_gen_n_samples").set_value(3)
    press(at, "Generate data")
    assert any("Lower K to 3" in e for e in errors(at))
    assert metric(at, "Final J") == before
    assert not at.exception


def test_sample_table_with_standardising_gives_a_pca_view():
    at = open_page()
    at.radio(key="kmeans_source").set_value("Sample table").run()
    at.selectbox(key="kmeans_sample").set_value("wine").run()
    at.toggle(key="kmeans_standardize").set_value(True).run()
    data = at.session_state["kmeans_data"]
    assert data.n_features == 13 and data.standardized
    notes = chart(at, "kmeans_result_chart")["layout"]["title"]["subtitle"]["text"]
    assert "PCA projection of 13 features" in notes
    assert metric(at, "Adjusted Rand index") != "—"


def test_a_valid_upload_is_clustered_with_its_label_column():
    X, y = make_blobs(n_samples=120, centers=3, random_state=6)
    rows = "\n".join(
        f"{a:.4f};{b:.4f};g{c}".replace(".", ",") for (a, b), c in zip(X, y, strict=True))
    content = ("länge;breite;gruppe\n" + rows + "\n").encode("utf-8-sig")
    at = open_page()
    at.number_input(key="kmeans_k").set_value(3)
    press(at, "Run K-means")
    upload(at, "punkte.csv", content)
    assert errors(at) == [] and not at.exception
    data = at.session_state["kmeans_data"]
    assert data.source == "upload" and data.feature_names == ("länge", "breite")
    at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("kmeans_label_"))
                 ).set_value("gruppe").run()
    assert metric(at, "Adjusted Rand index") == "1.000"


def test_every_malformed_upload_gets_its_message_and_keeps_the_results():
    at = open_page()
    before = metric(at, "Final J")
    for name in BAD:
        if name in SLOW:
            continue
        content, expected = CASES[name]
        upload(at, upload_name(name), content)
        shown = errors(at)
        assert any(expected in e for e in shown), (name, expected, shown)
        assert metric(at, "Final J") == before, name
        assert not at.exception, name


def test_html_in_an_uploaded_header_is_shown_as_text():
    at = open_page()
    content, _ = CASES["html_in_header"]
    upload(at, "xss.csv", content)
    spec = chart(at, "kmeans_result_chart")
    assert "<img" not in spec["layout"]["xaxis"]["title"]["text"]
    assert "&lt;img" in spec["layout"]["xaxis"]["title"]["text"]


def test_a_one_value_change_in_a_large_data_set_gives_a_new_fit():
    """Fits are cached on a digest of every value, not on Streamlit's sample of the array."""
    at = open_page()
    X, _ = make_blobs(n_samples=600_000, centers=4, random_state=0)
    Y = X.copy()
    Y[431_207] = [500.0, -500.0]  # one row far away: J must change
    held = at.session_state["kmeans_data"]
    for big in (X, Y):
        at.session_state["kmeans_data"] = _with_points(held, big)
        at.run()
        assert not at.exception
    fit = at.session_state["kmeans_fit"]
    assert fit.data.digest == at.session_state["kmeans_data"].digest
    reference = SklearnKMeans(n_clusters=4, init="random", random_state=0, n_init=1).fit(Y)
    assert fit.model.inertia_ == pytest.approx(reference.inertia_, rel=1e-6)
    assert re.sub(",", "", metric(at, "Final J")) == f"{reference.inertia_:.3f}"


def _with_points(data: Dataset, X: np.ndarray) -> Dataset:
    # The digest is computed from X when the Dataset is made.
    return replace(data, X=X, raw=X, labels=None, label_names=None,
                   row_index=np.arange(len(X)))


# ----------------------------------------------------------------------------- shared links

DEFAULT_LINK = {"src": "generate", "kind": "blobs", "n": "300", "c": "4", "f": "2",
                "std": "0.6", "noise": "0.05", "ds": "0", "z": "0", "k": "4",
                "init": "random", "ninit": "1", "maxit": "300", "tol": "0.0001", "seed": "0"}
BAD_LINKS = [
    # (query, the keys the notice must name)
    ({"seed": "-1"}, ["seed=-1"]),
    ({"ds": "-1"}, ["ds=-1"]),
    ({"k": "-3"}, ["k=-3"]),
    ({"tol": "nan"}, ["tol=nan"]),
    ({"std": "inf"}, ["std=inf"]),
    ({"tol": "0.0002"}, ["tol=0.0002"]),
    ({"n": "99999999999999999999"}, ["n=99999999999999999999"]),
    ({"seed": "1e400"}, ["seed=1e400"]),
    ({"k": "four", "maxit": "3.5"}, ["k=four", "maxit=3.5"]),
    ({"colour": "red", "<b>x</b>": "1"}, ["colour", "<b>x</b>"]),
    ({"kind": "spiral"}, ["kind=spiral"]),
    ({"sample": "titanic"}, ["sample=titanic"]),
    ({"src": "upload"}, ["src=upload"]),
    ({"k": ["3", "5"]}, ["k (given 2 times)"]),
    ({"half": "both", "it": "0"}, ["half=both", "it=0"]),
]


def open_link(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/kmeans.py")
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def link_notices(at: AppTest) -> list[str]:
    return [w.value.replace("\\", "") for w in at.warning if "this link" in w.value]


@pytest.fixture(scope="module")
def default_j(default_page):
    return metric(default_page, "Final J")


@pytest.mark.parametrize(("query", "named"), BAD_LINKS, ids=[str(q) for q, _ in BAD_LINKS])
def test_a_bad_link_falls_back_to_defaults_with_one_notice(query, named, default_j):
    at = open_link(query)
    notices = link_notices(at)
    assert len(notices) == 1, notices
    for text in named:
        assert text in notices[0], (text, notices[0])
    assert errors(at) == []
    # The page works, on the default data and settings, and the link now says so.
    assert metric(at, "Final J") == default_j
    assert {k: at.query_params[k] for k in DEFAULT_LINK} == DEFAULT_LINK
    assert "kmeans_result_chart" in "".join(charts(at))
    # A later rerun does not repeat the notice.
    press(at, "Run K-means")
    assert link_notices(at) == [] and not at.exception


def test_a_link_keeps_its_good_values_and_names_only_the_bad_one():
    at = open_link({"src": "sample", "sample": "wine", "z": "1", "k": "3", "seed": "-1",
                    "it": "2", "half": "assign"})
    (notice,) = link_notices(at)
    assert "seed=-1" in notice and "sample" not in notice and "k=" not in notice
    data = at.session_state["kmeans_data"]
    assert data.name == "wine" and data.standardized
    assert metric(at, "Clusters K") == "3"
    q = at.query_params
    assert (q["src"], q["sample"], q["z"], q["k"], q["seed"]) == ("sample", "wine", "1", "3", "0")
    step = open_tab(at, "Step through")
    assert chart(step, "kmeans_step_chart")["layout"]["title"]["text"].startswith(
        "Iteration 2 of")
    assert step.radio(key="kmeans_half").value == "assign"


def test_a_copied_link_reopens_the_same_page():
    at = open_page()
    at.selectbox(key="kmeans_gen_kind").set_value("moons").run()
    at.number_input(key="kmeans_gen_n_samples").set_value(250)
    press(at, "Generate data")
    at.number_input(key="kmeans_k").set_value(2)
    at.select_slider(key="kmeans_tol").set_value(1e-3)
    press(at, "Run K-means")
    copied = dict(at.query_params)
    again = open_link(copied)
    assert link_notices(again) == []
    assert dict(again.query_params) == copied
    assert metric(again, "Final J") == metric(at, "Final J")
    assert again.session_state["kmeans_data"].n_samples == 250


# ----------------------------------------------------------------------------- Projections


def plotly_array(values) -> list:
    """A Plotly array from the figure's JSON: a list, or base64 'bdata' with its dtype."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_projections_of_two_features_say_the_plane_is_the_data(default_page):
    at = open_tab(default_page, "Projections")
    assert any("two features" in i.value for i in at.info)
    assert not [k for k in charts(at) if "kmeans_pca_chart" in k or "kmeans_tsne" in k]


def test_projections_show_pca_and_t_sne_of_the_clusters_found():
    at = open_page()
    at.radio(key="kmeans_source").set_value("Sample table").run()
    at.selectbox(key="kmeans_sample").set_value("wine").run()
    at = open_tab(at, "Projections")
    pca = chart(at, "kmeans_pca_chart")
    variance = next(t for t in pca["data"] if t["type"] == "bar")
    shares = plotly_array(variance["y"])
    assert len(shares) >= 2 and shares[0] >= shares[1] > 0
    at.number_input(key="kmeans_perplexity").set_value(100.0).run()  # 178 points allow 59
    at = press(at, "Run t-SNE")
    assert any("perplexity = 100.0" in e for e in errors(at))
    assert "kmeans_tsne_run" not in at.session_state  # nothing was queued
    at.number_input(key="kmeans_perplexity").set_value(10.0).run()
    at = finish_heavy(press(at, "Run t-SNE"))
    tsne = chart(at, "kmeans_tsne_chart")
    points = tsne["data"][0]
    assert len(plotly_array(points["x"])) == at.session_state["kmeans_data"].n_samples == 178
    assert len(tsne["frames"]) > 1  # the optimisation, snapshot by snapshot
    assert any("mean nothing" in m.value for m in at.markdown)  # the caveats beside it
