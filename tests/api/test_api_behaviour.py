"""The REST API's behaviour: errors people understand, idempotent actuals, tokens, sessions and CSRF."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from web_world import Persona, sign_in

pytestmark = pytest.mark.store


def bearer(persona: Persona) -> dict[str, str]:
    """Return the headers of a request made with the persona's write token."""
    return {"Authorization": f"Bearer {persona.token}"}


def test_it_keeps_good_actuals_and_reports_bad_ones_by_index(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    records = [
        {"metric": "online_orders", "date": "2026-06-02", "value": 410},
        {"metric": "online_orders", "date": "not a date", "value": 1},
        {"metric": "no_such_kpi", "date": "2026-06-02", "value": 1},
        {"metric": "online_orders", "date": "2026-06-03", "value": "lots"},
        "not an object",
    ]
    answer = client.post(
        "/api/v1/actuals", json={"source": "finance", "records": records}, headers=bearer(personas["editor"])
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["received"] == 5
    assert body["added"] == 1
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 4]
    assert "no_such_kpi" in body["rejected"][1]["reason"]


def test_pushing_the_same_actuals_twice_changes_nothing(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    batch = {
        "source": "finance",
        "records": [{"metric": "online_orders", "date": "2026-06-04", "value": 455}],
    }
    first = client.post("/api/v1/actuals", json=batch, headers=bearer(personas["admin"])).json()
    second = client.post("/api/v1/actuals", json=batch, headers=bearer(personas["admin"])).json()
    assert (first["added"], second["added"], second["unchanged"]) == (1, 0, 1)


def test_a_request_with_an_unknown_field_says_which_field(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    answer = client.post(
        "/api/v1/cases/6/comment", json={"text": "hi", "txet": "typo"}, headers=bearer(personas["owner"])
    )
    assert answer.status_code == 422
    assert answer.json()["where"] == "body.txet"
    assert "not a field" in answer.json()["error"]


def test_strict_bodies_refuse_numbers_written_as_text(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    body = {"subject": "KR1", "date": "2026-06-07", "status": "green", "confidence": "7"}
    answer = client.post("/api/v1/checkins", json=body, headers=bearer(personas["owner"]))
    assert answer.status_code == 422
    assert answer.json()["where"] == "body.confidence"


def test_a_model_edit_that_breaks_the_model_is_refused_with_the_reason(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    unit = {"id": "online", "name": "Online shop", "parent": "nowhere", "head": "ana"}
    answer = client.put("/api/v1/units/online", json=unit, headers=bearer(personas["editor"]))
    assert answer.status_code == 400
    assert "nowhere" in answer.json()["error"]


def test_an_editor_adds_a_kpi_that_feeds_a_key_result(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    kpi = {
        "id": "basket_size",
        "title": "Average online basket (EUR)",
        "unit": "online",
        "owners": ["lina"],
        "plan": {"per_bucket": 62},
        "feeds": [{"kr": "KR1", "weight": 0.2}],
    }
    answer = client.post("/api/v1/kpis", json=kpi, headers=bearer(personas["editor"]))
    assert answer.status_code == 201, answer.text
    stored = client.get("/api/v1/kpis/basket_size", headers=bearer(personas["viewer"])).json()
    assert stored["feeds"] == [{"kr": "KR1", "weight": 0.2, "lag_days": 0}]
    assert client.post("/api/v1/kpis", json=kpi, headers=bearer(personas["editor"])).status_code == 409


def test_a_seasonal_plan_goes_in_and_comes_back_through_the_api(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    kpi = {
        "id": "garden_sales",
        "title": "Garden centre sales (EUR)",
        "unit": "online",
        "owners": ["lina"],
        "plan": {"seasonal_from": "2025-04-06..2025-06-28", "growth": 0.05},
    }
    answer = client.post("/api/v1/kpis", json=kpi, headers=bearer(personas["editor"]))
    assert answer.status_code == 201, answer.text
    stored = client.get("/api/v1/kpis/garden_sales", headers=bearer(personas["viewer"])).json()
    assert (stored["plan"]["seasonal_from"], stored["plan"]["growth"]) == ("2025-04-06..2025-06-28", 0.05)


def test_an_unknown_case_is_404_with_a_message(client: TestClient, personas: dict[str, Persona]) -> None:
    answer = client.get("/api/v1/cases/999999", headers=bearer(personas["viewer"]))
    assert answer.status_code == 404
    assert answer.json() == {"error": "there is no case 999999", "where": None}


def test_a_revoked_token_stops_working(client: TestClient, personas: dict[str, Persona]) -> None:
    csrf = sign_in(client, personas["viewer"])
    made = client.post(
        "/api/v1/tokens", json={"name": "laptop", "scope": "read"}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201
    token = made.json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    gone = client.delete(f"/api/v1/tokens/{made.json()['id']}", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 200
    assert gone.json()["revoked_at"] is not None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_cookie_authenticated_api_writes_need_the_csrf_token(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    csrf = sign_in(client, personas["owner"])
    assert client.post("/api/v1/cases/6/comment", json={"text": "no token"}).status_code == 403
    wrong = client.post(
        "/api/v1/cases/6/comment", json={"text": "forged"}, headers={"X-CSRF-Token": "x" * 43}
    )
    assert wrong.status_code == 403
    right = client.post(
        "/api/v1/cases/6/comment", json={"text": "with token"}, headers={"X-CSRF-Token": csrf}
    )
    assert right.status_code == 200
    assert right.json()["events"][-1]["detail"]["text"] == "with token"


def test_a_wrong_password_does_not_sign_in(client: TestClient, personas: dict[str, Persona]) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = client.post(
        "/login", data={"email": personas["owner"].email, "password": "guess", "csrf_token": csrf.group(1)}
    )
    assert answer.status_code == 401
    assert "wrong email or password" in answer.text
    assert client.get("/api/v1/me").status_code == 401


def test_signing_out_ends_the_session(client: TestClient, personas: dict[str, Persona]) -> None:
    csrf = sign_in(client, personas["owner"])
    assert client.get("/api/v1/me").json()["email"] == personas["owner"].email
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_a_forged_session_cookie_is_anonymous(client: TestClient) -> None:
    client.cookies.set("onpace_session", "eyJ1aWQiOjF9.forged.signature")
    assert client.get("/api/v1/me").status_code == 401


def test_what_if_lists_what_flips(client: TestClient, personas: dict[str, Persona]) -> None:
    answer = client.post(
        "/api/v1/what-if",
        json={"shifts": [{"subject": "online_orders", "pct": -30}]},
        headers=bearer(personas["viewer"]),
    )
    assert answer.status_code == 200
    flipped = {f["subject"] for f in answer.json()["flips"]}
    assert "online_orders" in flipped


def test_what_if_on_an_unknown_subject_is_a_clear_400(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    answer = client.post(
        "/api/v1/what-if",
        json={"shifts": [{"subject": "nope", "pct": -5}]},
        headers=bearer(personas["viewer"]),
    )
    assert answer.status_code == 400
    assert "nope" in answer.json()["error"]


def test_openapi_and_swagger_ui_are_served_from_the_app(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/actuals" in schema["paths"]
    docs = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_a_kpi_keeps_its_unit_of_measure_and_an_unknown_one_is_refused(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    kpi = {
        "id": "basket_value",
        "title": "Online basket value",
        "unit": "online",
        "uom": "EUR",
        "owners": ["lina"],
        "plan": {"per_bucket": 62},
        "feeds": [{"kr": "KR1", "weight": 0.2}],
    }
    answer = client.post("/api/v1/kpis", json=kpi, headers=bearer(personas["editor"]))
    assert answer.status_code == 201, answer.text
    stored = client.get("/api/v1/kpis/basket_value", headers=bearer(personas["viewer"])).json()
    assert stored["uom"] == "EUR"
    wrong = {**kpi, "id": "basket_length", "uom": "furlongs"}
    assert client.post("/api/v1/kpis", json=wrong, headers=bearer(personas["editor"])).status_code == 422
