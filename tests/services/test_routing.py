"""Routing: which channels and people an outbox event goes to (pure, no store)."""

from __future__ import annotations

from typing import Any

from onpace.modelfile import parse_model_text
from onpace.services.routing import (
    Delivery,
    deliveries_for,
    people_of,
    personal_mail_url,
    units_of,
)

MODEL = """\
org: Routeco
units:
  - {id: exec, name: Executive team, head: ceo}
  - {id: ops, name: Operations, parent: exec, head: maria}
  - {id: it, name: IT, parent: exec, head: raj}
people:
  - {id: ceo, name: Dana Ortiz, email: dana@route.example, unit: exec}
  - {id: maria, name: Maria Chen, email: maria@route.example, unit: ops}
  - {id: lee, name: Lee Park, email: lee@route.example, unit: ops}
  - {id: raj, name: Raj Iyer, unit: it}
cycles:
  - {id: 2026-Q1, start: 2026-01-05, end: 2026-03-29}
objectives:
  - id: O1
    title: Ship more orders
    cycle: 2026-Q1
    unit: exec
    owner: ceo
    key_results:
      - {id: KR1, title: Throughput at 100 a day, owner: maria, kpi: throughput}
kpis:
  - {id: throughput, title: Orders shipped, unit: ops, owner: lee, plan: {per_bucket: 100}, source: wms}
  - {id: api_errors, title: API errors, unit: it, owner: raj, plan: {per_bucket: 1}, direction: down,
     source: wms, feeds: [{kr: KR1, weight: 0.2}]}
dependencies:
  - {id: D1, title: Order API, provider: {unit: it, owner: raj}, consumer: {unit: ops, owner: maria},
     due: 2026-02-15, kpi: api_errors, blocks: [KR1]}
sources:
  - {id: wms, kind: push}
notify:
  - {id: ops-chat, url: "slack://T/B/C", units: [ops], events: [case_opened, case_escalated]}
  - {id: it-hook, url: "https://hooks.example/it", secret: "env:IT_SECRET", units: [it]}
  - {id: ceo-daily, url: "mailto://ceo-desk@route.example", people: [ceo], digest: true,
     events: [case_opened, case_escalated, case_resolved]}
  - {id: everything, url: "json://audit.example/in", events: [status_changed]}
"""

MODEL_OBJ = parse_model_text(MODEL, "routeco.yaml")
SMTP = "mailtos://bot:pw@smtp.route.example:587?from=onpace@route.example"


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "as_of": "2026-02-03",
        "event": "case_opened",
        "kind": "red",
        "subject": "throughput",
        "owner": "lee",
        "participants": ["lee"],
        "level": 0,
        "detail": {"case": 7, "subject_level": "kpi"},
    }
    return base | fields


def test_a_red_kpi_goes_to_its_units_chat_and_to_its_owners_own_email() -> None:
    found = deliveries_for(event(), MODEL_OBJ, smtp_url=SMTP)
    assert [d.channel for d in found] == ["ops-chat", "email:lee"]
    assert found[1].recipient == "lee"
    assert found[1].url == (
        "mailtos://bot:pw@smtp.route.example:587?from=onpace@route.example&to=lee@route.example"
    )


def test_without_an_smtp_url_nobody_gets_personal_email() -> None:
    assert [d.channel for d in deliveries_for(event(), MODEL_OBJ)] == ["ops-chat"]


def test_a_route_only_takes_the_events_it_names() -> None:
    resolved = deliveries_for(event(event="case_resolved"), MODEL_OBJ)
    assert [d.channel for d in resolved] == []
    changed = deliveries_for(event(event="status_changed"), MODEL_OBJ, smtp_url=SMTP)
    assert [d.channel for d in changed] == ["everything"]


def test_a_route_without_events_takes_case_opened_only_as_in_the_model_file() -> None:
    payload = event(subject="api_errors", owner="raj", participants=["raj"])
    assert [d.channel for d in deliveries_for(payload, MODEL_OBJ)] == ["it-hook"]
    escalated = payload | {"event": "case_escalated", "detail": {"to": "ceo", "subject_level": "kpi"}}
    assert "it-hook" not in [d.channel for d in deliveries_for(escalated, MODEL_OBJ)]


def test_the_webhook_route_carries_its_secret_reference() -> None:
    payload = event(subject="api_errors", owner="raj", participants=["raj"])
    [hook] = deliveries_for(payload, MODEL_OBJ)
    assert hook == Delivery("it-hook", "https://hooks.example/it", "env:IT_SECRET")


def test_a_joint_review_reaches_both_units_and_every_participant_once() -> None:
    payload = event(
        subject="D1",
        kind="dependency_late",
        owner="maria",
        participants=["maria", "raj", "maria"],
        detail={"subject_level": "dependency"},
    )
    assert units_of(payload, MODEL_OBJ) == {"ops", "it"}
    found = deliveries_for(payload, MODEL_OBJ, smtp_url=SMTP)
    # raj has no email address: no personal mail for him, but his unit's hook takes the event.
    assert [d.channel for d in found] == ["ops-chat", "it-hook", "email:maria"]


def test_an_escalation_also_reaches_the_person_it_went_to() -> None:
    payload = event(event="case_escalated", detail={"to": "ceo", "subject_level": "kpi"}, level=2)
    assert people_of(payload) == ("lee", "ceo")
    found = deliveries_for(payload, MODEL_OBJ, smtp_url=SMTP)
    assert [d.key for d in found] == ["ops-chat", "ceo-daily#digest:lee", "email:lee", "email:ceo"]


def test_a_digest_route_groups_by_the_events_owner() -> None:
    payload = event(subject="O1", owner="ceo", participants=["ceo"], detail={"subject_level": "objective"})
    [digest] = [d for d in deliveries_for(payload, MODEL_OBJ) if d.digest]
    assert (digest.channel, digest.recipient, digest.key) == ("ceo-daily", "ceo", "ceo-daily#digest:ceo")


def test_a_kr_belongs_to_the_unit_of_its_objective() -> None:
    payload = event(subject="KR1", owner="maria", participants=[], detail={"subject_level": "kr"})
    assert units_of(payload, MODEL_OBJ) == {"exec", "ops"}


def test_workflow_notes_go_nowhere_unless_a_route_names_them() -> None:
    assert deliveries_for(event(event="case_commented"), MODEL_OBJ, smtp_url=SMTP) == []


def test_a_disabled_channel_notice_is_mailed_to_the_people_it_names() -> None:
    payload = event(
        event="channel_disabled",
        kind="hygiene",
        subject="ops-chat",
        owner="maria",
        participants=["maria"],
        detail={"subject_level": "channel", "reason": "HTTP 410"},
    )
    assert [d.channel for d in deliveries_for(payload, MODEL_OBJ, smtp_url=SMTP)] == ["email:maria"]


def test_the_personal_mail_url_replaces_any_to_address_and_keeps_the_rest() -> None:
    url = personal_mail_url(
        "mailto://u:p@mail.example:25?from=bot@x.example&to=old@x.example", "new@x.example"
    )
    assert url.startswith("mailto://u:p@mail.example:25?")
    assert "from=bot@x.example" in url
    assert "to=new@x.example" in url
    assert "old@" not in url
