"""Walk the demo as a visitor does: run `onpace demo`, sign in with the login it prints, open the
weekly review, follow an item to its case; meanwhile its worker mails the organisation's
notifications into the demo's mailbox. SIGTERM then stops it cleanly.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_browser_journey import CHROMIUM, LAUNCH_ARGS, free_port

import onpace

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.store,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

LOGIN = re.compile(r"^\s+(admin|owner)\s+(\S+@\S+)\s+password (\S+)")
WEB_APP = re.compile(r"^web app: (http://\S+?)/?$")
READY = "press Ctrl-C to stop"
# Generous limits that only keep a broken demo from hanging the suite; nothing asserts on speed.
START_LIMIT = 120.0
MAIL_LIMIT = 60.0


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    folder: Path
    url: str
    logins: dict[str, tuple[str, str]]
    lines: list[str]
    pending: queue.Queue[str | None]

    def rest_of_output(self) -> list[str]:
        """Return every line printed after start-up, once the process has closed its output."""
        while (line := self.pending.get()) is not None:
            self.lines.append(line)
        return self.lines


def read_lines(stream: object, into: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.rstrip("\n"))
    into.put(None)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    folder = tmp_path_factory.mktemp("walk") / "onpace-demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONPACE_")}
    # The demo runs the very code under test, whatever the working folder makes of a relative path.
    env["PYTHONPATH"] = os.pathsep.join([str(Path(onpace.__file__).resolve().parents[1]), *sys.path[1:]])
    process = subprocess.Popen(
        [sys.executable, "-m", "onpace", "demo", "--data-dir", str(folder), "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=folder.parent,
    )
    pending: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stdout, pending), daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + START_LIMIT
    while READY not in lines:
        try:
            line = pending.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            process.kill()
            pytest.fail("the demo never got ready:\n" + "\n".join(lines) + process.communicate()[1])
        lines.append(line)
    logins = {m[1]: (m[2], m[3]) for line in lines if (m := LOGIN.match(line))}
    (url,) = [m[1] for line in lines if (m := WEB_APP.match(line))]
    running = RunningDemo(process, folder, url, logins, lines, pending)
    yield running
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


def test_the_printed_login_opens_the_review_and_an_item_leads_to_its_case(
    demo: RunningDemo, browser: object
) -> None:
    email, password = demo.logins["owner"]
    page = browser.new_context().new_page()  # type: ignore[attr-defined]
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{demo.url}/review")
    assert "/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{demo.url}/review")

    item = page.locator("article.item:has(a[href*='/cases/'])").first
    subject = item.get_attribute("data-subject")
    assert subject
    item.locator("a[href*='/cases/']").first.click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    # The case page leads with its subject by name; the id stays in the link's tooltip.
    assert re.search(r"case #\d+", page.locator("h1").inner_text())
    assert page.locator("h1 [title]").first.get_attribute("title") == subject
    assert not problems


def test_the_worker_mails_the_notifications_into_the_demo_mailbox(demo: RunningDemo) -> None:
    mail = demo.folder / "mail"
    assert f"keeps every message the worker sends as an .eml file in {mail}" in "\n".join(demo.lines)
    deadline = time.monotonic() + MAIL_LIMIT
    # Poll for the first delivery; the worker starts delivering as soon as it is up.
    while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.2)
    delivered = sorted(mail.glob("*.eml"))
    assert delivered, "the worker delivered no message"
    text = delivered[0].read_text(encoding="utf-8")
    assert "Subject: " in text
    assert "X-Application: Apprise" in text


def latest_pulls(database: Path) -> dict[str, str]:
    """Return each source's latest run status (the replay's own runs are the ``csv`` loader's)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        rows = connection.execute("SELECT source, status FROM ingest_runs ORDER BY started_at, id").fetchall()
    return dict(rows)


def test_every_source_pulls_for_real_and_data_health_shows_no_failing_source(
    demo: RunningDemo, browser: object
) -> None:
    # The replay loads its points as the csv loader; the sources' runs are the worker's pulls.
    database = demo.folder / "demo.db"
    pulled = {"shop_db", "wms", "erp"}
    deadline = time.monotonic() + MAIL_LIMIT
    while not pulled <= set(latest_pulls(database)) and time.monotonic() < deadline:
        time.sleep(0.5)
    statuses = latest_pulls(database)
    assert {source: statuses.get(source) for source in pulled} == dict.fromkeys(pulled, "ok")
    assert any("sources: the HTTP sources are served on http://127.0.0.1:" in line for line in demo.lines)

    email, password = demo.logins["admin"]
    page = browser.new_context().new_page()  # type: ignore[attr-defined]
    page.goto(f"{demo.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{demo.url}/")
    page.goto(f"{demo.url}/review")
    health = page.locator("section[data-section=data_health]")
    text = health.inner_text()
    assert "failed" not in text.lower(), text
    assert health.locator("article.item.s-failed").count() == 0
    assert health.locator("article.item.s-no_data").count() == 0


def test_sigterm_stops_the_demo_cleanly(demo: RunningDemo) -> None:
    demo.process.send_signal(signal.SIGTERM)
    code = demo.process.wait(timeout=60)
    stderr = demo.process.stderr.read() if demo.process.stderr else ""
    output = demo.rest_of_output()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert any(line.startswith("demo stopped") for line in output)
