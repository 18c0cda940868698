"""A broken notification channel's hygiene case: opened for the accountable people, left alone by governance."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from test_governance_world import Store, results, world

from onpace.domain.channel_cases import (
    channel_subject,
    is_channel_case,
    open_channel_case,
    resolve_channel_case,
)
from onpace.domain.governance import govern

NOW = dt.datetime(2026, 1, 20, 7, 30, tzinfo=dt.UTC)


def test_the_first_accountable_person_owns_the_case_and_the_deadlines_follow_the_sla() -> None:
    policy = world().policy
    case, event = open_channel_case(
        "ops-hook", reason="HTTP 410 Gone", people=["maria", "raj", "maria"], policy=policy, now=NOW
    )
    assert (case.subject, case.subject_level, case.family, case.kind) == (
        "channel:ops-hook",
        "channel",
        "hygiene",
        "hygiene",
    )
    assert (case.owner, case.holder, case.rung, case.participants) == ("maria", "maria", 0, ("maria", "raj"))
    assert (case.explain_due, case.act_due) == (NOW + policy.sla.explain, NOW + policy.sla.act)
    assert (event.event, event.kind, event.owner) == ("case_opened", "hygiene", "maria")
    assert event.detail["reason"] == "HTTP 410 Gone"


def test_a_channel_nobody_answers_for_still_gets_a_case_without_an_owner() -> None:
    case, _ = open_channel_case(
        "email:ghost", reason="550 no such user", people=[], policy=world().policy, now=NOW
    )
    assert (case.owner, case.participants) == (None, ())


def test_the_subject_is_prefixed_so_it_never_meets_a_kpi_of_the_same_name() -> None:
    assert channel_subject("throughput") == "channel:throughput"


def test_enabling_the_channel_resolves_the_case_by_who_enabled_it() -> None:
    case, _ = open_channel_case(
        "ops-hook", reason="HTTP 410", people=["maria"], policy=world().policy, now=NOW
    )
    later = NOW + dt.timedelta(hours=3)
    resolved, event = resolve_channel_case(dataclasses.replace(case, id=7), by="maria", now=later)
    assert (resolved.state, resolved.resolved_at) == ("resolved", later)
    assert (event.event, event.by, event.case_id) == ("case_resolved", "maria", 7)


def test_only_a_channel_case_can_be_resolved_that_way() -> None:
    store = Store()
    store.run(world(), results(lab_yield="red"), dt.date(2026, 1, 19))
    (variance,) = store.open("lab_yield")
    assert not is_channel_case(variance)
    with pytest.raises(ValueError, match="not a channel"):
        resolve_channel_case(variance, by="maria", now=NOW)


def test_governance_neither_resolves_nor_escalates_an_open_channel_case() -> None:
    case, _ = open_channel_case(
        "ops-hook", reason="HTTP 410", people=["maria"], policy=world().policy, now=NOW
    )
    case = dataclasses.replace(case, id=1)
    for days in range(1, 15):
        day = NOW.date() + dt.timedelta(days=days)
        decision = govern(
            world(),
            results(),
            [case],
            as_of=day,
            now=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
            findings=[],
        )
        assert [c for c in decision.cases if c.subject == case.subject] == []
        assert [e for e in decision.events if e.subject == case.subject] == []
