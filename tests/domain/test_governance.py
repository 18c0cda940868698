"""The case state machine: opening, dedup, worsening, auto-resolve, reopen, joint reviews."""

from __future__ import annotations

import dataclasses
import datetime as dt

from test_governance_world import (
    Q1,
    Store,
    decide,
    end_of,
    events,
    result,
    results,
    weeks,
    with_policy,
    world,
)

from onpace.domain.governance import govern, variance_kinds

DAY = dt.date(2026, 1, 18)


def test_it_opens_a_variance_case_for_the_one_owner_when_a_kpi_turns_red() -> None:
    decision = decide(world(), results(lab_yield="red"))
    opened = [e for e in decision.events if e.event == "case_opened"]
    assert [(e.kind, e.subject, e.owner) for e in opened] == [("red", "lab_yield", "sam")]
    (case,) = decision.cases
    assert (case.family, case.holder, case.rung, case.state) == ("variance", "sam", 0, "open")
    assert case.explain_due == end_of(DAY) + dt.timedelta(days=2)
    assert case.act_due == end_of(DAY) + dt.timedelta(days=5)
    assert case.cycle == "2026-Q1"
    assert not case.joint_review


def test_amber_changes_status_but_opens_no_case_on_a_plain_subject() -> None:
    decision = decide(world(), results(lab_yield="amber"))
    assert events(decision) == [("status_changed", "amber", "lab_yield")]
    assert decision.cases == ()


def test_amber_on_a_dependency_health_kpi_opens_a_joint_review_of_both_sides() -> None:
    decision = decide(world(), results(sync_errors="amber"))
    opened = [e for e in decision.events if e.event == "case_opened"]
    assert [(e.kind, e.subject) for e in opened] == [("amber", "sync_errors")]
    assert opened[0].owner == "ana"
    assert opened[0].participants == ("ana", "raj", "maria")
    assert opened[0].detail["joint_review"] is True
    assert opened[0].detail["dependencies"] == ["D1"]


def test_the_health_kpi_stays_tied_to_its_dependency_after_delivery() -> None:
    model = world()
    delivered = dataclasses.replace(model.dependencies[0], delivered=dt.date(2026, 1, 10))
    decision = decide(dataclasses.replace(model, dependencies=(delivered,)), results(sync_errors="amber"))
    assert [e.participants for e in decision.events if e.event == "case_opened"] == [("ana", "raj", "maria")]


def test_amber_on_a_kr_the_dependency_blocks_opens_a_joint_review_until_delivery() -> None:
    before = decide(world(), results(KR1="amber"))
    assert events(before, "case_opened") == [("case_opened", "amber", "KR1")]
    assert before.events[-1].participants == ("maria", "raj")
    model = world()
    delivered = dataclasses.replace(model.dependencies[0], delivered=dt.date(2026, 1, 10))
    after = decide(dataclasses.replace(model, dependencies=(delivered,)), results(KR1="amber"))
    assert events(after, "case_opened") == []


def test_amber_on_the_blocked_krs_own_kpi_opens_a_joint_review() -> None:
    # throughput is KR1's own KPI and KR1 is blocked by D1, which is not delivered yet
    decision = decide(world(), results(throughput="amber"), as_of=DAY)
    opened = [e for e in decision.events if e.event == "case_opened"]
    assert [(e.subject, e.participants) for e in opened] == [("throughput", ("lee", "raj", "maria"))]


def test_amber_on_a_kpi_feeding_a_blocked_kr_opens_a_joint_review() -> None:
    model = world()
    blocking_kr2 = dataclasses.replace(model.dependencies[0], kpi=None, blocks=("KR2",))
    decision = decide(dataclasses.replace(model, dependencies=(blocking_kr2,)), results(lab_yield="amber"))
    opened = [e for e in decision.events if e.event == "case_opened"]
    assert [(e.subject, e.participants) for e in opened] == [("lab_yield", ("sam", "raj", "maria"))]


def test_a_red_kpi_stays_one_case_over_many_evaluations() -> None:
    store = Store()
    for day in weeks(DAY, 4):
        store.run(world(), results(lab_yield=result("lab_yield", "red", as_of=day)), day)
    assert len(store.cases) == 1
    assert store.open("lab_yield")[0].kind == "red"


def test_a_case_that_worsens_is_updated_with_status_changed_not_duplicated() -> None:
    store = Store()
    store.run(world(), results(sync_errors="amber"), DAY)
    worse = store.run(world(), results(sync_errors="red"), DAY + dt.timedelta(weeks=1))
    assert events(worse, "case_opened") == []
    changed = [e for e in worse.events if e.event == "status_changed"]
    assert [(e.kind, e.subject) for e in changed] == [("red", "sync_errors")]
    assert changed[0].case_id == 1
    assert len(store.cases) == 1
    assert store.cases[1].kind == "red"


def test_a_threat_on_an_amber_kr_worsens_its_case_even_without_a_status_change() -> None:
    store = Store()
    store.run(world(), results(KR1="amber"), DAY)
    threatened = result("KR1", "amber", threatened_by=("sync_errors",))
    worse = store.run(world(), results(KR1=threatened), DAY + dt.timedelta(weeks=1))
    assert events(worse) == [("status_changed", "threatened", "KR1")]
    assert worse.events[0].detail["from"] == "amber"
    assert store.cases[1].kind == "threatened"


def test_it_resolves_a_case_after_the_policys_number_of_green_evaluations() -> None:
    store = Store()
    days = weeks(DAY, 4)
    store.run(world(), results(lab_yield="red"), days[0])
    first_green = store.run(world(), results(), days[1])
    assert events(first_green) == []
    second_green = store.run(world(), results(), days[2])
    assert events(second_green) == [("case_resolved", "red", "lab_yield")]
    assert store.cases[1].state == "resolved"
    assert store.cases[1].resolved_at == end_of(days[2])


def test_a_relapse_before_the_streak_completes_resets_the_count() -> None:
    store = Store()
    days = weeks(DAY, 5)
    store.run(world(), results(lab_yield="red"), days[0])
    store.run(world(), results(), days[1])
    store.run(world(), results(lab_yield="amber"), days[2])
    store.run(world(), results(), days[3])
    assert store.open("lab_yield")
    assert events(store.run(world(), results(), days[4])) == [("case_resolved", "red", "lab_yield")]


def test_auto_resolve_after_one_evaluation_when_the_policy_says_so() -> None:
    store = Store()
    model = with_policy(world(), auto_resolve_after=1)
    store.run(model, results(lab_yield="red"), DAY)
    assert events(store.run(model, results(), DAY + dt.timedelta(weeks=1))) == [
        ("case_resolved", "red", "lab_yield")
    ]


def test_a_forecast_that_still_projects_a_miss_opens_its_own_at_risk_case() -> None:
    store = Store()
    days = weeks(DAY, 3)
    store.run(world(), results(lab_yield="red"), days[0])
    at_risk = result("lab_yield", "green", at_risk=True)
    store.run(world(), results(lab_yield=at_risk), days[1])
    third = store.run(world(), results(lab_yield=at_risk), days[2])
    assert events(third, "case_resolved") == [("case_resolved", "red", "lab_yield")]
    assert events(third, "case_opened") == [("case_opened", "at_risk", "lab_yield")]
    assert [c.kind for c in store.open("lab_yield")] == ["at_risk"]


def test_an_at_risk_case_stays_open_while_the_forecast_projects_a_miss() -> None:
    store = Store()
    at_risk = result("lab_yield", "green", at_risk=True)
    for day in weeks(DAY, 5):
        store.run(world(), results(lab_yield=at_risk), day)
    assert [c.kind for c in store.open()] == ["at_risk"]
    assert len(store.cases) == 1


def test_a_relapse_within_the_cycle_reopens_the_resolved_case() -> None:
    store = Store()
    days = weeks(DAY, 5)
    store.run(world(), results(lab_yield="red"), days[0])
    store.run(world(), results(), days[1])
    store.run(world(), results(), days[2])
    relapse = store.run(world(), results(lab_yield="red"), days[3])
    reopened = [e for e in relapse.events if e.event == "case_reopened"]
    assert [(e.public_event, e.kind, e.case_id) for e in reopened] == [("case_opened", "red", 1)]
    assert reopened[0].detail["reopened"] == 1
    assert len(store.cases) == 1
    case = store.cases[1]
    assert case.state == "open"
    assert case.explain_due == end_of(days[3]) + dt.timedelta(days=2)


def test_a_relapse_in_a_later_cycle_opens_a_new_case() -> None:
    store = Store()
    store.run(world(), results(lab_yield="red"), dt.date(2026, 3, 8))
    store.run(world(), results(), dt.date(2026, 3, 15))
    store.run(world(), results(), dt.date(2026, 3, 22))
    model = world()
    q2_kpi = dataclasses.replace(model.kpis[2], cycle="2026-Q2")
    model = dataclasses.replace(model, kpis=(*model.kpis[:2], q2_kpi))
    relapse = store.run(model, results(lab_yield="red"), dt.date(2026, 4, 12))
    assert [e.event for e in relapse.events if e.subject == "lab_yield"] == ["status_changed", "case_opened"]
    assert [c.cycle for c in store.cases.values() if c.subject == "lab_yield"] == ["2026-Q1", "2026-Q2"]


def test_a_different_condition_after_resolution_opens_a_new_case_not_a_reopen() -> None:
    store = Store()
    days = weeks(DAY, 4)
    store.run(world(), results(lab_yield="red"), days[0])
    store.run(world(), results(), days[1])
    store.run(world(), results(), days[2])
    at_risk = result("lab_yield", "green", at_risk=True)
    immediate = with_policy(world(), at_risk_after=1)
    later = store.run(immediate, results(lab_yield=at_risk), days[3])
    assert [e.event for e in later.events if e.subject == "lab_yield"] == ["status_changed", "case_opened"]


def test_a_threatened_kr_opens_a_threatened_case_naming_its_cause() -> None:
    threatened = result("KR2", "green", threatened_by=("lab_yield",))
    decision = decide(world(), results(KR2=threatened))
    opened = [e for e in decision.events if e.event == "case_opened"]
    assert [(e.kind, e.subject, e.owner) for e in opened] == [("threatened", "KR2", "lee")]
    assert opened[0].detail["threatened_by"] == ["lab_yield"]


def test_only_kinds_the_policy_names_open_cases() -> None:
    model = with_policy(world(), open_case_on=("red",))
    at_risk = result("lab_yield", "green", at_risk=True)
    decision = decide(model, results(lab_yield=at_risk))
    assert events(decision) == [("status_changed", "at_risk", "lab_yield")]
    assert decision.cases == ()


def test_amber_opens_cases_everywhere_when_the_policy_names_it() -> None:
    model = with_policy(world(), open_case_on=("amber", "red"))
    assert events(decide(model, results(lab_yield="amber")), "case_opened") == [
        ("case_opened", "amber", "lab_yield")
    ]


def test_status_changed_is_announced_only_on_moves_to_amber_at_risk_or_red() -> None:
    store = Store()
    days = weeks(DAY, 4)
    assert events(store.run(world(), results(), days[0])) == []
    assert events(store.run(world(), results(lab_yield="amber"), days[1])) == [
        ("status_changed", "amber", "lab_yield")
    ]
    assert events(store.run(world(), results(lab_yield="amber"), days[2])) == []
    assert events(store.run(world(), results(), days[3])) == []


def test_a_stale_kpi_opens_a_stale_case_but_the_kr_it_measures_does_not() -> None:
    decision = decide(
        world(),
        results(
            throughput=result("throughput", "green", stale=True),
            KR1=result("KR1", "green", stale=True),
        ),
    )
    assert events(decision) == [("case_opened", "stale", "throughput")]


def test_a_stale_red_kpi_keeps_its_variance_case_and_gets_a_stale_case() -> None:
    store = Store()
    store.run(world(), results(throughput="red"), DAY)
    later = store.run(
        world(), results(throughput=result("throughput", "red", stale=True)), DAY + dt.timedelta(weeks=1)
    )
    assert events(later) == [("case_opened", "stale", "throughput")]
    assert sorted(c.family for c in store.open("throughput")) == ["stale", "variance"]


def test_a_dependency_not_delivered_by_the_end_of_its_due_day_is_a_case_for_the_provider() -> None:
    store = Store()
    assert events(store.run(world(), results(), dt.date(2026, 3, 14))) == []
    late = store.run(world(), results(), dt.date(2026, 3, 15))
    opened = [e for e in late.events if e.event == "case_opened"]
    assert [(e.kind, e.subject, e.owner, e.participants) for e in opened] == [
        ("dependency_late", "D1", "raj", ("raj", "maria"))
    ]
    assert opened[0].detail["days_late"] == 0


def test_a_late_dependency_case_resolves_after_delivery() -> None:
    store = Store()
    store.run(world(), results(), dt.date(2026, 3, 22))
    model = world()
    delivered = dataclasses.replace(model.dependencies[0], delivered=dt.date(2026, 3, 24))
    model = dataclasses.replace(model, dependencies=(delivered,))
    store.run(model, results(), dt.date(2026, 3, 29))
    last = store.run(model, results(), dt.date(2026, 4, 5))
    assert events(last, "case_resolved") == [("case_resolved", "dependency_late", "D1")]


def test_a_late_dependency_does_not_count_as_delivered_before_its_delivery_date() -> None:
    model = world()
    future = dataclasses.replace(model.dependencies[0], delivered=dt.date(2026, 3, 25))
    decision = decide(
        dataclasses.replace(model, dependencies=(future,)), results(), as_of=dt.date(2026, 3, 22)
    )
    assert events(decision, "case_opened") == [("case_opened", "dependency_late", "D1")]


def test_hygiene_findings_open_one_case_per_subject() -> None:
    model = world()
    orphan = dataclasses.replace(model.kpis[2], feeds=(), owners=("sam", "lee"))
    model = dataclasses.replace(model, kpis=(*model.kpis[:2], orphan))
    decision = decide(model, results(), hygiene=True)
    opened = [e for e in decision.events if e.event == "case_opened"]
    assert [(e.kind, e.subject) for e in opened] == [("hygiene", "lab_yield"), ("hygiene", "KR2")]
    rules = [f["rule"] for f in opened[0].detail["findings"]]  # type: ignore[union-attr]
    assert rules == ["several_owners", "kpi_pollution"]
    assert opened[0].owner is None
    assert opened[0].participants == ("ceo",)


def test_hygiene_opens_no_case_when_the_policy_leaves_it_out() -> None:
    model = with_policy(world(), open_case_on=("red",))
    model = dataclasses.replace(model, kpis=(*model.kpis[:2], dataclasses.replace(model.kpis[2], feeds=())))
    assert decide(model, results(), hygiene=True).cases == ()


def test_a_case_on_a_subject_without_one_owner_goes_to_the_first_rung_with_somebody() -> None:
    model = world()
    shared = dataclasses.replace(model.kpis[0], owners=("lee", "maria"))
    decision = decide(dataclasses.replace(model, kpis=(shared, *model.kpis[1:])), results(throughput="red"))
    (case,) = decision.cases
    assert (case.owner, case.holder, case.rung) == (None, "maria", 1)


def test_a_case_whose_subject_left_the_model_resolves_in_time() -> None:
    store = Store()
    store.run(world(), results(throughput="red"), DAY)
    model = world()
    model = dataclasses.replace(model, kpis=model.kpis[1:])
    store.run(model, {}, DAY + dt.timedelta(weeks=1))
    last = store.run(model, {}, DAY + dt.timedelta(weeks=2))
    assert events(last) == [("case_resolved", "red", "throughput")]


def test_the_same_input_gives_the_same_events() -> None:
    found = results(throughput="red", sync_errors="amber", KR2=result("KR2", "green", at_risk=True))
    held = {"KR2": 1}  # at risk at the previous evaluation too
    first = govern(world(), found, [], as_of=DAY, now=end_of(DAY), risk_streaks=held)
    second = govern(world(), found, [], as_of=DAY, now=end_of(DAY), risk_streaks=held)
    assert first == second
    assert [e.subject for e in first.events if e.event == "case_opened"] == [
        "throughput",
        "sync_errors",
        "KR2",
    ]


def test_variance_kinds_fold_status_forecast_and_threat() -> None:
    assert variance_kinds(result("x", "green")) == frozenset()
    assert variance_kinds(result("x", "amber", at_risk=True)) == {"amber", "at_risk"}
    assert variance_kinds(result("x", "red", at_risk=True)) == {"red"}
    assert variance_kinds(result("KR1", "green", threatened_by=("a",))) == {"threatened"}
    assert variance_kinds(result("x", "no_data")) == frozenset()


def test_the_cycle_of_a_case_is_its_subjects_cycle() -> None:
    decision = decide(world(), results(KR2="red"), as_of=Q1.end)
    assert {c.cycle for c in decision.cases} == {"2026-Q1"}


def test_a_status_change_on_a_subject_with_an_open_case_carries_the_case() -> None:
    store = Store()
    store.run(world(), results(lab_yield="red"), DAY)
    at_risk = result("lab_yield", "green", at_risk=True)
    later = store.run(world(), results(lab_yield=at_risk), DAY + dt.timedelta(days=1))
    (changed,) = [e for e in later.events if e.event == "status_changed"]
    assert (changed.kind, changed.case_id, changed.family) == ("at_risk", 1, "variance")
    assert changed.detail["from"] == "red"


def test_a_status_change_on_a_newly_opened_case_names_its_family_for_the_store() -> None:
    decision = decide(world(), results(lab_yield="red"))
    changed, opened = decision.events
    assert (changed.event, changed.family, changed.case_id) == ("status_changed", "variance", None)
    assert opened.event == "case_opened"


def test_the_same_day_evaluated_again_counts_once_towards_resolving() -> None:
    store = Store()
    store.run(world(), results(lab_yield="red"), DAY)
    good_day = DAY + dt.timedelta(days=1)
    for _ in range(3):
        assert events(store.run(world(), results(), good_day)) == []
    assert store.open("lab_yield")[0].good_streak == 1
    assert events(store.run(world(), results(), good_day + dt.timedelta(days=1))) == [
        ("case_resolved", "red", "lab_yield")
    ]
