"""Three people's tasks on the running demo, in Chromium, asserting what each of them sees.

The executive finds the top three risks and their owners on the first page; the owner opens
their top case, sees plan, actual and the chart, explains, commits an action and sees the
confirmation and the timeline; the unit head opens the review, which lists each open case once
with its evidence. Then every page is audited with axe-core (bundled with axe-playwright-python,
nothing loads from the network) at desktop and phone sizes: no critical or serious violation,
and no page wider than the phone. Screenshots of every page at both sizes go to
``tests/browser/screenshots`` (not kept in the repository) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser_journey import CHROMIUM, LAUNCH_ARGS
from test_demo_walk import RunningDemo, demo

playwright_sync = pytest.importorskip("playwright.sync_api")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")
pytestmark = [
    pytest.mark.store,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

__all__ = ["demo"]

SHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
PAGES = (
    "/",
    "/overview",
    "/scorecard",
    "/cases",
    "/cases/2",
    "/review",
    "/dependencies",
    "/what-if",
    "/checkin",
    "/rebaselines",
    "/kpis/substitution_rate",
    "/kpis/fulfilment_spend",
    "/krs/KR2",
    "/objectives/O1",
    "/initiatives/I1",
    "/edit",
    "/users",
    "/tokens",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


def signed_in(browser: object, demo: RunningDemo, who: str, viewport: dict[str, int]) -> object:
    """Return a page of a fresh browser context signed in as the demo's ``who`` (admin or owner)."""
    email, password = demo.logins[who]
    context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{demo.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{demo.url}/")
    return page


def shoot(page: object, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_the_executive_finds_the_top_three_risks_and_their_owners_on_the_first_page(
    demo: RunningDemo, browser: object
) -> None:
    page = signed_in(browser, demo, "admin", DESKTOP)
    assert page.locator("h1").first.inner_text().startswith("Overview")  # type: ignore[attr-defined]
    risks = page.locator("#top-risks li.risk")  # type: ignore[attr-defined]
    assert risks.count() >= 3
    for index in range(3):
        risk = risks.nth(index)
        title = risk.locator("a.risk-title").inner_text()
        owner = risk.locator(".risk-owner strong").inner_text()
        assert title
        assert not re.fullmatch(r"[A-Za-z0-9_]+", title), title  # a title, not an id
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", owner), owner  # a person's name
    shoot(page, "task-executive-overview")


def test_the_owner_opens_the_top_case_sees_the_evidence_explains_and_commits_an_action(
    demo: RunningDemo, browser: object
) -> None:
    page = signed_in(browser, demo, "owner", DESKTOP)
    page.locator("#my-cases a[href^='/cases/']").first.click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r".*/cases/\d+$"))  # type: ignore[attr-defined]
    assert page.locator("#fig-plan").inner_text() not in ("", "–")  # type: ignore[attr-defined]
    assert page.locator("#fig-actual").inner_text() not in ("", "–")  # type: ignore[attr-defined]
    page.wait_for_selector("#plan-chart canvas", state="attached", timeout=15_000)  # type: ignore[attr-defined]

    page.select_option("#explain-form select[name=category]", "capacity")  # type: ignore[attr-defined]
    page.fill("#explain-form textarea[name=text]", "Pickers short on the night shift")  # type: ignore[attr-defined]
    page.click("#explain-form button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("#confirmation")  # type: ignore[attr-defined]
    assert page.locator("#confirmation").inner_text() == "Explanation recorded."  # type: ignore[attr-defined]

    due = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    page.fill("#act-form input[name=title]", "Add a second picking shift")  # type: ignore[attr-defined]
    page.fill("#act-form input[name=due]", due)  # type: ignore[attr-defined]
    page.click("#act-form button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("#confirmation")  # type: ignore[attr-defined]
    assert page.locator("#confirmation").inner_text() == "Corrective action committed."  # type: ignore[attr-defined]
    timeline = page.locator("#timeline").inner_text()  # type: ignore[attr-defined]
    assert "explained (capacity)" in timeline
    assert "Pickers short on the night shift" in timeline
    assert "action committed" in timeline
    assert "Add a second picking shift" in timeline
    shoot(page, "task-owner-case-after")


def test_the_unit_head_opens_the_review_and_sees_each_open_case_once_with_its_evidence(
    demo: RunningDemo, browser: object
) -> None:
    page = signed_in(browser, demo, "owner", DESKTOP)  # Sam Whitfield heads the supply chain
    page.goto(f"{demo.url}/review")  # type: ignore[attr-defined]
    page.select_option("#review-filter select[name=unit]", "supply")  # type: ignore[attr-defined]
    page.click("#review-filter button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r".*/review\?unit=supply.*"))  # type: ignore[attr-defined]
    cases = page.locator("article.item[data-case]")  # type: ignore[attr-defined]
    assert cases.count() > 0
    ids = [cases.nth(i).get_attribute("data-case") for i in range(cases.count())]
    assert len(ids) == len(set(ids)), f"a case is listed more than once: {ids}"
    for index in range(cases.count()):
        card = cases.nth(index)
        assert card.locator(".headline").inner_text().strip()
        assert card.locator("dl.facts").inner_text().count("Owner") == 1
    glance = page.locator("ul.glance").inner_text()  # type: ignore[attr-defined]
    assert re.search(r"\d+\s+decisions? needed", glance)
    shoot(page, "task-unit-head-review")


def overflow(page: object) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))  # type: ignore[attr-defined]


#: The pages an owner who heads a unit works on: their desk, their case, the review, the forms.
OWNER_PAGES = ("/", "/cases", "/cases/2", "/review", "/kpis/substitution_rate", "/checkin", "/rebaselines")


@pytest.mark.parametrize(
    ("who", "size", "viewport", "pages"),
    [
        ("admin", "desktop", DESKTOP, PAGES),
        ("admin", "phone", PHONE, PAGES),
        ("owner", "phone", PHONE, OWNER_PAGES),
    ],
)
def test_every_page_passes_axe_and_fits_the_screen(
    demo: RunningDemo, browser: object, who: str, size: str, viewport: dict[str, int], pages: tuple[str, ...]
) -> None:
    page = signed_in(browser, demo, who, viewport)
    axe = axe_sync.Axe()
    problems: list[str] = []
    for path in pages:
        page.goto(f"{demo.url}{path}")  # type: ignore[attr-defined]
        page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
        shoot(page, f"{'' if who == 'admin' else who + '-'}{size}{path.replace('/', '_') or '_'}")
        wide = overflow(page)
        if size == "phone" and wide > 0:
            problems.append(f"{path} scrolls sideways by {wide}px at 390px")
        results = axe.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in ("critical", "serious"):
                where = [node["target"] for node in violation["nodes"][:3]]
                problems.append(f"{path} ({size}): {violation['id']} {violation['help']} at {where}")
    assert not problems, "\n".join(problems)


def test_the_navigation_folds_behind_a_menu_button_on_a_phone(demo: RunningDemo, browser: object) -> None:
    page = signed_in(browser, demo, "owner", PHONE)
    nav = page.locator("#site-nav")  # type: ignore[attr-defined]
    button = page.locator("button.menu-toggle")  # type: ignore[attr-defined]
    assert button.is_visible()
    assert not nav.is_visible()
    button.click()
    assert nav.is_visible()
    assert button.get_attribute("aria-expanded") == "true"
    desktop = signed_in(browser, demo, "owner", DESKTOP)
    assert desktop.locator("#site-nav").is_visible()  # type: ignore[attr-defined]
    assert not desktop.locator("button.menu-toggle").is_visible()  # type: ignore[attr-defined]


def test_the_printed_review_is_the_pack_alone_black_on_white_a_section_to_a_page(
    demo: RunningDemo, browser: object
) -> None:
    page = signed_in(browser, demo, "admin", DESKTOP)
    page.goto(f"{demo.url}/review")  # type: ignore[attr-defined]
    page.emulate_media(media="print")  # type: ignore[attr-defined]
    # No navigation, no filter form: only the pack is printed.
    assert not page.locator("header.top").is_visible()  # type: ignore[attr-defined]
    assert not page.locator("#review-filter").is_visible()  # type: ignore[attr-defined]
    assert page.locator(".pack h1").is_visible()  # type: ignore[attr-defined]
    # Printers drop background colours: a status badge must read without one.
    badge = page.locator(".pack .badge.s-red").first  # type: ignore[attr-defined]
    background, colour = badge.evaluate(
        "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]"
    )
    assert background == "rgba(0, 0, 0, 0)"
    assert colour == "rgb(0, 0, 0)"
    cards = page.locator(".pack article.item")  # type: ignore[attr-defined]
    backgrounds = cards.evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert set(backgrounds) == {"rgba(0, 0, 0, 0)"}, "a card has a coloured background"
    # Each section with items starts a page: the printout has at least one page per such section.
    sections = page.locator(".pack section.has-items")  # type: ignore[attr-defined]
    breaks = sections.evaluate_all("els => els.map(e => getComputedStyle(e).breakBefore)")
    assert sections.count() >= 2
    assert set(breaks) == {"page"}
    printed = page.pdf(format="A4", print_background=False)  # type: ignore[attr-defined]
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", printed))
    assert pages > sections.count()
    shoot(page, "print-review")
