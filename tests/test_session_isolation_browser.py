"""Many users at once: sessions never mix, and one page's failure stays on that page.

* Two browser sessions upload different files at the same moment, twice over; each only
  ever shows its own file name, columns, size and J, never the other's.
* A server whose engine is made to fail (a launcher patches one engine function to raise for
  one data set) shows a message on that page, no exception box, and the navigation and the
  other pages keep working; fixing the data brings the page back.
* A fresh server's first visitor to a shared link gets the page, with no dialog in the way.
"""

from __future__ import annotations

import re
import sys
import warnings

import numpy as np
import pytest
from browser_util import exceptions, goto, wait_for_app
from playwright.sync_api import Page, expect
from serving import ROOT, serve_app
from sklearn.exceptions import ConvergenceWarning

from engine.kmeans import KMeans

pytestmark = pytest.mark.browser

TIMEOUT = 60_000
ALERT = '[data-testid="stAlert"]'
# The data panel's uploader (the K-means page has a second one, for a run's history file).
UPLOADER = '.st-key-kmeans_upload [data-testid="stFileUploaderDropzoneInput"]'
# The fit settings the K-means page starts with (K read off the page).
PAGE_FIT = dict(init="random", n_init=1, max_iter=300, tol=1e-4, random_state=0)
SAFETY_NET = "Something went wrong while computing this page"


def open_upload(page: Page, url: str) -> None:
    goto(page, f"{url}/kmeans", timeout=TIMEOUT)
    use_upload(page)


def use_upload(page: Page) -> None:
    page.get_by_role("radiogroup", name="Where the points come from").get_by_text(
        "Upload CSV", exact=True
    ).click()
    expect(page.get_by_text("Choose a CSV file to cluster.")).to_be_visible(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)


def table(columns: tuple[str, str], n_rows: int, seed: int) -> tuple[bytes, np.ndarray]:
    X = np.round(np.random.default_rng(seed).normal(size=(n_rows, 2)) * 10, 3)
    lines = [",".join(columns)] + [f"{a},{b}" for a, b in X]
    return ("\n".join(lines) + "\n").encode(), X


def start_upload(page: Page, name: str, content: bytes) -> None:
    page.locator(UPLOADER).set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )


def metric(page: Page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{label}$"))
    )
    return box.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


def page_text(page: Page) -> str:
    """Everything the page shows as text, SVG (charts) included, plus widget values."""
    return page.evaluate(
        "() => document.body.innerText + ' ' +"
        " [...document.querySelectorAll('svg text')].map(t => t.textContent).join(' ') + ' ' +"
        " [...document.querySelectorAll('input, textarea')].map(i => i.value + ' ' +"
        " (i.title || '')).join(' ') + ' ' +"
        " [...document.querySelectorAll('[title]')].map(e => e.title).join(' ')"
    )


def check_own_results(page: Page, name: str, columns, X: np.ndarray, others: list[str]) -> None:
    main = page.locator('[data-testid="stMain"]')
    expect(main.locator("h3").first).to_have_text(name, timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    assert exceptions(page) == []
    size = main.get_by_text(re.compile(r"^[\d,]+ points × \d+ features")).first.inner_text()
    assert size.startswith(f"{len(X):,} points × 2 features"), size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = KMeans(int(metric(page, "Clusters K")), **PAGE_FIT).fit(X)
    assert metric(page, "Final J") == f"{reference.inertia_:,.3f}"
    axes = page.locator(".g-xtitle text, .g-ytitle text").all_text_contents()
    assert set(columns) <= set(axes), axes
    text = page_text(page)
    leaked = [word for word in others if word in text]
    assert leaked == [], f"{name}'s page shows another session's {leaked}"


def test_two_sessions_uploading_at_once_never_see_each_others_data(browser, app_url):
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in "ab"]
    try:
        pages = [c.new_page() for c in contexts]
        for page in pages:
            open_upload(page, app_url)
        rounds = [
            # (file name, columns, rows, seed) for session a and session b
            (("apples.csv", ("apple_mass", "apple_sugar"), 37, 1),
             ("bolts.csv", ("bolt_length", "bolt_torque"), 53, 2)),
            (("cherries.csv", ("cherry_ph", "cherry_size"), 61, 3),
             ("dynamos.csv", ("dynamo_volts", "dynamo_rpm"), 29, 4)),
        ]  # fmt: skip
        words = {w for r in rounds for (name, cols, _, _) in r for w in (name, *cols)}
        for this_round in rounds:
            files = [table(cols, n, seed) for (_, cols, n, seed) in this_round]
            # Both uploads in flight at once: send both before waiting for either.
            for page, (name, *_), (content, _) in zip(pages, this_round, files, strict=True):
                start_upload(page, name, content)
            for page, (name, cols, _, _), (_, X) in zip(pages, this_round, files, strict=True):
                others = sorted(words - {name, *cols})
                check_own_results(page, name, cols, X, others)
    finally:
        for c in contexts:
            c.close()


# ----------------------------------------------------------------------------- failures

FAILING_ROWS = 47
"""Uploads of exactly this many rows make the patched K-means engine fail."""
FAILING_WORD = "explode"
"""Attention text containing this word makes the patched tokenizer fail."""

# Runs streamlit in a process whose engine fails on purpose for one kind of input. The pages
# look engine functions up at run time (module attribute or a fresh `from ... import`), so
# the patch reaches them, while every other input behaves normally.
LAUNCHER = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import engine.kmeans as ka
import engine.attention.tokens as tokens

_plane_view = ka.make_plane_view
def make_plane_view(X, *args, **kwargs):
    if len(X) == {FAILING_ROWS}:
        raise RuntimeError("injected failure: make_plane_view")
    return _plane_view(X, *args, **kwargs)
ka.make_plane_view = make_plane_view

_tokenize_lines = tokens.tokenize_lines
def tokenize_lines(text, *args, **kwargs):
    if {FAILING_WORD!r} in text:
        raise RuntimeError("injected failure: tokenize_lines")
    return _tokenize_lines(text, *args, **kwargs)
tokens.tokenize_lines = tokenize_lines

from streamlit.web import cli
sys.argv = ["streamlit", "run", {str(ROOT / "app.py")!r}] + sys.argv[1:]
sys.exit(cli.main())
"""


@pytest.fixture(scope="module")
def failing_app_url(tmp_path_factory):
    """A fresh server of the app whose engine fails for one upload size and one word."""
    # The injected failures are logged with their tracebacks, for the teacher, not users.
    log = tmp_path_factory.mktemp("failing") / "server.log"
    with serve_app(log, launcher=[sys.executable, "-c", LAUNCHER]) as url:
        yield url


@pytest.fixture
def fresh_app_url(tmp_path):
    """A server of its own, which no request has reached yet."""
    with serve_app(tmp_path / "server.log") as url:
        yield url


def test_first_visitor_of_a_fresh_server_gets_the_page_without_a_dialog(
    browser, fresh_app_url, artifacts
):
    """The fresh server's first request is a shared link (its own server, so this holds in
    any order: it no longer has to run first in the module)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        goto(page, f"{fresh_app_url}/kmeans", timeout=TIMEOUT)
        page.screenshot(path=artifacts / "first-visitor.png")
        assert "K-means lab" in page.locator("h1").first.inner_text()
        dialogs = page.get_by_role("dialog").all_inner_texts()
        assert dialogs == [], f"the first visitor must close a dialog first: {dialogs}"
    finally:
        context.close()


def nav_to(page: Page, title: str, heading: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    expect(page.locator("h1").first).to_contain_text(heading, timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    assert exceptions(page) == [], f"{title}: {exceptions(page)}"


def safety_net(page: Page):
    return page.locator(ALERT).filter(has_text=SAFETY_NET)


def test_an_engine_failure_is_a_message_on_its_page_and_the_rest_keeps_working(
    page, failing_app_url, artifacts
):
    open_upload(page, failing_app_url)
    content, X = table(("u", "v"), 40, seed=5)
    start_upload(page, "fine.csv", content)
    check_own_results(page, "fine.csv", ("u", "v"), X, [])

    # K-means: the engine fails on this data set.
    bad, _ = table(("u", "v"), FAILING_ROWS, seed=6)
    start_upload(page, "fails.csv", bad)
    expect(safety_net(page).first).to_be_visible(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    page.screenshot(path=artifacts / "engine-failure-kmeans.png", full_page=True)
    assert exceptions(page) == []
    assert "injected failure" not in page_text(page)  # no traceback or internals shown

    # The other pages work, and so does coming back (what is kept on the way is checked by
    # test_navigating_away_and_back_keeps_each_pages_data).
    nav_to(page, "Home", "Clustering & Attention Lab")
    nav_to(page, "Attention lab", "Attention lab")
    assert page.locator(".xtick text").count() > 0, "the attention heatmap should draw"
    nav_to(page, "K-means lab", "K-means lab")

    # Other data on the same page works again.
    use_upload(page)
    start_upload(page, "fine_again.csv", content)
    check_own_results(page, "fine_again.csv", ("u", "v"), X, [])
    assert safety_net(page).count() == 0

    # Attention: the engine fails on this text; the page says so, the rest works.
    nav_to(page, "Attention lab", "Attention lab")
    page.get_by_role("radiogroup", name="What should attend?").get_by_role(
        "radio", name="Random attention on your own text"
    ).click()
    box = page.get_by_label("Your text, one sequence per line")
    expect(box).to_be_visible(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    box.fill(f"please {FAILING_WORD} now")
    box.press("Control+Enter")
    expect(safety_net(page).first).to_be_visible(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    page.screenshot(path=artifacts / "engine-failure-attention.png", full_page=True)
    assert exceptions(page) == []
    box.fill("calm words only")
    box.press("Control+Enter")
    ticks = page.locator(".xtick text")
    expect(ticks.filter(has_text=re.compile("^calm$")).first).to_be_attached(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    assert safety_net(page).count() == 0 and exceptions(page) == []
    nav_to(page, "K-means lab", "K-means lab")


def test_navigating_away_and_back_keeps_each_pages_data(page, app_url):
    """A student's upload and typed text are still there after a visit to another page."""
    lost = []
    open_upload(page, app_url)
    content, X = table(("kept_x", "kept_y"), 33, seed=8)
    start_upload(page, "kept.csv", content)
    check_own_results(page, "kept.csv", ("kept_x", "kept_y"), X, [])

    nav_to(page, "Attention lab", "Attention lab")
    page.get_by_role("radiogroup", name="What should attend?").get_by_role(
        "radio", name="Random attention on your own text"
    ).click()
    box = page.get_by_label("Your text, one sequence per line")
    expect(box).to_be_visible(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    box.fill("my very own words")
    box.press("Control+Enter")
    ticks = page.locator(".xtick text")
    expect(ticks.filter(has_text=re.compile("^own$")).first).to_be_attached(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)

    nav_to(page, "K-means lab", "K-means lab")
    title = page.locator('[data-testid="stMain"] h3').first.inner_text().strip()
    if title != "kept.csv":
        lost.append(f"K-means shows {title!r} instead of the upload kept.csv")
    nav_to(page, "Attention lab", "Attention lab")
    box = page.get_by_label("Your text, one sequence per line")
    if box.count() == 0 or box.input_value() != "my very own words":
        lost.append("Attention lost the typed text (or its mode)")
    assert lost == [], lost
