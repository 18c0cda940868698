"""What a notification says: titles, texts and links readers understand (pure, no store)."""

from __future__ import annotations

from typing import Any

from test_routing import MODEL_OBJ

from onpace.services.dispatch_messages import alert_html, describe, figure_rows, notification_for
from onpace.services.routing import Delivery

BASE = "https://onpace.example/"


def payload(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "as_of": "2026-02-03",
        "event": "case_opened",
        "kind": "red",
        "subject": "throughput",
        "owner": "lee",
        "participants": ["lee"],
        "level": 0,
        "detail": {"case": 7, "subject_level": "kpi", "plan_to_date": 100.0, "actual_to_date": 80.0},
    }
    return base | fields


def test_a_new_case_names_the_kpi_its_owner_and_the_figures() -> None:
    title, text, url = describe(payload(), MODEL_OBJ, BASE)
    assert title == "Orders shipped is red"
    assert text.splitlines() == [
        "A case was opened for Lee Park as of 3 Feb 2026.",
        "Planned to date: 100",
        "Actual to date: 80.0",
    ]
    assert url == "https://onpace.example/cases/7"


def test_an_escalation_says_to_whom_and_why() -> None:
    event = payload(
        event="case_escalated",
        level=1,
        detail={"case": 7, "to": "maria", "reason": "not explained in 2 days"},
    )
    title, text, _ = describe(event, MODEL_OBJ, BASE)
    assert title == "Escalated: Orders shipped is red"
    assert text == "The case went to Maria Chen (level 1): not explained in 2 days."


def test_a_status_change_shows_both_statuses_and_links_nowhere_without_a_case() -> None:
    title, _, url = describe(
        payload(event="status_changed", detail={"from": "green", "to": "amber"}), MODEL_OBJ, BASE
    )
    assert title == "Orders shipped: green → amber"
    assert url is None


def test_a_hygiene_finding_lists_its_findings() -> None:
    event = payload(
        kind="hygiene", detail={"findings": [{"rule": "no_owner", "message": "KPI x has no owner"}]}
    )
    title, text, _ = describe(event, MODEL_OBJ, BASE)
    assert title == "Orders shipped has a model hygiene finding"
    assert text.splitlines()[-1] == "KPI x has no owner"


def test_each_delivery_of_an_event_gets_its_own_stable_idempotency_key() -> None:
    row = {"id": 3, "event": "case_opened", "payload": payload(), "idempotency_key": "abc"}
    chat = notification_for(row, Delivery("ops-chat", "slack://x"), MODEL_OBJ, BASE)
    mail = notification_for(row, Delivery("email:lee", "mailto://x", recipient="lee"), MODEL_OBJ, BASE)
    assert (chat.idempotency_key, mail.idempotency_key) == ("abc:ops-chat", "abc:email:lee")
    assert chat.payload()["detail"]["as_of"] == "2026-02-03"
    assert chat == notification_for(row, Delivery("ops-chat", "slack://x"), MODEL_OBJ, BASE)


def test_a_message_writes_figures_in_their_unit_and_deadlines_in_the_local_time_zone() -> None:
    import dataclasses

    from onpace.domain.model import Calendar

    kpis = tuple(dataclasses.replace(k, uom="EUR") if k.id == "throughput" else k for k in MODEL_OBJ.kpis)
    model = dataclasses.replace(MODEL_OBJ, kpis=kpis, calendar=Calendar("monday", "Europe/Oslo"))
    detail = payload()["detail"] | {"plan_to_date": 12500.0, "explain_due": "2026-02-05T22:59:59+00:00"}
    _, text, _ = describe(payload(detail=detail), model, BASE)
    assert "Explain by: 5 Feb 2026, 23:59 CET" in text.splitlines()
    assert "Planned to date: €12,500" in text.splitlines()
    assert "Actual to date: €80.00" in text.splitlines()


def test_an_alert_mail_carries_its_figures_in_a_table_and_skips_weeks_to_red_once_red() -> None:
    detail = {
        "plan_to_date": 100.0,
        "actual_to_date": 80.0,
        "variance_pct": -0.2,
        "weeks_to_red": 0,
        "status": "red",
    }
    assert figure_rows(detail) == [
        ("Planned to date", "100"),
        ("Actual to date", "80.0"),
        ("Variance", "-20.0 %"),
    ]
    html = alert_html("Orders shipped is red", figure_rows(detail))
    assert "<th" in html
    assert "-20.0 %" in html
    assert "<script" not in alert_html("<script>x</script>", [])
