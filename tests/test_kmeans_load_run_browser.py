""""Load a run" in a real Chromium: the command line fits a .npy file, the page opens the
history file it wrote and draws it; a corrupt file is refused and the run stays."""

from __future__ import annotations

import numpy as np
import pytest
from browser_util import exceptions, goto, wait_for_app
from playwright.sync_api import expect
from sklearn.datasets import make_blobs

from engine.kmeans import history_io
from engine.kmeans.__main__ import main

pytestmark = pytest.mark.browser

DROPZONE = '.st-key-kmeans_run_upload_0 [data-testid="stFileUploaderDropzoneInput"]'


def metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_a_cli_run_is_loaded_and_drawn_and_a_corrupt_file_is_refused(
    browser, app_url, artifacts, tmp_path
):
    X, _ = make_blobs(n_samples=4_000, centers=4, n_features=2, random_state=5)
    np.save(tmp_path / "blobs.npy", X)
    out = tmp_path / "cluster_run.json"
    assert main(["fit", str(tmp_path / "blobs.npy"), "--k", "4", "--init", "random",
                 "--chunk-rows", "1000", "--out", str(out)]) == 0  # fmt: skip
    saved = history_io.load(out)

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        goto(page, f"{app_url}/kmeans")
        page.locator(DROPZONE).set_input_files(files=[
            {"name": out.name, "mimeType": "application/json", "buffer": out.read_bytes()}])
        expect(page.get_by_text("Loaded run · cluster_run.json")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(300)
        wait_for_app(page)
        assert metric(page, "Final J") == f"{saved.run.inertia:,.3f}"
        assert metric(page, "Iterations") == str(saved.run.n_iter)
        # The clusters and the J curve are on the first screen, as for the lab's own runs.
        for key in ("kmeans_loaded_chart", "kmeans_loaded_j_chart"):
            box = page.locator(f".st-key-{key} .js-plotly-plot").first
            expect(box).to_be_visible(timeout=30_000)
            assert box.bounding_box()["y"] + 100 < 900, key
        page.screenshot(path=artifacts / "kmeans-load-run.png")

        page.locator(DROPZONE).set_input_files(files=[
            {"name": "broken.json", "mimeType": "application/json",
             "buffer": out.read_bytes()[:500]}])  # fmt: skip
        alert = page.locator('[data-testid="stMain"] [data-testid="stAlert"]',
                             has_text="is neither a JSON nor an .npz")
        expect(alert.first).to_be_visible(timeout=30_000)
        wait_for_app(page)
        assert metric(page, "Final J") == f"{saved.run.inertia:,.3f}"  # the run stays
        assert exceptions(page) == []
        page.screenshot(path=artifacts / "kmeans-load-run-corrupt.png")
    finally:
        context.close()
