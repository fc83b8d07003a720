"""The K-means page in a real Chromium: generate, run, step, play, upload good and bad files."""

from __future__ import annotations

import pytest
from bad_files import CASES, upload_name
from browser_util import exceptions, goto, wait_for_app
from playwright.sync_api import Page, expect

from charts.kmeans_plane import WEBGL_THRESHOLD

pytestmark = pytest.mark.browser

# Malformed uploads the browser checks (tests/test_kmeans_page.py checks them all via
# AppTest); neighbours have different messages, so each wait sees its own message.
MALFORMED = [
    "empty", "header_only", "no_numeric", "one_row", "ragged", "binary", "xlsx_renamed",
    "latin1", "all_identical", "zip_renamed", "fewer_rows_than_k", "html_no_numeric",
    "unclosed_quote",
]
VALID_CSV = b"width;height;kind\n" + b"".join(
    f"{x},5;{y},25;{'ab'[i % 2]}\n".encode()
    for i, (x, y) in enumerate([(1, 1), (2, 1), (1, 2), (9, 9), (8, 9), (9, 8), (1, 9),
                                (2, 8), (9, 1), (8, 2), (5, 5), (4, 5)])
)


def open_kmeans(page: Page, app_url: str) -> None:
    goto(page, f"{app_url}/kmeans")
    expect(page.locator("h1").first).to_contain_text("K-means lab")


def metric(page: Page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def settle(page: Page) -> None:
    """Wait for the rerun a click started to finish."""
    page.wait_for_timeout(300)
    wait_for_app(page)


def set_number(page: Page, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Tab")


def open_tab(page: Page, name: str) -> None:
    page.locator('[data-testid="stTab"]', has_text=name).first.click()
    page.wait_for_timeout(300)


def test_generate_run_step_and_play(page, app_url, artifacts):
    open_kmeans(page, app_url)
    assert metric(page, "Clusters K") == "4"
    page.screenshot(path=artifacts / "kmeans-default.png", full_page=True)

    set_number(page, "Points (n_samples)", 600)
    set_number(page, "Groups (centers)", 5)
    page.get_by_role("button", name="Generate data").click()
    settle(page)
    expect(page.get_by_text("600 points × 2 features")).to_be_visible()

    set_number(page, "Clusters K", 5)
    page.get_by_role("button", name="Run K-means").click()
    settle(page)
    expect(page.locator('[data-testid="stMetric"]', has_text="Clusters K")).to_contain_text("5")
    assert "k=5" in page.url and "n=600" in page.url
    n_iter = int(metric(page, "Iterations"))
    assert n_iter >= 2

    open_tab(page, "Step through")
    thumb = page.locator('[data-testid="stSlider"]', has_text="Iteration").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight")
    settle(page)
    expect(page.locator(".gtitle", has_text="Iteration 2 of")).to_be_visible()
    assert "it=2" in page.url
    page.get_by_text("1 · assignment", exact=True).click()
    settle(page)
    expect(page.locator(".gtitle", has_text="after assignment")).to_be_visible()

    playback = page.locator(".js-plotly-plot", has=page.locator(".updatemenu-button"))
    playback.scroll_into_view_if_needed()
    active = "el => el._fullLayout.sliders[0].active"
    assert playback.evaluate(active) == 0
    playback.locator(".updatemenu-button", has_text="Play").click()
    # Frames are animated in the browser: the slider advances with no server round trip.
    page.wait_for_function(
        "el => el._fullLayout.sliders[0].active >= 2", arg=playback.element_handle(),
        timeout=15_000)
    page.screenshot(path=artifacts / "kmeans-playback.png", full_page=True)
    assert exceptions(page) == []


def test_many_points_are_drawn_with_webgl(page, app_url):
    """Past charts.WEBGL_THRESHOLD points the result is a scattergl trace: the trace type
    the Lab's Plotly bundle (assets/plotly) must carry beside the SVG ones."""
    goto(page, f"{app_url}/kmeans?src=generate&kind=blobs&n={WEBGL_THRESHOLD + 1000}")
    chart = page.locator('[data-testid="stMain"] .js-plotly-plot', has=page.locator(".gl-canvas"))
    expect(chart).to_have_count(1)
    types = chart.evaluate("gd => gd._fullData.map(trace => trace.type)")
    assert types.count("scattergl") == 4  # the clusters of the default blobs
    size = chart.locator("canvas.gl-canvas-context").evaluate("c => [c.width, c.height]")
    assert min(size) > 100
    assert exceptions(page) == []


def upload(page: Page, name: str, content: bytes) -> None:
    dropzone = '.st-key-kmeans_upload [data-testid="stFileUploaderDropzoneInput"]'
    page.locator(dropzone).set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}])


def test_upload_one_valid_and_many_malformed_csv_files(page, app_url, artifacts):
    open_kmeans(page, app_url)
    page.locator('[data-testid="stSidebar"]').get_by_text("Upload CSV").click()
    settle(page)
    assert metric(page, "Clusters K") == "4"  # bad_files.PAGE_K: "fewer rows than K" needs it

    upload(page, "boxes.csv", VALID_CSV)
    expect(page.locator("h3", has_text="boxes.csv")).to_be_visible(timeout=30_000)
    settle(page)
    expect(page.get_by_text("12 points × 2 features")).to_be_visible()
    good_j = metric(page, "Final J")
    page.screenshot(path=artifacts / "kmeans-upload-valid.png", full_page=True)

    for name in MALFORMED:
        content, expected = CASES[name]
        upload(page, upload_name(name), content)
        alert = page.locator('[data-testid="stMain"] [data-testid="stAlert"]',
                             has_text=expected)
        expect(alert.first).to_be_visible(timeout=30_000)
        settle(page)
        assert exceptions(page) == [], name
        assert metric(page, "Final J") == good_j, name
        expect(page.locator("h3", has_text="boxes.csv")).to_be_visible()
        if name in ("ragged", "html_no_numeric"):
            page.screenshot(path=artifacts / f"kmeans-upload-{name}.png", full_page=True)
    # Markup in a file is shown as text, never run.
    assert page.locator('[data-testid="stMain"] img[src="x"]').count() == 0
