"""The leaders' overview and the objective and initiative pages, on the demo organisation."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from web_world import Persona, sign_in

pytestmark = pytest.mark.store


def test_someone_who_owns_nothing_lands_on_the_overview_with_top_risks_and_owners(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    page = client.get("/").text
    assert "<h1>Overview" in page
    risks = page[page.index('id="top-risks"') : page.index("</ol>", page.index('id="top-risks"'))]
    owners = re.findall(r'class="risk-owner">owner <strong>([^<]+)</strong>', risks)
    assert len(owners) >= 3
    assert all(name and not re.fullmatch(r"[a-z_]+", name) for name in owners), owners  # names, not ids
    assert 'id="heat-map"' in page
    assert 'id="objectives"' in page


def test_the_overview_has_a_page_of_its_own(client: TestClient, personas: dict[str, Persona]) -> None:
    sign_in(client, personas["owner"])
    assert "<h1>Overview" in client.get("/overview").text
    assert "<h1>Overview" not in client.get("/").text  # an owner's first page is their desk


def test_an_objective_page_lists_its_key_results_with_their_feeds(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    answer = client.get("/objectives/O1")
    assert answer.status_code == 200
    table = answer.text[answer.text.index('id="key-results"') :]
    assert 'href="/krs/KR1"' in table
    assert 'href="/kpis/' in table
    assert client.get("/objectives/nope").status_code == 404


def test_an_initiative_page_shows_spend_against_plan_and_what_it_supports(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    answer = client.get("/initiatives/I1")
    assert answer.status_code == 200
    assert "Spend to date" in answer.text
    assert re.search(r"EUR [\d,]+", answer.text)
    assert 'id="supports"' in answer.text
    assert "Starved" in answer.text
    assert client.get("/initiatives/nope").status_code == 404
