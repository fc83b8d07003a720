"""Helpers for page tests of heavy work: the server's queue runs jobs in its own threads, so a
test waits for it (an event, never a sleep) and runs the page again to collect the result."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

import admission


def finish_heavy(at: AppTest, timeout: float = 300) -> AppTest:
    """Wait until the pool has nothing queued or running, then run the page to collect."""
    assert admission.pool().wait_idle(timeout), "the heavy job did not finish in time"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
