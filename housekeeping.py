"""Give the server's memory back after students close their tabs.

Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL`` seconds
(120 by default), so a tab that reconnects finds its data and fits. Its session store,
though, drops an expired session only when another session is written to it. When a class
closes its tabs and nobody opens a new one, every closed session's state stays in memory:
in ``bench/load.py`` (20 sessions of 100,000 points) the server's glibc heap in use went
from 74 MiB to 216 MiB and stayed there, and a second class of 20 took it to 382 MiB.

So, once per server process, :func:`start` runs one daemon thread that every
``LAB_HOUSEKEEPING_SECONDS`` seconds (default 30):

1. removes the expired sessions from Streamlit's session store, on the server's event
   loop, where that store is used;
2. runs the cyclic garbage collector, since a session and its state form reference cycles
   that an idle server may not collect for a long time;
3. asks glibc to hand free heap pages back to the operating system (``malloc_trim``),
   since otherwise it keeps them for later allocations and the resident size never falls.

Before the thread starts it sets two glibc options that make freed memory go back sooner
(:func:`_tune_malloc`).

The store is reached through Streamlit internals (pinned in requirements.txt);
``tests/test_housekeeping.py`` checks them against the installed version, and if they move
the thread logs one warning and stops, so the app itself keeps working.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger("lab.housekeeping")

INTERVAL_S = float(os.environ.get("LAB_HOUSEKEEPING_SECONDS", "30"))

_started = False
_start_lock = threading.Lock()


def start() -> bool:
    """Start the housekeeping thread once per process; True if this call started it.

    Does nothing outside a running Streamlit server (AppTest, notebooks, imports).
    """
    global _started
    from streamlit.runtime import Runtime

    with _start_lock:
        if _started or not Runtime.exists() or not _is_server(Runtime.instance()):
            return False
        _started = True
    configure_logging()
    _tune_malloc()
    threading.Thread(
        target=_loop, args=(Runtime.instance(),), name="lab-housekeeping", daemon=True
    ).start()
    log.info("Housekeeping every %.0f s: closed sessions are released after their TTL.", INTERVAL_S)
    return True


def reap_expired_sessions(storage) -> int:
    """Remove the expired sessions from a ``MemorySessionStorage``; return how many.

    Not thread-safe, like the store itself: call it on the server's event loop.
    """
    return len(storage._cache.expire())


def release_memory() -> int:
    """Collect reference cycles, then return free heap pages to the OS; return the RSS, KiB."""
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)
    return resident_kib()


def resident_kib() -> int:
    """This process's resident set size in KiB (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ------------------------------------------------------------------------------ private


def _is_server(runtime) -> bool:
    """Whether ``runtime`` is a server's, with sessions to keep. AppTest installs a
    ``MagicMock(spec=Runtime)``, which passes ``isinstance`` but has no session manager."""
    from streamlit.runtime import Runtime

    return type(runtime) is Runtime and getattr(runtime, "_session_mgr", None) is not None


def _load_glibc_function(name: str, argtypes: list, restype) -> Callable[..., int] | None:
    """A function of glibc's malloc, or None where the C library is not glibc (macOS, musl)."""
    libc = ctypes.util.find_library("c")
    try:
        function = getattr(ctypes.CDLL(libc), name) if libc else None
    except (OSError, AttributeError):
        return None
    if function is not None:
        function.argtypes, function.restype = argtypes, restype
    return function


_malloc_trim = _load_glibc_function("malloc_trim", [ctypes.c_size_t], ctypes.c_int)
_mallopt = _load_glibc_function("mallopt", [ctypes.c_int, ctypes.c_int], ctypes.c_int)

# mallopt(3) parameters, from glibc's malloc.h.
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8


def _tune_malloc() -> None:
    """Make glibc keep less freed memory; a no-op where the C library is not glibc.

    Every script run is a thread of its own, and glibc gives busy threads arenas of their
    own that keep what they free (the Dockerfile's MALLOC_ARENA_MAX=2 does the same). And
    glibc raises its mmap threshold to 32 MiB as large blocks are freed, so that data
    arrays come from the heap, where they leave holes: a fixed threshold of 256 KiB keeps
    every array of a few thousand points or more in its own mapping, unmapped on free.
    """
    if _mallopt is not None:
        _mallopt(_M_ARENA_MAX, 2)
        _mallopt(_M_MMAP_THRESHOLD, 256 * 1024)


def configure_logging() -> None:
    """Send the app's own log lines (logger "lab") to stderr beside Streamlit's."""
    lab = logging.getLogger("lab")
    if not lab.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        lab.addHandler(handler)
        lab.setLevel(logging.INFO)
        lab.propagate = False


def _loop(runtime) -> None:
    try:
        manager = runtime._session_mgr
        storage = manager._session_storage  # the store of closed, resumable sessions
        lock = manager._storage_lock  # the manager's own lock around that store
        loop = runtime._get_async_objs().eventloop  # the loop the manager runs on
        storage._cache.expire  # noqa: B018 - fail now, not at the first tick
    except AttributeError as exc:
        log.warning("Housekeeping is off: this Streamlit version's internals differ (%s).", exc)
        return

    async def reap() -> tuple[int, int]:
        """(sessions reaped now, sessions the server still holds: open tabs and closed)."""
        with lock:
            reaped = reap_expired_sessions(storage)
            held = len(storage._cache._data)
        return reaped, held + len(manager.list_active_sessions())

    held_before = 0
    while True:
        time.sleep(INTERVAL_S)
        if loop.is_closed():
            return
        try:
            reaped, held = asyncio.run_coroutine_threadsafe(reap(), loop).result(timeout=30)
        except Exception:
            log.exception("Housekeeping could not reap expired sessions.")
            continue
        # Sessions also go when a new visitor's arrival reaps them, or when one is shut down;
        # their state is freed only once the cycles are collected.
        if reaped or held < held_before:
            before = resident_kib()
            after = release_memory()
            log.info(
                "Released %d closed session(s), %d held; resident memory %.0f -> %.0f MiB.",
                reaped, held, before / 1024, after / 1024,
            )  # fmt: skip
        held_before = held
