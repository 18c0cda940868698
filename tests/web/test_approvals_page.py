"""The "Waiting for approval" list: the unit head approves an entry from it, the author cannot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from approval_world import PEOPLE, ApprovalWorld, build
from fastapi.testclient import TestClient
from web_world import Persona, sign_in

pytestmark = pytest.mark.store


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ApprovalWorld]:
    made, close = build(tmp_path, "approvals_web")
    yield made
    close()


def signed_in(world: ApprovalWorld, key: str) -> tuple[TestClient, str]:
    role, person = PEOPLE[key]
    client = TestClient(world.app, follow_redirects=False)
    csrf = sign_in(client, Persona(key, f"{key}@example.com", role, person, world.tokens[key], ""))
    return client, csrf


def test_the_list_shows_the_entry_and_approving_it_puts_its_value_in_force(world: ApprovalWorld) -> None:
    entry = world.enter(500.0)
    client, csrf = signed_in(world, "olga")
    with client:
        page = client.get("/approvals")
        assert page.status_code == 200
        assert "Waiting for approval" in page.text
        row = re.search(r"Mia Lund, .*?</tr>", page.text, re.S)
        assert row is not None
        assert all(part in row.group(0) for part in ("Orders shipped", "7 Jan 2026", "410", "500", "Approve"))
        answer = client.post(f"/approvals/{entry}/approve", data={"csrf_token": csrf, "back": "/approvals"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/approvals"
        assert "Nothing waits for approval" in client.get("/approvals").text
    assert world.in_force() == [500.0]


def test_the_kpis_own_page_lists_the_entry_and_rejecting_returns_to_it(world: ApprovalWorld) -> None:
    entry = world.enter(500.0)
    client, csrf = signed_in(world, "olga")
    with client:
        page = client.get("/kpis/orders")
        assert page.status_code == 200, page.text
        assert "Waiting for approval" in page.text
        assert "waiting for approval" in page.text  # the pending version in the lineage
        answer = client.post(f"/approvals/{entry}/reject", data={"csrf_token": csrf, "back": "/kpis/orders"})
        assert (answer.status_code, answer.headers["location"]) == (303, "/kpis/orders")
        after = client.get("/kpis/orders").text
        assert "Waiting for approval" not in after
        assert "no, rejected" in after
    assert world.in_force() == [410.0]


def test_the_author_sees_no_buttons_and_is_refused_if_she_posts(world: ApprovalWorld) -> None:
    entry = world.enter(500.0)
    client, csrf = signed_in(world, "mia")
    with client:
        page = client.get("/approvals").text
        assert "four eyes" in page
        assert f"/approvals/{entry}/approve" not in page
        answer = client.post(f"/approvals/{entry}/approve", data={"csrf_token": csrf})
        assert answer.status_code == 403
        assert "four eyes" in answer.text
        assert client.post(f"/approvals/{entry}/approve").status_code == 403  # no CSRF token
    assert world.in_force() == [410.0]


def test_a_decision_never_redirects_off_the_site(world: ApprovalWorld) -> None:
    entry = world.enter(500.0)
    client, csrf = signed_in(world, "olga")
    with client:
        answer = client.post(
            f"/approvals/{entry}/approve", data={"csrf_token": csrf, "back": "https://elsewhere.example/"}
        )
    assert (answer.status_code, answer.headers["location"]) == (303, "/approvals")
