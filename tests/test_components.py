"""Shared page pieces: parameter tables (widgets, links, ranges) and the data panel.

The data panel is driven with AppTest in a page of its own holding two panels with two
prefixes, as two labs would use it: each keeps its own controls, data and errors.
"""

from __future__ import annotations

import math

import pytest
from bad_files import CASES, upload_name
from streamlit.testing.v1 import AppTest

from app_pages.components.params import Param, ParamTable, UrlValues, read_link

TABLE = ParamTable("lab_", (
    Param("k", "k", "Clusters K", 4, int, low=1, high=30),
    Param("std", "std", "Spread", 0.6, float, low=0.01, high=20.0),
    Param("tol", "tol", "Tolerance", 1e-4, float, choices=(0.0, 1e-4, 1e-2)),
    Param("shape", "shape", "Shape", "blobs", str, choices=("blobs", "moons")),
    Param("z", "z", "Standardise", False, bool),
    Param("src", "src", "Source", "Generate", str, choices=("Generate", "Upload CSV"),
          url_values=("generate", None)),
    Param("private", None, "Not in links", 1, int, low=0, high=9),
))  # fmt: skip

PARSED = [
    ("k", "7", 7), ("k", " +7 ", 7), ("std", "2.5", 2.5), ("std", "1e1", 10.0),
    ("tol", "0.0001", 1e-4), ("tol", "1e-2", 1e-2), ("tol", "0", 0.0), ("shape", "moons", "moons"),
    ("z", "1", True), ("z", "false", False), ("src", "generate", "Generate"),
]
REFUSED = [
    # (name, text, words the reason must contain)
    ("k", "-1", "between 1 and 30"), ("k", "31", "between 1 and 30"), ("k", "3.5", "whole"),
    ("k", "1" * 40, "whole"), ("k", "nan", "whole"), ("k", "", "whole"),
    ("std", "nan", "finite"), ("std", "-inf", "finite"), ("std", "0", "between"),
    ("std", "abc", "number"), ("tol", "0.5", "one of"), ("tol", "nan", "finite"),
    ("shape", "spiral", "one of blobs, moons"), ("z", "maybe", "1 or 0"),
    ("src", "upload", "one of generate"), ("src", "Generate", "one of generate"),
]


@pytest.mark.parametrize(("name", "text", "value"), PARSED, ids=[f"{n}={t}" for n, t, _ in PARSED])
def test_a_link_value_the_row_accepts_is_parsed(name, text, value):
    parsed = TABLE[name].parse(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(("name", "text", "why"), REFUSED, ids=[f"{n}={t}" for n, t, _ in REFUSED])
def test_a_link_value_the_row_refuses_says_why(name, text, why):
    with pytest.raises(ValueError, match=why):
        TABLE[name].parse(text)


def test_read_link_keeps_good_values_and_names_every_ignored_one_once():
    other = ParamTable("lab_", (Param("it", "it", "Iteration", 1, int, low=1, high=10),))
    query = {"k": ["3"], "std": ["nan"], "it": ["2", "4"], "colour": ["red"], "z": ["1"],
             "private": ["5"], "x" * 100: ["1"]}
    read = read_link(query, [TABLE, other])
    assert read.values == {"lab_k": 3, "lab_z": True}
    assert len(read.ignored) == 5
    assert read.ignored[0].startswith("std=nan (Spread must be a finite number")
    assert "it (given 2 times)" in read.ignored
    assert "colour (not a setting of this page)" in read.ignored
    assert "private (not a setting of this page)" in read.ignored  # no URL key: not linkable
    assert max(map(len, read.ignored)) < 80  # a long key is shortened in the notice
    notice = read.notice()
    assert notice.count("std=nan") == 1 and notice.count("colour") == 1
    assert UrlValues({}, ()).notice() is None


def test_tables_of_one_page_cannot_share_a_url_key():
    clash = ParamTable("other_", (Param("kk", "k", "K again", 1, int, low=1, high=2),))
    with pytest.raises(ValueError, match="share a URL key"):
        read_link({}, [TABLE, clash])


def test_to_url_round_trips_and_leaves_out_what_a_link_cannot_hold():
    values = {"k": 7, "std": 2.5, "tol": 1e-2, "shape": "moons", "z": True, "src": "Generate",
              "private": 3}
    link = TABLE.to_url(values)
    assert "private" not in link
    read = TABLE.from_url({key: [text] for key, text in link.items()})
    assert read.ignored == () and read.values == {k: v for k, v in values.items()
                                                  if k != "private"}
    assert "src" not in TABLE.to_url({"src": "Upload CSV"})


def test_defaults_and_values_read_session_state_under_the_prefix():
    state = {"lab_k": 9}
    TABLE.keep(state)
    assert state["lab_k"] == 9 and state["lab_std"] == 0.6 and len(state) == len(TABLE.params)
    assert TABLE.values(state)["k"] == 9


def test_a_table_refuses_bad_rows():
    with pytest.raises(ValueError, match="duplicate"):
        ParamTable("x_", (Param("a", "a", "A", 1, int), Param("a", "b", "B", 1, int)))
    with pytest.raises(ValueError, match="url_values"):
        Param("s", "s", "S", "a", str, choices=("a", "b"), url_values=("a",))
    with pytest.raises(ValueError, match="control"):
        Param("s", "s", "S", 1, int, control="knob")


def _table_widgets_page():
    import streamlit as st

    from app_pages.components.params import Param, ParamTable

    table = ParamTable("lab_", (
        Param("k", "k", "Clusters K", 4, int, low=1, high=30, help="How many."),
        Param("std", "std", "Spread", 0.6, float, low=0.01, high=20.0, step=0.1),
        Param("tol", "tol", "Tolerance", 1e-4, float, choices=(0.0, 1e-4, 1e-2)),
        Param("shape", "shape", "Shape", "blobs", str, choices=("blobs", "moons")),
        Param("half", "half", "Half", "a", str, choices=("a", "b"), control="radio"),
        Param("it", "it", "Iteration", 1, int, low=1, high=1000, control="slider"),
        Param("z", "z", "Standardise", False, bool),
    ))  # fmt: skip
    table.keep(st.session_state)
    for p in table:
        table.widget(p.name, **({"max_value": 7} if p.name == "it" else {}))


def test_widgets_take_label_bounds_help_and_default_from_the_table():
    at = AppTest.from_function(_table_widgets_page).run()
    assert not at.exception
    k = at.number_input(key="lab_k")
    assert (k.label, k.value, k.min, k.max, k.help) == ("Clusters K", 4, 1, 30, "How many.")
    std = at.number_input(key="lab_std")
    assert math.isclose(std.min, 0.01) and math.isclose(std.max, 20.0) and std.step == 0.1
    assert at.select_slider(key="lab_tol").options == ["0.0", "0.0001", "0.01"]
    assert at.selectbox(key="lab_shape").options == ["blobs", "moons"]
    assert at.radio(key="lab_half").options == ["a", "b"]
    it = at.slider(key="lab_it")
    assert (it.min, it.max, it.value) == (1, 7, 1)  # the caller's max_value wins over 1000
    assert at.toggle(key="lab_z").value is False


# ----------------------------------------------------------------------------- data panel


def _two_panels_page():
    import streamlit as st

    from app_pages.components.data_panel import DataPanel
    from engine.data import check_enough_rows

    messages = st.container()
    with st.sidebar:
        left = DataPanel("left_").show(messages)
        right = DataPanel("right_").show(messages, check=lambda d: check_enough_rows(d.X, 5))
    st.session_state["shown"] = (left, right)
    st.session_state["links"] = (DataPanel("left_").link(), DataPanel("right_").link())


@pytest.fixture
def two_panels() -> AppTest:
    at = AppTest.from_function(_two_panels_page, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(at: AppTest):
    return at.session_state["shown"]


def test_two_panels_keep_their_own_controls_and_data(two_panels):
    at = two_panels
    left, right = _shown(at)
    assert left.name == right.name == "blobs"
    at.radio(key="left_source").set_value("Sample table").run()
    at.selectbox(key="left_sample").set_value("wine").run()
    at.selectbox(key="right_gen_kind").set_value("moons").run()
    _press_generate(at, "right_")
    left, right = _shown(at)
    assert (left.name, right.name) == ("wine", "moons")
    assert at.session_state["left_gen_spec"]["kind"] == "blobs"
    assert at.session_state["links"] == (
        {"src": "sample", "sample": "wine", "z": "0"},
        {"src": "generate", "kind": "moons", "n": "300", "c": "4", "f": "2", "std": "0.6",
         "noise": "0.05", "ds": "0", "z": "0"},
    )
    assert not at.error and not at.exception


def _press_generate(at: AppTest, prefix: str) -> AppTest:
    """Press the Generate button of the panel with ``prefix`` (both are labelled alike)."""
    button = next(b for b in at.button if b.label == "Generate data"
                  and b.proto.form_id == f"{prefix}generate_form")
    return button.click().run()


def test_one_panels_check_refuses_its_data_and_keeps_the_last_good_one(two_panels):
    at = two_panels
    before_left, before_right = _shown(at)
    for prefix in ("left_", "right_"):
        at.number_input(key=f"{prefix}gen_n_samples").set_value(3)
        _press_generate(at, prefix)
    left, right = _shown(at)
    assert left.n_samples == 3  # no check on the left
    assert right is before_right  # the right panel's check (K = 5) refused 3 points
    assert any("Lower K to 3" in e.value.replace("\\", "") for e in at.error)
    assert at.session_state["right_data_key"][0] == "generate"


def test_an_upload_in_one_panel_leaves_the_other_alone(two_panels):
    at = two_panels
    _, before_right = _shown(at)
    at.radio(key="left_source").set_value("Upload CSV").run()
    content = b"a,b\n" + b"".join(f"{i},{i % 3}\n".encode() for i in range(12))
    at.file_uploader(key="left_upload").set_value(("points.csv", content, "text/csv")).run()
    left, right = _shown(at)
    assert left.source == "upload" and left.n_samples == 12 and right is before_right
    assert at.session_state["links"][0] == {"z": "0"}  # an upload cannot travel in a link
    bad, expected = CASES["ragged"]
    at.file_uploader(key="left_upload").set_value((upload_name("ragged"), bad, "text/csv")).run()
    assert _shown(at)[0] is left  # the last good data stays
    assert any(expected in e.value.replace("\\", "") for e in at.error)
    assert not at.exception


def test_a_setting_of_another_shape_survives_while_hidden(two_panels):
    # Moons have no "centers": the widget is not drawn, yet its value must come back.
    at = two_panels
    at.number_input(key="right_gen_centers").set_value(6)
    _press_generate(at, "right_")
    at.selectbox(key="right_gen_kind").set_value("moons").run()
    _press_generate(at, "right_")
    assert _shown(at)[1].name == "moons"
    assert not [w for w in at.number_input if w.key == "right_gen_centers"]
    at.selectbox(key="right_gen_kind").set_value("blobs").run()
    assert at.number_input(key="right_gen_centers").value == 6
    _press_generate(at, "right_")
    assert _shown(at)[1].suggested_k == 6


def _lab_source_page():
    import streamlit as st

    from app_pages.components.data_panel import DataPanel

    panel = DataPanel("lab_", lab_source=("The lab's own", "own"))
    with st.sidebar:
        data = panel.show(st.container())
    st.session_state["seen"] = (data, panel.source, panel.standardize, panel.link())


def test_a_labs_own_source_comes_first_and_the_panel_then_builds_nothing():
    at = AppTest.from_function(_lab_source_page, default_timeout=60).run()
    assert at.radio(key="lab_source").options == ["The lab's own", "Generate", "Sample table",
                                                   "Upload CSV"]  # fmt: skip
    assert at.session_state["seen"] == (None, "The lab's own", False, {"src": "own", "z": "0"})
    assert "lab_data" not in at.session_state
    at.toggle(key="lab_standardize").set_value(True).run()
    assert at.session_state["seen"][3] == {"src": "own", "z": "1"}
    at.radio(key="lab_source").set_value("Generate").run()
    data, source, standardize, link = at.session_state["seen"]
    assert (data.name, source, standardize, data.standardized) == ("blobs", "Generate", True,
                                                                   True)  # fmt: skip
    assert link["src"] == "generate"
    at.radio(key="lab_source").set_value("The lab's own").run()
    assert at.session_state["seen"][0] is None
    assert at.session_state["lab_data"] is data  # kept for when the user switches back
    assert not at.exception and not at.error


APP = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "app.py")


@pytest.mark.parametrize("page", ["app_pages/attention.py", "app_pages/fusion.py"])
def test_labs_without_link_settings_open_from_a_bad_link(page):
    """The Attention and Fusion labs read no settings from a link (only the K-means and
    Clustering labs do, tested in their page tests): a bad link's values change nothing
    and break nothing there."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(page)
    at.query_params.update(
        {"seed": "-1", "tol": "nan", "n": "99999999999999999999", "k": "four", "colour": "red",
         "kind": "spiral", "present": "maybe"}
    )  # fmt: skip
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == []
    assert at.title and " lab" in at.title[0].value
