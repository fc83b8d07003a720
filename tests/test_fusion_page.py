"""The Fusion lab page under streamlit.testing: both tabs draw what the engine computed,
every bad input gets a clear message, and the page keeps what the user had."""

from __future__ import annotations

from pathlib import Path

import pytest
from heavy_util import finish_heavy
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "fusion.py")
ATTENTION = ":material/hub: Clustered attention"
DEC = ":material/blur_on: Deep clustering (DEC)"
# One torch thread in this module only (the fixture restores the count after it).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def at() -> AppTest:
    return _run(AppTest.from_file(PAGE, default_timeout=180))


def _errors(at: AppTest) -> str:
    """Error text as the reader sees it (user text arrives Markdown-escaped)."""
    return " ".join(e.value for e in at.error).replace("\\", "")


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _set(at: AppTest, **values) -> AppTest:
    for name, value in values.items():
        at.session_state[f"fusion_{name}"] = value
    return _run(at)


# ----------------------------------------------------------------------------- clustered attention


def test_default_view_shows_a_trained_head_three_ways(at):
    assert at.title[0].value.startswith("Fusion lab")
    assert [t.label for t in at.tabs] == [ATTENTION, DEC]
    assert not at.error
    metrics = _metrics(at)
    assert metrics["Attention rows computed"] == "4 of 10"  # Reverse reads "attention" + <eos>
    clustered, improved = (float(x.rstrip("%")) for x in
                           metrics["Error: clustered → i-clustered"].split(" → "))  # fmt: skip
    assert 0 < improved < clustered  # recomputing the top keys repairs part of the error
    assert len(at.get("plotly_chart")) == 5  # heatmaps, queries, error curves, ε, operations
    assert "Reverse · layer 2 · head 1" in at.caption[0].value


def test_one_cluster_per_query_is_exact_and_costs_more(at):
    _set(at, clusters=10, topk=10)
    metrics = _metrics(at)
    assert metrics["Error: clustered → i-clustered"] == "0.0% → 0.0%"
    assert float(metrics["Clustered: multiply-adds"].split(" ×")[0]) > 1.0


@pytest.mark.parametrize("clustering", ["kmeans", "lsh"])
def test_both_clusterings_run(at, clustering):
    _set(at, clustering=clustering, hash_bits=8)
    assert not at.error
    hash_bits = at.number_input(key="fusion_hash_bits")
    assert hash_bits.disabled == (clustering == "kmeans")


def test_too_many_clusters_or_keys_are_explained_and_nothing_is_lost(at):
    _set(at, clusters=30)
    assert "C = 30 clusters, but this sequence has only L = 10 queries" in _errors(at)
    assert "Choose C between 1 and 10" in _errors(at)
    assert not at.get("plotly_chart")  # no half-drawn page
    assert at.text_input(key="fusion_letters_reverse").value == "attention"  # kept
    _set(at, clusters=4, topk=11)
    assert "k = 11 top keys, but there are only S = 10 keys" in _errors(at)
    _set(at, topk=2)
    assert not at.error and len(at.get("plotly_chart")) == 5


@pytest.mark.parametrize(
    ("letters", "message"),
    [("", "nothing to attend over"), ("   ", "nothing to attend over"),
     ("abc1", "only knows the letters a-z"), ("ab", "trained on 3 to 12 letters")],
    ids=["empty", "blank", "digit", "short"],
)  # fmt: skip
def test_bad_letters_are_explained(at, letters, message):
    at.text_input(key="fusion_letters_reverse").set_value(letters)
    _run(at)
    assert message in _errors(at)
    assert at.number_input(key="fusion_clusters").value == 4  # the settings are kept


def test_another_head_and_model(at):
    at.selectbox(key="fusion_task").set_value("induction")
    _run(at)
    at.selectbox(key="fusion_head_induction").set_value(0)
    _run(at)
    assert "Induction (repeat) · layer 2 · head 1" in at.caption[0].value.replace("\\", "")
    assert not at.error


def test_own_text_is_shown_as_text_and_bad_text_explained(at):
    _set(at, source="text")
    assert "random layer · head 1" in at.caption[0].value and not at.error
    at.text_area(key="fusion_text").set_value("**bold** <b>x</b> :smile: $x$ the the the")
    _run(at)
    caption = at.caption[0].value
    # Tokens joined by spaces, every Markdown, HTML, emoji and LaTeX character escaped.
    for shown in (r"\* \* bold", r"\< b \>", r"\: smile \:", r"\$ x \$"):
        assert shown in caption, caption
    at.text_area(key="fusion_text").set_value("  \n ")
    _run(at)
    assert "the text is empty" in _errors(at)
    at.text_area(key="fusion_text").set_value("word " * 300)
    _run(at)
    assert "Too long" in _errors(at) and "256" in _errors(at)
    assert at.text_area(key="fusion_text").value == "word " * 300  # kept, to be shortened


def test_the_epsilon_pair_can_be_chosen(at):
    pair = [s for s in at.selectbox if s.label in ("Query i", "Query j")]
    assert len(pair) == 2 and pair[0].value != pair[1].value
    pair[1].set_value(pair[0].value)
    _run(at)
    assert not at.error  # the same query twice: ε = 0 and a bound of 0


def test_accuracy_curve_is_measured_on_demand(at):
    assert len(at.get("plotly_chart")) == 5
    at.toggle(key="fusion_accuracy").set_value(True)
    finish_heavy(_run(at))
    assert len(at.get("plotly_chart")) == 6
    assert not at.error


# ----------------------------------------------------------------------------- deep clustering


@pytest.fixture
def dec(at) -> AppTest:
    at.session_state["fusion_tab"] = DEC
    return _run(at)


def test_dec_view_shows_three_clusterings(dec):
    metrics = _metrics(dec)
    assert set(metrics) == {"ARI · K-means on raw pixels", "ARI · Autoencoder + K-means",
                            "ARI · DEC"}  # fmt: skip
    assert float(metrics["ARI · DEC"]) >= float(metrics["ARI · K-means on raw pixels"])
    assert len(dec.get("plotly_chart")) == 4  # embeddings, history, confusion, examples
    assert not dec.error


def test_dec_view_switches_the_clustering_looked_into(dec):
    dec.segmented_control(key="fusion_dec_which").set_value("raw")
    _run(dec)
    assert len(dec.get("plotly_chart")) == 4 and not dec.error


def test_dec_retrains_live_and_offers_both_weights(dec):
    _set(dec, n_embedding=4, pretrain_epochs=10, dec_epochs=2, dec_seed=1)
    dec.button(key="fusion_dec_retrain").click()
    finish_heavy(_run(dec))
    assert dec.radio(key="fusion_dec_source").value == "Retrained in this session"
    retrained = _metrics(dec)["ARI · DEC"]
    dec.radio(key="fusion_dec_source").set_value("Shipped weights")
    _run(dec)
    assert _metrics(dec)["ARI · DEC"] != retrained  # 10 epochs do not make the shipped model
    assert not dec.error
