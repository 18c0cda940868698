"""The escalation ladder: deadlines, rungs, skipped rungs and the top of the ladder."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from test_governance_world import Store, decide, end_of, result, results, with_policy, world

from onpace.domain.accountability import SubjectInfo
from onpace.domain.case_workflow import commit_action, complete_action, explain
from onpace.domain.escalation import (
    escalate_overdue,
    first_holder,
    ladder,
    missed_deadlines,
    next_holder,
    rung_person,
)
from onpace.domain.model import Unit

DAY = dt.date(2026, 1, 18)


def escalations(decision: object) -> list[tuple[str, object, object, int]]:
    return [
        (e.subject, e.detail["from"], e.detail["to"], e.level)
        for e in decision.events  # type: ignore[attr-defined]
        if e.event == "case_escalated"
    ]


def opened(subject: str, status: str = "red", model: object = None) -> object:
    found = results(**{subject: status})  # type: ignore[arg-type]
    (case,) = decide(model or world(), found).cases  # type: ignore[arg-type]
    return dataclasses.replace(case, id=7)


def test_the_ladder_names_the_owner_the_unit_head_and_the_parent_unit_head() -> None:
    info = SubjectInfo("throughput", "kpi", "lee", "ops", "2026-Q1")
    assert ladder(world(), info) == ("lee", "maria", "ceo")


def test_a_missing_unit_head_leaves_an_empty_rung() -> None:
    info = SubjectInfo("lab_yield", "kpi", "sam", "lab", "2026-Q1")
    assert ladder(world(), info) == ("sam", None, "ceo")


def test_rungs_can_climb_further_or_name_a_person() -> None:
    model = world(
        units=(
            *world().units,
            Unit("cell", "Cell", parent="ops", head="lee"),
        )
    )
    assert rung_person(model, "grandparent_unit_head", "x", "cell") == "ceo"
    assert rung_person(model, "parent_parent_unit_head", "x", "cell") == "ceo"
    assert rung_person(model, "parent_unit_head", "x", "cell") == "maria"
    assert rung_person(model, "raj", "x", "cell") == "raj"
    assert rung_person(model, "nobody", "x", "cell") is None
    assert rung_person(model, "parent_unit_head", "x", "exec") is None


def test_the_first_holder_is_the_lowest_rung_with_somebody() -> None:
    assert first_holder(("lee", "maria")) == (0, "lee")
    assert first_holder((None, None, "ceo")) == (2, "ceo")
    assert first_holder((None,)) == (0, None)


def test_the_next_holder_skips_empty_rungs_and_the_person_already_holding() -> None:
    assert next_holder(("sam", None, "ceo"), 0, "sam") == (2, "ceo")
    assert next_holder(("raj", "raj", "ceo"), 0, "raj") == (2, "ceo")
    assert next_holder(("raj", "raj", "ceo"), 2, "ceo") is None


def test_it_escalates_to_the_unit_head_when_the_explanation_is_late() -> None:
    store = Store()
    store.run(world(), results(throughput="red"), DAY)
    three_days_later = DAY + dt.timedelta(days=3)
    decision = store.run(world(), results(throughput="red"), three_days_later)
    assert escalations(decision) == [("throughput", "lee", "maria", 1)]
    case = store.cases[1]
    assert (case.holder, case.rung, case.missed) == ("maria", 1, ("explain",))
    assert "maria" in case.participants


def test_each_missed_deadline_climbs_one_rung_so_a_week_of_silence_climbs_two() -> None:
    store = Store()
    store.run(world(), results(throughput="red"), DAY)
    decision = store.run(world(), results(throughput="red"), DAY + dt.timedelta(weeks=1))
    assert escalations(decision) == [("throughput", "lee", "maria", 1), ("throughput", "maria", "ceo", 2)]
    assert [e.detail["deadline"] for e in decision.events if e.event == "case_escalated"] == [
        "explain",
        "act",
    ]


def test_a_deadline_escalates_only_once() -> None:
    store = Store()
    store.run(world(), results(throughput="red"), DAY)
    store.run(world(), results(throughput="red"), DAY + dt.timedelta(weeks=1))
    assert escalations(store.run(world(), results(throughput="red"), DAY + dt.timedelta(weeks=2))) == []


def test_a_missing_unit_head_skips_to_the_next_rung() -> None:
    store = Store()
    store.run(world(), results(lab_yield="red"), DAY)
    decision = store.run(world(), results(lab_yield="red"), DAY + dt.timedelta(days=3))
    assert escalations(decision) == [("lab_yield", "sam", "ceo", 2)]


def test_a_rung_whose_person_already_holds_the_case_is_skipped() -> None:
    # maria owns KR1 and heads ops: from her the case goes straight to the parent unit head
    store = Store()
    store.run(world(), results(KR1="red"), DAY)
    decision = store.run(world(), results(KR1="red"), DAY + dt.timedelta(days=3))
    assert escalations(decision) == [("KR1", "maria", "ceo", 2)]


def test_at_the_top_of_the_ladder_a_missed_deadline_raises_no_event() -> None:
    case = opened("lab_yield")
    at_top = dataclasses.replace(case, holder="ceo", rung=2)
    rungs = ("sam", None, "ceo")
    updated, events = escalate_overdue(at_top, rungs, end_of(DAY + dt.timedelta(weeks=1)))  # type: ignore[arg-type]
    assert events == []
    assert updated.missed == ("explain", "act")
    assert updated.holder == "ceo"


def test_an_explanation_and_an_action_in_time_prevent_escalation() -> None:
    case = opened("throughput")
    now = end_of(DAY) + dt.timedelta(hours=1)
    case, _ = explain(case, category="execution", text="Picker shortage", by="lee", now=now)  # type: ignore[arg-type]
    case, _ = commit_action(
        case, title="Hire temps", owner="lee", due=DAY + dt.timedelta(days=10), by="lee", now=now
    )
    assert missed_deadlines(case, end_of(DAY + dt.timedelta(days=7))) == []


def test_an_explanation_given_after_its_deadline_still_counts_as_missed() -> None:
    case = opened("throughput")
    late = end_of(DAY + dt.timedelta(days=3))
    case, event = explain(case, category="data", text="Feed broke", by="lee", now=late)  # type: ignore[arg-type]
    assert event.detail["late"] is True
    assert [key for key, _ in missed_deadlines(case, late)] == ["explain"]


def test_an_overdue_corrective_action_escalates_one_rung() -> None:
    case = opened("throughput")
    now = end_of(DAY) + dt.timedelta(hours=1)
    case, _ = explain(case, category="capacity", text="Too few pickers", by="lee", now=now)  # type: ignore[arg-type]
    case, _ = commit_action(
        case, title="Hire temps", owner="lee", due=DAY + dt.timedelta(days=3), by="lee", now=now
    )
    case = dataclasses.replace(case, actions=(dataclasses.replace(case.actions[0], id=11),))
    rungs = ("lee", "maria", "ceo")
    updated, events = escalate_overdue(case, rungs, end_of(DAY + dt.timedelta(days=4)))
    assert [(e.detail["deadline"], e.detail["to"]) for e in events] == [("action:11", "maria")]
    assert "overdue" in str(events[0].detail["reason"])
    again, more = escalate_overdue(updated, rungs, end_of(DAY + dt.timedelta(days=9)))
    assert more == []
    assert again.holder == "maria"


def test_an_action_done_in_time_does_not_escalate() -> None:
    case = opened("throughput")
    now = end_of(DAY) + dt.timedelta(hours=1)
    case, _ = explain(case, category="capacity", text="Too few pickers", by="lee", now=now)  # type: ignore[arg-type]
    case, _ = commit_action(
        case, title="Hire temps", owner="lee", due=DAY + dt.timedelta(days=3), by="lee", now=now
    )
    case = dataclasses.replace(case, actions=(dataclasses.replace(case.actions[0], id=11),))
    case, _ = complete_action(case, action_id=11, by="lee", now=end_of(DAY + dt.timedelta(days=2)))
    assert missed_deadlines(case, end_of(DAY + dt.timedelta(days=9))) == []


def test_a_resolved_case_never_escalates() -> None:
    case = dataclasses.replace(opened("throughput"), state="resolved")  # type: ignore[call-arg]
    assert escalate_overdue(case, ("lee", "maria"), end_of(DAY + dt.timedelta(weeks=3))) == (case, [])


def test_the_ladder_follows_the_policy() -> None:
    model = with_policy(world(), escalation=("owner", "raj"))
    store = Store()
    store.run(model, results(throughput="red"), DAY)
    decision = store.run(model, results(throughput="red"), DAY + dt.timedelta(weeks=1))
    assert escalations(decision) == [("throughput", "lee", "raj", 1)]


@pytest.mark.parametrize("days", [1, 2])
def test_nothing_escalates_before_the_explain_deadline(days: int) -> None:
    store = Store()
    store.run(world(), results(throughput="red"), DAY)
    later = DAY + dt.timedelta(days=days)
    assert escalations(store.run(world(), results(throughput=result("throughput", "red")), later)) == []


def deep_world() -> object:
    """Return the world with a cell under a team under ops: four units from the cell to the top."""
    return world(
        units=(
            *world().units,
            Unit("team", "Team", parent="ops", head="raj"),
            Unit("cell", "Cell", parent="team", head="ana"),
        )
    )


def test_by_default_the_ladder_climbs_to_the_head_of_the_top_unit() -> None:
    info = SubjectInfo("throughput", "kpi", "lee", "cell", "2026-Q1")
    assert ladder(deep_world(), info) == ("lee", "ana", "raj", "maria", "ceo")  # type: ignore[arg-type]


def test_a_ladder_the_policy_lists_stops_where_the_policy_says() -> None:
    model = with_policy(deep_world(), escalation=("owner", "unit_head", "parent_unit_head"))  # type: ignore[arg-type]
    info = SubjectInfo("throughput", "kpi", "lee", "cell", "2026-Q1")
    assert ladder(model, info) == ("lee", "ana", "raj")


def test_a_case_held_below_the_top_climbs_on_to_the_top_unit_head() -> None:
    model = deep_world()
    info = SubjectInfo("throughput", "kpi", "lee", "cell", "2026-Q1")
    case = dataclasses.replace(opened("throughput"), holder="maria", rung=3, missed=("explain",))
    updated, events = escalate_overdue(case, ladder(model, info), end_of(DAY + dt.timedelta(weeks=1)))  # type: ignore[arg-type]
    assert [(e.detail["from"], e.detail["to"], e.level) for e in events] == [("maria", "ceo", 4)]
    assert updated.holder == "ceo"


def test_an_action_is_late_once_its_day_has_ended_in_the_organisations_time_zone() -> None:
    case = opened("throughput")
    now = end_of(DAY) + dt.timedelta(hours=1)
    case, _ = explain(case, category="execution", text="Picker shortage", by="lee", now=now)  # type: ignore[arg-type]
    due = DAY + dt.timedelta(days=3)
    case, _ = commit_action(case, title="Hire temps", owner="lee", due=due, by="lee", now=now)
    half_past_midnight_in_oslo = dt.datetime.combine(due, dt.time(23, 30), tzinfo=dt.UTC)
    in_utc = [key for key, _ in missed_deadlines(case, half_past_midnight_in_oslo)]
    in_oslo = [key for key, _ in missed_deadlines(case, half_past_midnight_in_oslo, "Europe/Oslo")]
    assert not any(key.startswith("action") for key in in_utc)
    assert any(key.startswith("action") for key in in_oslo)
