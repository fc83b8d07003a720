"""Closed sessions are released after their TTL, even when nobody else connects.

The unit tests use Streamlit's own session store and TTL cache (pinned in
requirements.txt), so an upgrade that changes what housekeeping relies on fails here.
The browser test runs the real server with a 2-second session TTL and reads from its log
that a closed tab's session was released with no other visitor arriving.
"""

from __future__ import annotations

import gc
import logging
import re
import sys
import threading
import time
import weakref

import pytest
from browser_util import goto
from playwright.sync_api import expect
from serving import serve_app
from streamlit.runtime.caching.ttl_cache import TTLCache
from streamlit.runtime.memory_session_storage import MemorySessionStorage
from streamlit.runtime.session_manager import SessionInfo
from streamlit.testing.v1 import AppTest

import housekeeping

TTL = 120.0


class _Session:
    """Stands in for an AppSession: an id, and state that refers back to it (a cycle)."""

    def __init__(self, session_id: str) -> None:
        self.id = session_id
        self.state = {"owner": self, "data": bytearray(1 << 20)}


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _storage_with_clock() -> tuple[MemorySessionStorage, _Clock]:
    """Streamlit's session store, on a clock the test moves."""
    storage, clock = MemorySessionStorage(ttl_seconds=int(TTL)), _Clock()
    storage._cache = TTLCache(maxsize=128, ttl=TTL, timer=clock)
    return storage, clock


def _close_tab(storage: MemorySessionStorage, session_id: str) -> weakref.ref:
    """Store a session the way the server does when its tab closes."""
    session = _Session(session_id)
    storage.save(SessionInfo(client=None, session=session, script_run_count=1))
    return weakref.ref(session)


def test_streamlit_keeps_expired_sessions_until_someone_writes_to_the_store():
    """Why housekeeping exists: expiry alone frees nothing."""
    storage, clock = _storage_with_clock()
    session = _close_tab(storage, "closed-tab")
    clock.now += TTL + 1
    assert storage.get("closed-tab") is None and storage.list() == []  # reported as gone...
    gc.collect()
    assert session() is not None  # ...yet still held in memory


def test_reaping_releases_expired_sessions_and_keeps_the_rest():
    storage, clock = _storage_with_clock()
    closed = [_close_tab(storage, f"closed-{i}") for i in range(3)]
    clock.now += TTL / 2
    recent = _close_tab(storage, "recent")
    clock.now += TTL / 2 + 1  # the first three expired, "recent" has TTL / 2 left

    assert housekeeping.reap_expired_sessions(storage) == 3
    assert housekeeping.reap_expired_sessions(storage) == 0
    gc.collect()
    assert [ref() for ref in closed] == [None, None, None]
    assert recent() is not None and storage.get("recent").session is recent()


def test_release_memory_reports_the_resident_size():
    if sys.platform == "linux":
        # glibc, as in the Docker image
        assert housekeeping._malloc_trim is not None and housekeeping._mallopt is not None
    rss_kib = housekeeping.release_memory()
    assert 10_000 < rss_kib < 100_000_000  # a Python process with numpy and torch loaded


def test_start_does_nothing_outside_a_running_server():
    assert housekeeping.start() is False
    assert "lab-housekeeping" not in [t.name for t in threading.enumerate()]


def _start_housekeeping_in_a_page():
    import streamlit as st

    import housekeeping

    st.session_state["started"] = housekeeping.start()


def test_start_does_nothing_under_apptest_whose_runtime_is_a_mock(monkeypatch):
    """AppTest installs a ``MagicMock(spec=Runtime)``: ``Runtime.exists()`` is true there, and
    start() used to set glibc's malloc options in the test process and start a thread that
    logged "Housekeeping is off ... Mock object"."""
    monkeypatch.setattr(housekeeping, "_started", False)
    tuned = []
    monkeypatch.setattr(housekeeping, "_mallopt", lambda *args: tuned.append(args) or 1)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("lab.housekeeping")
    logger.addHandler(handler)
    try:
        at = AppTest.from_function(_start_housekeeping_in_a_page).run()
        time.sleep(0.2)  # a thread started by mistake would log by now
    finally:
        logger.removeHandler(handler)
    assert not at.exception
    assert at.session_state["started"] is False
    assert housekeeping._started is False and tuned == []
    assert "lab-housekeeping" not in [t.name for t in threading.enumerate()]
    assert [r.getMessage() for r in records] == []


@pytest.mark.browser
def test_a_closed_tab_is_released_after_its_ttl_with_no_other_visitor(browser, tmp_path):
    log = tmp_path / "server.log"
    ttl_args = ("--server.disconnectedSessionTTL", "2")
    with serve_app(log, args=ttl_args, env={"LAB_HOUSEKEEPING_SECONDS": "1"}) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        goto(page, f"{url}/kmeans")
        expect(page.locator('[data-testid="stMetric"]', has_text="Iterations")).to_be_visible()
        assert "Housekeeping every 1 s" in log.read_text()
        assert "Released" not in log.read_text()  # an open tab is never released
        context.close()  # the student leaves; nobody else comes

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "Released" not in log.read_text():
            time.sleep(0.5)
        released = re.findall(r"Released (\d+) closed session\(s\)", log.read_text())
    assert released == ["1"], log.read_text()[-2000:]
