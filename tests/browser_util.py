"""Helpers for the Playwright tests: wait for Streamlit to finish and find exceptions."""

from __future__ import annotations

from playwright.sync_api import Page, expect

APP = '[data-testid="stApp"]'


def wait_for_app(page: Page, timeout: float = 60_000) -> None:
    """Wait until the script has run to completion and nothing is still rendering."""
    page.wait_for_selector(f'{APP}[data-test-connection-state="CONNECTED"]', timeout=timeout)
    # The script state goes initial -> running -> notRunning; wait for the end of a run.
    page.wait_for_selector(f'{APP}[data-test-script-state="notRunning"]', timeout=timeout)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=timeout)


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
