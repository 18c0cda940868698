"""The weekly review pack built from a real store: each section, the unit scope, week-over-week changes, queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from review_support import WEEKS, end_of, ingest, new_org, run_week, run_weeks
from sqlalchemy import event
from sqlalchemy.orm import Session

from onpace.domain.checkins import CheckIn
from onpace.domain.model import Plan
from onpace.domain.review import ReviewItem, ReviewPack
from onpace.errors import UserError
from onpace.services.cases import act_on_case, explain_case
from onpace.services.checkins import record_checkins
from onpace.services.rebaseline import approve_rebaseline, request_rebaseline
from onpace.services.review import build_pack, latest_pack, save_pack
from onpace.storage.repositories import cases_repo

W1, W2, W3, W4, W5, W6 = WEEKS[:6]
# Throughput falls to 80 (red) in week 4; complaints stay above their falling plan from week 3
# (amber, and at risk: the plan keeps falling while they do not); the order API's errors go red
# in week 4, which threatens KR1.
STORY = {
    W3: {"complaints": 10.6},
    W4: {"throughput": 80.0, "complaints": 10.3, "api_errors": 2.5},
    W5: {"throughput": 80.0, "complaints": 9.9, "api_errors": 2.5},
    W6: {"throughput": 80.0, "complaints": 9.7, "api_errors": 2.5},
}


def morning_after(day: dt.date) -> dt.datetime:
    return end_of(day) + dt.timedelta(hours=7)


def keys(pack: ReviewPack, section: str) -> list[str]:
    return [i.subject for s in pack.sections if s.key == section for i in s.items]


def find(pack: ReviewPack, key: str) -> ReviewItem:
    """Return the item of ``key``, or the one item that stands for it once merged ("section:subject")."""
    section, _, subject = key.partition(":")
    exact = [i for i in pack.items if i.key == key]
    return (
        exact[0] if exact else next(i for i in pack.items if section in i.found_in and i.subject == subject)
    )


def said(item: ReviewItem) -> list[str]:
    """Return what every section said of an item: its headline and its "also" lines, unprefixed."""
    return [item.headline, *(note.split(": ", 1)[1] for note in item.also)]


def open_case_id(session: Session, org_id: int, subject: str, family: str = "variance") -> int:
    [case] = cases_repo.cases(session, org_id, status="open", subject=subject, family=family)
    return case.id


@pytest.fixture
def story(session: Session) -> tuple[Session, int, Any]:
    org_id, model = new_org(session)
    run_weeks(session, org_id, model, STORY, W4)
    return session, org_id, model


def test_a_kpi_that_turned_red_this_week_is_a_new_breach_with_owner_since_case_and_chart(
    story: tuple[Session, int, Any],
) -> None:
    session, org_id, _ = story
    pack = build_pack(session, org_id, now=morning_after(W4))
    assert pack.as_of == W4
    assert set(keys(pack, "new_breaches")) == {"throughput", "api_errors", "KR1", "O1"}
    item = find(pack, "new_breaches:throughput")
    assert (item.owner, item.owner_name, item.unit, item.since) == ("lee", "Lee Park", "ops", W4)
    assert item.headline == "80.0 vs plan 100 to date (-20.0 %)"
    assert item.case_id == open_case_id(session, org_id, "throughput")
    assert item.facts["was"] == "green"
    assert item.chart is not None
    assert item.chart.periods[0] == dt.date(2026, 1, 5)
    assert [a for a in item.chart.actual if a is not None] == [100.0, 100.0, 100.0, 80.0]
    assert item.chart.plan[0] == 100.0
    # The objective carries all of itself, the KPI feeding a KR of weight 2 out of 3 less.
    ranked = keys(pack, "new_breaches")
    assert ranked[0] == "O1"
    assert ranked.index("throughput") < ranked.index("api_errors")


def test_a_breach_no_longer_new_stays_under_its_case_and_the_change_says_it_got_worse(
    story: tuple[Session, int, Any],
) -> None:
    session, org_id, model = story
    first = save_pack(
        session, org_id, build_pack(session, org_id, now=morning_after(W4)), now=morning_after(W4)
    )
    case_id = open_case_id(session, org_id, "throughput")
    assert find(first, "new_breaches:throughput").key == f"case:{case_id}"
    run_week(session, org_id, model, W5, STORY[W5])
    pack = build_pack(session, org_id, now=morning_after(W5))
    assert pack.previous_as_of == W4
    assert keys(pack, "new_breaches") == []
    [item] = [i for i in pack.items if i.case_id == case_id]
    assert item.found_in == ("overdue", "escalations")
    assert any(note.startswith("Escalations: with ") for note in item.also)
    changed = {c.key: c for c in pack.changes if c.kind == "changed"}
    assert changed[f"case:{case_id}"].worse
    assert "level 2" in (changed[f"case:{case_id}"].after or "")
    assert f"case:{case_id}" not in {c.key for c in pack.changes if c.kind in ("new", "gone")}
    assert first.id is not None


def test_a_red_that_is_neither_new_overdue_nor_escalated_stays_in_the_pack_until_resolved(
    story: tuple[Session, int, Any],
) -> None:
    session, org_id, model = story
    case_id = open_case_id(session, org_id, "throughput")
    monday = end_of(W4) + dt.timedelta(hours=10)
    explain_case(session, org_id, case_id, category="capacity", text="Pickers off sick", by="lee", now=monday)
    act_on_case(session, org_id, case_id, title="Hire pickers", owner="lee", due=W6, by="lee", now=monday)
    session.commit()
    run_week(session, org_id, model, W5, STORY[W5])
    pack = build_pack(session, org_id, now=morning_after(W5))
    [item] = [i for i in pack.items if i.case_id == case_id]
    assert item.section == "still_open"
    assert (item.explanation, item.cause) == ("Pickers off sick", "capacity")
    assert "80.0 vs plan 100 to date" in item.headline


def test_the_explanation_and_actions_show_and_a_missed_action_is_overdue(
    story: tuple[Session, int, Any],
) -> None:
    session, org_id, model = story
    case_id = open_case_id(session, org_id, "throughput")
    monday = end_of(W4) + dt.timedelta(hours=10)
    explain_case(
        session, org_id, case_id, category="capacity", text="Two pickers are off sick", by="lee", now=monday
    )
    act_on_case(
        session,
        org_id,
        case_id,
        title="Hire temporary pickers",
        owner="maria",
        due=W4 + dt.timedelta(days=4),
        by="lee",
        now=monday,
    )
    session.commit()
    run_week(session, org_id, model, W5, STORY[W5])
    pack = build_pack(session, org_id, now=morning_after(W5))
    [late] = [i for i in pack.items if i.case_id == case_id]
    assert late.section == "overdue"
    assert late.headline == "1 action(s) overdue: 'Hire temporary pickers' (due 5 Feb 2026)"
    assert (late.explanation, late.cause) == ("Two pickers are off sick", "capacity")
    [action] = late.actions
    assert (action.title, action.owner, action.overdue, action.done) == (
        "Hire temporary pickers",
        "Maria Chen",
        True,
        False,
    )
    assert late.since == dt.date(2026, 2, 5)


def test_a_pack_for_a_unit_keeps_what_sits_in_it_or_below_or_is_owned_there(
    story: tuple[Session, int, Any],
) -> None:
    session, org_id, _ = story
    it = build_pack(session, org_id, unit="it", now=morning_after(W4))
    assert (it.unit, it.unit_name) == ("it", "IT")
    assert set(keys(it, "new_breaches")) == {"api_errors"}
    assert keys(it, "handoffs") == ["D1"]  # IT provides it
    ops = build_pack(session, org_id, unit="ops", now=morning_after(W4))
    # KR1 sits in the executive objective but Maria of Operations owns it.
    assert set(keys(ops, "new_breaches")) == {"throughput", "KR1"}
    assert keys(ops, "handoffs") == ["D1"]  # Operations waits on it
    everything = build_pack(session, org_id, unit="exec", now=morning_after(W4))
    whole = build_pack(session, org_id, now=morning_after(W4))
    assert [i.key for i in everything.items] == [i.key for i in whole.items]


def test_an_unknown_unit_or_a_store_never_evaluated_is_a_plain_error(session: Session) -> None:
    org_id, model = new_org(session)
    with pytest.raises(UserError, match="nothing has been evaluated yet"):
        build_pack(session, org_id, now=morning_after(W1))
    run_week(session, org_id, model, W1)
    with pytest.raises(UserError, match="there is no unit 'sales' in Revco; the units are: exec, ops, it"):
        build_pack(session, org_id, unit="sales", now=morning_after(W1))


def test_forecasts_mirages_threats_hand_offs_and_pollution_each_have_their_section(
    story: tuple[Session, int, Any],
) -> None:
    session, org_id, _ = story
    record_checkins(
        session,
        org_id,
        [CheckIn("KR1", W4, "green", 8, "maria", "Volumes fine")],
        now=end_of(W4),
    )
    pack = build_pack(session, org_id, now=morning_after(W4))
    risk = find(pack, "at_risk:complaints")
    assert risk.headline.startswith("amber today; red in ")
    assert (risk.state or "").startswith("red in ")
    assert risk.since == W3
    mirage = find(pack, "mirages:KR1")
    assert "reported green (confidence 8) on 1 Feb 2026 by Maria Chen while the data says red" in said(mirage)
    assert mirage.facts["check-in comment"] == "Volumes fine"
    threat = find(pack, "threatened:KR1")
    assert threat.causes == ("Order API error rate (%): red, weight 0.40",)
    objective = find(pack, "threatened:O1")
    assert any(c.startswith("Throughput at 100 a day: red") for c in objective.causes)
    hand_off = find(pack, "handoffs:D1")
    assert hand_off.headline == "Operations waits on IT: due 26 Jan 2026, 6 days late"
    assert (hand_off.owner, hand_off.status, hand_off.since) == ("raj", "late", dt.date(2026, 1, 26))
    assert hand_off.case_id == open_case_id(session, org_id, "D1", "dependency")
    assert find(pack, "pollution:page_views").subject == "page_views"


def test_goalpost_shifts_of_the_cycle_and_requests_awaiting_a_decision_are_listed(
    story: tuple[Session, int, Any],
) -> None:
    session, org_id, model = story
    monday = end_of(W4) + dt.timedelta(hours=10)
    request = request_rebaseline(
        session,
        org_id,
        model,
        subject="throughput",
        plan=Plan(per_bucket=90),
        reason="one picking line is closed for repairs",
        effective=monday.date(),
        by="lee",
        now=monday,
    )
    approve_rebaseline(session, org_id, model, request.id, by="maria", now=monday)
    request_rebaseline(
        session,
        org_id,
        model,
        subject="complaints",
        plan=Plan(per_bucket=12),
        reason="winter",
        effective=monday.date(),
        by="maria",
        now=monday,
    )
    session.commit()
    run_week(session, org_id, model, W5, STORY[W5])
    pack = build_pack(session, org_id, now=morning_after(W5))
    shift = find(pack, "rebaselines:throughput:v2")
    assert shift.headline == "end-of-cycle plan 100 → 90.0 (-10.0 %), from 2 Feb 2026; approved by Maria Chen"
    assert shift.facts["reason"] == "one picking line is closed for repairs"
    pending = [i for i in pack.items if i.section == "rebaselines" and i.status == "requested"]
    assert [i.subject for i in pending] == ["complaints"]
    assert pending[0].headline.endswith("awaiting a decision")


def test_manual_points_and_corrections_of_evaluated_values_show_in_data_health(
    story: tuple[Session, int, Any],
) -> None:
    session, org_id, model = story
    save_pack(session, org_id, build_pack(session, org_id, now=morning_after(W4)), now=morning_after(W4))
    tuesday = end_of(W4) + dt.timedelta(days=2)
    ingest(session, org_id, model, W2, {"throughput": 97.0}, now=tuesday)  # already evaluated
    ingest(
        session,
        org_id,
        model,
        W5 - dt.timedelta(days=2),
        {"complaints": 11.0},
        now=tuesday,
        manual=True,
        by="maria",
    )
    session.commit()
    run_week(session, org_id, model, W5, STORY[W5])
    pack = build_pack(session, org_id, now=morning_after(W5))
    retro = find(pack, "data_health:retro:throughput")
    assert (
        retro.headline == "1 already evaluated value(s) corrected since 1 Feb 2026 (latest for 18 Jan 2026)"
    )
    manual = find(pack, "data_health:manual:complaints")
    assert manual.headline == "1 of 6 points this cycle entered by hand (16.7 %)"


def test_a_pack_stored_comes_back_as_it_was_built(story: tuple[Session, int, Any]) -> None:
    session, org_id, _ = story
    built = build_pack(session, org_id, unit="ops", now=morning_after(W4))
    saved = save_pack(session, org_id, built, now=morning_after(W4))
    assert latest_pack(session, org_id, unit="ops") == saved
    assert latest_pack(session, org_id) is None


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", count)


def test_the_pack_reads_the_store_in_the_same_number_of_queries_whatever_it_holds(
    story: tuple[Session, int, Any],
) -> None:
    session, org_id, model = story
    save_pack(session, org_id, build_pack(session, org_id, now=morning_after(W4)), now=morning_after(W4))
    run_week(session, org_id, model, W5, STORY[W5])
    with counted(session) as before:
        small = build_pack(session, org_id, now=morning_after(W5))
    # More cases with explanations and actions, more escalations, another week of history.
    monday = end_of(W5) + dt.timedelta(hours=10)
    for subject in ("throughput", "api_errors", "KR1"):
        case_id = open_case_id(session, org_id, subject)
        explain_case(session, org_id, case_id, category="execution", text="why", by="lee", now=monday)
        for n in range(3):
            act_on_case(
                session, org_id, case_id, title=f"step {n}", owner="lee", due=W6, by="lee", now=monday
            )
    session.commit()
    run_week(session, org_id, model, W6, STORY[W6])
    with counted(session) as after:
        large = build_pack(session, org_id, now=morning_after(W6))
    assert sum(len(i.actions) for i in large.items) > sum(len(i.actions) for i in small.items)
    assert len(after) == len(before)
