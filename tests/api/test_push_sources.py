"""Actuals are pushed only as a push source the model declares, so nobody can pose as another system."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_world import Persona

pytestmark = pytest.mark.store

RECORD = {"metric": "online_orders", "date": "2026-06-05", "value": 401}


def push(client: TestClient, persona: Persona, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    answer = client.post("/api/v1/actuals", json=body, headers={"Authorization": f"Bearer {persona.token}"})
    return answer.status_code, answer.json()


def test_a_source_the_model_does_not_declare_as_push_is_refused_with_the_declared_ones(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    for name in ("shop_db", "made_up_system"):  # a pulled (sql) source, and no source at all
        status, body = push(client, personas["editor"], {"source": name, "records": [RECORD]})
        assert status == 422
        assert body["where"] == "body.source"
        assert body["error"] == f"'{name}' is not a push source of the model (its push sources: finance)"


def test_a_declared_push_source_is_accepted_and_is_the_default_when_it_is_the_only_one(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    status, body = push(client, personas["editor"], {"records": [RECORD]})
    assert (status, body["added"]) == (200, 1)
    status, body = push(client, personas["editor"], {"source": "finance", "records": [RECORD]})
    assert (status, body["unchanged"]) == (200, 1)


def test_a_record_naming_an_undeclared_source_is_rejected_and_the_others_kept(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    records = [{**RECORD, "date": "2026-06-06"}, {**RECORD, "date": "2026-06-07", "source": "shop_db"}]
    status, body = push(client, personas["editor"], {"source": "finance", "records": records})
    assert (status, body["added"]) == (200, 1)
    assert body["rejected"] == [{"index": 1, "reason": "source 'shop_db' is not a push source of the model"}]
