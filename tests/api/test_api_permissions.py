"""Who may read and who may write, for every API route: admin, editor, an owner, another unit's owner, a viewer, anonymous.

Ana (owner) owns KR1 and the red KPI ``fulfilment_spend``, whose case 6 she holds with Grace
(the editor, her escalation rung). Ivo (outsider) owns things in another unit and takes part
in none of those cases.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_world import Persona

pytestmark = pytest.mark.store

EVERYONE = ("admin", "editor", "owner", "outsider", "viewer")
EDITORS = ("admin", "editor")

READS = [
    "/api/v1/units",
    "/api/v1/units/online",
    "/api/v1/people",
    "/api/v1/people/ana",
    "/api/v1/objectives",
    "/api/v1/objectives/O1",
    "/api/v1/krs",
    "/api/v1/krs/KR1",
    "/api/v1/kpis",
    "/api/v1/kpis/fulfilment_spend",
    "/api/v1/dependencies",
    "/api/v1/dependencies/D1",
    "/api/v1/cases",
    "/api/v1/cases/6",
    "/api/v1/checkins",
    "/api/v1/evaluations",
    "/api/v1/rebaselines",
    "/api/v1/me",
    "/api/v1/tokens",
]

UNIT = {"id": "online", "name": "Online shop", "parent": "exec", "head": "ana"}

# (method, path, body, personas allowed, status when allowed)
WRITES: list[tuple[str, str, Any, tuple[str, ...], int]] = [
    ("PUT", "/api/v1/units/online", UNIT, EDITORS, 200),
    ("POST", "/api/v1/units", {"id": "pilot_{who}", "name": "Pilot", "parent": "exec"}, EDITORS, 201),
    (
        "PUT",
        "/api/v1/people/ivo",
        {"id": "ivo", "name": "Ivo Marin", "email": "ivo@greenway.example", "unit": "supply"},
        EDITORS,
        200,
    ),
    (
        "POST",
        "/api/v1/actuals",
        {"source": "finance", "records": [{"metric": "online_orders", "date": "2026-06-01", "value": 3000}]},
        EDITORS,
        200,
    ),
    ("POST", "/api/v1/cases/6/comment", {"text": "Looking into it"}, ("admin", "editor", "owner"), 200),
    (
        "POST",
        "/api/v1/checkins",
        {"subject": "KR1", "date": "2026-06-07", "status": "amber", "confidence": 6},
        ("admin", "owner"),
        201,
    ),
    (
        "POST",
        "/api/v1/checkins",
        {"subject": "KR5", "date": "2026-06-07", "status": "green", "confidence": 8},
        ("admin", "outsider"),
        201,
    ),
    ("POST", "/api/v1/what-if", {"shifts": [{"subject": "online_orders", "pct": -10}]}, EVERYONE, 200),
]


def call(client: TestClient, method: str, path: str, token: str | None, body: Any = None) -> int:
    """Make a request as the holder of ``token`` (anonymous when None); return the status."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.request(method, path, headers=headers, json=body).status_code


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("who", [*EVERYONE, "anonymous"])
def test_every_signed_in_persona_reads_and_anonymous_is_refused(
    client: TestClient, personas: dict[str, Persona], path: str, who: str
) -> None:
    token = personas[who].read_token if who in personas else None
    assert call(client, "GET", path, token) == (200 if token else 401)


@pytest.mark.parametrize(("method", "path", "body", "allowed", "status"), WRITES)
@pytest.mark.parametrize("who", [*EVERYONE, "anonymous"])
def test_only_the_right_personas_write(
    client: TestClient,
    personas: dict[str, Persona],
    method: str,
    path: str,
    body: Any,
    allowed: tuple[str, ...],
    status: int,
    who: str,
) -> None:
    token = personas[who].token if who in personas else None
    if isinstance(body, dict) and "id" in body:
        body = {**body, "id": str(body["id"]).format(who=who)}
    expected = status if who in allowed else (401 if token is None else 403)
    assert call(client, method, path, token, body) == expected


@pytest.mark.parametrize(("method", "path", "body", "allowed", "status"), WRITES)
def test_a_read_only_token_never_writes(
    client: TestClient,
    personas: dict[str, Persona],
    method: str,
    path: str,
    body: Any,
    allowed: tuple[str, ...],
    status: int,
) -> None:
    if path.endswith("/what-if"):
        assert call(client, method, path, personas["admin"].read_token, body) == status
    else:
        assert call(client, method, path, personas["admin"].read_token, body) == 403
