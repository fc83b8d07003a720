"""charts.attention: figures carry the right numbers, masks, hovers - and tokens as text."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from charts import attention as charts

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ["<b>", "<img src=x onerror=alert(1)>", "&amp;"]


def _rows(n_heads: int, L: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(L), size=(n_heads, L))


def test_head_grid_has_one_heatmap_per_head_on_one_colour_scale():
    w = _rows(6, 5)
    fig = charts.head_grid_figure(w, list("abcde"), list("abcde"), cols=4)
    heatmaps = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == 6
    assert {t.coloraxis for t in heatmaps} == {"coloraxis"}
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1
    for h, t in enumerate(heatmaps):
        np.testing.assert_allclose(np.asarray(t.z, dtype=float), w[h])
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [f"head {h}" for h in range(1, 7)]
    # 6 heads in rows of 4: the sixth heatmap sits in row 2, column 2
    assert heatmaps[5].xaxis == "x6" and fig.layout.xaxis6.domain == fig.layout.xaxis2.domain


def test_stretched_colour_scale_tops_at_the_largest_visible_weight():
    w = np.full((2, 3, 3), 0.2)
    w[1, 2, 0] = 0.6
    fig = charts.head_grid_figure(w, list("abc"), list("abc"), zmax=None)
    assert fig.layout.coloraxis.cmax == pytest.approx(0.6)


def test_hover_reads_query_arrow_key_weight():
    w = _rows(1, 3)
    fig = charts.head_grid_figure(w, ["the", "cat", "sat"], ["the", "cat", "sat"])
    heatmap = fig.data[0]
    # The hover is built from the axes: "%{y} → %{x}: %{z}" reads "cat (1) → the (0): w".
    assert heatmap.hovertemplate.startswith("%{y} → %{x}: %{z:.3f}")
    assert "head 1" in heatmap.hovertemplate
    assert list(heatmap.y)[1] == "cat (1)" and list(heatmap.x)[0] == "the (0)"
    assert heatmap.z[1][0] == pytest.approx(w[0, 1, 0])
    assert heatmap.customdata is None  # nothing is sent per cell but the numbers



def test_causal_and_padding_cells_are_grey_layers_with_a_reason():
    w = np.tril(np.ones((4, 4)))[None] / np.arange(1, 5)[:, None]
    padding = [False, False, False, True]
    fig = charts.head_grid_figure(
        w, list("abc") + ["<pad>"], list("abc") + ["<pad>"], causal=True,
        key_padding=padding, query_padding=padding,
    )  # fmt: skip
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[0, 1]) and np.isnan(z[1, 3]) and np.isnan(z[3, 0])
    assert z[2, 1] == pytest.approx(1 / 3)
    assert not fig.data[0].hoverongaps  # a masked cell's hover is its layer's, below
    layers = {t.name: t for t in fig.data[1:]}
    assert set(layers) == {"masked: causal mask: a future token", "masked: padding key",
                           "masked: padding query (ignored)"}
    for name, (i, j) in (("masked: causal mask: a future token", (0, 1)),
                         ("masked: padding key", (1, 3)),
                         ("masked: padding query (ignored)", (3, 0))):
        layer = layers[name]
        assert np.asarray(layer.z, dtype=float)[i, j] == 1  # grey exactly there
        assert layer.hovertemplate.startswith(f"%{{y}} → %{{x}}: masked ({name[8:]})")
        assert layer.colorscale[0][1] == charts.MASKED_COLOUR
    cells = sum(np.nansum(np.asarray(t.z, dtype=float)) for t in fig.data[1:])
    assert cells == np.isnan(z).sum()  # every masked cell in exactly one layer


def test_repeated_tokens_keep_their_own_rows_and_columns():
    tokens = ["the", "cat", "and", "the", "hat"]
    fig = charts.head_grid_figure(_rows(1, 5), tokens, tokens)
    names = ["the (0)", "cat (1)", "and (2)", "the (3)", "hat (4)"]
    assert list(fig.data[0].x) == names and list(fig.data[0].y) == names
    assert fig.layout.xaxis.type == "category" and list(fig.layout.xaxis.categoryarray) == names
    assert list(fig.layout.xaxis.tickvals) == names
    assert list(fig.layout.xaxis.ticktext) == tokens
    assert list(fig.layout.yaxis.ticktext) == tokens
    assert fig.layout.yaxis.autorange == "reversed"  # first query on top


def test_html_in_tokens_is_escaped_on_axes_and_hover():
    tokens = [*PAYLOADS, "🙂", "שלום", " "]
    fig = charts.head_grid_figure(_rows(2, len(tokens)), tokens, tokens)
    ticktext = list(fig.layout.xaxis.ticktext)
    assert ticktext[:3] == ["&lt;b&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&amp;amp;"]
    assert ticktext[3] == "🙂"
    assert ticktext[4] == "\u2068שלום\u2069"  # isolated, so "→" keeps its place
    assert ticktext[5] == "␣"
    # The hover reads the categories: each is the escaped token and its position.
    second = fig.data[1]
    assert list(second.y)[0] == "&lt;b&gt; (0)"
    assert list(second.x)[1] == "&lt;img src=x onerror=alert(1)&gt; (1)"
    assert list(second.x)[2] == "&amp;amp; (2)"
    text = json.dumps(fig.to_plotly_json(), default=str)
    assert "<img" not in text and "<b>" not in text


def test_head_names_and_titles_are_escaped():
    fig = charts.head_grid_figure(_rows(1, 2), ["x", "y"], ["x", "y"], head_names=["<i>h</i>"])
    assert fig.layout.annotations[0].text == "&lt;i&gt;h&lt;/i&gt;"
    focus = charts.head_focus_figure(_rows(1, 2)[0], ["x", "y"], ["x", "y"], title="<b>t</b>")
    assert focus.layout.title.text == "&lt;b&gt;t&lt;/b&gt;"


def test_long_sequences_label_every_kth_position_but_keep_every_cell():
    L = 200
    tokens = [f"t{i}" for i in range(L)]
    fig = charts.head_focus_figure(_rows(1, L)[0], tokens, tokens)
    assert np.asarray(fig.data[0].z).shape == (L, L)
    ticks = list(fig.layout.xaxis.tickvals)
    k = L // (len(ticks) - 1) if len(ticks) > 1 else L
    assert ticks[:2] == ["t0 (0)", f"t{k} (1)".replace("(1)", f"({k})")]
    assert fig.layout.xaxis.ticktext[1] == f"t{k}"
    # As many labels as fit the map at 14+ px each; every cell keeps its own category.
    assert len(ticks) * charts.LABEL_PX <= 640 and len(fig.data[0].x) == L
    assert fig.data[0].texttemplate is None  # too many cells to print values


def test_single_characters_stand_upright_and_long_words_slant():
    letters = list("abcdefghijklmnopqrstuvwxyzabcdefghijklmnop")  # 42 single characters
    fig = charts.head_grid_figure(_rows(2, len(letters)), letters, letters)
    assert fig.layout.xaxis.tickangle == 0 and fig.layout.xaxis2.tickangle == 0
    words = ["internationalisation", "of", "attention", "maps"]
    fig = charts.head_grid_figure(_rows(4, 4), words, words)
    assert fig.layout.xaxis.tickangle == -60
    short = ["a", "cat", "sat"]
    assert charts.head_grid_figure(_rows(2, 3), short, short).layout.xaxis.tickangle == 0


def test_eight_heads_leave_room_for_titles_and_labels_between_rows():
    words = ["transformers", "attend", "to", "everything"]
    fig = charts.head_grid_figure(_rows(8, 4), words, words)
    rows = sorted({tuple(fig.layout[f"yaxis{i if i > 1 else ''}"].domain) for i in range(1, 9)})
    # rows[0] is the lower row of maps: its top must stay clear of the upper row's bottom
    gap_px = (rows[1][0] - rows[0][1]) * (fig.layout.height - fig.layout.margin.t
                                           - fig.layout.margin.b)
    assert gap_px >= 34 + 12 * charts.CHAR_PX * 0.8  # a title and slanted labels fit
    assert all(a.yanchor == "bottom" and a.yshift >= 4 for a in fig.layout.annotations)
    assert fig.layout.coloraxis.colorbar.title.side == "top"

def test_focus_prints_values_in_small_maps():
    w = _rows(1, 3)[0]
    fig = charts.head_focus_figure(w, list("abc"), list("abc"), causal=True)
    text = np.asarray(fig.data[0].text)
    assert text[1, 0] == f"{w[1, 0]:.2f}" and text[0, 2] == ""  # masked cell stays empty


def test_matrix_figure_draws_minus_infinity_as_masked():
    m = np.array([[0.5, -np.inf], [-1.0, 2.0]])
    fig = charts.matrix_figure(m, ["<b>", "x"], ["<b>", "x"], title="scores")
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[0, 1]) and z[1, 1] == 2.0
    assert list(fig.data[0].y) == ["&lt;b&gt; (0)", "x (1)"]
    assert fig.data[0].hovertemplate.startswith("%{y} · %{x}: %{z:.3f}")
    masked = fig.data[1]
    assert np.asarray(masked.z, dtype=float)[0, 1] == 1 and "−∞ (masked)" in masked.hovertemplate
    assert fig.data[0].zmid == 0 and fig.data[0].zmax == 2.0 and fig.data[0].zmin == -2.0
    numbered = charts.matrix_figure(np.ones((3, 4)), None)
    assert list(numbered.data[0].y) == ["0", "1", "2"]
    assert list(numbered.data[0].x) == ["d0", "d1", "d2", "d3"]
    assert numbered.layout.yaxis.type == "category"  # "0", "1" stay names, not numbers
    assert numbered.data[0].showscale is False  # a constant matrix needs no colour bar

def test_metric_bars_are_coloured_by_group():
    fig = charts.head_metric_figure(
        [0.1, 0.5, 0.2], ["h1", "h2", "h3"], metric="Entropy", groups=[0, 1, 0]
    )
    bar = fig.data[0]
    np.testing.assert_allclose(bar.y, [0.1, 0.5, 0.2])
    assert bar.marker.color[0] == bar.marker.color[2] != bar.marker.color[1]
    assert list(bar.customdata) == ["group 1", "group 2", "group 1"]


def test_similarity_heatmap_orders_heads_by_group():
    d = np.array([[0, 0.9, 0.1], [0.9, 0, 0.8], [0.1, 0.8, 0]])
    fig = charts.head_similarity_figure(d, ["h1", "h2", "h3"], [0, 1, 0])
    assert list(fig.data[0].x) == ["h1 (g1)", "h3 (g1)", "h2 (g2)"]
    np.testing.assert_allclose(fig.data[0].z, d[np.ix_([0, 2, 1], [0, 2, 1])])


def test_key_attention_bars_use_positions_and_escaped_tokens():
    fig = charts.key_attention_figure([0.2, 0.8], ["<b>", "<b>"], title="paid by <q>")
    assert list(fig.data[0].x) == [0, 1]
    assert list(fig.data[0].customdata) == ["&lt;b&gt;", "&lt;b&gt;"]
    assert fig.layout.title.text == "paid by &lt;q&gt;"


def test_charts_module_imports_no_streamlit():
    tree = ast.parse((ROOT / "charts" / "attention.py").read_text())
    names = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert "streamlit" not in names and "torch" not in names
