"""Time a lab page in a real Chromium: an action → every visible chart drawn, and the bytes sent.

Two modes, each starting its own ``streamlit run app.py`` on a free port.

``--mode kmeans`` (the default) opens ``/kmeans`` with generated
blobs of each case's size (through the URL query parameters the page reads), then for
each repeat changes the K-means seed and presses **Run K-means**, so every repeat is a
real fit on all N points. For each case it prints medians over the repeats of:

run_s
    From the click on Run K-means to the charts drawn: the script state has gone
    ``running`` → ``notRunning`` *and* every visible Plotly chart in the main area has
    drawn: it has its ``.main-svg``, and a chart the action redrew has fired its first
    ``plotly_afterplot`` since the click (Streamlit's chart fires a second one a few hundred
    ms later for a relayout of the same figure; that one is not waited for). The clock is
    the page's own ``performance.now()``, read at the moment the last of those happened.
run_MB
    Bytes of every websocket frame the browser received from the click until the charts
    were drawn and the socket stayed quiet for 0.5 s (Streamlit's protobuf deltas).
tab_s, tab_MB
    Opening the "Step through" tab (its step chart and the playback figure are computed
    only when the tab is opened).
step_s, step_MB
    One step of the Iteration slider (ArrowRight on its thumb): the step chart redrawn.
    The fit is never rerun for a step; the bytes show nothing but the step chart travels.

``--mode attention`` opens ``/attention`` as a visitor finds it (the default toy model,
previous token, on its example text) and, for each repeat, types a new word into the text
box and presses Ctrl+Enter; then it switches to random attention on your own text and
pastes 200 words (three different texts at most). It prints, over the repeats:

edit_s
    From the key press to every visible chart drawn (the same clock and the same rule
    as run_s above: the run has ended and each visible chart in the main area has drawn
    after the key press).
edit_MB
    Bytes of websocket frames received for that edit.
paste_s, paste_MB
    The same for a 200-word paste (one sequence of 200 tokens, 4 heads).

``--mode first-visit`` and ``--mode new-session`` time a page *load*: from ``goto`` to the
first chart drawn in Chromium at 1440×900 (a new browser context each time: a new Streamlit
session with an empty browser cache, as a student who opens the link). ``first-visit``
starts a fresh server for every visit and opens the lab as its very first request, as soon
as it answers its health check (``--settle 20``: 20 s later, as when a server was started
before the class arrived);
``new-session`` warms one server with a visit to each lab, then opens new sessions on it
(``--same-browser``: each a new tab of one browser context, whose cache already holds the
page's scripts, as for a student coming back).
Both interleave the labs (``--labs``) and print, per lab, medians over the repeats of
the following (every mode serves the app as ``make run`` does, with ``serve.py``, which
starts the warm-up at server start; ``--plain`` serves with ``streamlit run app.py``):

first_chart_s
    From navigation start (the page's ``performance.timeOrigin``) to the first chart in the
    main area having drawn its SVG.
screen_s
    To everything on the first screen done: the last script run has ended and every chart
    whose top is inside the 900 px viewport has drawn.
runs
    Script runs the server did for the load (a second run at page load shows up here).
health_s
    (first-visit only) From starting ``streamlit run`` to ``/_stcore/health`` answering.

    .venv/bin/python bench/page.py                       # 100k and 1M points, 3 repeats
    .venv/bin/python bench/page.py --sizes 100000 --repeats 5
    .venv/bin/python bench/page.py --no-post-script-gc      # Streamlit's gc after runs off
    .venv/bin/python bench/page.py --mode attention --repeats 9
    .venv/bin/python bench/page.py --mode first-visit --repeats 3
    .venv/bin/python bench/page.py --mode new-session --repeats 5

A benchmark, never a test: nothing here asserts a time. The machine has 2 shared cores,
so the load average is printed with the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from serving import chromium_launch_options, start_app, stop_app  # noqa: E402

K = 8
QUIET_S = 0.5
TIMEOUT_MS = 180_000

# Injected into every page: records script-state changes and Plotly redraws with their
# performance.now() times, so Python reads exact moments instead of polling late.
PROBE = """
(() => {
  const w = window;
  w.__bench = {armed: false, sawRunning: false, notRunningAt: null, clickAt: Infinity};
  const hook = () => {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
      if (gd.__benchHooked || typeof gd.on !== 'function') continue;
      gd.__benchHooked = true;
      // The first drawing after the click counts: Streamlit's chart draws a second time
      // a few hundred ms later (a relayout of the same figure), which is not waited for.
      gd.on('plotly_afterplot', () => {
        if (!(gd.__benchPlotAt > w.__bench.clickAt)) gd.__benchPlotAt = performance.now();
      });
    }
    const app = document.querySelector('[data-testid="stApp"]');
    if (app && w.__bench.armed) {
      const state = app.getAttribute('data-test-script-state');
      if (state === 'running') { w.__bench.sawRunning = true; w.__bench.notRunningAt = null; }
      else if (state === 'notRunning' && w.__bench.sawRunning && w.__bench.notRunningAt === null)
        w.__bench.notRunningAt = performance.now();
    }
  };
  new MutationObserver(hook).observe(document, {subtree: true, childList: true,
                                                 attributes: true});
  setInterval(hook, 20);
})();
"""

ARM = """() => {
  const b = window.__bench;
  b.armed = true; b.sawRunning = false; b.notRunningAt = null;
  for (const gd of document.querySelectorAll('.js-plotly-plot')) gd.__benchBefore = true;
  b.clickAt = performance.now();
  return b.clickAt;
}"""

# Done when the run has ended, every visible chart in the main area has its SVG, and at
# least one chart was drawn after the click (redrawn, or new). The time is that of the last
# such drawing, or of the end of the run if later.
DRAWN = """() => {
  const b = window.__bench;
  if (b.notRunningAt === null) return null;
  if (document.querySelector('[data-testid="stSkeleton"]')) return null;
  let last = b.notRunningAt, drawn = 0;
  for (const gd of document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')) {
    if (!gd.checkVisibility()) continue;
    if (!gd.querySelector('.main-svg')) return null;
    if (gd.__benchPlotAt > b.clickAt) { drawn++; last = Math.max(last, gd.__benchPlotAt); }
    else if (!gd.__benchBefore) {
      if (gd.__benchFirstSeen === undefined) gd.__benchFirstSeen = performance.now();
      drawn++; last = Math.max(last, gd.__benchFirstSeen);
    }
  }
  return drawn ? (last - b.clickAt) / 1000 : null;
}"""


class Bytes:
    """Sum of websocket frame payloads received by the page."""

    def __init__(self, page: Page) -> None:
        self.total, self.last_at = 0, time.monotonic()
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        self.total += len(payload)
        self.last_at = time.monotonic()

    def settle(self, page: Page) -> None:
        """Wait until no frame has come for QUIET_S seconds."""
        while time.monotonic() - self.last_at < QUIET_S:
            page.wait_for_timeout(100)


def measure(page: Page, received: Bytes, action) -> tuple[float, float]:
    """(seconds from the action to the charts drawn, MB received) for one action."""
    page.evaluate(ARM)
    before = received.total
    action()
    try:
        page.wait_for_function("() => window.__bench.sawRunning", timeout=3_000)
    except PlaywrightTimeout:  # nothing reran (e.g. a tab whose content was already sent)
        received.settle(page)
        return 0.0, (received.total - before) / 1e6
    page.wait_for_function(DRAWN, timeout=TIMEOUT_MS, polling="raf")
    received.settle(page)  # also lets a later chart of the same run record its drawing
    seconds = float(page.evaluate(DRAWN))
    return seconds, (received.total - before) / 1e6


def press_key(target, key: str) -> None:
    target.focus()
    target.press(key)


def wait_idle(page: Page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           timeout=TIMEOUT_MS)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')",
                           timeout=TIMEOUT_MS)


def run_case(browser, url: str, n: int, repeats: int) -> dict[str, list[float]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.add_init_script(PROBE)
    received = Bytes(page)
    page.goto(f"{url}/kmeans?src=generate&kind=blobs&n={n}&c={K}&k={K}&seed=0",
              wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]',
                           timeout=TIMEOUT_MS)
    page.get_by_text(f"{n:,} points × 2 features").wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    received.settle(page)
    out: dict[str, list[float]] = {key: [] for key in
                                   ("run_s", "run_MB", "tab_s", "tab_MB", "step_s", "step_MB")}
    seed = page.get_by_label("Seed (random_state)", exact=True)
    tabs = page.locator('[data-testid="stTab"]')
    for r in range(repeats):
        tabs.filter(has_text="Result").first.click()
        wait_idle(page)
        received.settle(page)

        def press_run(r=r) -> None:
            seed.fill(str(r + 1))
            page.get_by_role("button", name="Run K-means").click()

        s, mb = measure(page, received, press_run)
        out["run_s"].append(s)
        out["run_MB"].append(mb)

        s, mb = measure(page, received, lambda: tabs.filter(has_text="Step through").first.click())
        out["tab_s"].append(s)
        out["tab_MB"].append(mb)

        thumb = page.locator('[data-testid="stSlider"]', has_text="Iteration").get_by_role("slider")
        wait_idle(page)
        if thumb.get_attribute("aria-valuenow") != "1":
            measure(page, received, partial(press_key, thumb, "Home"))
        s, mb = measure(page, received, partial(press_key, thumb, "ArrowRight"))
        out["step_s"].append(s)
        out["step_MB"].append(mb)
    context.close()
    return out


# New words for the attention mode: lowercase, 4 to 24 letters (what the default toy model
# reads), each different from the one before so that no cached run is reused.
WORDS = ("transformer", "softmax", "queries", "heatmap", "residual", "embedding", "position",
         "keysandvalues", "multihead", "induction", "layernorm", "projection")


FIRST_CHART_TICKS = """() => {
  const gd = document.querySelector('[data-testid="stMain"] .js-plotly-plot');
  return gd ? [gd._fullLayout.xaxis.tickvals || [], gd._fullLayout.xaxis.ticktext || []] : null;
}"""


def _position(tick) -> int:
    """A tick's position: a number, or a category named "token (position)"."""
    return int(tick) if isinstance(tick, int | float) else int(tick.rsplit("(", 1)[1][:-1])


def check_first_chart(page: Page, tokens: list[str]) -> None:
    """The first chart's x labels are the typed tokens (every one, or every n-th of them)."""
    values, texts = page.evaluate(FIRST_CHART_TICKS)
    shown = [t.strip("\u2068\u2069") for t in texts]
    if not values or any(tokens[_position(v)] != t for v, t in zip(values, shown, strict=True)):
        raise RuntimeError(f"typed {tokens[:12]}... but the first chart shows {shown[:12]}")


# Words for the paste of 200 words (the free-text mode, one random attention layer).
VOCABULARY = ("the", "model", "reads", "every", "token", "and", "asks", "which", "other",
              "tokens", "matter", "most", "for", "what", "comes", "next", "in", "a", "long",
              "sentence")  # fmt: skip


def attention_case(browser, url: str, repeats: int) -> dict[str, list[float]]:
    """Type a new text ``repeats`` times on the default Attention page, then paste 200 words
    into the free-text mode (up to 3 times); seconds and MB each."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.add_init_script(PROBE)
    received = Bytes(page)
    page.goto(f"{url}/attention", wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]',
                           timeout=TIMEOUT_MS)
    page.locator('[data-testid="stMain"] .js-plotly-plot .main-svg').first.wait_for(
        timeout=TIMEOUT_MS)
    wait_idle(page)
    received.settle(page)
    box = page.get_by_label("Letters a-z, one sequence per line", exact=False)
    out: dict[str, list[float]] = {"edit_s": [], "edit_MB": [], "paste_s": [], "paste_MB": []}
    for r in range(repeats):
        word = WORDS[r % len(WORDS)] + "abcdefghij"[: r // len(WORDS)]
        box.fill(word)
        s, mb = measure(page, received, partial(press_key, box, "Control+Enter"))
        wait_idle(page)
        check_first_chart(page, list(word))
        out["edit_s"].append(s)
        out["edit_MB"].append(mb)

    page.get_by_role("radio", name="Random attention on your own text").click()
    wait_idle(page)
    received.settle(page)
    box = page.get_by_label("Your text, one sequence per line", exact=False)
    for r in range(min(repeats, 3)):
        words = [VOCABULARY[(7 * i + r) % len(VOCABULARY)] for i in range(200)]
        box.fill(" ".join(words))
        s, mb = measure(page, received, partial(press_key, box, "Control+Enter"))
        wait_idle(page)
        check_first_chart(page, words)
        out["paste_s"].append(s)
        out["paste_MB"].append(mb)
    context.close()
    return out


# ----------------------------------------------------------------------------- page loads

# Injected before the page's own scripts: the times (ms since navigation start) of every
# script-state change and of each chart's first drawing, so nothing is polled late.
LOAD_PROBE = """
(() => {
  const t = window.__load = {states: [], charts: []};
  let last = null;
  const hook = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (app) {
      const s = app.getAttribute('data-test-script-state');
      if (s !== last) { t.states.push([s, performance.now()]); last = s; }
    }
    // A chart counts once it is drawn and visible (never a hidden one, such as the tiny
    // chart app.py sends first so that the browser starts loading Plotly early).
    for (const gd of document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')) {
      if (gd.__loadDrawn === undefined && gd.querySelector('.main-svg')
          && gd.checkVisibility()) {
        gd.__loadDrawn = performance.now();
        t.charts.push(gd);
      }
    }
  };
  new MutationObserver(hook).observe(document, {subtree: true, childList: true,
                                                 attributes: true});
  setInterval(hook, 20);
})();
"""

# Read once the page has been quiet: first chart, first screen done, number of runs.
LOAD_RESULT = """() => {
  const t = window.__load;
  const runs = t.states.filter(([s]) => s === 'running').length;
  const ended = t.states.filter(([s]) => s === 'notRunning').map(([, at]) => at);
  const drawn = t.charts.map(gd => gd.__loadDrawn);
  const onScreen = t.charts.filter(gd => gd.checkVisibility()
                                   && gd.getBoundingClientRect().top < window.innerHeight)
                           .map(gd => gd.__loadDrawn);
  return {first: drawn.length ? Math.min(...drawn) / 1000 : null,
          screen: Math.max(ended.length ? ended[ended.length - 1] : 0, ...onScreen) / 1000,
          runs, n_on_screen: onScreen.length};
}"""

LAB_PATHS = {"kmeans": "/kmeans", "attention": "/attention"}


def time_load(browser, url: str, lab: str, context=None) -> dict[str, float]:
    """Open ``lab`` in a new browser context (or a new tab of ``context``, whose cache then
    holds the page's scripts); seconds to its first chart and first screen."""
    own = context is None
    if own:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.add_init_script(LOAD_PROBE)
    page.goto(url + LAB_PATHS[lab], wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    page.wait_for_function("() => window.__load.charts.length > 0", timeout=TIMEOUT_MS,
                           polling=50)
    wait_idle(page)
    page.wait_for_timeout(1_500)  # a second run at load starts within this
    wait_idle(page)
    result = page.evaluate(LOAD_RESULT)
    page.close()
    if own:
        context.close()
    return {"first_chart_s": result["first"], "screen_s": result["screen"],
            "runs": result["runs"]}


def load_case(browser, labs: list[str], repeats: int, *, fresh: bool,
              server_args: tuple[str, ...], launcher: list[str] | None,
              same_browser: bool = False,
              settle_s: float = 0.0) -> dict[str, dict[str, list[float]]]:
    """Page loads, the labs interleaved: each on a fresh server (``fresh``) or one warm one;
    ``same_browser``: every visit a new tab of one browser context (its cache warm);
    ``settle_s``: a fresh server waits that long after answering its health check."""
    out: dict[str, dict[str, list[float]]] = {lab: {} for lab in labs}

    def record(lab: str, values: dict[str, float]) -> None:
        for key, value in values.items():
            out[lab].setdefault(key, []).append(value)
        print(f"  {lab:<10} " + "  ".join(f"{k} {v:.2f}" for k, v in values.items()),
              flush=True)

    if fresh:
        for _ in range(repeats):
            for lab in labs:
                started = time.monotonic()
                proc, url = start_app(args=server_args, launcher=launcher, timeout=120)
                health = time.monotonic() - started
                time.sleep(settle_s)  # a server started before the class arrives
                try:
                    record(lab, time_load(browser, url, lab) | {"health_s": health})
                finally:
                    stop_app(proc)
        return out
    proc, url = start_app(args=server_args, launcher=launcher, timeout=120)
    shared = browser.new_context(viewport={"width": 1440, "height": 900}) if same_browser \
        else None  # fmt: skip
    try:
        for lab in labs:  # warm the server: each lab's first visit is not counted
            time_load(browser, url, lab, shared)
        for _ in range(repeats):
            for lab in labs:
                record(lab, time_load(browser, url, lab, shared))
    finally:
        if shared is not None:
            shared.close()
        stop_app(proc)
    return out


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main_load(args, server_args: tuple[str, ...], launcher: list[str] | None) -> None:
    fresh = args.mode == "first-visit"
    what = "a fresh server's first request" if fresh else "a new session on a warm server"
    if fresh and args.settle:
        what += f", {args.settle:g} s after it answered its health check"
    if args.same_browser and not fresh:
        what += ", a new tab of a browser that has been here"
    how = "streamlit run app.py" if launcher is None else "python serve.py"
    print(f"{what} ({how}): goto → first chart drawn, 1440×900 (load average {loadavg()})")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**chromium_launch_options())
        res = load_case(browser, args.labs, args.repeats, fresh=fresh, server_args=server_args,
                        launcher=launcher, same_browser=args.same_browser,
                        settle_s=args.settle)
        browser.close()
    for lab, values in res.items():
        med = {key: statistics.median(v) for key, v in values.items()}
        print(f"{lab:<10} " + "  ".join(f"{k} {v:.2f}" for k, v in med.items())
              + f"   (medians of {args.repeats})")
    print(f"load average after: {loadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="kmeans",
                        choices=("kmeans", "attention", "first-visit", "new-session"))
    parser.add_argument("--labs", nargs="+", choices=tuple(LAB_PATHS), default=list(LAB_PATHS),
                        help="labs whose page loads first-visit and new-session time")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="first-visit: seconds between the health check and the visit "
                             "(a server started before the class arrives); default 0")
    parser.add_argument("--same-browser", action="store_true",
                        help="new-session: each visit a new tab of one browser context, whose "
                             "HTTP cache already holds the page's scripts (a returning "
                             "student); by default each visit is a fresh context")
    parser.add_argument("--plain", action="store_true",
                        help="serve with `streamlit run app.py` instead of serve.py (which "
                             "starts the warm-up at server start, as `make run` does)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-post-script-gc", action="store_true",
                        help="serve with runner.postScriptGC=false (Streamlit's gc.collect(2) "
                             "after every run, fragment runs included), to compare")
    args = parser.parse_args()

    extra = ("--runner.postScriptGC", "false") if args.no_post_script_gc else ()
    serve = ROOT / "serve.py"
    launcher = None if args.plain or not serve.exists() else [sys.executable, str(serve)]
    if args.mode in ("first-visit", "new-session"):
        main_load(args, extra, launcher)
        return
    proc, url = start_app(args=extra, launcher=launcher, timeout=90)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(**chromium_launch_options())
            # A fresh server's first request shows a "Page not found" dialog over the page
            # (reported): spend it on the home page.
            first = browser.new_page()
            first.goto(url, wait_until="domcontentloaded")
            wait_idle(first)
            first.close()
            print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
            if args.mode == "attention":
                res = attention_case(browser, url, args.repeats)
                print(f"attention, default toy model: edit → charts drawn "
                      f"{statistics.median(res['edit_s']):.2f} s, "
                      f"{statistics.median(res['edit_MB']):.3f} MB sent "
                      f"(medians of {args.repeats})")
                print(f"  all edit_s: {', '.join(f'{v:.2f}' for v in res['edit_s'])}")
                print(f"200-word paste (free text, 4 heads) → charts drawn "
                      f"{statistics.median(res['paste_s']):.2f} s, "
                      f"{statistics.median(res['paste_MB']):.3f} MB sent "
                      f"(all: {', '.join(f'{v:.2f}' for v in res['paste_s'])})")
                print(f"load average after:  {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
                browser.close()
                return
            print(f"{'points':>10} {'K':>3} {'run_s':>7} {'run_MB':>7} {'tab_s':>7} "
                  f"{'tab_MB':>7} {'step_s':>7} {'step_MB':>8}   (medians of {args.repeats})")
            for n in args.sizes:
                res = run_case(browser, url, n, args.repeats)
                med = {key: statistics.median(v) for key, v in res.items()}
                print(f"{n:>10,} {K:>3} {med['run_s']:>7.2f} {med['run_MB']:>7.2f} "
                      f"{med['tab_s']:>7.2f} {med['tab_MB']:>7.2f} {med['step_s']:>7.2f} "
                      f"{med['step_MB']:>8.3f}", flush=True)
                print(f"{'':>10}     all run_s: {', '.join(f'{v:.2f}' for v in res['run_s'])}",
                      flush=True)
            print(f"load average after:  {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
            browser.close()
    finally:
        stop_app(proc)


if __name__ == "__main__":
    main()
