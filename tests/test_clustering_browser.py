"""The Clustering family lab in a real Chromium at 1440 × 900: the grid, every method's
view, a click on a grid cell and on a DBSCAN point, and an uploaded CSV through the data
panel the K-means lab shares (a broken file after it keeps it). Screenshots go to
tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from browser_util import exceptions, goto, wait_for_app
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

METHODS = ("K-means", "DBSCAN", "HDBSCAN", "BIRCH", "Mean-Shift", "GMM", "Ward")
VIEW_TEXT = {  # a sentence each view shows once its figures are computed
    "K-means": "K-means: ",
    "DBSCAN": "core",
    "HDBSCAN": "Same colours in both",
    "BIRCH": "Stage 1",
    "Mean-Shift": "Each seed moves to the mean",
    "GMM": "E-step",
    "Ward": "Ward: ",
}
CSV = ("a,b,c,kind\n" + "".join(
    f"{x},{y},{z},{k}\n" for x, y, z, k in
    [(i % 7 + 10 * (i % 3), i % 5 + 10 * (i % 3), (i * 7) % 11, "abc"[i % 3]) for i in range(90)]
)).encode()


@pytest.fixture
def wide(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def settle(page: Page) -> None:
    page.wait_for_timeout(400)
    wait_for_app(page, timeout=120_000)


def choose(page: Page, label: str, option: str) -> None:
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    combobox = picker.get_by_role("combobox")
    combobox.click()
    if page.get_by_role("option").count() == 0:  # the click focused it without opening it
        combobox.press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def test_grid_and_every_method_view_on_the_standard_shapes(wide, app_url, artifacts):
    goto(wide, f"{app_url}/clustering", timeout=180_000)
    expect(wide.locator("h1").first).to_contain_text("Clustering family lab")
    grid = wide.locator('[data-testid="stPlotlyChart"]').first
    expect(grid).to_contain_text("HDBSCAN")
    expect(grid).to_contain_text("Two moons")
    wide.screenshot(path=artifacts / "clustering-grid.png")  # the first screen, 1440 × 900
    assert exceptions(wide) == []
    for name in METHODS:
        choose(wide, "Method", name)
        expect(wide.get_by_text(VIEW_TEXT[name], exact=False).first).to_be_visible()
        wide.locator("h3", has_text=f"{name} on").first.evaluate(
            "e => e.scrollIntoView({block: 'start'})")
        wide.wait_for_timeout(300)
        wide.screenshot(path=artifacts / f"clustering-view-{name.split()[0].lower()}.png")
        assert exceptions(wide) == []
        assert wide.get_by_text("Something went wrong").count() == 0


def test_a_click_on_a_grid_cell_opens_that_method_on_that_data(wide, app_url):
    goto(wide, f"{app_url}/clustering?pts=300", timeout=180_000)
    cell = 2 * 7 + 2  # third row (circles), HDBSCAN column (third of seven)
    where = """(idx) => {
        const gd = document.querySelector('.js-plotly-plot'), tr = gd._fullData[idx];
        const xa = gd._fullLayout['xaxis' + tr.xaxis.slice(1)];
        const ya = gd._fullLayout['yaxis' + tr.yaxis.slice(1)];
        const r = gd.getBoundingClientRect();
        return [r.left + xa._offset + xa.d2p(tr.x[0]), r.top + ya._offset + ya.d2p(tr.y[0])];
    }"""
    x, y = wide.evaluate(where, cell)
    wide.mouse.move(800, 300)  # over the main column, which scrolls
    wide.mouse.wheel(0, y - 450)  # bring that cell's first point to mid-screen
    wide.wait_for_timeout(500)
    x, y = wide.evaluate(where, cell)
    wide.mouse.click(x, y)
    settle(wide)
    expect(wide.locator("h3", has_text="HDBSCAN on Concentric circles")).to_be_visible()


def test_hdbscan_tree_colours_match_the_scatter_in_the_browser(wide, app_url, artifacts):
    goto(wide, f"{app_url}/clustering?method=hdbscan&row=blobs&pts=300", timeout=180_000)
    expect(wide.get_by_text("Same colours in both")).to_be_visible()
    colors = wide.evaluate("""() => {
        const plots = [...document.querySelectorAll('.js-plotly-plot')];
        const title = p => (p.layout.title && p.layout.title.text) || '';
        const tree = plots.find(p => title(p).startsWith('Condensed'));
        const scatter = plots.find(p => title(p).includes('membership'));
        const s = scatter._fullData[0], scale = s.marker.colorscale;
        const byLabel = {};
        const values = Array.from(s.marker.color), labels = Array.from(s.customdata);
        values.forEach((v, i) => {
            const step = Math.round((v - s.marker.cmin) / (s.marker.cmax - s.marker.cmin)
                                    * (scale.length / 2) - 0.5);
            (byLabel[labels[i]] = byLabel[labels[i]] || new Set()).add(scale[2 * step][1]);
        });
        const filled = tree.data.filter(t => t.meta && t.meta.label !== null)
                                .map(t => [t.meta.label, t.fillcolor]);
        return filled.map(([label, color]) => [label, color, [...byLabel[label]]]);
    }""")
    assert len(colors) >= 2
    for _label, tree_color, scatter_colors in colors:
        assert scatter_colors == [tree_color]
    wide.locator("h3", has_text="HDBSCAN on").first.evaluate(
        "e => e.scrollIntoView({block: 'start'})")
    wide.wait_for_timeout(300)
    wide.screenshot(path=artifacts / "clustering-hdbscan-colours.png")


def upload(page: Page, name: str, content: bytes) -> None:
    dropzone = '.st-key-clustering_upload [data-testid="stFileUploaderDropzoneInput"]'
    page.locator(dropzone).set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    settle(page)


def test_grid_and_views_on_an_uploaded_csv(wide, app_url, artifacts):
    goto(wide, f"{app_url}/clustering?pts=300", timeout=180_000)
    wide.get_by_text("Upload CSV", exact=True).click()
    settle(wide)
    upload(wide, "points.csv", CSV)
    expect(wide.locator("h3", has_text="on points.csv")).to_be_visible(timeout=120_000)
    wide.screenshot(path=artifacts / "clustering-upload-grid.png")
    for name in METHODS:
        choose(wide, "Method", name)
        expect(wide.get_by_text(VIEW_TEXT[name], exact=False).first).to_be_visible()
        assert exceptions(wide) == []
    expect(wide.get_by_text("Projections: the data has more than two features")).to_be_visible()
    field = wide.get_by_label("t-SNE perplexity")
    field.fill("10")  # 90 points allow at most 29.7
    field.press("Tab")
    settle(wide)
    wide.get_by_role("button", name="Run t-SNE").click()
    settle(wide)
    expect(wide.get_by_text("Cluster sizes in a t-SNE picture mean nothing")).to_be_visible()
    wide.get_by_text("t-SNE, perplexity 10").first.evaluate(
        "e => e.scrollIntoView({block: 'start'})")
    wide.wait_for_timeout(300)
    wide.screenshot(path=artifacts / "clustering-upload-tsne.png")
    assert exceptions(wide) == []

    # A broken file next: the panel says why, here and in the sidebar, and keeps points.csv.
    upload(wide, "broken.csv", b"a,b\n1,2\n3\n4,5,6,7\n")
    expect(wide.get_by_text("line 4 has 4 values").first).to_be_visible()
    expect(wide.locator("h3", has_text="on points.csv")).to_be_visible()
    grid = wide.locator('[data-testid="stPlotlyChart"]').first
    expect(grid).to_contain_text("points.csv")
    wide.locator("h1").first.scroll_into_view_if_needed()
    wide.screenshot(path=artifacts / "clustering-upload-broken.png")
    assert exceptions(wide) == []
    assert wide.get_by_text("Something went wrong").count() == 0


def test_a_click_on_a_dbscan_point_draws_its_eps_ball(wide, app_url):
    goto(wide, f"{app_url}/clustering?method=dbscan&row=moons&pts=300", timeout=180_000)
    chart = wide.locator('[class*="st-key-clustering_dbscan_select"] .js-plotly-plot').first
    expect(chart).to_be_visible(timeout=120_000)
    chart.scroll_into_view_if_needed()
    wide.wait_for_timeout(1000)
    point = chart.locator(".scatterlayer .trace .points path").nth(5)
    box = point.bounding_box()
    wide.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    settle(wide)
    caption = wide.get_by_text(re.compile(r"The dotted circle is the ε-ball: point \d+'s"))
    expect(caption).to_be_visible(timeout=60_000)
    clicked = re.search(r"point (\d+)'s", caption.inner_text()).group(1)
    expect(chart.locator(".legendtext", has_text=f"ε-ball of point {clicked}")).to_be_visible()
    assert exceptions(wide) == []
