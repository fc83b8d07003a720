"""The Attention lab page under streamlit.testing: every bad input gets a clear
message, the page keeps working, and the views show what the engine computed."""

from __future__ import annotations

import base64
import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from heavy_util import finish_heavy
from safetensors.torch import save
from streamlit.testing.v1 import AppTest

import admission
from admission import Admission, Kind, State, Status
from app_pages.components import heavy
from engine.attention.model import ToyConfig, ToyTransformer
from engine.attention.tasks import TASKS
from engine.attention.weights import load_pretrained

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "attention.py")
FREE = "Random attention on your own text"
# One torch thread in this module only (the fixture restores the count after it).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def at() -> AppTest:
    return _run(AppTest.from_file(PAGE, default_timeout=120))


@pytest.fixture
def free(at) -> AppTest:
    at.segmented_control(key="attention_source").set_value(FREE)
    return _run(at)


def _charts(at):
    return at.get("plotly_chart")


TABS = [
    ":material/grid_view: All heads",
    ":material/center_focus_strong: One head & aggregates",
    ":material/functions: Step by step",
    ":material/insights: Head statistics",
]


def open_tab(at: AppTest, label: str) -> AppTest:
    """Select a result tab: tabs are lazy, so only the open tab's content is on the page."""
    at.session_state["attention_tab"] = label
    return _run(at)


def _charts_of_every_tab(at) -> int:
    """Charts over the four tabs, opening each in turn (then back to the first)."""
    counts = [len(_charts(open_tab(at, label))) for label in TABS]
    open_tab(at, TABS[0])
    return sum(counts)


def _accuracy(at) -> str:
    return next(m for m in at.metric if m.label == "Held-out accuracy").value


def _errors(at):
    """Error text as the reader sees it (user text arrives Markdown-escaped)."""
    return " ".join(e.value for e in at.error).replace("\\", "")


def test_default_page_shows_a_trained_model_and_all_views(at):
    assert at.title[0].value == "Attention lab"
    assert not at.error
    assert float(_accuracy(at).rstrip("%")) >= 95
    assert [t.label for t in at.tabs] == [
        ":material/grid_view: All heads",
        ":material/center_focus_strong: One head & aggregates",
        ":material/functions: Step by step",
        ":material/insights: Head statistics",
    ]
    # grid, focus, query sums, step 1's Q, K, V, 2 metric bars and the similarity map
    assert _charts_of_every_tab(at) == 1 + 2 + 3 + 3


def test_only_the_open_tab_is_computed(at):
    assert len(_charts(at)) == 1 and "attention_grid_chart" in _charts(at)[0].proto.id
    open_tab(at, TABS[2])
    assert len(_charts(at)) == 3  # one step at a time: step 1 draws Q, K and V
    assert not any("attention_grid_chart" in c.proto.id for c in _charts(at))
    at.toggle(key="attention_all_steps").set_value(True)
    assert len(_charts(_run(at))) == 13  # every step, one below the other
    open_tab(at, TABS[3])
    assert len(_charts(at)) == 3 and not at.get("download_button")


@pytest.mark.parametrize("name", list(TASKS))
def test_every_shipped_task_solves_its_example(at, name):
    at.selectbox(key="attention_task").set_value(name)
    _run(at)
    assert not at.error
    correct = next(m for m in at.metric if m.label == "Correct on your input")
    assert correct.value == "100%"
    if TASKS[name].config.n_layers > 1:
        assert at.selectbox(key="attention_layer").options == ["layer 1", "layer 2"]
        open_tab(at, TABS[1])
        assert "rollout through all layers" in at.selectbox(key="attention_focus_view").options


def test_letters_a_model_does_not_know_are_listed(at):
    at.text_area(key="attention_toy_text_previous_token").set_value("Hello World!")
    _run(at)
    message = _errors(at)
    assert "cannot read this input" in message
    assert "'H'" in message and "'W'" in message and "'!'" in message
    assert "lowercase letters a-z" in message
    assert at.title[0].value == "Attention lab" and not _charts(at)


def test_a_line_longer_than_the_model_was_trained_on_is_refused(at):
    at.selectbox(key="attention_task").set_value("sort")
    _run(at)
    at.text_area(key="attention_toy_text_sort").set_value("abcdefghijklm")
    _run(at)
    assert "trained on 3 to 10 letters; this line has 13" in _errors(at)


def test_empty_input_says_what_to_type(at):
    at.text_area(key="attention_toy_text_previous_token").set_value("   \n  ")
    _run(at)
    assert "nothing to attend over" in _errors(at)


def test_repeated_letters_warn_for_tasks_trained_on_distinct_ones(at):
    at.selectbox(key="attention_task").set_value("induction")
    _run(at)
    at.text_area(key="attention_toy_text_induction").set_value("hello")
    _run(at)
    assert "all different" in at.warning[0].value
    assert _charts(at)


def test_a_batch_gets_a_sequence_picker_and_padding(at):
    at.text_area(key="attention_toy_text_previous_token").set_value("abcdefgh\nabcd")
    _run(at)
    picker = next(s for s in at.selectbox if s.label == "Sequence")
    assert picker.options == ["1: a b c d e f g h", "2: a b c d"]
    picker.set_value(1)
    _run(at)
    assert not at.toggle(key="attention_show_padding").disabled
    at.toggle(key="attention_show_padding").set_value(True)
    _run(at)
    assert not at.error


def test_uploaded_weights_with_the_wrong_shapes_are_explained(at):
    at.radio(key="attention_weights_source").set_value("Upload .safetensors")
    _run(at)
    assert "Upload a .safetensors file" in at.info[0].value
    small = ToyTransformer(ToyConfig(n_layers=1, d_model=16, d_ff=0, max_len=24))
    at.file_uploader(key="attention_upload_previous_token").upload(
        "small.safetensors", save(small.state_dict())
    )
    _run(at)
    assert "cannot be used for the Previous token model" in _errors(at)
    assert "d_model=16" in _errors(at)
    assert (
        "'tok_emb.weight' has shape (29, 16), this architecture needs (29, 32)" in at.code[0].value
    )


def test_a_pickle_upload_is_refused(at):
    at.radio(key="attention_weights_source").set_value("Upload .safetensors")
    _run(at)
    at.file_uploader(key="attention_upload_previous_token").upload(
        "evil.safetensors", b"\x80\x04\x95\x10\x00cos\nsystem\n"
    )
    _run(at)
    assert "not a readable .safetensors file" in _errors(at)


def test_uploaded_good_weights_are_used_and_scored(at):
    at.radio(key="attention_weights_source").set_value("Upload .safetensors")
    _run(at)
    model = load_pretrained("previous_token")
    at.file_uploader(key="attention_upload_previous_token").upload(
        "mine.safetensors", save(model.state_dict())
    )
    _run(at)
    assert not at.error
    assert float(_accuracy(at).rstrip("%")) >= 95
    assert _charts(at)


def test_live_retraining_switches_to_the_new_weights(at):
    at.slider(key="attention_steps_previous_token").set_value(50)
    at.button(key="attention_retrain_previous_token").click()
    finish_heavy(_run(at))
    assert at.radio(key="attention_weights_source").value == "Retrained in this session"
    retrained = at.session_state["attention_retrained"]["previous_token"]
    assert 0 <= retrained["accuracy"] <= 1
    assert _accuracy(at) == f"{retrained['accuracy']:.1%}"
    assert _charts(at)


def test_a_queued_retraining_shows_its_place_and_estimate(at, monkeypatch):
    # The server's pool with one worker, busy with another student's job and one queued.
    pool = Admission(workers=1)
    monkeypatch.setattr(admission, "_pool", pool)
    other = Kind("test.other", "Another job", seconds_per_unit=1.0)
    started, go = threading.Event(), threading.Event()
    try:
        pool.submit(other, "running", lambda report: started.set() or go.wait(120),
                    session="student-1", cost=30)  # fmt: skip
        assert started.wait(120)
        pool.submit(other, "queued", lambda report: None, session="student-2", cost=30)

        at.slider(key="attention_steps_previous_token").set_value(50)
        at.button(key="attention_retrain_previous_token").click()
        _run(at)
        panel = " ".join(m.value for m in at.markdown)
        assert "Retraining a toy model: queued**, 1 ahead of you" in panel
        assert re.search(r"done in about \d+ s", panel), panel  # 30 s + 30 s + 50 steps
        assert at.button(key="attention_retrain_stop_button")

        pool.release("student-2")  # the one ahead leaves the queue: this one is next
        _run(at)
        assert "queued**, next in line" in " ".join(m.value for m in at.markdown)
        go.set()
        finish_heavy(at)
        assert at.radio(key="attention_weights_source").value == "Retrained in this session"
    finally:
        go.set()
        pool.shutdown()


@pytest.mark.parametrize(
    ("state", "ahead", "poll_s"),
    [(State.QUEUED, 5, heavy.POLL_BACK_S), (State.QUEUED, 2, heavy.POLL_BACK_S),
     (State.QUEUED, 1, heavy.POLL_S), (State.QUEUED, 0, heavy.POLL_S),
     (State.RUNNING, 0, heavy.POLL_S)],
)
def test_a_waiting_panel_far_back_in_the_queue_looks_less_often(state, ahead, poll_s):
    status = Status(state, ahead, eta_s=30.0, progress=0.0, text="", sharing=0)
    assert heavy._poll_s(status) == poll_s
    assert heavy.POLL_BACK_S > heavy.POLL_S


# ----------------------------------------------------------------------------- free text


def test_free_text_runs_random_attention(free):
    assert not free.error
    picker = next(s for s in free.selectbox if s.label == "Sequence")
    assert picker.options[0].startswith("1: the cat sat")
    assert _charts_of_every_tab(free) == 1 + 2 + 3 + 3


def test_d_model_not_divisible_by_heads_is_explained_and_recoverable(free):
    free.number_input(key="attention_d_model").set_value(10)
    free.number_input(key="attention_n_heads").set_value(3)
    _run(free)
    message = _errors(free)
    assert "d_model = 10 cannot be split into 3 equal heads" in message
    assert "[1, 2, 5, 10]" in message
    assert not _charts(free)
    free.number_input(key="attention_n_heads").set_value(5)
    _run(free)
    assert not free.error and _charts(free)


def test_textbook_configuration(free):
    free.number_input(key="attention_d_model").set_value(512)
    free.number_input(key="attention_n_heads").set_value(8)
    _run(free)
    assert not free.error
    open_tab(free, TABS[2])
    assert free.selectbox(key="attention_step_head").options[-1] == "head 8"


def test_too_long_text_offers_truncation(free):
    free.text_area(key="attention_free_text").set_value("word " * 300)
    _run(free)
    assert "line 1 has 300 tokens; the limit is 256" in _errors(free)
    assert not _charts(free)
    free.checkbox(key="attention_truncate").check()
    _run(free)
    assert not free.error
    assert "line 1 lost 44" in free.warning[0].value
    assert _charts(free)


def test_empty_free_text(free):
    free.text_area(key="attention_free_text").set_value("")
    _run(free)
    assert "nothing to attend over" in _errors(free)


@pytest.mark.parametrize("mode", ["words", "whitespace", "characters"])
def test_hostile_text_runs_in_every_tokenizer(free, mode):
    free.text_area(key="attention_free_text").set_value(
        "<b>bold</b> <img src=x onerror=alert(1)> &amp;\n🙂 שלום עולם ∑ $x$ **y**"
    )
    free.radio(key="attention_tokenizer").set_value(mode)
    _run(free)
    assert not free.error and _charts(free)
    # the options of widgets are plain text, never markdown or HTML
    options = next(s for s in free.selectbox if s.label == "Sequence").options
    assert options[0].startswith("1: <")


def test_causal_mask_and_every_focus_view(free):
    free.toggle(key="attention_causal").set_value(True)
    _run(free)
    open_tab(free, TABS[1])
    for view in free.selectbox(key="attention_focus_view").options:
        free.selectbox(key="attention_focus_view").set_value(view)
        _run(free)
        assert not free.error


def test_every_widget_key_is_page_prefixed(free):
    keys = list(free.session_state.keys())
    assert keys and all(k.startswith("attention_") for k in keys), keys


# ----------------------------------------------------------------------------- teaching views


def test_chosen_queries_past_a_shorter_text_fall_back_to_its_last_token(at):
    """Regression: the chart went blank ("Attention paid by 0 chosen queries", empty axes)
    when the text became shorter than a chosen query position."""
    open_tab(at, TABS[1])  # "attention": 9 letters, the last (8) chosen
    assert at.multiselect(key="attention_queries").value == [8]
    at.segmented_control(key="attention_source").set_value(FREE)
    _run(at)  # "the cat sat on the mat .": 7 tokens, position 8 does not exist
    chart = next(c for c in _charts(at) if "attention_query_chart" in c.proto.id)
    spec = json.loads(chart.proto.spec)
    title = spec["layout"]["title"]
    assert title["text"].startswith("Attention paid by 1 chosen query")
    assert "past the end of this 7-token text" in title["subtitle"]["text"]
    assert "the last token, 6 · ." in title["subtitle"]["text"]
    totals = _bar_heights(spec)
    assert len(totals) == 7 and sum(totals) == pytest.approx(1.0)  # one query's weights
    assert at.multiselect(key="attention_queries").value == [6]


def _bar_heights(spec: dict) -> list[float]:
    y = spec["data"][0]["y"]
    if isinstance(y, dict):  # Plotly sends arrays as base64 typed arrays
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
    return list(y)


@pytest.mark.parametrize("name", [t.name for t in TASKS.values() if t.config.n_layers > 1])
def test_a_two_layer_task_opens_on_the_layer_its_look_for_text_names(at, name):
    at.selectbox(key="attention_task").set_value(name)
    _run(at)
    layer = TASKS[name].pattern_layer
    assert f"Layer {layer + 1}" in TASKS[name].pattern
    assert at.selectbox(key="attention_layer").value == layer
    spec = json.loads(_charts(at)[0].proto.spec)
    assert spec["layout"]["title"]["text"] == f"Layer {layer + 1} of 2"


def test_step_by_step_shows_one_step_with_its_term_in_the_formula(at):
    open_tab(at, TABS[2])
    assert "textcolor" in at.latex[0].value and "Q_h" in at.latex[0].value
    at.button(key="attention_step_next_button").click()
    _run(at)
    assert at.segmented_control(key="attention_step").value == 1
    assert sorted(c.proto.id.rsplit("-", 1)[-1] for c in _charts(at)) == [
        "attention_step_qk", "attention_step_scaled"]
    assert r"\textcolor{#dc2626}{\boldsymbol{\frac{" in at.latex[0].value  # QKᵀ/√d_k in red
    at.segmented_control(key="attention_step").set_value(6)
    _run(at)
    assert at.button(key="attention_step_next_button").disabled
    assert r"W_O^\top + b_O}}" in at.latex[0].value


def test_the_empty_text_message_is_shown_once(at):
    at.text_area(key="attention_toy_text_previous_token").set_value("")
    _run(at)
    assert sum("nothing to attend over" in e.value for e in at.error) == 1
    at.segmented_control(key="attention_source").set_value(FREE)
    _run(at).text_area(key="attention_free_text").set_value("  ")
    _run(at)
    assert sum("nothing to attend over" in e.value for e in at.error) == 1
