"""The pages: who may open and post what (personas), and that each page shows what it promises."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from web_world import Persona, sign_in

from onpace.web.cases.routes import subject_href

pytestmark = pytest.mark.store

EVERYONE = ("admin", "editor", "owner", "outsider", "viewer")
READ_PAGES = [
    "/",
    "/scorecard",
    "/scorecard?unit=online&status=red",
    "/kpis/fulfilment_spend",
    "/krs/KR1",
    "/cases",
    "/cases?mine=true",
    "/cases/6",
    "/dependencies",
    "/what-if",
    "/checkin",
    "/rebaselines",
    "/review",
    "/review?unit=online",
    "/review.pdf",
    "/review.md",
]


@pytest.mark.parametrize("path", READ_PAGES)
@pytest.mark.parametrize("who", [*EVERYONE, "anonymous"])
def test_signed_in_personas_open_every_page_and_anonymous_is_sent_to_sign_in(
    client: TestClient, personas: dict[str, Persona], path: str, who: str
) -> None:
    if who in personas:
        sign_in(client, personas[who])
        assert client.get(path).status_code == 200
    else:
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("who", EVERYONE)
def test_only_editors_and_admins_open_the_model_editor(
    client: TestClient, personas: dict[str, Persona], who: str
) -> None:
    sign_in(client, personas[who])
    assert client.get("/edit").status_code == (200 if who in ("admin", "editor") else 403)


@pytest.mark.parametrize("who", EVERYONE)
def test_only_the_cases_people_comment_on_it_from_the_page(
    client: TestClient, personas: dict[str, Persona], who: str
) -> None:
    csrf = sign_in(client, personas[who])
    answer = client.post("/cases/6/comment", data={"text": f"note from {who}", "csrf_token": csrf})
    assert answer.status_code == (303 if who in ("admin", "editor", "owner") else 403)


def test_a_form_posted_without_the_csrf_token_is_refused(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["owner"])
    answer = client.post("/cases/6/comment", data={"text": "no token"})
    assert answer.status_code == 403
    assert "CSRF" in answer.text


def test_the_owner_explains_a_case_and_sees_it_in_the_timeline(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["owner"])
    answer = client.post(
        "/cases/6/explain",
        data={"category": "capacity", "text": "Courier rates rose in May", "csrf_token": csrf},
    )
    assert answer.status_code == 303
    page = client.get("/cases/6").text
    timeline = page[page.index('id="timeline"') :]
    assert "Courier rates rose in May" in timeline
    assert "explained" in timeline


def test_the_desk_lists_my_cases_and_what_i_own(client: TestClient, personas: dict[str, Persona]) -> None:
    sign_in(client, personas["owner"])
    page = client.get("/").text
    assert 'href="/cases/6"' in page
    assert 'href="/kpis/fulfilment_spend"' in page


def test_the_scorecard_shows_the_tree_and_filters_by_status(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/scorecard").text
    for subject in ("O1", "KR1", "online_orders", "O2", "KR4"):
        assert subject in page
    assert '<svg class="spark"' in page
    red = client.get("/scorecard?status=red", headers={"HX-Request": "true"}).text
    assert "<html" not in red
    assert re.search(r'data-status="red"', red)


def test_the_kpi_page_carries_the_chart_series_and_lineage(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/kpis/online_orders").text
    assert 'data-chart="plan"' in page
    assert "&#34;forecast&#34;" in page or '"forecast"' in page
    assert "Lineage of the points" in page
    assert "1 Jun 2026" in page
    # Sources read in words, their ids in the tooltip; the lineage comes a page at a time.
    assert '<span title="source shop_db">shop db, database query</span>' in page
    assert 'aria-label="Lineage pages"' in page


def test_the_dependency_map_colours_the_late_hand_off(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/dependencies").text
    assert 'data-chart="graph"' in page
    assert "d-late" in page or "d-at_risk" in page or "d-delivered" in page


def test_an_unknown_kpi_page_is_a_404_page(client: TestClient, personas: dict[str, Persona]) -> None:
    sign_in(client, personas["viewer"])
    answer = client.get("/kpis/nope")
    assert answer.status_code == 404
    assert "there is no KPI or key result" in answer.text


def test_sign_in_never_redirects_off_site(client: TestClient, personas: dict[str, Persona]) -> None:
    page = client.get("/login?next=//evil.example/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = client.post(
        "/login",
        data={
            "email": personas["viewer"].email,
            "password": "correct horse battery",
            "csrf_token": csrf.group(1),
            "next": "//evil.example/",
        },
    )
    assert answer.headers["location"] == "/"


@pytest.mark.parametrize(
    ("level", "href"),
    [
        ("kpi", "/kpis/x"),
        ("kr", "/krs/x"),
        ("dependency", "/dependencies"),
        ("objective", "/objectives/x"),
        ("source", None),
        ("channel", None),
    ],
)
def test_a_case_page_links_its_subject_only_to_a_page_that_shows_it(level: str, href: str | None) -> None:
    assert subject_href(level, "x") == href


def test_the_status_filter_selects_rows_and_keeps_their_parents_only_as_context(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/scorecard?status=red", headers={"HX-Request": "true"}).text
    kpis = re.findall(r'<tr class="kpi"><td[^>]*><a href="[^"]+" class="kpi-link" data-status="(\w+)"', page)
    krs = re.findall(r'<tr class="kr" data-status="(\w+)"', page)
    assert kpis
    assert set(kpis) | set(krs) == {"red"}
    assert 'class="objective context"' in page  # the objective above a red row is context only


def test_the_scorecard_lists_cost_kpis_and_searches_by_title(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/scorecard").text
    resources = page[page.index('id="resource-kpis"') :]
    assert 'href="/kpis/fulfilment_spend"' in resources
    found = client.get("/scorecard?q=pilot+spend", headers={"HX-Request": "true"}).text
    assert 'href="/kpis/fulfilment_spend"' in found
    assert 'href="/kpis/online_orders"' not in found


def test_the_running_bucket_is_charted_at_the_plan_owed_so_far_not_the_whole_buckets_plan(
    client: TestClient, personas: dict[str, Persona], world: tuple[str, dict[str, Persona]]
) -> None:
    import html
    import json

    from sqlalchemy.orm import Session

    from onpace.services.read_models import latest_verdicts
    from onpace.storage.db import make_engine

    sign_in(client, personas["viewer"])
    page = client.get("/kpis/fulfilment_spend").text
    found = re.search(r"data-series='([^']+)'", page)
    assert found
    chart = json.loads(html.unescape(found[1]))
    # The monthly budget's June is running on 7 June: its point sits on that day ...
    assert chart["as_of"] == "2026-06-07"
    at = chart["dates"].index("2026-06-07")
    engine = make_engine(world[0])
    try:
        with Session(engine) as session:
            verdict = latest_verdicts(session, 1, subjects=["fulfilment_spend"])["fulfilment_spend"]
    finally:
        engine.dispose()
    # ... at the plan the status is judged against, short of the whole month's, and the plan
    # still runs on to the end of June.
    assert chart["plan"][at] == pytest.approx(verdict.plan_to_date)
    assert chart["plan"][at + 1] > chart["plan"][at]
    assert chart["dates"][at + 1] > "2026-06-07"
