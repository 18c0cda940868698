"""One governance run's moves: open, reopen, hold, resolve and escalate the cases of one subject and family.

:class:`CaseRun` accumulates the cases that changed and the events that changed them;
:func:`step` moves one (subject, family) one evaluation forward by the rules of
:mod:`onpace.domain.case_rules`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from onpace.domain.accountability import SubjectIndex, SubjectInfo
from onpace.domain.case_rules import GOOD_DAY, counts_towards_streak, holds_open, resolve_after
from onpace.domain.cases import VARIANCE_RANK, Case, CaseEvent, EventName, Family
from onpace.domain.escalation import first_holder, ladder
from onpace.domain.model import Model
from onpace.domain.observations import Observation


class CaseRun:
    """One governance run: holds the inputs and accumulates the changed cases and events."""

    def __init__(self, model: Model, index: SubjectIndex, as_of: dt.date, now: dt.datetime) -> None:
        self.model = model
        self.policy = model.policy
        self.index = index
        self.now = now
        self.as_of = as_of
        self.changed: dict[tuple[str, str, int | None, str], Case] = {}
        self.stale: set[str] = set()
        self.events: list[CaseEvent] = []
        self.evaluated: frozenset[str] = frozenset()

    def touch(self, case: Case) -> Case:
        key = (case.subject, case.family, case.id, case.opened_at.isoformat())
        self.changed[key] = case
        return case

    def emit(self, event: EventName, case: Case, detail: Mapping[str, object] | None = None) -> None:
        self.events.append(
            CaseEvent(
                event=event,
                kind=case.kind,
                subject=case.subject,
                subject_level=case.subject_level,
                at=self.now,
                owner=case.owner,
                participants=case.participants,
                level=case.rung,
                family=case.family,
                case_id=case.id,
                detail=dict(detail or {}),
            )
        )

    def _deadlines(self) -> dict[str, object]:
        return {
            "explain_due": (self.now + self.policy.sla.explain).isoformat(),
            "act_due": (self.now + self.policy.sla.act).isoformat(),
        }

    def open_case(self, info: SubjectInfo, obs: Observation) -> Case:
        assert obs.opening is not None
        rung, holder = first_holder(ladder(self.model, info))
        people = tuple(p for p in dict.fromkeys([info.owner, *obs.participants, holder]) if p)
        detail = {**obs.detail, "title": info.title}
        case = Case(
            subject=obs.subject,
            subject_level=obs.level,
            family=obs.family,
            kind=obs.opening,
            owner=info.owner,
            holder=holder,
            rung=rung,
            opened_at=self.now,
            explain_due=self.now + self.policy.sla.explain,
            act_due=self.now + self.policy.sla.act,
            participants=people,
            cycle=info.cycle,
            severity=obs.severity,
            detail=detail,
        )
        self.touch(case)
        self.emit("case_opened", case, {**detail, **self._deadlines()})
        return case

    def reopen(self, info: SubjectInfo, resolved: Case, obs: Observation) -> Case:
        assert obs.opening is not None
        people = tuple(p for p in dict.fromkeys([*resolved.participants, *obs.participants]) if p)
        reopened = int(str(resolved.detail.get("reopened", 0))) + 1
        detail = {**obs.detail, "title": info.title, "reopened": reopened}
        case = dataclasses.replace(
            resolved,
            state="open",
            kind=obs.opening,
            resolved_at=None,
            good_streak=0,
            explain_due=self.now + self.policy.sla.explain,
            act_due=self.now + self.policy.sla.act,
            explained_at=None,
            acted_at=None,
            missed=tuple(m for m in resolved.missed if m.startswith("action:")),
            participants=people,
            severity=obs.severity,
            detail=detail,
        )
        self.touch(case)
        self.emit("case_reopened", case, {**detail, **self._deadlines()})
        return case

    def resolve(self, case: Case) -> Case:
        resolved = dataclasses.replace(case, state="resolved", resolved_at=self.now)
        self.touch(resolved)
        what = "back within tolerance" if case.family == "variance" else "condition gone"
        self.emit(
            "case_resolved",
            resolved,
            {
                "reason": f"{what} for {case.good_streak} consecutive evaluations",
                "evaluations": case.good_streak,
                "by": "auto",
            },
        )
        return resolved


def attach_case(run: CaseRun, index: int | None, case: Case | None) -> None:
    """Tie a subject's status change to its open variance case, so the case's history shows it."""
    if index is None or case is None or run.events[index].family is not None:
        return
    said = run.events[index]
    run.events[index] = dataclasses.replace(
        said, family=case.family, case_id=case.id, level=case.rung, participants=case.participants
    )


def latest(run: CaseRun, case: Case) -> Case:
    key = (case.subject, case.family, case.id, case.opened_at.isoformat())
    return run.changed.get(key, case)


def step(  # noqa: PLR0917 - private helper; the state is passed explicitly
    run: CaseRun,
    key: tuple[str, Family],
    observations: Mapping[tuple[str, Family], Observation],
    open_cases: dict[tuple[str, Family], Case],
    last_resolved: Mapping[tuple[str, Family], Case],
    announced: Mapping[str, int],
) -> None:
    """Move one (subject, family) one evaluation forward."""
    index = run.index
    obs = observations.get(key)
    case = open_cases.get(key)
    if case is not None:
        info = index.info(case.subject, case.subject_level)
        if holds_open(case, obs):
            assert obs is not None
            _hold(run, case, obs, announced, open_cases)
            return
        if case.family == "variance" and case.subject not in run.evaluated and index.get(case.subject):
            # A KR of a closed cycle, carried forward: not judged today, so nothing counts towards
            # resolving it until the organisation plans it again (or closes the case).
            return
        day = run.as_of.isoformat()
        if case.family == "variance" and case.subject in run.stale:
            return  # silence is not recovery: a stale evaluation neither resolves nor counts
        if not counts_towards_streak(case, run.as_of):
            # The same day evaluated again (a live loop re-evaluates after each batch of data,
            # ticks minutes apart) is one evaluation; an earlier day looked at again is not the
            # next one. Only a later as-of date moves the streak on.
            return
        streak = case.good_streak + 1
        case = run.touch(dataclasses.replace(case, good_streak=streak, detail={**case.detail, GOOD_DAY: day}))
        open_cases[key] = case
        if streak < resolve_after(case.kind, run.policy):
            return
        run.resolve(case)
        del open_cases[key]
        if obs is not None and obs.opening is not None:
            open_cases[key] = run.open_case(info, obs)
        return
    if obs is None or obs.opening is None:
        return
    info = index.info(obs.subject, obs.level)
    resolved = last_resolved.get(key)
    if resolved is not None and resolved.cycle == info.cycle and holds_open(resolved, obs):
        open_cases[key] = run.reopen(info, resolved, obs)
    else:
        open_cases[key] = run.open_case(info, obs)


def _hold(
    run: CaseRun,
    case: Case,
    obs: Observation,
    announced: Mapping[str, int],
    open_cases: dict[tuple[str, Family], Case],
) -> None:
    """Keep a case open: reset its streak, follow a worsening, refresh what it shows."""
    changes: dict[str, object] = {}
    if case.good_streak:
        changes["good_streak"] = 0
    worse = (
        case.family == "variance"
        and obs.opening is not None
        and VARIANCE_RANK[obs.opening] > VARIANCE_RANK.get(case.kind, 0)
    )
    if worse:
        changes["kind"] = obs.opening
    if obs.severity != case.severity:
        changes["severity"] = obs.severity
    new_people = [p for p in obs.participants if p not in case.participants]
    if new_people:
        changes["participants"] = (*case.participants, *new_people)
    merged = {**{k: v for k, v in case.detail.items() if k != GOOD_DAY}, **obs.detail}
    if merged != dict(case.detail):
        changes["detail"] = merged
    if not changes:
        return
    updated = run.touch(dataclasses.replace(case, **changes))  # type: ignore[arg-type]
    open_cases[(case.subject, case.family)] = updated
    if not worse:
        return
    index = announced.get(case.subject)
    said = run.events[index] if index is not None else None
    if index is not None and said is not None and said.kind == updated.kind:
        # The subject's own status change already says it; attach the case to that event.
        run.events[index] = dataclasses.replace(
            said,
            family=updated.family,
            case_id=updated.id,
            level=updated.rung,
            participants=updated.participants,
            detail={**said.detail, "case_kind_from": case.kind},
        )
        return
    run.emit("status_changed", updated, {"from": case.kind, "to": updated.kind, **obs.detail})
