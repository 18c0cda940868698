"""In a real browser, the unit head approves a manual entry from the list and the KPI shows its value."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from approval_world import ApprovalWorld, build
from test_browser_journey import CHROMIUM, LAUNCH_ARGS
from web_world import PASSWORD

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.store,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

PORT = 47_231


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ApprovalWorld, str]]:
    made, close = build(tmp_path, "approvals_browser")
    server = uvicorn.Server(uvicorn.Config(made.app, host="127.0.0.1", port=PORT, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):  # wait for the socket, not for a time
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the app did not start"
    yield made, f"http://127.0.0.1:{PORT}"
    server.should_exit = True
    thread.join(timeout=10)
    close()


def test_the_unit_head_approves_an_entry_in_the_browser(served: tuple[ApprovalWorld, str]) -> None:
    world, base = served
    world.enter(500.0)
    with playwright_sync.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{base}/approvals")
            page.fill("input[name=email]", "olga@example.com")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/approvals")
            listed = page.locator("#approvals").inner_text()
            assert "Orders shipped" in listed
            assert "Mia Lund" in listed
            page.click("#approvals button:has-text('Approve')")
            page.wait_for_url(f"{base}/approvals")
            assert "Nothing waits for approval" in page.locator("#approvals").inner_text()
            page.goto(f"{base}/kpis/orders")
            lineage = page.locator("#lineage").inner_text()
            assert "no, corrected" in lineage
            assert "waiting for approval" not in lineage
            assert problems == []
        finally:
            browser.close()
    assert world.in_force() == [500.0]
