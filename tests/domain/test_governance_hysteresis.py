"""Alarm hysteresis: an at-risk projection must hold for ``policy.at_risk_after`` evaluations to open a case."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_governance_world import Store, events, result, results, weeks, with_policy, world

from onpace.domain.governance import at_risk_holds, govern, resolve_after
from onpace.domain.model import Policy

MONDAYS = weeks(dt.date(2026, 1, 12), 8)


def at_risk() -> dict[str, object]:
    return {"lab_yield": result("lab_yield", "green", at_risk=True)}


def test_an_at_risk_projection_opens_a_case_only_on_its_second_evaluation_in_a_row() -> None:
    store = Store()
    model = with_policy(world(), at_risk_after=2)
    first = store.run(model, results(**at_risk()), MONDAYS[0])  # type: ignore[arg-type]
    assert events(first, "case_opened") == []
    assert events(first, "status_changed") == [("status_changed", "at_risk", "lab_yield")]
    second = store.run(model, results(**at_risk()), MONDAYS[1])  # type: ignore[arg-type]
    assert events(second, "case_opened") == [("case_opened", "at_risk", "lab_yield")]


def test_an_at_risk_projection_that_flaps_never_opens_a_case() -> None:
    store = Store()
    model = with_policy(world(), at_risk_after=2)
    for i, day in enumerate(MONDAYS):
        found = results(**at_risk()) if i % 2 == 0 else results()  # type: ignore[arg-type]
        assert events(store.run(model, found, day), "case_opened") == []
    assert store.open("lab_yield") == []


def test_a_red_status_still_opens_at_once() -> None:
    store = Store()
    model = with_policy(world(), at_risk_after=3)
    decision = store.run(model, results(lab_yield="red"), MONDAYS[0])
    assert events(decision, "case_opened") == [("case_opened", "red", "lab_yield")]


def test_a_policy_of_one_opens_on_the_first_at_risk_evaluation() -> None:
    store = Store()
    decision = store.run(with_policy(world(), at_risk_after=1), results(**at_risk()), MONDAYS[0])  # type: ignore[arg-type]
    assert events(decision, "case_opened") == [("case_opened", "at_risk", "lab_yield")]


def test_three_needs_two_earlier_at_risk_evaluations_counted_by_the_caller() -> None:
    model = with_policy(world(), at_risk_after=3)
    found = results(**at_risk())  # type: ignore[arg-type]

    def opened(streak: int) -> list[tuple[str, str, str]]:
        decision = govern(
            model,
            found,
            [],
            as_of=MONDAYS[2],
            now=dt.datetime(2026, 1, 27, tzinfo=dt.UTC),
            findings=[],
            risk_streaks={"lab_yield": streak},
        )
        return events(decision, "case_opened")

    assert opened(1) == []
    assert opened(2) == [("case_opened", "at_risk", "lab_yield")]


def test_an_at_risk_case_closes_only_after_as_many_evaluations_without_it() -> None:
    store = Store()
    model = with_policy(world(), at_risk_after=3, auto_resolve_after=2)
    for day in MONDAYS[:3]:
        store.run(model, results(**at_risk()), day)  # type: ignore[arg-type]
    assert len(store.open("lab_yield")) == 1
    assert events(store.run(model, results(), MONDAYS[3]), "case_resolved") == []
    assert events(store.run(model, results(), MONDAYS[4]), "case_resolved") == []
    closing = store.run(model, results(), MONDAYS[5])
    assert events(closing, "case_resolved") == [("case_resolved", "at_risk", "lab_yield")]


def test_the_rule_counts_today_and_red_cases_keep_their_own_resolve_count() -> None:
    assert at_risk_holds(0, 1)
    assert not at_risk_holds(0, 2)
    assert at_risk_holds(1, 2)
    policy = Policy(at_risk_after=4, auto_resolve_after=2)
    assert resolve_after("at_risk", policy) == 4
    assert resolve_after("red", policy) == 2


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seen=st.lists(st.booleans(), min_size=1, max_size=8),
    after=st.integers(min_value=1, max_value=3),
)
def test_an_at_risk_case_opens_exactly_when_the_projection_has_held_its_count(
    seen: list[bool], after: int
) -> None:
    store = Store()
    policy = Policy(at_risk_after=after)
    model = with_policy(world(), at_risk_after=after)
    run, quiet, is_open = 0, 0, False
    for risky, day in zip(seen, MONDAYS, strict=False):
        run = run + 1 if risky else 0
        found = results(**at_risk()) if risky else results()  # type: ignore[arg-type]
        decision = store.run(model, found, day)
        opened = events(decision, "case_opened")  # a reopening is announced as an opening
        if is_open:
            quiet = 0 if risky else quiet + 1
            is_open = quiet < resolve_after("at_risk", policy)
            assert opened == []
        elif run >= after:
            is_open, quiet = True, 0
            assert [kind for _, kind, _ in opened] == ["at_risk"]
        else:
            assert opened == []
        assert (len(store.open("lab_yield")) == 1) == is_open
