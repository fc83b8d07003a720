"""A shared link works as the very first request a fresh server receives.

With a folder named pages/ beside app.py, Streamlit serves a fresh server's first
request the legacy (v1) way: /kmeans opened a "Page not found" dialog or ran the page
without app.py's navigation and page config. Each case here starts its own server so
its request is the first one, served as ``make run`` serves it (``serve.py``): the page
works while the warm-up runs beside it, and every warm-up step succeeds.
"""

import json
import time
from urllib.parse import urlsplit

import pytest
from browser_util import exceptions, goto
from serving import ROOT, SERVE, serve_app

PLOTLY = json.loads((ROOT / "assets" / "plotly" / "plotly-lab.json").read_text())

pytestmark = pytest.mark.browser


LABS = {
    "kmeans": "K-means lab",
    "clustering": "Clustering family lab",
    "attention": "Attention lab",
    "fusion": "Fusion lab",
}


@pytest.mark.parametrize(("path", "heading"), list(LABS.items()))
def test_first_request_to_a_page_gets_the_apps_navigation(browser, path, heading, tmp_path):
    log = tmp_path / "server.log"
    with serve_app(log, launcher=SERVE) as url:
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
        deadline = time.monotonic() + 120
        while "Warm-up done" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
    server_log = log.read_text()
    assert "Warm-up done" in server_log and "failed" not in server_log


def _asked(page) -> list[str]:
    """Paths of the health checks and Plotly chunks the page asks for, in order (record it
    before ``goto``)."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(urlsplit(r.url).path)
            if r.url.endswith("/_stcore/health") or "/PlotlyChart." in r.url else None)  # fmt: skip
    return asked


@pytest.mark.parametrize("base", ["", "lab"])
def test_a_page_finds_the_server_at_once_and_asks_for_plotly_first(browser, base):
    """serve.py's script in each page: the frontend's first health check goes to the app's
    root, never to ``<page>/_stcore/health`` (which failed and cost a 100 ms retry), under a
    ``server.baseUrlPath`` too, and the page still runs as that page; Plotly's chunk is
    asked for before that, with the page, not once the first chart arrives, and it holds
    the Lab's Plotly."""
    root = f"/{base}" if base else ""
    with serve_app(launcher=SERVE, base=base) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        asked = _asked(page)
        goto(page, f"{url}/kmeans")
        assert "K-means lab" in page.locator("h1").first.inner_text()
        assert urlsplit(page.url).path == f"{root}/kmeans"
        (chunk,) = [path for path in asked if "/PlotlyChart." in path]
        assert chunk.startswith(f"{root}/static/js/")
        assert asked == [chunk, f"{root}/_stcore/health"]
        assert page.evaluate("window.__streamlit.BACKEND_BASE_URL") == f"{url}/"
        # The chunk brought the Lab's Plotly (assets/plotly), which drew the page's charts.
        page.locator('[data-testid="stMain"] .js-plotly-plot .main-svg').first.wait_for()
        plotly = page.evaluate("[Plotly.version, Object.keys(Plotly.PlotSchema.get().traces)]")
        assert plotly == [PLOTLY["plotly"], PLOTLY["traces"]]
        # A path that is no page: the server is still found at once, and says so.
        page = context.new_page()
        asked = _asked(page)
        goto(page, f"{url}/no-such-lab")
        assert [path for path in asked if "health" in path] == [f"{root}/_stcore/health"]
        assert "Page not found" in page.get_by_role("dialog").inner_text()
        context.close()
