"""Admit heavy work once per server: a bounded pool, a queue students can see, shared results.

A teacher says "now everybody press Retrain". Before this module every lab trained,
swept or embedded in its session's own script thread with every library's default thread
count, so twenty presses ran twenty jobs at once on two cores, each asking for both, and a
student who merely opened the K-means lab waited behind all of them (a first chart 7.7×
slower with six retrainings running). Now every lab hands its heavy work here:

- **A bounded pool.** :data:`WORKERS` threads run jobs one at a time each, in the order they
  were asked for (one FIFO queue for the server). The rest of the machine is left to
  interactive work — a page load, a slider step, a fit on small data — which keeps running
  in the sessions' own script threads and never waits in this queue.
- **A share of the threads per job** (:func:`thread_limits`), checked per library on this
  machine (``bench/threads.py``): OpenMP's thread count (PyTorch's and scikit-learn's
  ``libgomp``, set with threadpoolctl) and numba's are per thread, so a job's limit binds that
  job alone. ``torch.set_num_threads`` is *not* used: besides the calling thread it sets the
  count that every thread started later takes (each page's script run is a new thread).
  OpenBLAS's count is process-wide, so the server's pool sets it once (:func:`pool`).
- **Lower priority.** Workers run at a higher ``nice`` than the server's other threads, so
  the operating system hands a contended core to a page's script run first.
- **A queue with a place and an estimate.** :meth:`Admission.status` says how many jobs are
  ahead and about how long until this one is done, from the measured durations of that kind
  of job (seconds per unit of its ``cost``, e.g. per training step).
- **One computation per question.** Jobs are keyed on their full settings: a second request
  with the same key joins the queued or running job (and sees its progress), a later one
  gets the finished result from a bounded cache per kind.
- **One heavy job per session, and cancellation.** Submitting again replaces the session's
  previous job; :meth:`Admission.release` (a Stop button, a closed tab) drops the session
  from its job, and a job nobody follows any more is cancelled: taken off the queue, or, if
  running, stopped at its next progress report (cooperative: the job's ``report`` raises
  :class:`Cancelled`). The server's pool watches Streamlit's session manager, as
  ``housekeeping.py`` does, and releases the sessions whose tab has gone.

Nothing here imports Streamlit except :func:`pool`, which asks whether a server is running.
Pages reach it through ``app_pages/components/heavy.py``, which draws the queue.

Example
-------
>>> jobs = Admission(workers=1)
>>> square = Kind("square", "Squaring")
>>> job = jobs.submit(square, 7, lambda report: 7 * 7, session="a")
>>> job.wait(10) and job.result
49
>>> jobs.shutdown()
"""

from __future__ import annotations

import contextlib
import enum
import heapq
import itertools
import logging
import os
import statistics
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("lab.admission")

__all__ = [
    "Admission",
    "Cancelled",
    "Job",
    "Kind",
    "State",
    "Status",
    "interactive",
    "pool",
    "thread_limits",
]


def _cores() -> int:
    """CPUs this process may run on (a container's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


CORES = _cores()
WORKERS = int(os.environ.get("LAB_HEAVY_WORKERS", min(4, max(1, CORES - 1))))
"""Jobs running at once: one core is always left to interactive work (and the GIL makes
more than a few Python-heavy jobs in one process pointless)."""
THREADS = int(os.environ.get("LAB_HEAVY_THREADS", max(1, (CORES - 1) // WORKERS)))
"""Threads each job may use (OpenMP, numba, and OpenBLAS for the whole process)."""
NICE = int(os.environ.get("LAB_HEAVY_NICE", "10"))
"""How much lower the workers' priority is than the server's other threads."""
WATCH_S = float(os.environ.get("LAB_HEAVY_WATCH_SECONDS", "1"))
"""How often the server's pool looks for closed sessions."""
YIELD_S = float(os.environ.get("LAB_HEAVY_YIELD_SECONDS", "0.05"))
"""Longest pause of a job, at one progress report, while a page's script run is in flight."""
GRACE_S = float(os.environ.get("LAB_HEAVY_GRACE_SECONDS", "5"))
"""How long a session may be disconnected before its job is released (a network blip, a
reconnecting tab, keep theirs)."""


_interactive = 0  # pages' script runs in flight
_interactive_lock = threading.Lock()
_quiet = threading.Event()  # set while no page's script run is in flight
_quiet.set()


@contextlib.contextmanager
def interactive() -> Iterator[None]:
    """Mark a page's script run: while one is in flight, jobs pause at each progress report.

    The server runs every Python thread under one lock (the GIL): a job's Python code
    and a page's script run take turns on it, so a busy job slowed a page load by up to half
    however many cores were free. Pausing (for at most :data:`YIELD_S` per report) gives the
    page the lock and a core to itself; ``app.py`` wraps every page run in this.

    A waiting panel's 1-second look is a fragment run, which Streamlit runs without
    ``app.py`` (the fragment alone): it does not pause jobs, so a class watching its queue
    does not stall it. Full page runs overlapping without a break slow a job to one report
    per :data:`YIELD_S` at worst; they never stop it.
    """
    global _interactive
    with _interactive_lock:
        _interactive += 1
        _quiet.clear()
    try:
        yield
    finally:
        with _interactive_lock:
            _interactive -= 1
            if _interactive == 0:
                _quiet.set()


class Cancelled(Exception):
    """Raised by a job's ``report`` once nobody waits for the job any more."""


class State(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Kind:
    """One kind of heavy job (a toy-model retraining, a restart study, …).

    Parameters
    ----------
    name : str
        Unique; names the kind's cache and duration statistics.
    label : str
        For students: "Retraining a toy model".
    max_cached : int, default=16
        Finished results of this kind kept for later identical requests.
    seconds_per_unit : float, optional
        A prior for the estimate until a job of this kind has been timed on this server.
    """

    name: str
    label: str
    max_cached: int = 16
    seconds_per_unit: float | None = None


Work = Callable[[Callable[..., None]], Any]
"""A job's work: called with ``report(share, text="")`` (which raises :class:`Cancelled`)."""


class Job:
    """One computation, shared by every session that asked for it.

    Pages read ``state``, ``progress``, ``text``, and, once settled, ``result`` or ``error``;
    only the pool changes them.
    """

    _ids = itertools.count(1)

    def __init__(self, kind: Kind, key: Hashable, work: Work, cost: float, now: float):
        self.id = next(self._ids)
        self.kind, self.key, self.cost = kind, key, float(cost)
        self.state = State.QUEUED
        self.progress, self.text = 0.0, ""
        self.result: Any = None
        self.error: BaseException | None = None
        self.submitted, self.started, self.finished = now, None, None
        self.followers: set[str] = set()  # sessions waiting for it now
        self.askers: set[str] = set()  # sessions that ever asked for it (shared computation)
        self._work: Work | None = work  # dropped once run: it may hold a data set
        self._cancel = threading.Event()
        self._settled = threading.Event()

    def __repr__(self) -> str:
        return f"Job({self.kind.name!r} #{self.id}, {self.state.value}, {self.progress:.0%})"

    @property
    def settled(self) -> bool:
        """Done, failed or cancelled: it will not change any more."""
        return self._settled.is_set()

    def report(self, share: float, text: str = "") -> None:
        """The work's progress callback: record how far it is; raise if it is no longer
        wanted; pause while a page's script run is in flight (:func:`interactive`)."""
        if self._cancel.is_set():
            raise Cancelled(f"{self.kind.name} #{self.id} cancelled")
        self.progress, self.text = min(max(float(share), 0.0), 1.0), text
        if not _quiet.is_set():
            _quiet.wait(YIELD_S)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has settled; False if ``timeout`` seconds passed first."""
        return self._settled.wait(timeout)


@dataclass(frozen=True)
class Status:
    """What a student is told about their job at one moment."""

    state: State
    ahead: int  # jobs queued before this one (0 once it runs)
    eta_s: float | None  # seconds until it is done; None until the kind has been timed
    progress: float
    text: str
    sharing: int  # other sessions waiting for the same job


class Admission:
    """A bounded pool of worker threads with one FIFO queue and a result cache per kind.

    Parameters
    ----------
    workers : int
        Jobs that run at once.
    threads : int, default=1
        Threads each job may use (:func:`thread_limits`).
    nice : int, default=0
        Added to each worker thread's niceness (Linux; lower priority than the pages).
    alive : callable(session) -> bool, optional
        Whether a session is still open; :meth:`check_sessions` releases the others.
    grace : float, default=0
        Seconds a session may be gone before :meth:`check_sessions` releases it.
    clock : callable() -> float, default=time.monotonic
        Time for durations and estimates (tests pass their own).
    """

    def __init__(self, workers: int, *, threads: int = 1, nice: int = 0,
                 alive: Callable[[str], bool] | None = None, grace: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        if workers < 1 or threads < 1:
            raise ValueError(f"workers = {workers} and threads = {threads} must be >= 1.")
        self.workers, self.threads, self.nice = workers, threads, nice
        self._alive, self._grace, self._clock = alive, grace, clock
        self._gone_since: dict[str, float] = {}  # sessions seen gone, and since when
        self._lock = threading.Condition()
        self._queue: deque[Job] = deque()
        self._running: set[Job] = set()
        self._live: dict[tuple[str, Hashable], Job] = {}  # queued or running, by key
        self._cache: dict[str, OrderedDict[Hashable, Job]] = {}  # done, by kind and key
        self._rates: dict[str, deque[float]] = {}  # recent seconds per cost unit, by kind
        self._sessions: dict[str, Job] = {}  # each session's one job
        self._threads: list[threading.Thread] = []
        self._closing = False

    def __repr__(self) -> str:
        with self._lock:
            return (f"Admission(workers={self.workers}, threads={self.threads}, "
                    f"running={len(self._running)}, queued={len(self._queue)})")  # fmt: skip

    # ------------------------------------------------------------------ asking for work

    def submit(self, kind: Kind, key: Hashable, work: Work, *, session: str,
               cost: float = 1.0) -> Job:  # fmt: skip
        """The session's job for ``(kind, key)``: a finished one from the cache, the queued or
        running one with the same key, or a new one at the end of the queue.

        The session's previous job, if another, is released (one heavy job per session).
        ``cost`` is the job's size in the kind's unit (training steps, fits, …) for estimates.
        """
        with self._lock:
            if self._closing:
                raise RuntimeError("The pool has been shut down.")
            job = self._cache.get(kind.name, {}).get(key) or self._live.get((kind.name, key))
            if job is None:
                job = Job(kind, key, work, cost, self._clock())
                self._live[kind.name, key] = job
                self._queue.append(job)
                self._start_workers()
                self._lock.notify()
            elif job.state is State.DONE:
                self._cache[kind.name].move_to_end(key)
                log.info("job %s #%d from the cache", kind.name, job.id)
            previous = self._sessions.get(session)
            if previous is not None and previous is not job:
                self._drop(session, previous)
            if not job.settled:
                job.followers.add(session)
                job.askers.add(session)
            self._sessions[session] = job
            return job

    def job_of(self, session: str) -> Job | None:
        """The session's job: waiting, running, or settled and not yet collected."""
        with self._lock:
            return self._sessions.get(session)

    def forget(self, session: str, job: Job) -> None:
        """The session has collected its settled job: it may ask for another."""
        with self._lock:
            if self._sessions.get(session) is job and job.settled:
                del self._sessions[session]

    def release(self, session: str) -> Job | None:
        """The session no longer waits for its job (Stop, a closed tab); return that job.

        A job that nobody waits for any more is cancelled.
        """
        with self._lock:
            job = self._sessions.pop(session, None)
            if job is not None:
                self._drop(session, job)
            return job

    def check_sessions(self) -> int:
        """Release the jobs of sessions gone (per ``alive``) for ``grace`` seconds; return
        how many were released."""
        if self._alive is None:
            return 0
        with self._lock:
            sessions = list(self._sessions)
        now, released = self._clock(), 0
        for session in sessions:
            if self._alive(session):
                self._gone_since.pop(session, None)
                continue
            if now - self._gone_since.setdefault(session, now) < self._grace:
                continue
            del self._gone_since[session]
            job = self.release(session)
            if job is not None:
                released += 1
                log.info("A closed session's %s #%d was released.", job.kind.name, job.id)
        with self._lock:  # forget sessions that went away with nothing to release
            for session in set(self._gone_since) - set(self._sessions):
                del self._gone_since[session]
        return released

    # ------------------------------------------------------------------ what to tell them

    def status(self, job: Job) -> Status:
        """The job's place in the queue, its estimate and its progress, at this moment."""
        with self._lock:
            ahead = 0
            if job.state is State.QUEUED:
                ahead = next(i for i, queued in enumerate(self._queue) if queued is job)
            return Status(job.state, ahead, self._eta(job), job.progress, job.text,
                          max(0, len(job.followers) - 1))  # fmt: skip

    def expected_seconds(self, kind: Kind, cost: float) -> float | None:
        """How long a job of ``kind`` and ``cost`` takes to run, from the recent ones."""
        with self._lock:
            return self._expected(kind, cost)

    # ------------------------------------------------------------------ lifetime

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; False if ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._queue or self._running:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every job and stop the workers (tests; a server's pool lives with it)."""
        with self._lock:
            self._closing = True
            for job in list(self._queue):
                self._settle(job, State.CANCELLED)
            self._queue.clear()
            for job in self._running:
                job._cancel.set()
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    # ------------------------------------------------------------------ private

    def _start_workers(self) -> None:
        """Start the worker threads at the first job. Caller holds the lock."""
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._work_loop, daemon=True,
                                      name=f"lab-heavy-{len(self._threads) + 1}")  # fmt: skip
            self._threads.append(thread)
            thread.start()

    def _work_loop(self) -> None:
        _lower_priority(self.nice)
        while True:
            with self._lock:
                while not self._queue and not self._closing:
                    self._lock.wait()
                if self._closing:
                    return
                job = self._queue.popleft()
                job.state, job.started = State.RUNNING, self._clock()
                self._running.add(job)
                work, job._work = job._work, None
            try:
                with thread_limits(self.threads):
                    result = work(job.report)
            except Cancelled:
                outcome, result = State.CANCELLED, None
            except Exception as exc:  # the page shows it; the worker goes on
                log.exception("%s #%d failed.", job.kind.name, job.id)
                outcome, result, job.error = State.FAILED, None, exc
            else:
                outcome = State.DONE
            del work
            with self._lock:
                self._running.discard(job)
                job.result = result
                self._settle(job, outcome)

    def _settle(self, job: Job, state: State) -> None:
        """Record a job's end (done, failed or cancelled). Caller holds the lock."""
        job.state, job.finished, job._work = state, self._clock(), None
        if state is State.CANCELLED:
            job._cancel.set()
        if self._live.get((job.kind.name, job.key)) is job:
            del self._live[job.kind.name, job.key]
        ran = 0.0 if job.started is None else job.finished - job.started
        waited = (job.finished if job.started is None else job.started) - job.submitted
        if state is State.DONE:
            cache = self._cache.setdefault(job.kind.name, OrderedDict())
            cache[job.key] = job
            while len(cache) > job.kind.max_cached:
                cache.popitem(last=False)
            if job.cost > 0:
                self._rates.setdefault(job.kind.name, deque(maxlen=20)).append(ran / job.cost)
        job.followers.clear()
        job._settled.set()
        self._lock.notify_all()
        log.info("job %s #%d %s: waited %.2f s, ran %.2f s, asked by %d session(s); key %.80s",
                 job.kind.name, job.id, state.value, waited, ran, len(job.askers),
                 repr(job.key))  # fmt: skip

    def _drop(self, session: str, job: Job) -> None:
        """``session`` stops waiting for ``job``; cancel it if nobody waits. Caller holds the
        lock."""
        job.followers.discard(session)
        if job.followers or job.settled:
            return
        if job.state is State.QUEUED:
            self._queue.remove(job)
            self._settle(job, State.CANCELLED)
        else:  # running: it stops at its next report; a new request starts afresh
            job._cancel.set()
            if self._live.get((job.kind.name, job.key)) is job:
                del self._live[job.kind.name, job.key]

    def _expected(self, kind: Kind, cost: float) -> float | None:
        rates = self._rates.get(kind.name)
        rate = statistics.median(rates) if rates else kind.seconds_per_unit
        return None if rate is None else rate * cost

    def _remaining(self, job: Job, now: float) -> float | None:
        """Seconds a running job still needs: from its own pace once it has some progress."""
        elapsed = now - job.started
        if job.progress >= 0.05:
            return elapsed * (1 - job.progress) / job.progress
        expected = self._expected(job.kind, job.cost)
        return None if expected is None else max(expected - elapsed, 0.0)

    def _eta(self, job: Job) -> float | None:
        """Seconds until ``job`` is done: the queue ahead of it laid onto the workers in
        order, each job starting on the first worker free. Caller holds the lock."""
        if job.settled:
            return 0.0
        now = self._clock()
        if job.state is State.RUNNING:
            return self._remaining(job, now)
        free = [self._remaining(running, now) for running in self._running]
        if None in free:
            return None
        free += [0.0] * (self.workers - len(free))
        heapq.heapify(free)
        for queued in self._queue:
            expected = self._expected(queued.kind, queued.cost)
            if expected is None:
                return None
            start = heapq.heappop(free)
            if queued is job:
                return start + expected
            heapq.heappush(free, start + expected)
        return None  # not in the queue: settled meanwhile


# ---------------------------------------------------------------------- threads of a job


@contextlib.contextmanager
def thread_limits(n: int) -> Iterator[None]:
    """Limit the calling thread's compute threads to ``n`` (OpenMP via threadpoolctl, numba).

    Measured per thread on this project's machine (``bench/threads.py``): a matrix product
    in a thread limited this way used one core (CPU time / wall time 1.0) while the main
    thread and threads started later kept two. PyTorch runs its CPU operations on OpenMP,
    and initialises a thread's OpenMP count at the thread's first operation, which would
    undo a limit set before it: so that happens first (``torch.get_num_threads``).
    """
    import numba
    import torch
    from threadpoolctl import threadpool_limits

    torch.get_num_threads()  # PyTorch's per-thread initialisation, before the limit
    numba_before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=n, user_api="openmp"):
            yield
    finally:
        numba.set_num_threads(numba_before)


def _lower_priority(nice: int) -> None:
    """Raise this thread's niceness by ``nice`` (Linux threads have their own)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except OSError:
        log.warning("Could not lower the heavy workers' priority.")


# ---------------------------------------------------------------------- the server's pool

_pool: Admission | None = None
_pool_lock = threading.Lock()


def pool() -> Admission:
    """The server's one pool (made on first use): :data:`WORKERS` × :data:`THREADS`.

    In a running Streamlit server it also limits OpenBLAS to :data:`THREADS` for the whole
    process (its count cannot be set per thread) and starts a thread that releases the jobs
    of closed sessions every :data:`WATCH_S` seconds. Elsewhere (AppTest, notebooks) it is
    a plain pool.
    """
    global _pool
    with _pool_lock:
        if _pool is not None:
            return _pool
        from streamlit.runtime import Runtime

        serving = Runtime.exists()
        alive = Runtime.instance().is_active_session if serving else None
        _pool = Admission(
            WORKERS, threads=THREADS, nice=NICE if serving else 0, alive=alive, grace=GRACE_S
        )
        if serving:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=THREADS, user_api="blas")  # process-wide, kept
            threading.Thread(target=_watch, args=(_pool,), name="lab-heavy-watch",
                             daemon=True).start()  # fmt: skip
            log.info("Heavy work: %d worker(s) × %d thread(s), nice +%d, on %d core(s).",
                     WORKERS, THREADS, NICE, CORES)  # fmt: skip
        return _pool


def _watch(jobs: Admission) -> None:
    while True:
        time.sleep(WATCH_S)
        try:
            jobs.check_sessions()
        except Exception:  # a watcher that stops would leave closed tabs' jobs queued
            log.exception("Could not check the heavy jobs' sessions.")
