"""Load test: a room of students running K-means on 100,000 points at the same time.

Starts its own ``streamlit run app.py`` on a free local port, then drives N concurrent
browser sessions (one headless Chromium, one context per student, Playwright's async API).
Each session opens the K-means page, generates its own 100,000-point data set (its own data
seed, so no two sessions share a cached fit), waits for K-means to finish and the results to
show, then steps through every iteration with the "Iteration" slider.

Reports the time per run (Generate pressed -> results shown) and per iteration step, p50/p95,
and the server's memory: the resident set (VmRSS) of the streamlit process and its children,
sampled every 0.2 s: at idle before, after one warm-up visit, the peak under load, and after
the load while idle (Streamlit keeps a closed tab's session for
``server.disconnectedSessionTTL`` seconds, 120 by default, and the app's housekeeping
releases expired sessions every 30 s, so memory is also read after both). It is a
benchmark, not a test: it prints figures and asserts nothing about them.

Run:  .venv/bin/python bench/load.py            (20 sessions)
      .venv/bin/python bench/load.py --waves 2        (two classes, one after the other)
      .venv/bin/python bench/load.py --sessions 5 --points 20000 --idle 180
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

# The server's start and shutdown and the Chromium flags are the browser tests' own.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from serving import chromium_launch_options, start_app, stop_app  # noqa: E402

APP = '[data-testid="stApp"]'
# Every wait is bounded; a session that is not done by then counts as failed.
STEP_TIMEOUT_MS = 600_000
MAX_STEPS = 12  # iterations stepped through per session, at most


# ----------------------------------------------------------------------------- server memory


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants, from /proc/<pid>/task/*/children."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def rss_mib(pid: int) -> float:
    """Resident memory of a process tree, MiB (VmRSS summed)."""
    total = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(match.group(1)) if match else 0
    return total / 1024


class MemorySampler(threading.Thread):
    """Samples the server's RSS every `interval` s; keeps (time, MiB) pairs."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append((time.monotonic(), rss_mib(self.pid)))
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)

    def peak(self, since: float = 0.0, until: float = float("inf")) -> float:
        return max((m for t, m in self.samples if since <= t <= until), default=float("nan"))

    def last(self) -> float:
        return self.samples[-1][1] if self.samples else float("nan")


# ----------------------------------------------------------------------------- one student


@dataclass
class Result:
    session: int
    run_s: float | None = None
    load_s: float | None = None
    steps_s: list[float] = field(default_factory=list)
    n_iter: int | None = None
    error: str | None = None


async def settled(page: Page) -> None:
    await page.wait_for_selector(
        f'{APP}[data-test-script-state="notRunning"]', timeout=STEP_TIMEOUT_MS
    )


async def close_first_request_dialog(page: Page) -> None:
    dialog = page.get_by_role("dialog").filter(has_text="Page not found")
    if await dialog.count():
        await page.keyboard.press("Escape")


async def move_slider_to(page: Page, slider, value: int, n_iter: int, tries: int = 3) -> None:
    """Press → until the step chart shows iteration `value`; a rerun can take the focus
    away from the slider mid-press, so a press that moved nothing is repeated."""
    title = page.locator(".gtitle", has_text=f"Iteration {value} of {n_iter}")
    for attempt in range(tries):
        await slider.focus()
        await slider.press("ArrowRight")
        last = attempt == tries - 1
        try:
            await expect(title.first).to_be_attached(timeout=STEP_TIMEOUT_MS if last else 30_000)
            return
        except AssertionError:
            if last:
                raise
            await settled(page)


async def student(browser, url: str, session: int, n_points: int) -> Result:
    result = Result(session)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        t0 = time.monotonic()
        await page.goto(f"{url}/kmeans", wait_until="domcontentloaded")
        await page.wait_for_selector(f'{APP}[data-test-connection-state="CONNECTED"]')
        await expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(
            timeout=STEP_TIMEOUT_MS
        )
        await settled(page)
        await close_first_request_dialog(page)
        result.load_s = time.monotonic() - t0

        # Own data: 100,000 points from this session's own seed.
        points = page.get_by_label("Points (n_samples)", exact=True)
        await points.fill(str(n_points))
        seed = page.get_by_label("Data seed (random_state)", exact=True)
        await seed.fill(str(1000 + session))
        t0 = time.monotonic()
        await page.get_by_role("button", name="Generate data").click()
        caption = page.get_by_text(re.compile(rf"^{n_points:,} points × 2 features"))
        await expect(caption.first).to_be_visible(timeout=STEP_TIMEOUT_MS)
        await settled(page)
        result.run_s = time.monotonic() - t0

        iterations = page.locator('[data-testid="stMetric"]').filter(has_text="Iterations")
        text = await iterations.first.locator('[data-testid="stMetricValue"]').inner_text()
        result.n_iter = int(text.strip())

        # Step through the iterations with the slider (the keyboard moves it one step).
        await page.locator('[data-testid="stTab"]', has_text="Step through").first.click()
        slider = page.get_by_role("slider", name="Iteration")
        if result.n_iter > 1:
            await slider.focus()
            await slider.press("Home")
            await settled(page)
            for t in range(2, min(result.n_iter, MAX_STEPS) + 1):
                t0 = time.monotonic()
                await move_slider_to(page, slider, t, result.n_iter)
                await settled(page)
                result.steps_s.append(time.monotonic() - t0)
        errors = await page.locator('[data-testid="stException"]').count()
        if errors:
            result.error = f"{errors} exception box(es) on the page"
    except Exception as exc:  # a benchmark reports failures, it does not stop at them
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        await context.close()
    return result


@dataclass
class Wave:
    """One class of concurrent sessions, and the server's memory in the idle time after it."""

    results: list[Result]
    t_start: float
    t_end: float
    after: dict[int, float]  # seconds after the load -> VmRSS, MiB


# ----------------------------------------------------------------------------- report


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def print_wave(number: int, wave: Wave, sampler: MemorySampler, baseline: float, n: int) -> None:
    ok = [r for r in wave.results if r.error is None]
    runs = [r.run_s for r in ok if r.run_s is not None]
    steps = [s for r in ok for s in r.steps_s]
    loads = [r.load_s for r in wave.results if r.load_s is not None]
    n_iters = [r.n_iter for r in ok if r.n_iter]
    print(f"  wave {number}: {len(ok)}/{len(wave.results)} sessions finished in "
          f"{wave.t_end - wave.t_start:.1f} s wall")  # fmt: skip
    for r in wave.results:
        if r.error:
            print(f"    session {r.session} FAILED: {r.error}")
    print(f"    page load      p50 {pct(loads, 50):7.2f} s   p95 {pct(loads, 95):7.2f} s")
    print(
        f"    run (generate + K-means + results)  p50 {pct(runs, 50):7.2f} s   "
        f"p95 {pct(runs, 95):7.2f} s   max {max(runs, default=float('nan')):7.2f} s"
    )
    print(
        f"    iteration step p50 {pct(steps, 50):7.2f} s   p95 {pct(steps, 95):7.2f} s   "
        f"({len(steps)} steps; iterations per run {min(n_iters, default=0)}-"
        f"{max(n_iters, default=0)})"
    )
    peak = sampler.peak(wave.t_start, wave.t_end + 1)
    print(f"    peak under load         {peak:8.1f} MiB  "
          f"(+{peak - baseline:.1f} MiB, {(peak - baseline) / n:.1f} MiB per session)")  # fmt: skip
    for mark, mib in wave.after.items():
        print(f"    {mark:3d} s after the load   {mib:8.1f} MiB  "
              f"(+{mib - baseline:.1f} MiB over baseline)")  # fmt: skip


async def main(args: argparse.Namespace) -> int:
    log = Path(args.log)
    server, url = start_app(log, timeout=120)
    sampler = MemorySampler(server.pid)
    sampler.start()
    waves: list[Wave] = []
    checkpoints = sorted({mark for mark in (10, 30, 120) if mark < args.idle} | {args.idle})
    try:
        await asyncio.sleep(3)
        idle_before = sampler.last()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(**chromium_launch_options())
            # Warm-up: one visit loads the app's modules, as the first student would.
            warm = await student(browser, url, session=0, n_points=300)
            await asyncio.sleep(2)
            warm_baseline = sampler.last()

            for wave in range(args.waves):
                # Every session of every wave has its own data seed: no shared cached fit.
                first = 1 + wave * args.sessions
                t_start = time.monotonic()
                results = await asyncio.gather(
                    *(student(browser, url, first + i, args.points) for i in range(args.sessions))
                )
                t_end = time.monotonic()
                after = {}
                for mark in checkpoints:
                    await asyncio.sleep(max(0.0, t_end + mark - time.monotonic()))
                    after[mark] = sampler.last()
                waves.append(Wave(results, t_start, t_end, after))
            await browser.close()
    finally:
        sampler.stop()
        stop_app(server, timeout=15)

    print(f"Load test: {args.waves} wave(s) of {args.sessions} concurrent sessions, "
          f"K-means on {args.points:,} points each")  # fmt: skip
    print(f"  machine: {os.cpu_count()} CPU(s); server log: {log}")
    if warm.error:
        print(f"  warm-up session failed: {warm.error}")
    print("  server memory (VmRSS of streamlit and children):")
    print(f"    idle after start        {idle_before:8.1f} MiB")
    print(f"    after one warm-up visit {warm_baseline:8.1f} MiB  (baseline)")
    for number, wave in enumerate(waves, start=1):
        print_wave(number, wave, sampler, warm_baseline, args.sessions)
    all_ok = all(r.error is None for wave in waves for r in wave.results)
    return 0 if all_ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument(
        "--waves", type=int, default=1,
        help="classes one after another, each after the last one's idle time: a leak grows "
        "with every wave, a bounded cache does not",
    )  # fmt: skip
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument(
        "--idle", type=int, default=180,
        help="seconds to watch memory after the load (past the 120 s session TTL and the "
        "next 30 s housekeeping round)",
    )  # fmt: skip
    parser.add_argument("--log", default="/tmp/lab-load-server.log")
    sys.exit(asyncio.run(main(parser.parse_args())))
