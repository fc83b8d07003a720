"""Serving the app and launching Chromium: shared by the browser tests and the benchmarks.

``tests/conftest.py`` builds its fixtures on these; ``bench/load.py`` and ``bench/page.py``
(which are not tests, so cannot take fixtures) import them after putting this folder on
``sys.path``. One copy of the Chromium flags and of the server's start and shutdown, so a
flag added for the tests is the flag the benchmarks measure with.

Standard library only (Playwright is the caller's): importing this starts nothing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "ROOT",
    "SERVE",
    "chromium_launch_options",
    "free_port",
    "in_ci",
    "python_output",
    "serve_app",
    "start_app",
    "stop_app",
    "wait_healthy",
]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SERVE = [sys.executable, str(ROOT / "serve.py")]
"""A ``launcher`` that serves the app as ``make run`` does: warm-up begun at server start."""


def python_output(code: str, timeout: float = 120.0) -> str:
    """What ``code`` prints, run by a fresh Python in the checkout (so that nothing this
    test process has imported is there); fails the test if it fails."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()

# Without the background-networking flags Chromium keeps dialling hosts this
# machine cannot reach; --no-sandbox because the tests run as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether we run under CI: ``CI`` set to anything but empty, ``0`` or ``false``.

    CI services spell it differently (``true``, ``1``, ``yes``); a check for ``true`` alone
    let ``CI=1`` skip the browser tests instead of failing them.
    """
    return environ.get("CI", "").strip().lower() not in ("", "0", "false")


def chromium_launch_options() -> dict:
    """Keyword arguments of Playwright's ``chromium.launch`` (sync or async API): Debian's
    headless Chromium, never a downloaded one."""
    return {"executable_path": str(CHROMIUM), "headless": True, "args": list(CHROMIUM_ARGS)}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Return once Streamlit's health endpoint at ``url`` answers 200; raise if the server
    exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"streamlit did not become healthy at {url} within {timeout}s")


def start_app(
    log: Path | None = None,
    *,
    launcher: list[str] | None = None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
    base: str = "",
) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` on a free port and wait until it is healthy.

    Returns the process and its base URL; stop it with :func:`stop_app`. ``launcher``
    replaces ``python -m streamlit run app.py`` (a script that patches the app first);
    ``args`` are more ``--option value`` flags; ``env`` is added to the environment; ``cwd``
    (default: this checkout) is where it runs and reads ``.streamlit/config.toml``; the
    server's output goes to ``log`` (or nowhere). ``base`` serves the app under that path
    (``server.baseUrlPath``), and the URL returned ends in it.
    """
    port = free_port()
    cmd = launcher or [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    cmd = [
        *cmd,
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        *(("--server.baseUrlPath", base) if base else ()),
        *args,
    ]  # fmt: skip
    with open(log or os.devnull, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd or ROOT, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}" + (f"/{base}" if base else "")
    try:
        wait_healthy(url, proc, timeout)
    except BaseException:
        stop_app(proc)
        raise
    return proc, url


def stop_app(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Ask the server to stop; kill it if it has not within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def serve_app(
    log: Path | None = None,
    *,
    launcher: list[str] | None = None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    base: str = "",
) -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free port until the block ends; yield its base URL.

    The arguments are :func:`start_app`'s.
    """
    proc, url = start_app(log, launcher=launcher, args=args, env=env, base=base)
    try:
        yield url
    finally:
        stop_app(proc)
