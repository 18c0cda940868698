"""Script planted in any user-editable text never runs, and the pages still work under the strict CSP.

A real Chromium visits every page as an admin after payloads were planted through the API and
the services in every field a user can write: unit, person, objective, KR, KPI and dependency
names and titles, a case's explanation, action and comment, a check-in comment, a re-baseline
reason, a user's name and a token's name. It hovers every node of the dependency graph (whose
tooltip once rendered a unit's name as HTML), opens the review pack and the standalone review
document, and asserts that no planted script ran (``window.__pwned`` stays undefined, no dialog
opened), that no planted element exists in the page, and that the Content-Security-Policy
reported no violation — so htmx (filters, forms), ECharts (canvases drawn) and Swagger UI all
work under it. Screenshots go to ``tests/browser/screenshots/`` (ignored by git).
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from web_world import PASSWORD, SECRET_KEY, Persona, build_world, new_database

from onpace.app import create_app
from onpace.config import Settings
from onpace.reports.html import render_html
from onpace.services import account_changes
from onpace.services.review import build_pack
from onpace.storage.repositories import model_repo

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent / "screenshots" / "planted-script"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
PORTS = range(8100, 8150)
LATER = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.store,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def payload(field: str) -> str:
    """Return a text that runs script wherever it is rendered as HTML, marked with the field's name."""
    return (
        f"{field}\"'><img src=x onerror=\"window.__pwned='{field}';alert(1)\">"
        f"<script>window.__pwned='{field}'</script><svg onload=\"window.__pwned='{field}'\"></svg>"
    )


# Every page an admin reaches, and what planted text each must show (escaped, as text).
PAGES: list[tuple[str, str | None]] = [
    ("/", None),
    ("/scorecard", "objective-title"),
    ("/kpis/fulfilment_spend", "kpi-title"),
    ("/krs/KR1", "kr-title"),
    ("/cases", None),
    ("/cases/6", "case-explanation"),
    ("/dependencies", "dependency-title"),
    ("/what-if", "kpi-title"),
    ("/checkin", "kr-title"),
    ("/rebaselines", "rebaseline-reason"),
    ("/review", "kpi-title"),
    ("/edit", "unit-name"),
    ("/users", "user-name"),
    ("/tokens", "token-name"),
    ("/account/password", None),
    ("/kpis/nothing-here", None),
    # Reflected: an address carrying markup, shown back in the error page's message.
    ("/kpis/%22%3E%3Cimg%20src=x%20onerror=%22window.__pwned=1%22%3E", None),
    ("/review?as_of=%3Cimg%20src=x%20onerror=%22window.__pwned=1%22%3E", None),
    ("/docs", None),
]

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || ''));
});
"""


def free_port() -> int:
    """Return a free loopback port of this test's range."""
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8100-8149")


def plant(base: str, personas: dict[str, Persona]) -> None:
    """Write a payload into every user-editable field, through the API as the editor and the owner."""
    editor = {"Authorization": f"Bearer {personas['editor'].token}"}
    owner = {"Authorization": f"Bearer {personas['owner'].token}"}
    with httpx.Client(base_url=base, timeout=60) as api:

        def put(kind: str, item: str, **changes: Any) -> None:
            body = api.get(f"/api/v1/{kind}/{item}", headers=editor).json()
            answer = api.put(f"/api/v1/{kind}/{item}", json={**body, **changes}, headers=editor)
            assert answer.status_code == 200, answer.text

        for unit in ("online", "supply", "stores", "exec"):
            put("units", unit, name=payload("unit-name"))
        put("people", "ana", name=payload("person-name"))
        put("objectives", "O1", title=payload("objective-title"))
        put("krs", "KR1", title=payload("kr-title"))
        put("kpis", "fulfilment_spend", title=payload("kpi-title"))
        put("dependencies", "D1", title=payload("dependency-title"))
        for step, body in [
            ("explain", {"category": "capacity", "text": payload("case-explanation")}),
            ("act", {"title": payload("case-action"), "owner": "ana", "due": LATER}),
            ("comment", {"text": payload("case-comment")}),
        ]:
            answer = api.post(f"/api/v1/cases/6/{step}", json=body, headers=owner)
            assert answer.status_code < 300, answer.text
        checkin = {"subject": "KR1", "date": "2026-06-05", "status": "green", "confidence": 7}
        answer = api.post(
            "/api/v1/checkins", json={**checkin, "comment": payload("checkin-comment")}, headers=owner
        )
        assert answer.status_code == 201, answer.text
        rebaseline = {
            "subject": "KR1",
            "plan": {"target": 3000},
            "reason": payload("rebaseline-reason"),
            "effective": LATER,
        }
        answer = api.post("/api/v1/rebaselines", json=rebaseline, headers=owner)
        assert answer.status_code == 201, answer.text


def plant_accounts(app: FastAPI, personas: dict[str, Persona]) -> None:
    """Name a user and one of the admin's tokens with payloads (tokens come from sessions, not the API)."""
    now = dt.datetime(2026, 6, 8, tzinfo=dt.UTC)
    with app.state.onpace.sessions() as session:
        account_changes.add_user(
            session,
            by="tests",
            now=now,
            email="planted@greenway.example",
            name=payload("user-name"),
            role="viewer",
            password=PASSWORD,
        )
        account_changes.create_token(
            session,
            by="tests",
            now=now,
            email=personas["admin"].email,
            name=payload("token-name"),
            scope="read",
        )
        session.commit()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FastAPI, dict[str, Persona]]]:
    """Serve a demo store of this module's own with payloads planted; return its address, app, personas."""
    url, drop = new_database(tmp_path_factory.mktemp("planted"), "planted")
    personas = build_world(url)
    app = create_app(Settings(database_url=url, secret_key=SecretStr(SECRET_KEY)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the app did not start"
    base = f"http://127.0.0.1:{server.config.port}"
    plant(base, personas)
    plant_accounts(app, personas)
    yield base, app, personas
    server.should_exit = True
    thread.join(timeout=10)
    drop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Return a headless Chromium."""
    with playwright_sync.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


class Watched:
    """A signed-in admin's page whose dialogs, script errors and CSP reports are collected."""

    def __init__(self, browser: Any, base: str, persona: Persona) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(f"{base}/login")
        self.page.fill("input[name=email]", persona.email)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{base}/")

    def open(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")
        self.page.wait_for_load_state("networkidle")

    def assert_clean(self, where: str) -> None:
        """Assert no planted script ran or was turned into elements, and the CSP blocked nothing."""
        page = self.page
        assert page.evaluate("window.__pwned") is None, f"{where}: planted script ran"
        assert not self.dialogs, f"{where}: a dialog opened: {self.dialogs}"
        planted = page.evaluate(
            "document.querySelectorAll('img[src=\"x\"], svg[onload], script:not([src])').length"
        )
        assert planted == 0, f"{where}: planted markup became elements"
        assert page.evaluate("window.__csp") == [], f"{where}: CSP violations {page.evaluate('window.__csp')}"
        assert not self.errors, f"{where}: script errors {self.errors}"

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def chart_drawn(page: Any, selector: str) -> bool:
    """Return whether the ECharts canvas inside ``selector`` has a size."""
    page.wait_for_selector(f"{selector} canvas", state="attached", timeout=15_000)
    size = page.eval_on_selector(f"{selector} canvas", "c => c.getBoundingClientRect().width * c.height")
    return bool(size > 0)


def test_no_planted_script_runs_on_any_page(
    served: tuple[str, FastAPI, dict[str, Persona]], browser: Any
) -> None:
    base, _app, personas = served
    admin = Watched(browser, base, personas["admin"])
    for path, shows in PAGES:
        admin.open(path)
        if shows is not None:
            assert f"{shows}\"'><img src=x" in admin.page.inner_text("body"), f"{path} does not show {shows}"
        if path == "/docs":
            admin.page.wait_for_selector(".swagger-ui .info", timeout=15_000)
        admin.assert_clean(path)
        admin.shot(re.sub(r"[^A-Za-z0-9_.-]+", "-", path.strip("/"))[:60] or "desk")
    admin.context.close()


def test_hovering_every_node_of_the_dependency_graph_runs_nothing(
    served: tuple[str, FastAPI, dict[str, Persona]], browser: Any
) -> None:
    base, _app, personas = served
    admin = Watched(browser, base, personas["admin"])
    admin.open("/dependencies")
    assert chart_drawn(admin.page, "#dependency-chart")
    chart = admin.page.locator("#dependency-chart")
    box = chart.bounding_box()
    # Where ECharts laid out each node, in the chart's own pixels.
    nodes = admin.page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById('dependency-chart'));
          const data = chart.getModel().getSeriesByIndex(0).getData();
          return Array.from({length: data.count()}, (_, i) => data.getItemLayout(i));
        }"""
    )
    assert len(nodes) >= 2
    seen = 0
    for x, y in nodes:
        admin.page.mouse.move(box["x"] + x, box["y"] + y)
        admin.page.wait_for_timeout(300)
        tooltip = admin.page.evaluate(
            "() => Array.from(document.querySelectorAll('#dependency-chart div'))"
            ".map(d => d.innerText).filter(t => t.includes('unit-name')).join('|')"
        )
        seen += "<img src=x" in tooltip
        admin.assert_clean(f"tooltip at {x:.0f},{y:.0f}")
    admin.shot("dependencies-hovered")
    assert seen >= 1, "no tooltip showed a planted unit name as text"
    admin.context.close()


def test_htmx_echarts_and_forms_work_under_the_policy(
    served: tuple[str, FastAPI, dict[str, Persona]], browser: Any
) -> None:
    base, _app, personas = served
    admin = Watched(browser, base, personas["admin"])
    admin.open("/scorecard")
    with admin.page.expect_response(lambda r: "/scorecard?" in r.url and r.request.headers.get("hx-request")):
        admin.page.select_option("select[name=status]", "red")
    admin.page.wait_for_url("**/scorecard?*status=red*")
    admin.assert_clean("scorecard filtered by htmx")
    admin.open("/what-if")
    admin.page.select_option("select[name=kpis]", ["fulfilment_spend"])
    with admin.page.expect_response(lambda r: r.url.endswith("/what-if") and r.request.method == "POST"):
        admin.page.click("form[hx-post] button[type=submit]")
    admin.page.wait_for_selector("#whatif-result h2")
    assert admin.page.url.endswith("/what-if")
    admin.assert_clean("what-if posted by htmx")
    admin.open("/kpis/fulfilment_spend")
    assert chart_drawn(admin.page, "#plan-chart")
    admin.page.hover("#plan-chart canvas")
    admin.assert_clean("plan chart hovered")
    admin.shot("plan-chart-hovered")
    admin.context.close()


def test_the_standalone_review_document_runs_no_planted_script(
    served: tuple[str, FastAPI, dict[str, Persona]], browser: Any
) -> None:
    _base, app, _personas = served
    with app.state.onpace.sessions() as session:
        org_id = model_repo.find_org(session).id
        pack = build_pack(
            session, org_id, as_of=None, unit=None, now=dt.datetime(2026, 6, 8, 12, tzinfo=dt.UTC)
        )
    document = render_html(pack, base_url="https://onpace.example")
    assert "case-explanation" in document
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    # No CSP here: a file opened from disk or a mail has none, so escaping alone must hold.
    page.set_content(document, wait_until="load")
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"], script').length") == 0
    assert not dialogs
    context.close()
