"""A real browser (Debian's Chromium, driven by Playwright) on the running app.

Sign in, open the scorecard, open a red KPI, explain its case, see the explanation in the
timeline; a screenshot of each page goes to a temporary folder, and every page that draws a
chart must show an ECharts canvas with a non-zero size.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from web_world import PASSWORD, Persona

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.store,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def free_port() -> int:
    """Return a TCP port free on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    """Serve the app with uvicorn on a loopback port for the module; return its address."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # Wait for the socket, not for a time: the test never asserts on speed.
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the app did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Return a headless Chromium."""
    with playwright_sync.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


def chart_size(page: object, selector: str) -> tuple[float, float]:
    """Return the width and height of the ECharts canvas inside ``selector`` (0, 0 when absent)."""
    page.wait_for_selector(f"{selector} canvas", state="attached", timeout=15_000)  # type: ignore[attr-defined]
    box = page.eval_on_selector(  # type: ignore[attr-defined]
        f"{selector} canvas", "c => { const r = c.getBoundingClientRect(); return [r.width, r.height]; }"
    )
    return float(box[0]), float(box[1])


def test_an_owner_signs_in_opens_a_red_kpi_and_explains_its_case(
    base_url: str, browser: object, personas: dict[str, Persona], tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.mktemp("screenshots")
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{base_url}/scorecard")
    assert "/login" in page.url
    page.screenshot(path=str(shots / "login.png"))
    page.fill("input[name=email]", personas["owner"].email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/scorecard")
    page.screenshot(path=str(shots / "scorecard.png"), full_page=True)
    assert page.locator("svg.spark").count() > 0

    page.click("a.kpi-link[data-status=red] >> nth=0")
    page.wait_for_url(f"{base_url}/kpis/*")
    kpi = page.url.rsplit("/", 1)[-1]
    width, height = chart_size(page, "#plan-chart")
    assert width > 0
    assert height > 0
    page.screenshot(path=str(shots / f"kpi-{kpi}.png"), full_page=True)

    page.click("text=/Case #\\d+/ >> nth=0")
    page.wait_for_url(f"{base_url}/cases/*")
    page.screenshot(path=str(shots / "case-before.png"), full_page=True)
    page.select_option("#explain-form select[name=category]", "capacity")
    page.fill("#explain-form textarea[name=text]", "Carrier surcharge since May; renegotiating")
    page.click("#explain-form button[type=submit]")
    page.wait_for_load_state()
    timeline = page.locator("#timeline")
    assert "Carrier surcharge since May" in timeline.inner_text()
    page.screenshot(path=str(shots / "case-after.png"), full_page=True)

    for path, chart in [
        ("/", None),
        ("/cases", None),
        ("/dependencies", "#dependency-chart"),
        ("/what-if", None),
        ("/checkin", None),
        ("/rebaselines", None),
        ("/cycles", None),
        ("/krs/KR1", "#plan-chart"),
    ]:
        page.goto(f"{base_url}{path}")
        if chart is not None:
            width, height = chart_size(page, chart)
            assert width > 0, f"the chart on {path} has no width"
            assert height > 0, f"the chart on {path} has no height"
        page.screenshot(
            path=str(shots / (path.strip("/").replace("/", "-") or "desk")) + ".png", full_page=True
        )

    context.close()
    assert not problems, f"script errors in the pages: {problems}"
    assert len(list(shots.glob("*.png"))) >= 10
