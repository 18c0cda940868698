"""The case page as the place to decide: evidence first, only usable forms, refusals that keep the text."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from web_world import Persona, sign_in

pytestmark = pytest.mark.store

PILOT = "Micro-fulfilment pilot spend"  # the red case on it is owned by the owner persona


def pilot_case(client: TestClient) -> str:
    """Return the page of the red case on the pilot spend (its number depends on the order cases open)."""
    inbox = client.get("/cases?kind=red").text
    found = [
        number
        for number, row in re.findall(r'<a href="/cases/(\d+)">#\d+ red</a>(.*?)</tr>', inbox, re.S)
        if PILOT in row
    ]
    assert len(found) == 1, found
    return f"/cases/{found[0]}"


def section(page: str, marker: str, end: str = "</section>") -> str:
    start = page.index(marker)
    return page[start : page.index(end, start)]


def test_the_case_page_leads_with_the_figures_the_chart_and_the_ladder(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get(pilot_case(client)).text
    evidence = section(page, 'id="evidence-title"')
    for marker in ('id="fig-plan"', 'id="fig-actual"', 'id="fig-variance"', 'data-chart="plan"'):
        assert marker in evidence, marker
    assert "EUR " in evidence  # a cost KPI's figures carry their currency
    assert 'id="ladder"' in page
    assert "holds it" in section(page, 'id="ladder"', "</ol>")


def test_a_viewer_sees_no_form_and_is_told_who_acts(client: TestClient, personas: dict[str, Persona]) -> None:
    sign_in(client, personas["viewer"])
    page = client.get(pilot_case(client)).text
    assert 'id="explain-form"' not in page
    assert 'id="close-form"' not in page
    assert "its owner, the person holding it and its participants act on it" in page


def test_an_explanation_is_confirmed_and_told_in_the_timeline(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["owner"])
    case = pilot_case(client)
    answer = client.post(
        f"{case}/explain", data={"category": "capacity", "text": "Courier rates rose", "csrf_token": csrf}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{case}?done=explained#timeline"
    page = client.get(answer.headers["location"]).text
    assert 'id="confirmation">Explanation recorded.' in page
    timeline = section(page, 'id="timeline"', "</ol>")
    assert "explained (capacity)" in timeline
    assert "Courier rates rose" in timeline


def test_a_refused_action_comes_back_with_its_message_and_what_was_typed(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["owner"])
    answer = client.post(
        f"{pilot_case(client)}/act",
        data={
            "title": "Renegotiate the courier deal",
            "owner": "ana",
            "due": "2001-01-01",
            "csrf_token": csrf,
        },
    )
    assert answer.status_code == 400
    form = section(answer.text, 'id="act-form"', "</form>")
    assert 'role="alert"' in form
    assert "already past" in form
    assert 'value="Renegotiate the courier deal"' in form
    assert 'value="2001-01-01"' in form


def test_closing_asks_for_a_reason(client: TestClient, personas: dict[str, Persona]) -> None:
    csrf = sign_in(client, personas["admin"])
    inbox = client.get("/cases").text
    worked = {int(pilot_case(client).rsplit("/", 1)[1]), 6}  # the pages' tests (test_pages) work on case 6
    ids = sorted({int(n) for n in re.findall(r'href="/cases/(\d+)"', inbox)} - worked)
    case = f"/cases/{ids[-1]}"  # not the one the other page tests work on
    refused = client.post(f"{case}/close", data={"note": "  ", "csrf_token": csrf})
    assert refused.status_code == 400
    assert "say why the case can be closed" in section(refused.text, 'id="close-form"', "</form>")
    closed = client.post(f"{case}/close", data={"note": "Contract signed", "csrf_token": csrf})
    assert closed.status_code == 303
    page = client.get(closed.headers["location"]).text
    assert "Case closed." in page
    assert "Contract signed" in section(page, 'id="timeline"', "</ol>")
    assert 'id="close-form"' not in page


def test_the_inbox_filters_rows_by_kind_and_overdue_and_keeps_the_filters_in_the_form(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["admin"])
    every = client.get("/cases").text
    kinds = set(re.findall(r'<a href="/cases/\d+">#\d+ ([a-z ]+)</a>', every))
    assert len(kinds) > 1
    kind = sorted(kinds)[0]
    only = client.get(f"/cases?kind={kind.replace(' ', '_')}").text
    assert set(re.findall(r'<a href="/cases/\d+">#\d+ ([a-z ]+)</a>', only)) == {kind}
    assert f'<option value="{kind.replace(" ", "_")}" selected>' in only
    late = client.get("/cases?overdue=1").text
    body = late[late.index("<tbody>") : late.index("</tbody>")]
    rows = body.split("<tr>")[1:]
    assert rows
    assert all('class="late"' in row for row in rows)
    assert 'name="overdue" value="1" checked' in late


def test_re_baselines_offer_only_the_readers_subjects_and_only_their_decider_the_buttons(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["owner"])  # Ana Costa owns the pilot spend
    form = client.get("/rebaselines").text
    options = re.findall(r'<option value="(\w+)"', form[form.index('action="/rebaselines"') :])
    assert "fulfilment_spend" in options
    assert "waste_value" not in options  # Ivo's
    asked = client.post(
        "/rebaselines",
        data={
            "subject": "fulfilment_spend",
            "target": "300000",
            "reason": "pilot extended",
            "effective": (dt.date.today() + dt.timedelta(days=1)).isoformat(),
            "csrf_token": csrf,
        },
    )
    assert asked.status_code == 303, re.sub(r"<[^>]+>", " ", asked.text)[-600:]
    mine = client.get("/rebaselines").text
    assert "awaits " in mine  # Ana may not decide her own request
    assert "/approve" not in mine
    sign_in(client, personas["admin"])
    assert "/approve" in client.get("/rebaselines").text
    sign_in(client, personas["viewer"])
    seen = client.get("/rebaselines").text
    assert "/approve" not in seen
    assert 'action="/rebaselines" class="stack"' not in seen
