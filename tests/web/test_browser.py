"""The web app in Debian's chromium (Playwright): a clinician's sign-in, the dose card changing
with a low platelet count, screenshots for docs/web.md, axe-core on every page, no CSP breach."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORDS, USERS

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "assets" / "axe.min.js"
IMAGES = Path(__file__).parents[2] / "docs" / "images"
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Session:
    """One signed-in browser context that records CSP breaches and console errors."""

    def __init__(self, browser: Any, base: str, role: str, viewport: dict[str, int]) -> None:
        self.base = base
        self.ctx = browser.new_context(viewport=viewport)
        self.page = self.ctx.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.goto(f"{base}/login")
        self.page.fill("#username", USERS[role])
        self.page.fill("#password", PASSWORDS[role])
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def _console(self, msg: Any) -> None:
        text = msg.text
        if msg.type == "error" or "Content Security Policy" in text:
            self.problems.append(text)

    def goto(self, path: str) -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def close(self) -> None:
        self.ctx.close()


def axe_violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations (WCAG 2.x A/AA and best practice)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))  # DevTools evaluation: not subject to the CSP
    found = page.evaluate(
        """() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']})
                 .then(r => r.violations.map(v => ({id: v.id, impact: v.impact,
                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"""
    )
    return [json.dumps(v) for v in found if v["impact"] in ("serious", "critical")]


def _action(page: Any) -> str:
    return str(page.locator("#dose-card .rux-headline").first.inner_text())


def test_clinician_sees_the_dose_card_change_with_a_low_platelet_count(
    browser: Any, live_server: str
) -> None:
    s = Session(browser, live_server, "clinician", DESKTOP)
    page = s.goto("/patients")
    assert page.locator("text=SYN-007").count() >= 1
    page.screenshot(path=str(IMAGES / "web-patients-1280.png"), full_page=True)

    page = s.goto("/patients/SYN-007?regimen=sarmiento-2021-covid&day=2020-05-01")
    before = _action(page)
    assert "CONTINUE" in before.upper()
    page.wait_for_selector("#course-chart[data-ready='1']", timeout=20000)
    page.screenshot(path=str(IMAGES / "web-patient-1280.png"), full_page=True)
    page.screenshot(path=str(IMAGES / "web-patient-1280-top.png"))

    # what-if: a platelet count below the regimen's threshold, previewed before saving
    page.select_option("#lab-code", "plt")
    page.fill("#lab-value", "40")
    page.fill("#lab-unit", "10*9/L")
    page.fill("#lab-time", "2020-05-01T07:00")
    page.click("text=Preview dose card")
    page.wait_for_selector("#dose-card.preview")
    preview = _action(page)
    assert preview != before
    assert "not saved" in page.locator("#dose-card").inner_text()
    page.screenshot(path=str(IMAGES / "web-whatif-1280.png"))

    # save it: the card for that day changes for good
    page.fill("#lab-reason", "ward point-of-care count")
    page.click("text=Save lab value")
    page.wait_for_load_state("networkidle")
    assert "Saved plt = 40" in page.locator(".flash").inner_text()
    after = _action(page)
    assert after == preview and "preview" not in (
        page.locator("#dose-card").get_attribute("class") or ""
    )
    assert s.problems == []
    s.close()


def test_pages_legible_at_tablet_width(browser: Any, live_server: str) -> None:
    s = Session(browser, live_server, "clinician", TABLET)
    page = s.goto("/patients/SYN-007?regimen=sarmiento-2021-covid&day=2020-05-02")
    page.wait_for_selector("#course-chart[data-ready='1']", timeout=20000)
    # nothing wider than the viewport
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.screenshot(path=str(IMAGES / "web-patient-768.png"), full_page=True)
    page = s.goto("/patients")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(IMAGES / "web-patients-768.png"), full_page=True)
    assert s.problems == []
    s.close()


def test_criteria_and_replay_panels(browser: Any, live_server: str) -> None:
    s = Session(browser, live_server, "clinician", DESKTOP)
    page = s.goto("/patients/TOMOMASA-2021?regimen=tomomasa-2021-ips")
    page.fill("#crit-day", "hsct#2+74d")
    page.click("#crit-go")
    page.wait_for_selector("#criteria-result table")
    text = page.locator("#criteria-result").inner_text()
    assert "HLH" in text and "unknown" in text.lower()
    page.click("#replay-go")
    page.wait_for_selector("#replay-result table")
    page.locator("#criteria-result").scroll_into_view_if_needed()
    page.screenshot(path=str(IMAGES / "web-criteria-1280.png"))
    assert s.problems == []
    s.close()


PAGES = {
    "clinician": [
        "/patients",
        "/patients/SYN-007?day=2020-05-02",
        "/patients/TOMOMASA-2021",
        "/evidence",
    ],
    "data-manager": ["/patients/SYN-003"],
    "researcher": ["/cohort"],
    "admin": ["/admin/users"],
}


@pytest.mark.parametrize("role", list(PAGES))
def test_no_serious_accessibility_violations(browser: Any, live_server: str, role: str) -> None:
    s = Session(browser, live_server, role, DESKTOP)
    problems = []
    for path in ["/login", *PAGES[role]] if role == "clinician" else PAGES[role]:
        if path == "/login":
            ctx = browser.new_context(viewport=DESKTOP)
            page = ctx.new_page()
            page.goto(live_server + "/login")
            problems += [f"/login {v}" for v in axe_violations(page)]
            ctx.close()
            continue
        page = s.goto(path)
        if "/patients/" in path:
            page.wait_for_selector("#course-chart[data-ready='1']", timeout=20000)
        problems += [f"{path} {v}" for v in axe_violations(page)]
    if role == "admin":
        page.screenshot(path=str(IMAGES / "web-users-1280.png"))
    if role == "clinician":
        s.goto("/evidence").screenshot(path=str(IMAGES / "web-evidence-1280.png"), full_page=True)
    assert problems == []
    assert s.problems == []
    s.close()


def test_researcher_runs_a_study_de_identified(browser: Any, live_server: str) -> None:
    s = Session(browser, live_server, "researcher", DESKTOP)
    page = s.goto("/cohort")
    page.select_option("#study", "sarmiento-2021")
    page.click("text=Run study", no_wait_after=True)
    page.wait_for_url(re.compile(r".*/cohort/runs/[0-9a-f]+$"), timeout=240000)
    page.wait_for_load_state("networkidle")
    text = page.locator("main").inner_text()
    assert "patients in the store included" in text
    assert not re.search(r"SYN-\d{3}|TOMOMASA", text)  # no patient ids
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)  # no calendar dates
    assert axe_violations(page) == []
    page.screenshot(path=str(IMAGES / "web-cohort-1280.png"))
    assert s.problems == []
    s.close()
