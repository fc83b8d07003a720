"""Load tests: a room of students on one server, in two scenarios.

**K-means** (the default). Starts its own ``streamlit run app.py`` on a free local port,
then drives N concurrent browser sessions (one headless Chromium, one context per student,
Playwright's async API). Each session opens the K-means page, generates its own
100,000-point data set (its own data seed, so no two sessions share a cached fit), waits
for K-means to finish and the results to show, then steps through every iteration with the
"Iteration" slider.

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

**Class** (``--scenario class``): "now everybody press Retrain". Serves the app as ``make
run`` does (``serve.py``), warms it with one visit per lab, then for each of ``--rounds``
rounds:

1. *idle probe*: a new session opens ``/kmeans`` (time from navigation start to its first
   chart drawn, as ``bench/page.py --mode new-session`` measures it) and steps the Iteration
   slider through the first iterations (each step: the key press to the step chart's title);
2. ``--retrain`` sessions open the Attention lab, pick the Reverse task (600 steps by
   default, as the issue measured), each with its own seed so that no two share a training
   (``--same-settings``: all the same, so they share one), and ``--study`` sessions open the
   K-means lab on their own ``--study-points`` data set and its "Several starts" tab; when all
   are ready they press Retrain / Run restart study at once, and ``--leavers`` of them
   close their tab right after pressing (their jobs must be cancelled, not lost);
3. *loaded probe*: the same new session as in 1, while those jobs queue and run;
4. every session that stayed waits for its result on screen.

It prints the probe's first chart and steps, idle and loaded, round by round with the load
average at each probe (the machine is shared: interleaved rounds, and ratios within a round);
each kind of job's queue wait and run time (from the server log, where ``admission.py`` writes
one line per job); what every session got; and the server's memory as in the K-means scenario.

Run:  .venv/bin/python bench/load.py --scenario class --retrain 6 --rounds 3
      .venv/bin/python bench/load.py --scenario class --retrain 20 --study 20 --rounds 1
      .venv/bin/python bench/load.py --scenario class --retrain 20 --same-settings
      .venv/bin/python bench/load.py --scenario class --retrain 20 --chartless-students
          (the students' browsers draw no chart: they share the server's cores here)
      .venv/bin/python bench/load.py --scenario class --serve /tmp/old/serve.py
          (another checkout's app, e.g. the code before the queue, for a before/after)
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
from playwright.async_api import TimeoutError as PlaywrightTimeout

# The server's start and shutdown and the Chromium flags are the browser tests' own; the
# page-load probe is bench/page.py's.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser_util import ServerFrames  # noqa: E402
from page import LOAD_PROBE  # noqa: E402
from serving import SERVE, chromium_launch_options, start_app, stop_app  # noqa: E402

APP = '[data-testid="stApp"]'
# Every wait is bounded; a session that is not done by then counts as failed.
STEP_TIMEOUT_MS = 600_000
MAX_STEPS = 12  # iterations stepped through per session, at most
# class: a student's page ready to press (or counted as failed)
SETUP_TIMEOUT_S = int(os.environ.get("LOAD_SETUP_TIMEOUT_S", 240))


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


# ----------------------------------------------------------------------------- scenario: class

RETRAIN_TASK = "Reverse"  # its default is 600 training steps
JOB_LINE = re.compile(
    r"job (?P<kind>\S+) #(?P<id>\d+) (?P<state>\w+): waited (?P<wait>[\d.]+) s, "
    r"ran (?P<run>[\d.]+) s, asked by (?P<asked>\d+)"
)
CACHE_LINE = re.compile(r"job (?P<kind>\S+) #(?P<id>\d+) from the cache")


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


@dataclass
class Probe:
    """A new K-means session: its first chart and its iteration steps."""

    first_chart_s: float | None = None
    steps_s: list[float] = field(default_factory=list)
    load: str = ""
    error: str | None = None


@dataclass
class Pressed:
    """One student of the class: what they pressed and what they got."""

    what: str  # "retrain" or "study"
    session: int
    leaves: bool
    result_s: float | None = None  # the press to the result on screen
    error: str | None = None
    stage: str = "opening the page"  # the set-up step reached (said when set-up fails)


async def probe(browser, url: str, max_steps: int = 5) -> Probe:
    """Open /kmeans in a new session; time its first chart, then a few iteration steps."""
    result = Probe(load=loadavg())
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    await page.add_init_script(LOAD_PROBE)
    try:
        await page.goto(f"{url}/kmeans", wait_until="domcontentloaded")
        await page.wait_for_function("() => window.__load.charts.length > 0", polling=50,
                                     timeout=STEP_TIMEOUT_MS)  # fmt: skip
        result.first_chart_s = await page.evaluate(
            "() => Math.min(...window.__load.charts.map(gd => gd.__loadDrawn)) / 1000")
        await settled(page)
        await close_first_request_dialog(page)
        iterations = page.locator('[data-testid="stMetric"]').filter(has_text="Iterations")
        n_iter = int((await iterations.first.locator('[data-testid="stMetricValue"]')
                      .inner_text()).strip())  # fmt: skip
        await page.locator('[data-testid="stTab"]', has_text="Step through").first.click()
        slider = page.get_by_role("slider", name="Iteration")
        await slider.focus()
        await slider.press("Home")
        await settled(page)
        for t in range(2, min(n_iter, max_steps + 1) + 1):
            t0 = time.monotonic()
            await move_slider_to(page, slider, t, n_iter)
            await settled(page)
            result.steps_s.append(time.monotonic() - t0)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        await context.close()
    return result


async def press_at_once(browser, url: str, who: Pressed, seed: int, ready: asyncio.Barrier,
                        study_points: int, chartless: bool = False) -> Pressed:  # fmt: skip
    """Get one student's page ready, wait for the whole class, press, wait for the result.

    ``chartless``: this student's browser never loads Plotly's script, so it draws no chart
    (the page, its buttons and its waiting panel work as before). A real class runs its
    browsers on its own laptops; here they share the server's 2 cores, and compiling
    Plotly's 4.7 MB script and drawing every chart in 20 browsers is most of their cost.
    """
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    if chartless:
        await context.route("**/PlotlyChart.*.js", lambda route: route.abort())
    page = await context.new_page()
    frames = ServerFrames(page)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    button = None
    try:
        async with asyncio.timeout(SETUP_TIMEOUT_S):  # a stuck page fails, the class goes on
            if who.what == "retrain":
                await page.goto(f"{url}/attention", wait_until="domcontentloaded")
                await settled(page)
                who.stage = "choosing the task"
                await choose(page, frames, "Task", RETRAIN_TASK)
                who.stage = "opening the Retrain panel"
                await page.get_by_text("Retrain this model live").click()
                who.stage = "typing the seed"
                sidebar = page.locator('[data-testid="stSidebar"]')
                field_ = sidebar.get_by_label("Seed", exact=True).first
                await field_.fill(str(seed))
                await rerun_after(page, frames, field_.press("Enter"))  # the server has the seed
                button = page.get_by_role("button", name="Retrain", exact=True)
            else:
                link = f"src=generate&kind=blobs&n={study_points}&ds={seed}"
                await page.goto(f"{url}/kmeans?{link}", wait_until="domcontentloaded")
                await expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(
                    timeout=STEP_TIMEOUT_MS)
                await settled(page)
                await page.locator('[data-testid="stTab"]', has_text="Several starts").first.click()
                button = page.get_by_role("button", name="Run restart study")
                await expect(button).to_be_visible(timeout=STEP_TIMEOUT_MS)
    except Exception as exc:
        first = (str(exc).splitlines() or [f"not ready within {SETUP_TIMEOUT_S} s"])[0]
        who.error = f"not ready ({who.stage}): {type(exc).__name__}: {first[:160]}"
    await ready.wait()  # the whole class is ready (or has failed): everybody presses now
    try:
        if who.error is None:
            t0 = time.monotonic()
            await button.click()
            # Watched with a plain DOM query (WATCH_MS), not a Playwright role locator: the
            # latter rebuilds the page's accessibility tree at every look, which in twenty
            # waiting students took more of the shared cores than their pages did.
            shown = RESULT_SHOWN[who.what]
            if who.leaves:  # the job is in the queue (its panel is drawn), then the tab closes
                await page.wait_for_function(f"() => ({STOP_SHOWN})() || ({shown})()",
                                             polling=WATCH_MS, timeout=STEP_TIMEOUT_MS)
            else:
                await page.wait_for_function(shown, polling=WATCH_MS, timeout=STEP_TIMEOUT_MS)
                who.result_s = time.monotonic() - t0
    except Exception as exc:
        who.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    finally:
        await context.close()
    return who


# How a waiting student's result is seen: cheap DOM queries, looked at every WATCH_MS.
WATCH_MS = 250
RESULT_SHOWN = {
    # the Retrain panel's model choice has switched to the model trained in this session
    "retrain": """() => [...document.querySelectorAll('[data-testid="stRadioOption"]')].some(
        l => l.textContent.includes("Retrained in this session")
             && l.querySelector("input")?.checked)""",
    # the restart study's histogram is drawn
    "study": """() => [...document.querySelectorAll(".gtitle")].some(
        t => t.textContent.includes("Final J over many seeds"))""",
}
STOP_SHOWN = """() => [...document.querySelectorAll('[data-testid="stButton"] button')].some(
    b => b.textContent.trim().endsWith("Stop"))"""


async def answered(page: Page, frames: ServerFrames, before: int) -> None:
    """Wait for the server's answer to a run asked for when ``frames`` had counted ``before``
    (browser_util.ServerFrames: the script-state attribute does not show every run), then
    for the page to finish that run."""
    deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
    while frames.count == before:
        if time.monotonic() > deadline:
            raise TimeoutError("no answer from the server")
        await asyncio.sleep(0.02)
    await settled(page)


async def choose(page: Page, frames: ServerFrames, label: str, option: str,
                 tries: int = 5) -> None:  # fmt: skip
    """Pick ``option`` in the select box ``label`` and wait for the run the choice causes.

    A run that starts just after the box opened closes its list again, and the option never
    appears: the box is opened again until its input shows the option.
    """
    field_ = page.get_by_label(label, exact=True)  # the box's input shows the choice
    for _ in range(tries):
        await settled(page)
        if await field_.input_value() == option:
            return
        await field_.click()
        before = frames.count
        try:
            await page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
        except PlaywrightTimeout:
            continue  # the list closed before the click: open it again
        await answered(page, frames, before)
    if await field_.input_value() != option:
        raise TimeoutError(f"{label!r} never showed {option!r} in {tries} tries")


async def rerun_after(page: Page, frames: ServerFrames, action) -> None:
    """Do ``action`` (an awaitable) and wait until the script run it caused has ended (a
    value typed into a field reaches the server only with that run)."""
    before = frames.count
    await action
    await answered(page, frames, before)


def job_lines(log: Path, since: int) -> tuple[list[dict], int, int]:
    """The admission module's job lines written to the server log after byte ``since``, the
    number of requests answered from its cache, and the log's length."""
    text = log.read_bytes()
    new = text[since:].decode(errors="replace")
    found = [m.groupdict() for m in JOB_LINE.finditer(new)]
    return found, len(CACHE_LINE.findall(new)), len(text)


def print_probe(tag: str, p: Probe) -> None:
    if p.error:
        print(f"    {tag:<7} FAILED: {p.error}")
        return
    steps = statistics.median(p.steps_s) if p.steps_s else float("nan")
    print(f"    {tag:<7} first chart {p.first_chart_s:6.2f} s   step p50 {steps:5.2f} s "
          f"({len(p.steps_s)} steps)   load average {p.load}")  # fmt: skip


def print_jobs(jobs: list[dict]) -> None:
    by_state: dict[tuple[str, str], list[dict]] = {}
    for job in jobs:
        by_state.setdefault((job["kind"], job["state"]), []).append(job)
    for (kind, state), group in sorted(by_state.items()):
        waits = [float(j["wait"]) for j in group]
        runs = [float(j["run"]) for j in group]
        asked = sum(int(j["asked"]) for j in group)
        print(f"    {kind:<22} {state:<9} {len(group):3d} job(s) for {asked:3d} session(s)   "
              f"wait p50 {pct(waits, 50):6.1f} s  max {max(waits):6.1f} s   "
              f"run p50 {pct(runs, 50):5.1f} s  max {max(runs):5.1f} s")  # fmt: skip


async def class_main(args: argparse.Namespace) -> int:
    log = Path(args.log)
    launcher = [sys.executable, args.serve] if args.serve else SERVE
    # Another checkout is served from its own folder, with its own .streamlit/config.toml.
    cwd = Path(args.serve).resolve().parent if args.serve else None
    server, url = start_app(log, launcher=launcher, cwd=cwd, timeout=120)
    sampler = MemorySampler(server.pid)
    sampler.start()
    print(f"Class scenario: {args.retrain} sessions press Retrain ({RETRAIN_TASK}, "
          f"{'the same settings' if args.same_settings else 'a seed each'}) and {args.study} "
          f"run the restart study ({args.study_points:,} points each) at once, "
          f"{args.leavers} of them leave at once; {args.rounds} round(s)"
          + ("; no charts in the students' browsers" if args.chartless_students else ""))
    print(f"  server: {' '.join(launcher)}; log {log}; {os.cpu_count()} CPU(s); "
          f"load average at start {loadavg()}")  # fmt: skip
    rounds, all_jobs, all_pressed, cache_hits = [], [], [], 0
    try:
        await asyncio.sleep(3)
        idle_before = sampler.last()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(**chromium_launch_options())
            await probe(browser, url)  # warm-up visits, not counted
            warm = Pressed("retrain", 0, leaves=False)
            await press_at_once(browser, url, warm, 0, asyncio.Barrier(1), args.study_points)
            _, _, offset = job_lines(log, 0)
            baseline = sampler.last()
            for r in range(args.rounds):
                idle = await probe(browser, url)
                n = args.retrain + args.study
                ready = asyncio.Barrier(n + 1)
                spread = max(1, n // args.leavers) if args.leavers else n + 1
                leaving = set(range(0, n, spread)[: args.leavers])  # both kinds, spread out
                who = [Pressed("retrain" if i < args.retrain else "study", i, i in leaving)
                       for i in range(n)]
                seeds = [1 if args.same_settings and w.what == "retrain"
                         else 1000 * (r + 1) + w.session for w in who]  # fmt: skip
                t_start = time.monotonic()
                tasks = [asyncio.create_task(press_at_once(browser, url, w, seed, ready,
                                                           args.study_points,
                                                           args.chartless_students))
                         for w, seed in zip(who, seeds, strict=True)]  # fmt: skip
                await ready.wait()
                await asyncio.sleep(1.0)  # the presses reach the server
                loaded = await probe(browser, url)
                pressed = await asyncio.gather(*tasks)
                t_end = time.monotonic()
                await asyncio.sleep(3)  # the leavers' jobs are released within the grace
                jobs, hits, offset = job_lines(log, offset)
                rounds.append((idle, loaded, pressed, jobs, sampler.peak(t_start, t_end + 1)))
                cache_hits += hits
                all_jobs += jobs
                all_pressed += pressed
                print(f"  round {r + 1}: done in {t_end - t_start:.0f} s", flush=True)
            await browser.close()
        after = {}
        t_end = time.monotonic()
        for mark in sorted({m for m in (10, 30, 120) if m < args.idle} | {args.idle}):
            await asyncio.sleep(max(0.0, t_end + mark - time.monotonic()))
            after[mark] = sampler.last()
    finally:
        sampler.stop()
        stop_app(server, timeout=15)

    ratios = []
    for r, (idle, loaded, _, jobs, peak) in enumerate(rounds, start=1):
        print(f"  round {r}: a new /kmeans session (probe)")
        print_probe("idle", idle)
        print_probe("loaded", loaded)
        if idle.first_chart_s and loaded.first_chart_s:
            ratios.append(loaded.first_chart_s / idle.first_chart_s)
            print(f"    loaded / idle first chart: {ratios[-1]:.2f}×")
        print(f"    jobs (server log), peak memory {peak:.0f} MiB:")
        print_jobs(jobs)
    if ratios:
        print(f"  first chart loaded / idle over the rounds: median "
              f"{statistics.median(ratios):.2f}× ({', '.join(f'{x:.2f}' for x in ratios)})")
    stayed = [p for p in all_pressed if not p.leaves]
    got = [p for p in stayed if p.result_s is not None]
    for what in ("retrain", "study"):
        times = [p.result_s for p in got if p.what == what]
        if times:
            print(f"  {what:<8} press → result on screen: p50 {pct(times, 50):6.1f} s   "
                  f"max {max(times):6.1f} s   ({len(times)} sessions)")  # fmt: skip
    states = {s: sum(j["state"] == s for j in all_jobs) for s in ("done", "cancelled", "failed")}
    print(f"  sessions: {len(got)}/{len(stayed)} that stayed got their result; "
          f"{len(all_pressed) - len(stayed)} left after pressing")  # fmt: skip
    asked = sum(int(j["asked"]) for j in all_jobs)
    pressed_ok = sum(p.error is None for p in all_pressed)
    print(f"  jobs settled: {states['done']} done, {states['cancelled']} cancelled, "
          f"{states['failed']} failed, for {asked} session(s); {cache_hits} press(es) answered "
          f"from the cache; {pressed_ok - asked - cache_hits} press(es) unaccounted for")
    for p in all_pressed:
        if p.error:
            print(f"    {p.what} session {p.session} FAILED: {p.error}")
    print("  server memory (VmRSS of the server and children):")
    print(f"    idle after start        {idle_before:8.1f} MiB")
    print(f"    after the warm-up visits {baseline:7.1f} MiB  (baseline)")
    for mark, mib in after.items():
        print(f"    {mark:3d} s after the class   {mib:8.1f} MiB  "
              f"(+{mib - baseline:.1f} MiB over baseline)")  # fmt: skip
    print(f"  load average at the end {loadavg()}")
    return 0 if all(p.error is None for p in all_pressed) and len(got) == len(stayed) else 1


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
    parser.add_argument("--scenario", choices=("kmeans", "class"), default="kmeans")
    parser.add_argument("--retrain", type=int, default=6,
                        help="class: sessions that press Retrain at once")
    parser.add_argument("--study", type=int, default=0,
                        help="class: sessions that run the restart study at once")
    parser.add_argument("--study-points", type=int, default=20_000)
    parser.add_argument("--leavers", type=int, default=2,
                        help="class: sessions that close their tab right after pressing")
    parser.add_argument("--rounds", type=int, default=3,
                        help="class: idle and loaded probes, interleaved")
    parser.add_argument("--chartless-students", action="store_true",
                        help="class: the students' browsers do not load Plotly's script (no "
                             "charts drawn; the probe still draws its own)")
    parser.add_argument("--same-settings", action="store_true",
                        help="class: every Retrain with the same settings (one shared job)")
    parser.add_argument("--serve", default=None,
                        help="class: serve.py of another checkout (before/after)")
    args = parser.parse_args()
    run = class_main if args.scenario == "class" else main
    sys.exit(asyncio.run(run(args)))
