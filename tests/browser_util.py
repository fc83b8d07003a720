"""Helpers for the Playwright tests: wait for Streamlit to finish and find exceptions."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

APP = '[data-testid="stApp"]'


def wait_for_app(page: Page, timeout: float = 60_000) -> None:
    """Wait until the script has run to completion and nothing is still rendering."""
    page.wait_for_selector(f'{APP}[data-test-connection-state="CONNECTED"]', timeout=timeout)
    # The script state goes initial -> running -> notRunning; wait for the end of a run.
    page.wait_for_selector(f'{APP}[data-test-script-state="notRunning"]', timeout=timeout)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=timeout)


class ServerFrames:
    """How many websocket frames a page has received from the server so far.

    A widget's new value reaches the server with the script run it causes, and the server
    answers that run in frames. The page's script-state attribute does not show every run:
    watched for a "running" state (as this project's tests and bench once did), 3 of 6
    students' choices in ``bench/load.py``'s class went unseen although the page had run
    them. Counting the server's frames sees every answer. Create it before the page opens
    its websocket (before ``goto``).
    """

    def __init__(self, page: Page) -> None:
        self.count = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._received))

    def _received(self, _payload: object) -> None:
        self.count += 1


def rerun_after(page: Page, frames: ServerFrames, action, timeout: float = 60_000) -> None:
    """Do ``action`` (a callable) and wait for the server's answer to the run it causes,
    then for the page to finish that run."""
    before = frames.count
    action()
    deadline = time.monotonic() + timeout / 1000
    while frames.count == before:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer from the server within {timeout / 1000:.0f} s")
        page.wait_for_timeout(20)
    wait_for_app(page, timeout)


def goto(page: Page, url: str, timeout: float = 60_000) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_for_app(page, timeout)


def exceptions(page: Page) -> list[str]:
    """Texts of every Streamlit exception box on the page (should be empty)."""
    return page.locator('[data-testid="stException"]').all_inner_texts()


def runs_as_formula(cell: str) -> bool:
    """Whether a spreadsheet would run this CSV cell (a leading = + - @ tab or CR, no number)."""
    if cell[:1] not in ("=", "+", "-", "@", "\t", "\r"):
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False
