"""The Attention lab in a real Chromium: heatmaps render, hovers read "query (i) → key (j):
weight", hostile tokens show as literal text and never run, bad input is explained, and
the downloads defuse tokens a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from browser_util import exceptions, goto, runs_as_formula, wait_for_app
from playwright.sync_api import Page, expect

from charts.attention import head_grid_figure

pytestmark = pytest.mark.browser

ISOLATES = re.compile("[\u2066-\u2069]")
HOSTILE = "<b>bold</b> <img src=x onerror=alert(1)> &amp; 🙂 שלום"
HOSTILE_TOKENS = ["<b>bold</b>", "<img", "src=x", "onerror=alert(1)>", "&amp;", "🙂", "שלום"]


def open_lab(page: Page, app_url: str) -> list[str]:
    """Open /attention and return the list that collects any JavaScript dialog."""
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    # The first visit of a fresh server goes to "/" so that app.py's st.navigation is in
    # charge (a first hit on /attention would run the page without app.py).
    goto(page, app_url)
    goto(page, f"{app_url}/attention")
    return dialogs


def screenshot(page: Page, path) -> None:
    """The whole page: Streamlit scrolls inside stMain, so grow the viewport to fit it."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(height, 1000), 8000)})
    page.wait_for_timeout(800)  # charts re-layout to the new size
    page.screenshot(path=path)
    page.set_viewport_size({"width": 1400, "height": 1000})


def settle(page: Page) -> None:
    page.wait_for_timeout(400)  # let the rerun start before waiting for its end
    wait_for_app(page)


def grid_chart(page: Page):
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    expect(chart.locator(".heatmaplayer").first).to_be_visible(timeout=30_000)
    return chart


def tick_texts(chart, axis: str = "xtick") -> list[str]:
    texts = chart.locator(f".{axis} text").all_text_contents()
    return [ISOLATES.sub("", t) for t in texts]


def hover_cell(page: Page, chart, row: int, col: int, n: int) -> str:
    """Move the mouse to cell (row, col) of the first heatmap and read the hover box."""
    drag = chart.locator(".nsewdrag").first
    drag.scroll_into_view_if_needed()
    box = drag.bounding_box()
    x = box["x"] + (col + 0.5) * box["width"] / n
    y = box["y"] + (row + 0.5) * box["height"] / n
    page.mouse.move(x, y)
    hover = chart.locator(".hoverlayer .hovertext").first
    expect(hover).to_be_visible(timeout=10_000)
    return ISOLATES.sub("", hover.text_content())


def test_trained_model_heads_render_with_hover(page, app_url, artifacts):
    dialogs = open_lab(page, app_url)
    chart = grid_chart(page)
    assert page.locator("h1").first.inner_text() == "Attention lab"
    # previous-token model on "attention": 2 heads, 9 letters each way
    assert chart.locator(".heatmaplayer").count() == 2
    assert tick_texts(chart)[:9] == list("attention")
    text = hover_cell(page, chart, row=3, col=2, n=9)
    # query "e" (position 3) looks one step back, at "t" (position 2)
    assert text.startswith("e (3) → t (2): 0.9"), text
    masked = hover_cell(page, chart, row=0, col=5, n=9)
    assert "masked (causal mask: a future token)" in masked
    screenshot(page, artifacts / "attention-heads.png")
    assert exceptions(page) == [] and dialogs == []


def test_hostile_tokens_show_literally_and_never_run(page, app_url, artifacts):
    dialogs = open_lab(page, app_url)
    page.get_by_role("radio", name="Random attention on your own text").click()
    settle(page)
    page.get_by_text("whitespace", exact=True).click()
    settle(page)
    box = page.get_by_label("Your text, one sequence per line (several lines form a padded batch)")
    box.fill(HOSTILE)
    box.press("Control+Enter")
    settle(page)
    chart = grid_chart(page)
    assert tick_texts(chart)[: len(HOSTILE_TOKENS)] == HOSTILE_TOKENS
    assert tick_texts(chart, "ytick")[: len(HOSTILE_TOKENS)] == HOSTILE_TOKENS
    # Plotly turns <b> into a bold <tspan>: tick labels must be plain text, no <img> anywhere
    assert chart.locator(".xtick tspan, .ytick tspan").count() == 0
    assert page.locator("[data-testid='stMain'] img[src='x']").count() == 0
    n = len(HOSTILE_TOKENS)
    text = hover_cell(page, chart, row=0, col=1, n=n)
    assert text.startswith("<b>bold</b> (0) → <img (1): "), text
    hover_box = chart.locator(".hoverlayer .hovertext").first
    assert hover_box.locator("tspan[style*='bold']").count() == 0
    text = hover_cell(page, chart, row=4, col=3, n=n)
    assert text.startswith("&amp; (4) → onerror=alert(1)> (3): "), text
    screenshot(page, artifacts / "attention-hostile-tokens.png")
    page.wait_for_timeout(500)
    assert dialogs == [] and exceptions(page) == []


def test_whole_payload_as_one_token_stays_text_in_plotly(page, artifacts, tmp_path):
    """The same escaping, with each payload as one whole token, in Plotly's own JS."""
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tokens = ["<img src=x onerror=alert(1)>", "<b>", "&amp;", "🙂", "שלום", "<b>"]
    weights = [[[1.0 / len(tokens)] * len(tokens)] * len(tokens)]
    html_file = tmp_path / "figure.html"
    # include_plotlyjs=True inlines plotly.js from the Python package: no network
    head_grid_figure(weights, tokens, tokens).write_html(html_file, include_plotlyjs=True)
    page.goto(html_file.as_uri())
    chart = page.locator(".js-plotly-plot")
    expect(chart.locator(".heatmaplayer")).to_have_count(1)
    assert tick_texts(chart) == tokens  # the repeated "<b>" keeps its own column
    assert chart.locator(".xtick tspan, .ytick tspan").count() == 0
    assert page.locator("img").count() == 0
    text = hover_cell(page, chart, row=0, col=2, n=len(tokens))
    assert text.startswith("<img src=x onerror=alert(1)> (0) → &amp; (2): 0.167"), text
    page.screenshot(path=artifacts / "attention-payload-plotly.png")
    assert dialogs == []


def test_bad_input_is_explained_and_the_page_recovers(page, app_url, artifacts):
    dialogs = open_lab(page, app_url)
    grid_chart(page)
    box = page.get_by_label(re.compile("Letters a-z, one sequence per line"))
    box.fill("Hello <b>World</b>")
    box.press("Control+Enter")
    settle(page)
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="cannot read this input")
    expect(alert).to_be_visible()
    assert "'<'" in alert.inner_text() and "'H'" in alert.inner_text()
    screenshot(page, artifacts / "attention-bad-letters.png")
    box.fill("recovery")
    box.press("Control+Enter")
    settle(page)
    assert tick_texts(grid_chart(page))[:8] == list("recovery")
    assert exceptions(page) == [] and dialogs == []


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1"]


def test_downloads_defuse_formula_tokens(page, app_url, artifacts, tmp_path):
    """Tokens a spreadsheet would run (=HYPERLINK, +1+1) reach the CSV as text; the JSON
    keeps them as typed, with the same weights."""
    dialogs = open_lab(page, app_url)
    page.get_by_role("radio", name="Random attention on your own text").click()
    settle(page)
    page.get_by_text("whitespace", exact=True).click()
    settle(page)
    box = page.get_by_label("Your text, one sequence per line (several lines form a padded batch)")
    box.fill(" ".join(FORMULAS))
    box.press("Control+Enter")
    settle(page)
    chart = grid_chart(page)
    assert tick_texts(chart)[:2] == FORMULAS  # shown literally, quotes included

    with page.expect_download() as info:
        page.get_by_role("button", name="Weights as CSV").click()
    path = tmp_path / "weights.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 4 * 2 * 2  # 4 heads, 2 queries, 2 keys
    cells = [row[c] for row in rows for c in row]
    assert {row["query_token"] for row in rows} == {"'" + t for t in FORMULAS}
    assert {row["key_token"] for row in rows} == {"'" + t for t in FORMULAS}
    assert cells and not [c for c in cells if runs_as_formula(c)]

    with page.expect_download() as info:
        page.get_by_role("button", name="Weights as JSON").click()
    path = tmp_path / "weights.json"
    info.value.save_as(path)
    export = json.loads(path.read_text(encoding="utf-8"))
    assert export["sequences"][0]["tokens"] == FORMULAS  # JSON is not a spreadsheet: as typed
    weights = export["sequences"][0]["weights"]  # (H, L, L)
    for row in rows:
        h, i, j = int(row["head"]) - 1, int(row["query_pos"]), int(row["key_pos"])
        assert abs(weights[h][i][j] - float(row["weight"])) < 1e-6
    screenshot(page, artifacts / "attention-formula-tokens.png")
    assert exceptions(page) == [] and dialogs == []
