"""User text with HTML and script payloads is shown literally and never runs, in a real browser.

Every place the Lab shows text a user chose: on the K-means page the file name (title, uploader,
messages) and column names (column picker, chart axes, messages); on the Attention page the
tokens (heatmap axes, sequence picker, query picker, the toy model's refusal message).

"Shown literally" is checked on the DOM's text: the payload is found as text (e.g. an axis tick
whose textContent is ``<b>bold</b>``, or ``&amp;`` with its ampersand), and none of it became
markup: no alert or dialog fired, no ``<img src="x">`` was injected, no ``<b>`` or bold Plotly
``tspan`` holds the word "bold", and no ``<script>`` element carries a payload.
"""

from __future__ import annotations

import re

import pytest
from browser_util import exceptions, goto, wait_for_app
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

TIMEOUT = 60_000

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>bold</b>"
AMP = "&amp;"
PAYLOADS = (IMG, SCRIPT, BOLD, AMP)

ALERT = '[data-testid="stAlert"]'
# The data panel's uploader (the K-means page has a second one, for a run's history file).
UPLOADER = '.st-key-kmeans_upload [data-testid="stFileUploaderDropzoneInput"]'

# Text of every node that shows text: HTML elements and SVG (Plotly) text alike.
TEXTS_JS = """
() => [...document.querySelectorAll('body *')]
    .filter(e => e.children.length === 0 || e.tagName === 'text')
    .map(e => e.textContent)
    .filter(t => t && t.trim())
"""
INJECTED_JS = """
() => ({
  img: document.querySelectorAll('img[src="x"]').length,
  scripts: [...document.querySelectorAll('script')]
      .filter(s => /alert\\(/.test(s.textContent)).length,
  boldTags: [...document.querySelectorAll('b, strong')]
      .filter(e => e.textContent.trim() === 'bold').length,
  boldTspans: [...document.querySelectorAll('tspan, text')]
      .filter(e => /bold/.test(e.getAttribute('style') || '') && e.textContent.trim() === 'bold')
      .length,
  alerts: window.__labAlerts || [],
})
"""


def watch_scripts(page: Page) -> list[str]:
    """Record any dialog or alert() call: either means a payload ran."""
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(
        "window.__labAlerts = [];"
        "window.alert = (m) => { window.__labAlerts.push(String(m)); };"
        "window.confirm = window.prompt = window.alert;"
    )
    return dialogs


def texts(page: Page) -> list[str]:
    return page.evaluate(TEXTS_JS)


def assert_nothing_ran(page: Page, dialogs: list[str]) -> None:
    found = page.evaluate(INJECTED_JS)
    assert dialogs == [] and found["alerts"] == [], f"a payload ran: {dialogs} {found['alerts']}"
    assert found["img"] == 0, "an <img src=x> element was injected"
    assert found["scripts"] == 0, "a <script> element from user text is in the page"
    assert found["boldTags"] == 0 and found["boldTspans"] == 0, "<b>bold</b> was rendered bold"
    assert exceptions(page) == []


def assert_shown_literally(page: Page, payload: str, where: list[str] | None = None) -> None:
    """Some text node shows ``payload`` with every character (tags and entities) intact."""
    pool = texts(page) if where is None else where
    hits = [t for t in pool if payload in t]
    assert hits, f"{payload!r} is not shown as text; near misses: " + repr(
        [t for t in pool if any(w in t for w in ("alert", "bold", "&", "img"))][:15]
    )


# ----------------------------------------------------------------------------- K-means


def open_upload(page: Page, app_url: str) -> None:
    goto(page, f"{app_url}/kmeans", timeout=TIMEOUT)
    page.get_by_role("radiogroup", name="Where the points come from").get_by_text(
        "Upload CSV", exact=True
    ).click()
    expect(page.get_by_text("Choose a CSV file to cluster.")).to_be_visible(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)


def upload(page: Page, name: str, content: bytes) -> None:
    page.locator(UPLOADER).set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )


def two_columns(x: str, y: str) -> bytes:
    """Two numeric columns under hostile names: 2-D data, so the names are the chart axes.

    The header is not quoted (no name holds a comma); quoted names ending in ``;`` are covered
    by test_engine_properties.py."""
    rows = "\n".join(f"{i % 5 + 0.1 * i},{(i * 7) % 11}" for i in range(40))
    return f"{x},{y}\n{rows}\n".encode()


@pytest.mark.parametrize(
    ("file_name", "x", "y"),
    [
        (f"{IMG}{BOLD}.csv", IMG, BOLD),
        (f"{SCRIPT}{AMP}.csv", SCRIPT, AMP),
    ],
    ids=["img-bold", "script-amp"],
)
def test_kmeans_file_and_column_names_show_literally(page, app_url, artifacts, file_name, x, y):
    dialogs = watch_scripts(page)
    open_upload(page, app_url)
    upload(page, file_name, two_columns(x, y))
    # The file loads when the column picker offers its columns.
    picker = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Columns to cluster")
    try:
        expect(picker).to_be_visible(timeout=TIMEOUT)
    except AssertionError:
        raise AssertionError(
            f"the file did not load: {page.locator(ALERT).all_inner_texts()}"
        ) from None
    wait_for_app(page, TIMEOUT)
    assert_nothing_ran(page, dialogs)

    # Column picker: each column name literally.
    chosen = picker.locator('[data-testid="stMultiSelectTagsContainer"]').inner_text()
    assert x in chosen and y in chosen, chosen
    # Chart axes (SVG text of Plotly): each name literally, entities and tags intact.
    axes = page.locator(".g-xtitle text, .g-ytitle text").all_text_contents()
    assert x in axes and y in axes, axes
    # Uploader chip: the file name as the user picked it (cut short on screen, whole in title).
    chip = page.locator('[data-testid="stFileChipName"]').first.get_attribute("title")
    assert chip == file_name, chip
    page.screenshot(path=artifacts / f"xss-kmeans-{x[1:4]}.png", full_page=True)
    assert_nothing_ran(page, dialogs)
    # The title of the results is the file name, as text.
    title = page.locator('[data-testid="stMain"] h3').first.inner_text().strip()
    assert title == file_name, title
    assert_shown_literally(page, file_name)


def test_kmeans_messages_quote_file_and_column_names_literally(page, app_url):
    """A refused file's message names the file and its columns, as text."""
    dialogs = watch_scripts(page)
    open_upload(page, app_url)
    missing = []

    text_only = f"{IMG},{SCRIPT},{BOLD},{AMP}\na,b,c,d\ne,f,g,h\ni,j,k,l\n".encode()
    upload(page, "words.csv", text_only)
    alert = page.locator(ALERT).filter(has_text="no column of numbers").first
    expect(alert).to_be_visible(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    message = alert.inner_text()
    missing += [f'column "{p}"' for p in PAYLOADS if f'"{p}"' not in message]
    assert_nothing_ran(page, dialogs)

    for payload in PAYLOADS:
        name = f"{payload}.csv"
        upload(page, name, b"")
        alert = (
            page.locator(ALERT)
            .filter(has_text="is empty (0 bytes)")
            .filter(has_text=payload.replace("&amp;", "&"))
        )
        expect(alert.first).to_be_visible(timeout=TIMEOUT)
        wait_for_app(page, TIMEOUT)
        if f'"{name}"' not in alert.first.inner_text():
            missing.append(f'file "{name}"')
        assert_nothing_ran(page, dialogs)
    assert missing == [], f"not shown literally in the messages: {missing}; last: {message!r}"


# ----------------------------------------------------------------------------- Attention


def open_free_text(page: Page, app_url: str) -> None:
    goto(page, f"{app_url}/attention", timeout=TIMEOUT)
    page.get_by_role("radiogroup", name="What should attend?").get_by_role(
        "radio", name="Random attention on your own text"
    ).click()
    expect(page.get_by_label("Your text, one sequence per line")).to_be_visible(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)


def test_attention_tokens_show_literally(page, app_url, artifacts):
    dialogs = watch_scripts(page)
    open_free_text(page, app_url)
    page.get_by_role("radiogroup", name="Tokens").get_by_text("whitespace", exact=True).click()
    wait_for_app(page, TIMEOUT)
    lines = [f"{IMG} {BOLD} {AMP}", f"{SCRIPT} {BOLD} end"]
    box = page.get_by_label("Your text, one sequence per line")
    box.fill("\n".join(lines))
    box.press("Control+Enter")
    # Heatmap axes: one tick per token, each literally (whitespace tokens of line 1).
    ticks = page.locator(".xtick text, .ytick text")
    expect(ticks.filter(has_text=re.compile("^" + re.escape(BOLD) + "$")).first).to_be_attached(
        timeout=TIMEOUT
    )
    wait_for_app(page, TIMEOUT)
    assert_nothing_ran(page, dialogs)
    shown = ticks.all_text_contents()
    for token in ("<img", "src=x", "onerror=alert(1)>", BOLD, AMP):
        assert token in shown, (token, sorted(set(shown)))
    # Sequence picker: each line by its tokens, literally; choose the second line.
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Sequence")
    picker.get_by_role("combobox").click()
    options = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
    assert f"1: {lines[0]}" in options and f"2: {lines[1]}" in options, options
    assert_nothing_ran(page, dialogs)
    page.get_by_role("option", name=f"2: {lines[1]}").click()
    expect(ticks.filter(has_text=re.compile("^" + re.escape(SCRIPT) + "$")).first).to_be_attached(
        timeout=TIMEOUT
    )
    wait_for_app(page, TIMEOUT)
    shown = ticks.all_text_contents()
    assert SCRIPT in shown and BOLD in shown and "end" in shown, sorted(set(shown))
    page.screenshot(path=artifacts / "xss-attention.png", full_page=True)
    assert_nothing_ran(page, dialogs)


def test_attention_sequence_picker_shows_the_text_just_typed(page, app_url):
    """After editing the text, the picker's shown value is the new first line, not the old."""
    open_free_text(page, app_url)
    box = page.get_by_label("Your text, one sequence per line")
    box.fill(f"{BOLD} one\ntwo")
    box.press("Control+Enter")
    ticks = page.locator(".xtick text")
    expect(ticks.filter(has_text=re.compile("^one$")).first).to_be_attached(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    combobox = page.locator('[data-testid="stSelectbox"]').filter(has_text="Sequence")
    # The picker names each line by its tokens (the default word tokenizer splits the tags).
    from engine.attention.tokens import tokenize

    first_line = " ".join(tokenize(f"{BOLD} one", "words"))
    expect(combobox.get_by_role("combobox")).to_have_value(f"1: {first_line}", timeout=TIMEOUT)


def test_attention_toy_model_refusal_quotes_the_input_literally(page, app_url):
    """The trained toy models read letters a-z; anything else is named in a message, as text."""
    dialogs = watch_scripts(page)
    goto(page, f"{app_url}/attention", timeout=TIMEOUT)
    box = page.get_by_label(re.compile(r"^Letters a-z, one sequence per line"))
    box.fill(f"{BOLD}{AMP}")
    box.press("Control+Enter")
    alert = page.locator(ALERT).filter(has_text="cannot read this input").first
    expect(alert).to_be_visible(timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)
    message = alert.inner_text()
    for char in ("'<'", "'>'", "'/'", "'&'", "';'"):
        assert char in message, (char, message)
    assert_nothing_ran(page, dialogs)
