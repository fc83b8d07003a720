"""Shared fixtures: a live ``streamlit run app.py`` server and a headless Chromium.

How the server is started and Chromium launched lives in ``tests/serving.py``, shared with
``bench/``; this file only turns it into fixtures.

Browser tests are marked ``browser``. Where Chromium is missing they are skipped
locally, but under CI (``CI`` set to anything but empty, ``0`` or ``false``: see
``serving.in_ci``) a missing browser is a failure, never a skip. ``CHROMIUM=/path`` names
another Chromium (or a missing one, to check that CI fails).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import CHROMIUM, ROOT, SERVE, chromium_launch_options, in_ci, serve_app

ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> Iterator[str]:
    """Start the real app once per test session, served as ``make run`` serves it (``serve.py``),
    and yield its base URL."""
    with serve_app(tmp_path_factory.mktemp("streamlit") / "server.log", launcher=SERVE) as url:
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


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``n`` inside the block, and restored after it."""
    import torch  # here, not at the top: most test modules never need torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """torch on one thread for a module's tests, then the count it had before.

    The small attention models run faster on one thread than split over two busy cores, but
    set at import time the count stayed 1 for every later module, hiding the multi-thread
    paths. Modules opt in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots the browser tests save (look at them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
