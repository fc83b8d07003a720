"""Shared fixtures: a live ``streamlit run app.py`` server and a headless Chromium.

How the server is started and Chromium launched lives in ``tests/serving.py``, shared with
``bench/``; this file only turns it into fixtures.

Browser tests are marked ``browser``. Where Chromium is missing they are skipped
locally, but under CI (``CI`` set to anything but empty, ``0`` or ``false``: see
``serving.in_ci``) a missing browser is a failure, never a skip. ``CHROMIUM=/path`` names
another Chromium (or a missing one, to check that CI fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import CHROMIUM, ROOT, chromium_launch_options, in_ci, serve_app

ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> Iterator[str]:
    """Start the real app once per test session and yield its base URL."""
    with serve_app(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (Debian's, never a download)."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}; install Debian's `chromium` package."
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(**chromium_launch_options())
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (a new Streamlit session) per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots the browser tests save (look at them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
