"""Row numbers in addresses: beyond the store's 32-bit keys they are refused, never a server error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_world import Persona, sign_in

from onpace.api.schemas import MAX_ROW_ID

pytestmark = pytest.mark.store


def bearer(persona: Persona) -> dict[str, str]:
    """Return the headers of a request made with the persona's write token."""
    return {"Authorization": f"Bearer {persona.token}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/tokens/{}"),
        ("GET", "/api/v1/cases/{}"),
        ("POST", "/api/v1/rebaselines/{}/reject"),
    ],
)
def test_a_row_number_past_the_stores_keys_is_refused_and_the_largest_one_is_not_found(
    client: TestClient, personas: dict[str, Persona], method: str, path: str
) -> None:
    body = {"note": "no such request"} if method == "POST" else None
    admin = bearer(personas["admin"])
    too_big = client.request(method, path.format(MAX_ROW_ID + 1), headers=admin, json=body)
    assert too_big.status_code == 422
    assert str(too_big.json()["where"]).endswith("_id")
    largest = client.request(method, path.format(MAX_ROW_ID), headers=admin, json=body)
    assert largest.status_code in (400, 404)


def test_a_case_page_past_the_stores_keys_is_an_error_page_not_a_crash(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    sign_in(client, personas["viewer"])
    assert client.get(f"/cases/{MAX_ROW_ID + 1}").status_code == 422
    assert client.get(f"/cases/{MAX_ROW_ID}").status_code == 404
