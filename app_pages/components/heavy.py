"""Heavy work from a page: handed to the server's queue (``admission.py``), followed on screen.

Every lab's long work — retraining a toy model, a restart study, an elbow sweep, t-SNE, DEC,
an accuracy curve — goes through here, so it runs in the server's bounded pool instead of the
page's script thread, and identical requests from a class share one computation. A page:

1. submits on a button press: :func:`submit` (one heavy job per student: a new press
   replaces the one they were waiting for, and the page says so with a toast);
2. follows it where the result will appear: :func:`follow` collects a finished job at once
   (``adopt(job)`` keeps its result in the session's state), or draws the waiting panel — the
   place in the queue and an estimate ("2 ahead of you, done in about 40 s"), the progress, a
   Stop button — as a fragment that reruns alone every :data:`POLL_S` seconds (every
   :data:`POLL_BACK_S` further back in the queue) and reruns the page once the job has
   settled.

:func:`result` does both for a view computed on demand (a toggle, a tab): the value if this
session or anyone has computed it, else the job submitted and followed, and None.

The pool's threads never touch Streamlit: results come back through the job, which the
page's own script run reads.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import admission
from admission import Job, Kind, State, Work
from app_pages.components.text import md_text

POLL_S = 1.0
"""Seconds between two looks at a waiting job (a fragment rerun: a few milliseconds)."""

POLL_BACK_S = 5.0
"""Seconds between two looks for a student :data:`BACK_OF_QUEUE` or more places back. Their
place changes once per job run ahead of them, and every look costs the server a fragment run
and the student's browser a redraw: twenty panels looking every second kept a 2-core server
busier than the job they waited for (``bench/load.py --scenario class --retrain 20``)."""

BACK_OF_QUEUE = 2
"""Jobs ahead from which a queued student's panel looks every :data:`POLL_BACK_S` seconds."""

ONE_JOB = ("One heavy job at a time per student: pressing again, here or in another lab, "
           "replaces the one you are waiting for. Same settings as someone else: you share "
           "their computation.")  # fmt: skip
"""What a second press does, said beside every waiting panel."""


def session_id() -> str:
    """This browser tab's Streamlit session (the pool's name for the student)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def submit(kind: Kind, key: Hashable, work: Work, *, cost: float = 1.0) -> Job:
    """Ask the server's pool for ``work`` under ``(kind, key)`` (``key``: every setting the
    result depends on); a job this session was waiting for is replaced, with a toast."""
    jobs, session = admission.pool(), session_id()
    before = jobs.job_of(session)
    job = jobs.submit(kind, key, work, session=session, cost=cost)
    if before is not None and before is not job and not before.settled:
        st.toast(f"{before.kind.label} was replaced by this {kind.label.lower()}: one heavy "
                 "job at a time.", icon=":material/swap_horiz:")  # fmt: skip
    return job


def follow(kind: Kind, adopt: Callable[[Job], None], *, key: str) -> Job | None:
    """This session's job of ``kind``: collected if done (``adopt(job)``), its error shown if
    it failed, else the waiting panel. Returns the job (None if there is none).

    ``key`` names the panel's widgets (a page prefix, e.g. ``"kmeans_study"``).
    """
    jobs, session = admission.pool(), session_id()
    job = jobs.job_of(session)
    if job is None or job.kind != kind:
        return None
    if job.settled:
        jobs.forget(session, job)
        if job.state is State.DONE:
            adopt(job)
        elif job.state is State.FAILED:
            st.error(f"{kind.label} failed: {md_text(job.error)}", icon=":material/error:")
        else:
            st.info(f"{kind.label} was stopped.", icon=":material/stop_circle:")
        return job
    status = jobs.status(job)
    (_waiting_back if _poll_s(status) == POLL_BACK_S else _waiting)(kind.name, key)
    return job


def result(kind: Kind, key: Hashable, work: Work, *, cost: float = 1.0, prefix: str) -> Any:
    """The result of ``work`` for ``key``: kept by this session, found in the server's cache,
    or else submitted (once; another key replaces it), followed, and None for now.

    ``prefix`` keys the session's copy (``f"{prefix}_result"``) and the panel's widgets.
    """
    held = st.session_state.get(f"{prefix}_result")
    if held is not None and held[0] == (kind.name, key):
        return held[1]
    jobs, session = admission.pool(), session_id()
    job = jobs.job_of(session)
    failed = st.session_state.get(f"{prefix}_failed")
    if (job is None or (job.kind, job.key) != (kind, key)) and failed != (kind.name, key):
        submit(kind, key, work, cost=cost)

    def adopt(done: Job) -> None:
        st.session_state[f"{prefix}_result"] = ((done.kind.name, done.key), done.result)

    job = follow(kind, adopt, key=prefix)
    if job is not None and job.state is State.FAILED:
        st.session_state[f"{prefix}_failed"] = (kind.name, key)  # not again on every rerun
    held = st.session_state.get(f"{prefix}_result")
    return held[1] if held is not None and held[0] == (kind.name, key) else None


def drop(kind: Kind) -> None:
    """The page no longer asks for this session's job of ``kind`` (a toggle turned off):
    release it, which cancels it unless another student waits for it too."""
    jobs, session = admission.pool(), session_id()
    job = jobs.job_of(session)
    if job is not None and job.kind == kind and not job.settled:
        jobs.release(session)


def about(seconds: float | None) -> str:
    """An estimate in words a student reads at a glance."""
    if seconds is None:
        return "time not yet known"
    if seconds < 10:
        return "a few seconds"
    if seconds < 90:
        return f"about {5 * round(seconds / 5):.0f} s"
    return f"about {round(seconds / 60)} min"


def _poll_s(status: admission.Status) -> float:
    """How often a panel looks: every second once the job is near or running."""
    queued_far = status.state is State.QUEUED and status.ahead >= BACK_OF_QUEUE
    return POLL_BACK_S if queued_far else POLL_S


def _panel(kind_name: str, key: str, poll_s: float) -> None:
    """The waiting panel; the page reruns once the job settles, or to look more often."""
    jobs, session = admission.pool(), session_id()
    job = jobs.job_of(session)
    if job is None or job.kind.name != kind_name or job.settled:
        st.rerun()  # the page collects it (or no longer shows a panel)
    status = jobs.status(job)
    if _poll_s(status) != poll_s:
        st.rerun()  # moved up the queue: the page draws the panel that looks every second
    with st.container(border=True):
        if status.state is State.QUEUED:
            place = ("next in line" if status.ahead == 0
                     else f"{status.ahead} ahead of you")  # fmt: skip
            st.markdown(f":material/hourglass_top: **{job.kind.label}: queued**, {place}, "
                        f"done in {about(status.eta_s)}.")  # fmt: skip
            st.progress(0.0)
        else:
            st.markdown(f":material/progress_activity: **{job.kind.label}**, done in "
                        f"{about(status.eta_s)}.")  # fmt: skip
            st.progress(status.progress, text=md_text(status.text) or "Starting…")
        if status.sharing:
            st.caption(f"{status.sharing} other student(s) asked for the same: one "
                       "computation for all of you.")  # fmt: skip
        if st.button("Stop", key=f"{key}_stop_button", icon=":material/stop:"):
            jobs.release(session)
            st.rerun()
        st.caption(ONE_JOB)


@st.fragment(run_every=POLL_S)
def _waiting(kind_name: str, key: str) -> None:
    """The panel of a job running or near the front, redrawn alone every POLL_S s."""
    _panel(kind_name, key, POLL_S)


@st.fragment(run_every=POLL_BACK_S)
def _waiting_back(kind_name: str, key: str) -> None:
    """The panel of a job further back in the queue, redrawn alone every POLL_BACK_S s."""
    _panel(kind_name, key, POLL_BACK_S)
