"""report.html opens offline in Debian chromium with no console errors and no failed requests."""

from __future__ import annotations

import shutil

import pytest
from outputs_fixtures import CHROMIUM, CHROMIUM_ARGS


@pytest.mark.browser
def test_report_opens_in_chromium_without_errors(sarmiento_report) -> None:
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    _, files = sarmiento_report
    errors: list[str] = []
    failed: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(files.report.as_uri())
        page.wait_for_load_state("networkidle")
        shot = files.out_dir / "report-screenshot.png"
        page.screenshot(path=str(shot), full_page=True)
        n_img = page.locator("img").count()
        banner = page.locator(".banner").inner_text()
        browser.close()
    assert errors == [] and failed == []
    assert n_img == 5 and shot.stat().st_size > 50_000  # trajectories, swimmer, 2 CIF, course
    assert banner.startswith("Synthetic data.")
