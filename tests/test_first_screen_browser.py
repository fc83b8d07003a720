"""What each lab shows on its first screen, in a real Chromium at 1440×900 and 1280×720.

The point of each lab belongs above the fold: the K-means lab's clusters beside the J curve
(and "Run K-means" within reach), the Attention lab's first grid of heads. Charts must read
from the back of a room: tick and token labels at least 14 px in a dark colour, hover labels
at least 14 px, head titles clear of each other and of the labels. Presenter mode folds the
sidebar away and puts the headline chart first; the open tab survives a visit to the other
lab. Every test saves screenshots to tests/artifacts/ (look at them).
"""

from __future__ import annotations

import pytest
from browser_util import exceptions, wait_for_app
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

VIEWPORTS = ((1440, 900), (1280, 720))
MIN_LABEL_PX = 14

# Every tick label of every visible chart in the main area: size and fill colour.
TICK_LABELS = """() => [...document.querySelectorAll('[data-testid=stMain] .js-plotly-plot')]
  .filter(gd => gd.checkVisibility())
  .flatMap(gd => [...gd.querySelectorAll('.xtick text, .ytick text')])
  .map(t => ({text: t.textContent, size: parseFloat(getComputedStyle(t).fontSize),
              fill: getComputedStyle(t).fill}))"""
HOVER_SIZES = """() => [...document.querySelectorAll('[data-testid=stMain] .js-plotly-plot')]
  .filter(gd => gd.checkVisibility()).map(gd => gd._fullLayout.hoverlabel.font.size)"""


def box(page: Page, selector: str) -> dict:
    """The bounding box of the first element matching ``selector`` (it must exist)."""
    found = page.locator(selector).first
    expect(found).to_be_visible(timeout=60_000)
    return found.bounding_box()


def on_screen(b: dict, height: int, *, whole: bool) -> bool:
    """Whether a box is inside the first screen: entirely, or with its top on it."""
    return b["y"] >= 0 and (b["y"] + b["height"] <= height if whole else b["y"] < height - 100)


def luminance(css_rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in css_rgb.strip("rgba() ").split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def assert_readable_labels(page: Page) -> None:
    labels = [t for t in page.evaluate(TICK_LABELS) if t["text"].strip()]
    assert labels, "no tick labels found"
    small = [t for t in labels if t["size"] < MIN_LABEL_PX]
    assert not small, small[:5]
    pale = [t for t in labels if luminance(t["fill"]) > 0.3]
    assert not pale, pale[:5]
    assert min(page.evaluate(HOVER_SIZES)) >= MIN_LABEL_PX


def open_first_screen(browser, url: str, width: int, height: int) -> tuple:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    wait_for_app(page)
    page.wait_for_timeout(800)  # charts lay out to their final size
    return context, page


def test_kmeans_first_screen_shows_the_clusters_beside_the_j_curve(browser, app_url, artifacts):
    for width, height in VIEWPORTS:
        context, page = open_first_screen(browser, f"{app_url}/kmeans", width, height)
        scatter = box(page, ".st-key-kmeans_result_chart .js-plotly-plot")
        j_curve = box(page, ".st-key-kmeans_result_j_chart .js-plotly-plot")
        page.screenshot(path=artifacts / f"first-screen-kmeans-{width}x{height}.png")
        whole = (width, height) == (1440, 900)
        assert on_screen(scatter, height, whole=whole), scatter
        assert on_screen(j_curve, height, whole=whole), j_curve
        assert abs(scatter["y"] - j_curve["y"]) < 2 and j_curve["x"] > scatter["x"]  # side by side
        run = box(page, 'button:has-text("Run K-means")')
        assert on_screen(run, height, whole=True), run
        # Every metric shows its whole value (nothing cut to "conver…").
        cut = page.locator('[data-testid="stMetricValue"]').evaluate_all(
            "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)")
        assert cut == []
        # The J curve marks where the shown result is, and J's fall takes several iterations.
        names = page.locator(".st-key-kmeans_result_j_chart .legendtext").all_text_contents()
        assert "you are here" in names
        ticks = page.locator(".st-key-kmeans_result_j_chart .xtick text").all_text_contents()
        assert ticks and all(t.isdigit() for t in ticks) and int(ticks[-1]) >= 5
        assert_readable_labels(page)
        assert exceptions(page) == []
        context.close()


def test_attention_first_screen_shows_the_heads(browser, app_url, artifacts):
    for width, height in VIEWPORTS:
        context, page = open_first_screen(browser, f"{app_url}/attention", width, height)
        grid = box(page, ".st-key-attention_grid_chart .js-plotly-plot")
        page.screenshot(path=artifacts / f"first-screen-attention-{width}x{height}.png")
        assert on_screen(grid, height, whole=(width, height) == (1440, 900)), grid
        assert page.locator(".st-key-attention_grid_chart .heatmaplayer").count() >= 2
        assert_readable_labels(page)
        # Single letters stand upright: no tick label is rotated.
        rotated = page.locator(".st-key-attention_grid_chart .xtick text[transform*=rotate]")
        assert rotated.count() == 0
        assert exceptions(page) == []
        context.close()


def overlaps(a: dict, b: dict, gap: float = 0.0) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] + gap <= b["y"] or b["y"] + b["height"] + gap <= a["y"])


def test_eight_heads_keep_their_titles_clear(browser, app_url, artifacts):
    context, page = open_first_screen(browser, f"{app_url}/attention", 1440, 900)
    page.get_by_role("radio", name="Random attention on your own text").click()
    wait_for_app(page)
    heads = page.get_by_label("Heads", exact=True)
    heads.fill("8")
    heads.press("Tab")
    wait_for_app(page)
    text = page.get_by_label("Your text, one sequence per line", exact=False)
    text.fill("transformers attend to everything at once")
    text.press("Control+Enter")
    page.wait_for_timeout(400)
    wait_for_app(page)
    chart = page.locator(".st-key-attention_grid_chart .js-plotly-plot")
    expect(chart.locator(".heatmaplayer")).to_have_count(8, timeout=30_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=artifacts / "attention-eight-heads.png")
    titles = [t.bounding_box() for t in chart.locator(".annotation-text").all()]
    labels = [t.bounding_box() for t in chart.locator(".xtick text, .ytick text").all()]
    maps = [m.bounding_box() for m in chart.locator(".nsewdrag").all()]
    assert len(titles) == 8 and len(maps) == 8
    for i, title in enumerate(titles):
        assert not any(overlaps(title, other) for other in titles[i + 1:])
        assert not any(overlaps(title, label) for label in labels)
        assert not any(overlaps(title, m, gap=2) for m in maps)  # never touching a map
    assert_readable_labels(page)
    assert exceptions(page) == []
    context.close()


def test_presenter_mode_and_the_open_tab_across_pages(browser, app_url, artifacts):
    context, page = open_first_screen(browser, f"{app_url}/kmeans?present=1", 1440, 900)
    expect(page.locator('[data-testid="stSidebar"]')).to_have_attribute(
        "data-collapsed", "true")
    chart = box(page, ".st-key-kmeans_head_chart .js-plotly-plot")
    assert chart["y"] < box(page, "h1")["y"]  # the headline chart first
    sizes = [t["size"] for t in page.evaluate(TICK_LABELS)]
    assert min(sizes) >= 18  # larger type
    page.screenshot(path=artifacts / "presenter-kmeans-1440x900.png")
    assert "present=1" in page.url

    # Presenter mode off again; then the open tab outlives a visit to the other lab.
    page.goto(f"{app_url}/kmeans?present=0", wait_until="domcontentloaded")
    wait_for_app(page)
    page.locator('[data-testid="stTab"]', has_text="Convergence").click()
    wait_for_app(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Attention lab").click()
    wait_for_app(page)
    page.locator('[data-testid="stTab"]', has_text="Head statistics").click()
    wait_for_app(page)
    nav.get_by_text("K-means lab").click()
    wait_for_app(page)
    expect(page.locator('[data-testid="stTab"][aria-selected="true"]')).to_have_text(
        "Convergence")
    nav.get_by_text("Attention lab").click()
    wait_for_app(page)
    expect(page.locator('[data-testid="stTab"][aria-selected="true"]')).to_contain_text(
        "Head statistics")
    assert exceptions(page) == []
    context.close()
