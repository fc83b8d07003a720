"""Every download button of every lab, with user text that a spreadsheet would run.

One test walks the four labs in a real Chromium: it feeds each lab hostile user text (an
uploaded CSV whose column names and text cells are formulas; tokens typed as formulas),
opens every tab, presses every download button it finds and reads the file. No CSV cell
may run as a formula (``'`` in front, as :func:`engine.data.to_csv_bytes` writes them), the
user's text must reach the file (defused, not lost), and JSON keeps it as typed. The buttons
found are compared with the buttons each lab is meant to have, so a lab that gains a
download is walked too, and one that loses one fails here.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from browser_util import exceptions, goto, runs_as_formula, wait_for_app
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

TIMEOUT = 180_000
FORMULAS = ('=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)")


def hostile_csv() -> bytes:
    """60 points in three groups; the two numeric columns and the text column are formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([FORMULAS[0], FORMULAS[1], "name"])
    for i in range(60):
        group = i % 3
        x, y = 5.0 * group + (i % 7) / 10, -4.0 * group + (i % 5) / 10
        writer.writerow([f"{x:.2f}", f"{y:.2f}", FORMULAS[1 + group] if group else FORMULAS[0]])
    return out.getvalue().encode()


def settle(page: Page) -> None:
    page.wait_for_timeout(400)  # let the rerun start before waiting for its end
    wait_for_app(page, TIMEOUT)


def upload(page: Page, lab: str, name: str, content: bytes) -> None:
    """Through the lab's data panel (``lab``: its key prefix, e.g. "kmeans")."""
    page.get_by_text("Upload CSV", exact=True).first.click()
    settle(page)
    dropzone = f'.st-key-{lab}_upload [data-testid="stFileUploaderDropzoneInput"]'
    page.locator(dropzone).set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    settle(page)


def download_all(page: Page, tmp_path, lab: str) -> dict[str, bytes]:
    """Open every tab of the page and press every download button; {button label: file}."""
    files: dict[str, bytes] = {}
    tabs = page.locator('[data-testid="stMain"] [role="tab"]')
    for t in range(max(1, tabs.count())):
        if tabs.count():
            tabs.nth(t).click()
            settle(page)
        buttons = page.locator('[data-testid="stMain"] [data-testid="stDownloadButton"] button')
        for b in range(buttons.count()):
            button = buttons.nth(b)
            label = button.inner_text().strip().splitlines()[-1]  # after the icon's name
            expect(button).to_be_enabled(timeout=TIMEOUT)
            button.scroll_into_view_if_needed()
            with page.expect_download(timeout=TIMEOUT) as info:
                button.click()
            settle(page)
            path = tmp_path / f"{lab}-{len(files)}-{info.value.suggested_filename}"
            info.value.save_as(path)
            files[label] = path.read_bytes()
    return files


def check_files(files: dict[str, bytes], typed: tuple[str, ...]) -> None:
    """No CSV cell runs; each typed text reaches some file, defused in CSV, as typed in JSON."""
    seen: set[str] = set()
    for label, content in files.items():
        text = content.decode("utf-8-sig")
        if text.lstrip().startswith(("{", "[")):
            found = json.dumps(json.loads(text), ensure_ascii=False)
            seen |= {t for t in typed if json.dumps(t, ensure_ascii=False)[1:-1] in found}
            continue
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert cells, label
        bad = [cell for cell in cells if runs_as_formula(cell)]
        assert not bad, (label, bad[:5])
        seen |= {t for t in typed if "'" + t in cells}
    assert seen == set(typed), set(typed) - seen


def test_every_download_of_every_lab_defuses_formulas(page, app_url, tmp_path, artifacts):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_viewport_size({"width": 1440, "height": 900})
    goto(page, app_url)  # a fresh server's first request goes through app.py's navigation
    found: dict[str, list[str]] = {}

    # K-means: an upload whose column names and text cells are formulas.
    goto(page, f"{app_url}/kmeans", timeout=TIMEOUT)
    upload(page, "kmeans", "=cmd.csv", hostile_csv())
    expect(page.locator("h3", has_text="=cmd.csv").first).to_be_visible(timeout=TIMEOUT)
    files = download_all(page, tmp_path, "kmeans")
    check_files(files, FORMULAS)
    found["kmeans"] = sorted(files)

    # Attention: tokens typed as formulas, split on spaces only.
    goto(page, f"{app_url}/attention", timeout=TIMEOUT)
    page.get_by_role("radio", name="Random attention on your own text").click()
    settle(page)
    page.get_by_text("whitespace", exact=True).click()
    settle(page)
    box = page.get_by_label("Your text, one sequence per line (several lines form a padded batch)")
    box.fill(" ".join(FORMULAS))
    box.press("Control+Enter")
    settle(page)
    files = download_all(page, tmp_path, "attention")
    check_files(files, FORMULAS)
    found["attention"] = sorted(files)

    # Clustering: the same upload through the shared data panel; the open cell's labels.
    goto(page, f"{app_url}/clustering", timeout=TIMEOUT)
    upload(page, "clustering", "=cmd.csv", hostile_csv())
    expect(page.locator("h3", has_text="on =cmd.csv").first).to_be_visible(timeout=TIMEOUT)
    files = download_all(page, tmp_path, "clustering")
    check_files(files, FORMULAS)
    found["clustering"] = sorted(files)

    # Fusion: every tab walked (it offers no download today).
    goto(page, f"{app_url}/fusion", timeout=TIMEOUT)
    files = download_all(page, tmp_path, "fusion")
    check_files(files, ())
    found["fusion"] = sorted(files)

    assert found == {
        "kmeans": ["Centroids", "Per-iteration history", "Rows with their cluster"],
        "attention": ["Weights as CSV", "Weights as JSON"],
        "clustering": ["Rows with their DBSCAN cluster (CSV)"],
        "fusion": [],
    }
    page.screenshot(path=artifacts / "downloads-last-lab.png")
    assert exceptions(page) == [] and dialogs == []
