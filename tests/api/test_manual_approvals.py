"""`/api/v1/actuals/pending`: list manual entries, approve or reject them, with clear refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from approval_world import ApprovalWorld, build
from fastapi.testclient import TestClient

pytestmark = pytest.mark.store


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ApprovalWorld]:
    made, close = build(tmp_path, "approvals_api")
    yield made
    close()


def call(world: ApprovalWorld, who: str, method: str, path: str, **kwargs: object) -> tuple[int, object]:
    with TestClient(world.app) as client:
        answer = client.request(
            method,
            path,
            headers={"Authorization": f"Bearer {world.tokens[who]}"},
            **kwargs,  # type: ignore[arg-type]
        )
    return answer.status_code, answer.json()


def test_pending_entries_are_listed_with_the_value_they_would_replace(world: ApprovalWorld) -> None:
    entry = world.enter(500.0)
    status, body = call(world, "vic", "GET", "/api/v1/actuals/pending")
    assert status == 200
    assert isinstance(body, list)
    (point,) = body
    assert (point["entry"], point["title"], point["date"]) == (entry, "Orders shipped", "2026-01-07")
    assert (point["in_force"], point["proposed"], point["entered_by"]) == (410.0, 500.0, "mia")


def test_the_unit_head_approves_and_the_value_comes_into_force(world: ApprovalWorld) -> None:
    entry = world.enter(500.0)
    status, body = call(world, "olga", "POST", f"/api/v1/actuals/pending/{entry}/approve")
    assert status == 200, body
    assert isinstance(body, dict)
    assert (body["decision"], body["entries"], body["by"]) == ("approved", [entry], "olga")
    assert world.in_force() == [500.0]
    assert call(world, "vic", "GET", "/api/v1/actuals/pending") == (200, [])
    status, again = call(world, "olga", "POST", f"/api/v1/actuals/pending/{entry}/reject")
    assert status == 409
    assert "no longer wait for approval" in again["error"]  # type: ignore[index]


def test_a_rejection_keeps_the_value_in_force(world: ApprovalWorld) -> None:
    entry = world.enter(500.0)
    status, body = call(world, "olga", "POST", f"/api/v1/actuals/pending/{entry}/reject", json={"points": []})
    assert status == 200, body
    assert world.in_force() == [410.0]


def test_the_author_another_units_head_and_a_viewer_are_refused(world: ApprovalWorld) -> None:
    entry = world.enter(500.0)
    status, body = call(world, "mia", "POST", f"/api/v1/actuals/pending/{entry}/approve")
    assert status == 403
    assert "four eyes" in body["error"]  # type: ignore[index]
    status, body = call(world, "sam", "POST", f"/api/v1/actuals/pending/{entry}/approve")
    assert status == 403
    assert "head of its unit" in body["error"]  # type: ignore[index]
    assert call(world, "vic", "POST", f"/api/v1/actuals/pending/{entry}/approve")[0] == 403
    assert world.in_force() == [410.0]


def test_unknown_entries_and_points_answer_404(world: ApprovalWorld) -> None:
    entry = world.enter(500.0)
    status, body = call(world, "olga", "POST", "/api/v1/actuals/pending/987654/approve")
    assert status == 404
    assert "no manual entry 987654" in body["error"]  # type: ignore[index]
    status, body = call(
        world, "olga", "POST", f"/api/v1/actuals/pending/{entry}/approve", json={"points": [987654]}
    )
    assert status == 404
    assert "no point 987654" in body["error"]  # type: ignore[index]
    assert world.in_force() == [410.0]


def test_the_openapi_schema_lists_the_routes_and_their_refusals(world: ApprovalWorld) -> None:
    paths = world.app.openapi()["paths"]
    assert "get" in paths["/api/v1/actuals/pending"]
    for decision in ("approve", "reject"):
        responses = paths[f"/api/v1/actuals/pending/{{entry}}/{decision}"]["post"]["responses"]
        assert {"200", "403", "404", "409"} <= set(responses)
        assert "four eyes" in responses["403"]["description"]
