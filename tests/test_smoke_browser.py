"""Every page opens in a real Chromium, finishes rendering and shows no exception."""

import pytest
from browser_util import exceptions, goto

pytestmark = pytest.mark.browser

PAGES = {
    "": "Clustering & Attention Lab",
    "kmeans": "K-means",
    "clustering": "Clustering",
    "attention": "Attention",
    "fusion": "Fusion",
}


@pytest.mark.parametrize("path", list(PAGES), ids=lambda p: p or "home")
def test_page_renders_without_exception(page, app_url, artifacts, path):
    goto(page, f"{app_url}/{path}")
    heading = page.locator("h1").first
    assert PAGES[path].lower() in heading.inner_text().lower()
    page.screenshot(path=artifacts / f"smoke-{path or 'home'}.png", full_page=True)
    assert exceptions(page) == []


def test_home_links_to_every_lab(page, app_url):
    goto(page, app_url)
    hrefs = page.locator('[data-testid="stPageLink"] a').evaluate_all(
        "els => els.map(e => new URL(e.href).pathname)"
    )
    assert {f"/{path}" for path in PAGES if path} <= set(hrefs)
