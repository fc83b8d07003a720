"""The K-means page's Elkan tab in a real Chromium at 1440×900: both charts drawn, no error."""

from __future__ import annotations

import pytest
from browser_util import exceptions, goto
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_elkan_tab_shows_skipped_distances_on_the_first_screen(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        goto(page, f"{app_url}/kmeans")
        page.locator('[data-testid="stTab"]', has_text="Elkan").first.click()
        charts = page.locator(".js-plotly-plot")
        expect(charts).to_have_count(2, timeout=60_000)
        expect(page.get_by_text("Distances computed per iteration")).to_be_visible()
        expect(page.get_by_text("uniform noise, 50-D").first).to_be_visible()
        bars = page.locator(".js-plotly-plot").first.locator("g.point")
        assert bars.count() >= 2 * 2  # Lloyd's and Elkan's bar for each of >= 2 iterations
        page.locator('[data-testid="stTab"]', has_text="Elkan").first.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "kmeans-elkan.png")
        assert exceptions(page) == []
        # Both charts sit within the first 900 px once the tab is opened and scrolled to.
        box = charts.first.bounding_box()
        assert box is not None and box["height"] > 300
    finally:
        context.close()
