"""Text holding a NUL character is refused at every door with 422 and where, never a server error.

PostgreSQL text cannot hold NUL; these requests reach the store on PostgreSQL when not refused.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_world import Persona, sign_in

pytestmark = pytest.mark.store


def bearer(persona: Persona) -> dict[str, str]:
    """Return the headers of a request made with the persona's write token."""
    return {"Authorization": f"Bearer {persona.token}"}


def test_a_nul_in_a_query_parameter_is_refused_with_its_name(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    answer = client.get("/api/v1/checkins", params={"subject": "KR1\x00"}, headers=bearer(personas["admin"]))
    assert answer.status_code == 422
    assert answer.json()["where"] == "query.subject"
    assert "NUL" in answer.json()["error"]


def test_a_nul_in_the_address_is_refused(client: TestClient, personas: dict[str, Persona]) -> None:
    answer = client.get("/api/v1/units/ops%00", headers=bearer(personas["admin"]))
    assert answer.status_code == 422
    assert answer.json()["where"] == "path.unit_id"


def test_a_nul_in_a_json_body_is_refused_and_nothing_is_stored(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    admin = bearer(personas["admin"])
    answer = client.post("/api/v1/cases/6/comment", json={"text": "before\x00after"}, headers=admin)
    assert answer.status_code == 422
    assert answer.json()["where"] == "body"
    events = client.get("/api/v1/cases/6", headers=admin).json()["events"]
    assert not any("before" in str(event["detail"]) for event in events)


def test_a_backslash_u0000_written_as_text_is_ordinary_text(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    admin = bearer(personas["admin"])
    raw = b'{"text": "a literal \\\\u0000 in a comment"}'
    answer = client.post(
        "/api/v1/cases/6/comment", content=raw, headers={**admin, "Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    assert answer.json()["events"][-1]["detail"]["text"] == "a literal \\u0000 in a comment"


def test_a_nul_in_a_posted_form_is_an_error_page(client: TestClient, personas: dict[str, Persona]) -> None:
    csrf = sign_in(client, personas["owner"])
    answer = client.post("/cases/6/comment", data={"text": "bad\x00text", "csrf_token": csrf})
    assert answer.status_code == 422
    assert "NUL" in answer.text
    assert "<html" in answer.text
