"""A shared link works as the very first request a fresh server receives.

With a folder named pages/ beside app.py, Streamlit serves a fresh server's first
request the legacy (v1) way: /kmeans opened a "Page not found" dialog or ran the page
without app.py's navigation and page config. Each case here starts its own server so
its request is the first one.
"""

import pytest
from browser_util import exceptions, goto
from serving import serve_app

pytestmark = pytest.mark.browser


LABS = {
    "kmeans": "K-means lab",
    "clustering": "Clustering family lab",
    "attention": "Attention lab",
    "fusion": "Fusion lab",
}


@pytest.mark.parametrize(("path", "heading"), list(LABS.items()))
def test_first_request_to_a_page_gets_the_apps_navigation(browser, path, heading):
    with serve_app() as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        goto(page, f"{url}/{path}")
        assert heading in page.locator("h1").first.inner_text()
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Home" in nav and all(title in nav for title in LABS.values())
        assert page.title() != path  # app.py's page config ran
        assert exceptions(page) == []
        assert page.get_by_role("dialog").all_inner_texts() == []
        context.close()
