"""What people do with a case: explain, act, complete, comment, close, re-baseline."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from test_governance_world import decide, end_of, results, world

from onpace.domain.case_workflow import (
    CaseWorkflowError,
    close,
    comment,
    commit_action,
    complete_action,
    explain,
    resolve_by_rebaseline,
)
from onpace.domain.cases import Case

DAY = dt.date(2026, 1, 18)
NOW = end_of(DAY) + dt.timedelta(hours=2)


def red_case() -> Case:
    (case,) = decide(world(), results(lab_yield="red")).cases
    return dataclasses.replace(case, id=3)


def test_explaining_records_the_cause_who_and_when() -> None:
    case, event = explain(red_case(), category="capacity", text="  Two pickers out  ", by="sam", now=NOW)
    assert case.explained_at == NOW
    assert case.detail["cause"] == "Two pickers out"
    assert (event.event, event.by, event.at, event.case_id) == ("case_explained", "sam", NOW, 3)
    assert event.detail == {"category": "capacity", "text": "Two pickers out", "late": False}


def test_a_second_explanation_keeps_the_first_time() -> None:
    case, _ = explain(red_case(), category="capacity", text="first", by="sam", now=NOW)
    later = NOW + dt.timedelta(days=1)
    case, _ = explain(case, category="external", text="second", by="sam", now=later)
    assert (case.explained_at, case.detail["cause_category"]) == (NOW, "external")


def test_an_unknown_root_cause_category_is_refused_with_the_choices() -> None:
    with pytest.raises(CaseWorkflowError, match="unknown root-cause category 'luck'; use one of execution"):
        explain(red_case(), category="luck", text="x", by="sam", now=NOW)


def test_an_empty_explanation_is_refused() -> None:
    with pytest.raises(CaseWorkflowError, match="the explanation must not be empty"):
        explain(red_case(), category="data", text="   ", by="sam", now=NOW)


def test_committing_an_action_meets_the_act_deadline() -> None:
    due = DAY + dt.timedelta(days=10)
    case, event = commit_action(red_case(), title="Hire temps", owner="sam", due=due, by="sam", now=NOW)
    assert case.acted_at == NOW
    assert [(a.title, a.owner, a.due) for a in case.actions] == [("Hire temps", "sam", due)]
    assert event.detail == {"title": "Hire temps", "owner": "sam", "due": due.isoformat(), "late": False}


def test_an_action_due_in_the_past_is_refused() -> None:
    with pytest.raises(CaseWorkflowError, match="already past"):
        commit_action(red_case(), title="Fix", owner="sam", due=DAY - dt.timedelta(days=1), by="sam", now=NOW)


def test_completing_an_action_marks_it_done_once() -> None:
    case, _ = commit_action(
        red_case(), title="Fix", owner="sam", due=DAY + dt.timedelta(days=3), by="sam", now=NOW
    )
    case = dataclasses.replace(case, actions=(dataclasses.replace(case.actions[0], id=5),))
    case, event = complete_action(case, action_id=5, by="sam", now=NOW + dt.timedelta(days=1))
    assert case.actions[0].done_at == NOW + dt.timedelta(days=1)
    assert event.event == "action_done"
    with pytest.raises(CaseWorkflowError, match="already done"):
        complete_action(case, action_id=5, by="sam", now=NOW + dt.timedelta(days=2))
    with pytest.raises(CaseWorkflowError, match="has no action 6"):
        complete_action(case, action_id=6, by="sam", now=NOW)


def test_a_comment_leaves_the_case_as_it_is() -> None:
    case = red_case()
    same, event = comment(case, text="Looking into it", by="ceo", now=NOW)
    assert same == case
    assert (event.event, event.by, event.detail) == ("case_commented", "ceo", {"text": "Looking into it"})


def test_closing_resolves_the_case_and_records_who() -> None:
    case, event = close(red_case(), by="ceo", now=NOW, note="Handled offline")
    assert (case.state, case.resolved_at) == ("resolved", NOW)
    assert event.detail == {"reason": "closed", "by": "ceo", "note": "Handled offline"}
    with pytest.raises(CaseWorkflowError, match="is resolved; it cannot be explained"):
        explain(case, category="data", text="late", by="sam", now=NOW)


def test_an_approved_rebaseline_resolves_a_variance_case() -> None:
    case, event = resolve_by_rebaseline(red_case(), rebaseline="7", by="ceo", now=NOW)
    assert case.state == "resolved"
    assert event.detail["reason"] == "rebaseline"


def test_a_rebaseline_does_not_resolve_other_families() -> None:
    (case,) = decide(world(), results(), as_of=dt.date(2026, 3, 20)).cases
    assert case.family == "dependency"
    with pytest.raises(CaseWorkflowError, match="only a variance case"):
        resolve_by_rebaseline(case, rebaseline="7", by="ceo", now=NOW)
