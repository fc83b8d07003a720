"""The server's queue for heavy work, seen from two browsers (``admission.py``).

Two students press Retrain in the Attention lab with the same settings: the server trains
once, and both pages show the trained model. The server is this module's own, with a log to
count trainings in and a pool of one worker (``LAB_HEAVY_WORKERS``), as on a 2-core machine.
Every wait is on a condition (a page's state, a line in the log), never a fixed sleep.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_util import ServerFrames, goto, rerun_after, wait_for_app
from playwright.sync_api import Page, expect
from serving import serve_app

pytestmark = pytest.mark.browser

RETRAINED = "Retrained in this session"
STEPS = 50  # the slider's least: a training of well under a second
WAIT_MS = 120_000
DONE = re.compile(r"job attention\.retrain #(\d+) done: .* asked by (\d+) session\(s\); key (.*)")
FROM_CACHE = re.compile(r"job attention\.retrain #(\d+) from the cache")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("queue") / "server.log"
    with serve_app(log, env={"LAB_HEAVY_WORKERS": "1", "LAB_HEAVY_THREADS": "1"}) as url:
        yield url, log


def ready_to_retrain(browser, url: str) -> Page:
    """A new session on the Attention lab with the Retrain panel open at the fewest steps."""
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    frames = ServerFrames(page)
    goto(page, f"{url}/attention", WAIT_MS)
    page.get_by_text("Retrain this model live").click()
    slider = page.get_by_role("slider", name="Training steps")
    slider.focus()
    rerun_after(page, frames, lambda: slider.press("Home"), WAIT_MS)
    expect(slider).to_have_value(str(STEPS))
    return page


def accuracy(page: Page) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Held-out accuracy")
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def log_lines(log: Path, since: int, pattern: re.Pattern) -> list[re.Match]:
    return list(pattern.finditer(log.read_bytes()[since:].decode(errors="replace")))


def test_two_students_retraining_alike_share_one_training(server, browser, artifacts):
    url, log = server
    first, second = ready_to_retrain(browser, url), ready_to_retrain(browser, url)
    since = log.stat().st_size
    try:
        first.get_by_role("button", name="Retrain", exact=True).click()
        # The server has the first job: its waiting panel, or already its result.
        expect(first.get_by_role("button", name="Stop").or_(
            first.get_by_role("radio", name=RETRAINED, checked=True))).to_be_attached(
            timeout=WAIT_MS)  # fmt: skip
        second.get_by_role("button", name="Retrain", exact=True).click()
        for page in (first, second):
            expect(page.get_by_role("radio", name=RETRAINED)).to_be_checked(timeout=WAIT_MS)
            wait_for_app(page, WAIT_MS)
            assert not page.locator('[data-testid="stException"]').count()
        assert accuracy(first) == accuracy(second)
        second.screenshot(path=str(artifacts / "queue_shared_retraining.png"))

        # One training, for both: the second joined it (asked by 2) or got it from the cache.
        # The log line follows the result by a moment: wait for it, bounded.
        deadline = time.monotonic() + WAIT_MS / 1000
        while not (done := log_lines(log, since, DONE)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(done) == 1, [m.group(0) for m in done]
        assert done[0].group(3).startswith(f"('previous_token', {STEPS}, 1)")
        hits = [m for m in log_lines(log, since, FROM_CACHE) if m.group(1) == done[0].group(1)]
        assert int(done[0].group(2)) + len(hits) == 2
    finally:
        first.context.close()
        second.context.close()
