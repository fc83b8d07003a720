"""admission.py: the server's one queue for heavy work.

Queue order, the pool's limits (jobs at once, threads per job, one job per session), the
estimate from measured durations, cancellation (Stop, a closed session, a replaced job),
deduplication and the bounded result cache. Every test is deterministic: jobs block on
events the test sets, time comes from a clock the test moves, and nothing sleeps.
"""

from __future__ import annotations

import threading

import numba
import pytest
import torch
from threadpoolctl import threadpool_info

import admission
from admission import Admission, Cancelled, Kind, State, interactive, thread_limits

WAIT = 60  # seconds: a bound on waiting for an event, never a measurement
KIND = Kind("test.square", "Squaring")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Gate:
    """A job that says when it has started and runs on only when the test opens it."""

    def __init__(self, value=None, *, report_after: float | None = None) -> None:
        self.started, self.go = threading.Event(), threading.Event()
        self.value, self.report_after, self.calls = value, report_after, 0

    def __call__(self, report):
        self.calls += 1
        self.started.set()
        assert self.go.wait(WAIT)
        if self.report_after is not None:
            report(self.report_after, "after the gate")  # raises Cancelled if unwanted
        return self.value


@pytest.fixture
def jobs():
    pool = Admission(workers=1)
    yield pool
    pool.shutdown()


def occupy(pool: Admission, session: str = "busy") -> Gate:
    """Fill the pool's one worker with a job that waits for the test."""
    gate = Gate("blocker")
    pool.submit(Kind("test.blocker", "Blocking"), session, gate, session=session)
    assert gate.started.wait(WAIT)
    return gate


def test_jobs_run_one_at_a_time_in_the_order_asked(jobs):
    gate = occupy(jobs)
    order: list[str] = []
    queued = [jobs.submit(KIND, name, lambda report, n=name: order.append(n), session=name)
              for name in ("a", "b", "c")]  # fmt: skip
    assert [jobs.status(job).ahead for job in queued] == [0, 1, 2]
    assert all(job.state is State.QUEUED for job in queued)
    gate.go.set()
    assert jobs.wait_idle(WAIT)
    assert order == ["a", "b", "c"]
    assert all(job.state is State.DONE for job in queued)


def test_no_more_jobs_run_at_once_than_workers():
    pool = Admission(workers=2)
    try:
        gates = [Gate(i) for i in range(3)]
        submitted = [pool.submit(KIND, i, gate, session=f"s{i}") for i, gate in enumerate(gates)]
        assert gates[0].started.wait(WAIT) and gates[1].started.wait(WAIT)
        assert [job.state for job in submitted] == [State.RUNNING, State.RUNNING, State.QUEUED]
        assert pool.status(submitted[2]).ahead == 0 and gates[2].calls == 0
        gates[0].go.set()
        assert gates[2].started.wait(WAIT)  # the freed worker takes the next one
        gates[1].go.set(), gates[2].go.set()
        assert pool.wait_idle(WAIT)
        assert [job.result for job in submitted] == [0, 1, 2]
    finally:
        pool.shutdown()


def test_a_job_runs_with_its_share_of_threads_and_leaves_other_threads_alone():
    def inside(report):
        return {"torch": torch.get_num_threads(), "numba": numba.get_num_threads(),
                "openmp": {i["num_threads"] for i in threadpool_info()
                           if i["user_api"] == "openmp"}}  # fmt: skip

    before = torch.get_num_threads(), numba.get_num_threads()
    pool = Admission(workers=1, threads=1)
    try:
        job = pool.submit(KIND, "limits", inside, session="a")
        assert job.wait(WAIT) and job.state is State.DONE
    finally:
        pool.shutdown()
    assert job.result == {"torch": 1, "numba": 1, "openmp": {1}}
    assert (torch.get_num_threads(), numba.get_num_threads()) == before  # this thread
    later: list[int] = []  # a thread started afterwards (a page's next script run)
    thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
    thread.start(), thread.join()
    assert later == [before[0]]


def test_thread_limits_restore_numba_in_the_calling_thread():
    before = numba.get_num_threads()
    with thread_limits(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_identical_requests_share_one_computation(jobs):
    gate = occupy(jobs)
    calls: list[int] = []

    def work(report):
        calls.append(1)
        report(0.5, "half way")
        return "trained"

    first = jobs.submit(KIND, ("task", 600, 1), work, session="a")
    others = [jobs.submit(KIND, ("task", 600, 1), work, session=f"s{i}") for i in range(19)]
    assert all(job is first for job in others)
    assert jobs.status(first).sharing == 19
    gate.go.set()
    assert first.wait(WAIT) and first.result == "trained"
    late = jobs.submit(KIND, ("task", 600, 1), work, session="late")  # from the cache
    assert late is first and late.state is State.DONE
    assert calls == [1]
    assert len(first.askers) == 20


def test_a_late_joiner_sees_the_running_jobs_progress(jobs):
    gate = Gate("done")

    def work(report):
        report(0.25, "a quarter")
        return gate(report)

    first = jobs.submit(KIND, "shared", work, session="a")
    assert gate.started.wait(WAIT)
    joined = jobs.submit(KIND, "shared", work, session="b")
    assert joined is first
    status = jobs.status(joined)
    assert (status.state, status.progress, status.text) == (State.RUNNING, 0.25, "a quarter")
    gate.go.set()
    assert joined.wait(WAIT) and joined.result == "done"


def test_the_result_cache_is_bounded_per_kind(jobs):
    small = Kind("test.small", "Small", max_cached=2)
    calls: list[int] = []
    for key in (1, 2, 3):
        job = jobs.submit(small, key, lambda report, k=key: calls.append(k) or k, session="a")
        assert job.wait(WAIT)
    again = jobs.submit(small, 1, lambda report: calls.append(1) or 1, session="a")
    assert again.wait(WAIT) and again.result == 1
    assert calls == [1, 2, 3, 1]  # key 1 had been evicted, so it ran again
    kept = jobs.submit(small, 3, lambda report: calls.append(3) or 3, session="a")
    assert kept.state is State.DONE and calls == [1, 2, 3, 1]


def test_a_session_has_one_heavy_job_a_second_press_replaces_it(jobs):
    gate = occupy(jobs)
    replaced = Gate()
    first = jobs.submit(KIND, "first", replaced, session="a")
    second = jobs.submit(KIND, "second", lambda report: "second", session="a")
    assert first.state is State.CANCELLED and first.settled
    assert jobs.job_of("a") is second and jobs.status(second).ahead == 0
    gate.go.set()
    assert jobs.wait_idle(WAIT)
    assert second.result == "second" and replaced.calls == 0


def test_a_replaced_job_that_others_wait_for_goes_on(jobs):
    gate = occupy(jobs)
    shared = jobs.submit(KIND, "shared", lambda report: "shared", session="a")
    jobs.submit(KIND, "shared", lambda report: "shared", session="b")
    jobs.submit(KIND, "own", lambda report: "own", session="a")
    assert shared.state is State.QUEUED and shared.followers == {"b"}
    gate.go.set()
    assert shared.wait(WAIT) and shared.state is State.DONE


def test_stop_cancels_a_running_job_at_its_next_report(jobs):
    gate = Gate("never kept", report_after=0.9)
    job = jobs.submit(KIND, "stopped", gate, session="a")
    assert gate.started.wait(WAIT)
    assert jobs.release("a") is job
    gate.go.set()
    assert job.wait(WAIT) and job.state is State.CANCELLED and job.result is None
    again = jobs.submit(KIND, "stopped", lambda report: "fresh", session="b")
    assert again is not job  # nothing was cached: a new request computes afresh
    assert again.wait(WAIT) and again.result == "fresh"


def test_a_closed_sessions_jobs_are_dropped():
    open_sessions = {"a", "b", "c"}
    pool = Admission(workers=1, alive=open_sessions.__contains__)
    try:
        running = Gate("never kept", report_after=0.5)
        job_a = pool.submit(KIND, "a", running, session="a")
        assert running.started.wait(WAIT)
        waiting = Gate()
        job_b = pool.submit(KIND, "b", waiting, session="b")
        job_c = pool.submit(KIND, "c", lambda report: "c", session="c")
        open_sessions -= {"a", "b"}  # two tabs closed
        assert pool.check_sessions() == 2
        assert job_b.state is State.CANCELLED and waiting.calls == 0  # dropped from the queue
        running.go.set()
        assert job_a.wait(WAIT) and job_a.state is State.CANCELLED  # stopped at its report
        assert job_c.wait(WAIT) and job_c.result == "c"  # the open session's job still runs
        assert pool.job_of("a") is None and pool.job_of("b") is None
    finally:
        pool.shutdown()


def test_a_session_gone_for_less_than_the_grace_keeps_its_job():
    clock, open_sessions = Clock(), {"a", "busy"}
    pool = Admission(workers=1, alive=open_sessions.__contains__, grace=5, clock=clock)
    try:
        gate = occupy(pool)
        job = pool.submit(KIND, "a", lambda report: "a", session="a")
        open_sessions.remove("a")
        assert pool.check_sessions() == 0  # first seen gone now
        clock.now = 4.0
        assert pool.check_sessions() == 0 and job.state is State.QUEUED
        clock.now = 5.0
        assert pool.check_sessions() == 1 and job.state is State.CANCELLED
        gate.go.set()
    finally:
        pool.shutdown()


def test_a_failed_job_reports_its_error_and_is_not_cached(jobs):
    def broken(report):
        raise ValueError("steps = 0 must be a whole number from 1 to 2,500.")

    job = jobs.submit(KIND, "broken", broken, session="a")
    assert job.wait(WAIT) and job.state is State.FAILED
    assert "steps = 0" in str(job.error)
    retried = jobs.submit(KIND, "broken", lambda report: "fixed", session="a")
    assert retried is not job and retried.wait(WAIT) and retried.result == "fixed"


def test_the_estimate_comes_from_measured_durations():
    clock = Clock()
    pool = Admission(workers=1, clock=clock)
    try:

        def ten_seconds_per_unit(cost):
            def work(report):
                clock.now += 10 * cost

            return work

        assert pool.expected_seconds(KIND, 1) is None  # never timed, no prior
        pool.submit(KIND, "timed", ten_seconds_per_unit(1), session="a").wait(WAIT)
        assert pool.expected_seconds(KIND, 3) == 30

        gate = Gate()
        running = pool.submit(KIND, "running", gate, session="b", cost=2)
        assert gate.started.wait(WAIT)
        next_in_line = pool.submit(KIND, "next", ten_seconds_per_unit(1), session="c")
        last = pool.submit(KIND, "last", ten_seconds_per_unit(3), session="d", cost=3)
        # running: 20 s expected, none elapsed; then 10 s, then 30 s
        assert pool.status(running).eta_s == 20
        assert pool.status(next_in_line).eta_s == 30
        assert (pool.status(last).ahead, pool.status(last).eta_s) == (1, 60)
        clock.now += 4
        running.report(0.5, "half")  # its own pace: 4 s for half, so 4 s left
        assert pool.status(running).eta_s == 4
        assert pool.status(last).eta_s == 4 + 10 + 30
        gate.go.set()
        assert pool.wait_idle(WAIT)
    finally:
        pool.shutdown()


def test_a_kinds_prior_estimates_until_it_has_been_timed():
    prior = Kind("test.prior", "With a prior", seconds_per_unit=0.01)
    pool = Admission(workers=1, clock=Clock())
    try:
        gate = occupy(pool)
        job = pool.submit(prior, "p", lambda report: None, session="a", cost=600)
        assert pool.status(job).eta_s is None  # the blocker's kind has never been timed
        gate.go.set()
        assert pool.wait_idle(WAIT)
        assert pool.expected_seconds(prior, 600) == pytest.approx(0.0)  # timed now: 0 s here
        assert Admission(workers=1).expected_seconds(prior, 600) == pytest.approx(6.0)
    finally:
        pool.shutdown()


def test_report_raises_cancelled_only_once_nobody_waits():
    job_kind = Kind("test.report", "Reporting")
    pool = Admission(workers=1)
    try:
        gate = occupy(pool)
        job = pool.submit(job_kind, "r", lambda report: None, session="a")
        job.report(0.3, "fine")
        pool.release("a")
        with pytest.raises(Cancelled):
            job.report(0.4, "unwanted")
        gate.go.set()
    finally:
        pool.shutdown()


def test_a_job_pauses_at_its_reports_while_a_pages_script_runs(jobs, monkeypatch):
    monkeypatch.setattr(admission, "YIELD_S", WAIT)  # a pause as long as the page's run
    reported, passed = threading.Event(), threading.Event()

    def work(report):
        report(0.5, "half way")
        passed.set()
        return "done"

    with interactive(), interactive():  # two sessions' script runs in flight
        job = jobs.submit(KIND, "paused", lambda report: work(lambda *a: (
            reported.set(), report(*a))), session="a")  # fmt: skip
        assert reported.wait(WAIT)
        with interactive():
            pass  # a run that ends while others go on does not release the job
        assert not passed.wait(0.3) and job.state is State.RUNNING
        assert job.progress == 0.5  # its progress is recorded before it pauses
    assert passed.wait(WAIT)  # the last run ended: the job goes on at once
    assert job.wait(WAIT) and job.result == "done"


def test_shutdown_cancels_every_job():
    pool = Admission(workers=1)
    gate = Gate(report_after=1.0)
    running = pool.submit(KIND, "r", gate, session="r")
    assert gate.started.wait(WAIT)
    queued = pool.submit(KIND, "q", lambda report: "q", session="a")
    pool.shutdown(timeout=0)
    assert queued.state is State.CANCELLED
    gate.go.set()
    assert running.wait(WAIT) and running.state is State.CANCELLED
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(KIND, "late", lambda report: None, session="b")


@pytest.mark.parametrize(("workers", "threads"), [(0, 1), (1, 0)], ids=["workers", "threads"])
def test_a_pool_needs_a_worker_and_a_thread(workers, threads):
    with pytest.raises(ValueError, match="must be >= 1"):
        Admission(workers=workers, threads=threads)
