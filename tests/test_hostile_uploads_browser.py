"""Every malformed, hostile and valid upload of ``bad_files.py`` through the real uploader.

Each case goes through ``st.file_uploader`` on the K-means page in Chromium, the way a student's
file does. For each: the page shows the expected message (or, for a valid file, the right
result), never an exception box, no script runs, and what was on the page before survives: a
refused file leaves the previous data set and its results (title, size, J, iterations) exactly
as they were.

One browser page takes every case in turn (a new upload replaces the last one), so the whole
table costs one page load plus one rerun per file. The cases are split into a few tests so a
failure names its group, and each group starts from the default blobs.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import pytest
from bad_files import BAD, CASES, GOOD, PAGE_K, load_for_page, upload_name
from browser_util import exceptions, goto, wait_for_app
from playwright.sync_api import Page, expect
from sklearn.exceptions import ConvergenceWarning

from engine.data import DataError, content_digest
from engine.kmeans import KMeans

pytestmark = pytest.mark.browser

# Generous for a shared 2-core runner; a failing wait costs this long, so not more.
RERUN_TIMEOUT = 60_000
# A 1,000,000-row file is 8 MB to send and parse.
BIG_FILE_TIMEOUT = 180_000
BIG_FILES = ("too_many_rows",)

# The fit settings the page starts with; a valid upload is checked against the engine run
# with them (K is read off the page).
PAGE_FIT = dict(init="random", n_init=1, max_iter=300, tol=1e-4, random_state=0)

# The data panel's uploader (the K-means page has a second one, for a run's history file).
UPLOADER = '.st-key-kmeans_upload [data-testid="stFileUploaderDropzoneInput"]'
ALERT = '[data-testid="stAlert"]'
METRIC = '[data-testid="stMetric"]'


@dataclass(frozen=True)
class Shown:
    """What the page shows about the data set and fit currently held."""

    title: str
    size: str
    final_j: str
    iterations: str
    k: str


def shown(page: Page) -> Shown:
    main = page.locator('[data-testid="stMain"]')
    size = main.get_by_text(re.compile(r"^[\d,]+ points × \d+ features")).first.inner_text()
    return Shown(
        title=main.locator("h3").first.inner_text().strip(),
        size=size.strip(),
        final_j=metric(page, "Final J"),
        iterations=metric(page, "Iterations"),
        k=metric(page, "Clusters K"),
    )


def metric(page: Page, label: str) -> str:
    box = page.locator(METRIC).filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{label}$"))
    )
    return box.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


def open_upload_mode(page: Page, app_url: str) -> Shown:
    """Open the K-means page on its default blobs, then switch the data source to upload."""
    goto(page, f"{app_url}/kmeans", timeout=RERUN_TIMEOUT)
    before = shown(page)
    assert before.final_j and before.iterations, "the default blobs should show a fit"
    page.get_by_role("radiogroup", name="Where the points come from").get_by_text(
        "Upload CSV", exact=True
    ).click()
    expect(page.get_by_text("Choose a CSV file to cluster.")).to_be_visible(timeout=RERUN_TIMEOUT)
    wait_for_app(page, RERUN_TIMEOUT)
    # Choosing where data comes from changes nothing until a file arrives.
    assert shown(page) == before
    return before


def upload(page: Page, name: str) -> None:
    content, _ = CASES[name]
    page.locator(UPLOADER).set_input_files(
        {"name": upload_name(name), "mimeType": "text/csv", "buffer": content}
    )


def expected_message(name: str) -> str:
    """The full message the page must show for a refused case (engine's own words)."""
    content, _ = CASES[name]
    try:
        load_for_page(content, filename=upload_name(name), k=PAGE_K)
    except DataError as exc:
        return str(exc)
    raise AssertionError(f"case {name!r} should be refused by the engine")


def normalise(text: str) -> str:
    return " ".join(text.split())


def check_refused(page: Page, name: str, before: Shown) -> None:
    _, expected = CASES[name]
    full = normalise(expected_message(name))
    assert expected in full, f"bad_files expects {expected!r} but the engine says {full!r}"
    # Wait for this case's own message: it names the file or differs from the last case's.
    alert = page.locator(ALERT).filter(has_text=full[:120])
    timeout = BIG_FILE_TIMEOUT if name in BIG_FILES else RERUN_TIMEOUT
    try:
        expect(alert.first).to_be_visible(timeout=timeout)
    except AssertionError:
        seen = [normalise(t) for t in page.locator(ALERT).all_inner_texts()]
        raise AssertionError(
            f"{name}: no message containing {expected!r}; the page shows {seen}, "
            f"exceptions {exceptions(page)}"
        ) from None
    wait_for_app(page, timeout)
    assert exceptions(page) == [], name
    texts = [normalise(t) for t in page.locator(ALERT).all_inner_texts()]
    assert any(expected in t for t in texts), (name, texts)
    assert shown(page) == before, f"{name}: the previous data and results changed"


def check_loaded(page: Page, name: str) -> Shown:
    content, _ = CASES[name]
    features = load_for_page(content, filename=upload_name(name), k=PAGE_K)
    n, d = features.X.shape
    title = upload_name(name)
    main = page.locator('[data-testid="stMain"]')
    try:
        expect(main.locator("h3").first).to_have_text(title, timeout=RERUN_TIMEOUT)
    except AssertionError:
        seen = [normalise(t) for t in page.locator(ALERT).all_inner_texts()]
        raise AssertionError(
            f"{name}: a valid file did not load; messages {seen}, exceptions {exceptions(page)}"
        ) from None
    wait_for_app(page, RERUN_TIMEOUT)
    assert exceptions(page) == [], name
    now = shown(page)
    assert now.size.startswith(f"{n:,} points × {d} features"), (name, now.size)
    k = int(now.k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = KMeans(k, **PAGE_FIT).fit(features.X)
    assert now.final_j == f"{reference.inertia_:,.3f}", (name, now.final_j)
    assert now.iterations == str(reference.n_iter_), (name, now.iterations)
    errors = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    assert errors == [], f"{name}: a valid file left error messages {errors}"
    return now


def check_nothing_ran(page: Page, dialogs: list[str]) -> None:
    assert dialogs == [], f"a script ran: {dialogs}"
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("() => window.__labAlerts || []") == []


def watch_scripts(page: Page) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(
        "window.__labAlerts = [];window.alert = (m) => window.__labAlerts.push(String(m));"
    )
    return dialogs


def run_cases(page: Page, app_url: str, names: list[str]) -> None:
    dialogs = watch_scripts(page)
    before = open_upload_mode(page, app_url)
    for name in names:
        upload(page, name)
        if CASES[name][1] is None:
            before = check_loaded(page, name)
        else:
            check_refused(page, name, before)
        check_nothing_ran(page, dialogs)


def _digest(name: str) -> str:
    content, _ = CASES[name]
    return content_digest(load_for_page(content, filename=upload_name(name)).X)


def _valid_order() -> list[str]:
    """Every valid case, ordered so that two in a row never hold the same numbers.

    Most valid cases are one table written in different encodings and separators; a file
    whose numbers equal the last fit's is a separate check
    (:func:`test_a_new_file_with_the_same_numbers_shows_its_own_name`). Where a bucket of equal
    tables outnumbers the rest, a case from another bucket is uploaded again between them.
    """
    buckets: dict[str, list[str]] = {}
    for name in GOOD:
        buckets.setdefault(_digest(name), []).append(name)
    order: list[str] = []
    last = None
    while any(buckets.values()):
        choices = sorted(
            (d for d in buckets if buckets[d] and d != last), key=lambda d: -len(buckets[d])
        )
        if choices:
            last = choices[0]
            order.append(buckets[last].pop(0))
        else:  # only equal tables left: put any other valid table between them
            other = next(n for n in GOOD if _digest(n) != last)
            order.append(other)
            last = _digest(other)
    return order


def _groups(n_groups: int = 4) -> dict[str, list[str]]:
    """All cases, a valid file after every few refusals, in a few groups (one page each).

    A refusal after the default blobs and after an upload must both keep what was shown.
    """
    valid = _valid_order()
    refused = list(BAD)
    per_valid = -(-len(refused) // len(valid))
    sequence: list[str] = []
    for i, name in enumerate(valid):
        sequence += refused[i * per_valid : (i + 1) * per_valid] + [name]
    size = -(-len(sequence) // n_groups)
    return {
        f"part{g + 1}of{n_groups}": sequence[g * size : (g + 1) * size] for g in range(n_groups)
    }


GROUPS = _groups()


@pytest.mark.parametrize("group", list(GROUPS))
def test_uploads_give_a_message_or_a_result_and_keep_the_page(page, app_url, artifacts, group):
    try:
        run_cases(page, app_url, GROUPS[group])
    finally:
        page.screenshot(path=artifacts / f"hostile-{group}.png", full_page=True)


def test_a_new_file_with_the_same_numbers_shows_its_own_name(page, app_url):
    """Two files with the same numbers (comma CSV, then semicolon CSV): the page is about the
    file just uploaded, and says nothing about a previous data set or a problem."""
    dialogs = watch_scripts(page)
    open_upload_mode(page, app_url)
    upload(page, "good_comma")
    check_loaded(page, "good_comma")
    upload(page, "good_semicolon_decimal_comma")
    check_loaded(page, "good_semicolon_decimal_comma")
    infos = [normalise(t) for t in page.locator(ALERT).all_inner_texts()]
    assert not any("previous data set" in t for t in infos), infos
    check_nothing_ran(page, dialogs)
