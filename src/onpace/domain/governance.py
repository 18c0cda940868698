"""The case state machine: given the cases, today's evaluation and the policy → events.

:func:`govern` is the one decision of a governance run. It is pure: the caller passes the open
cases (and the resolved ones of the running cycle, so a relapse can reopen them), the engine's
results, the model, the check-ins, the previous statuses and ``now``; it returns the cases that
changed and the events that changed them. The rules are DESIGN.md §4's:

- Families: *variance* (amber, threatened, at risk, red), *mirage*, *stale*, *dependency*
  (``dependency_late``) and *hygiene*. At most one open case per subject and family; a variance
  case that worsens is updated (``status_changed``), never duplicated.
- A kind opens a case only when ``policy.open_case_on`` names it — except that any variance on a
  subject tied to a cross-team dependency (amber included) opens a *joint review* whose
  participants are the owners on both sides of the hand-off, plus the subject's owner.
- A variance case never resolves on a stale evaluation: a KPI that sends no data is not back
  within tolerance, it is silent; its status stands and the streak waits for fresh data.
- A case resolves after ``policy.auto_resolve_after`` consecutive evaluations without its own
  condition, counted on distinct as-of dates: the worker re-evaluates many times a day, and
  those evaluations of one day count once (:func:`counts_towards_streak`). A red or amber case's condition is "today's status is amber or red", so a forecast
  that still projects a miss does not keep it open: it resolves, and the forecast opens its own
  at-risk case. An at-risk case's condition adds the at-risk forecast; a threatened case's adds
  the threat.
- Hysteresis (``policy.at_risk_after`` = N): an at-risk projection opens a case only when it has
  held for N consecutive evaluations (today included; ``risk_streaks`` counts the earlier ones),
  and an at-risk case resolves only after max(N, ``auto_resolve_after``) evaluations without its
  condition. A red status opens at once. :func:`at_risk_holds` is the rule.
- A relapse within the cycle reopens the last resolved case of that subject and family when the
  condition that case was about is back; a different condition opens a new case.
- Each deadline (explain, act, a corrective action's due date) that passes unmet escalates the
  case one rung (``onpace.domain.escalation``).
- ``status_changed`` flows for every subject whose status (at risk folded in) moves to amber,
  at risk or red, whether or not a case opens, and for an open variance case that worsens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from onpace.domain.accountability import SubjectIndex
from onpace.domain.case_rules import (
    ANNOUNCED,
    GOOD_DAY,
    at_risk_holds,
    counts_towards_streak,
    holds_open,
    resolve_after,
    variance_kind,
    variance_kinds,
)
from onpace.domain.case_run import CaseRun, attach_case, latest, step
from onpace.domain.cases import FAMILIES, Case, CaseEvent, Family
from onpace.domain.channel_cases import is_channel_case
from onpace.domain.checkins import CheckIn
from onpace.domain.escalation import escalate_overdue, ladder
from onpace.domain.hygiene import Finding, hygiene_findings
from onpace.domain.model import Model
from onpace.domain.observations import Observation, Observer, result_detail
from onpace.domain.results import SubjectResult

__all__ = [
    "GOOD_DAY",
    "Decision",
    "Observation",
    "at_risk_holds",
    "counts_towards_streak",
    "govern",
    "holds_open",
    "resolve_after",
    "variance_kinds",
]


@dataclass(frozen=True)
class Decision:
    """The outcome of one governance run.

    ``cases`` holds every case that is new or changed (in the order first touched);
    ``events`` every event, in a deterministic order; ``statuses`` today's status of each
    evaluated subject (at risk folded in), to pass as ``previous`` to the next run;
    ``risk_streaks`` the consecutive at-risk evaluations of each subject at risk today (this one
    included), to pass as ``risk_streaks`` to the next run.
    """

    cases: tuple[Case, ...]
    events: tuple[CaseEvent, ...]
    statuses: Mapping[str, str]
    risk_streaks: Mapping[str, int] = field(default_factory=dict)


def govern(
    model: Model,
    results: Mapping[str, SubjectResult],
    cases: Iterable[Case],
    *,
    as_of: dt.date,
    now: dt.datetime,
    checkins: Sequence[CheckIn] = (),
    previous: Mapping[str, str] | None = None,
    findings: Sequence[Finding] | None = None,
    risk_streaks: Mapping[str, int] | None = None,
) -> Decision:
    """Decide what today's evaluation means for the cases; return the changed cases and events.

    ``cases`` are the open cases plus any resolved ones of the running cycle (only the latest
    resolved case per subject and family matters). ``previous`` maps subjects to their status
    at the previous evaluation (at risk folded in); a subject missing from it counts as having
    had no data. ``findings`` defaults to :func:`onpace.domain.hygiene.hygiene_findings`.
    ``now`` is the moment of the run: deadlines are measured against it. ``risk_streaks`` maps
    subjects to the number of consecutive evaluations before this one that were at risk; by
    default 1 for a subject whose previous status was at risk (enough for ``at_risk_after`` ≤ 2).
    """
    previous = previous or {}
    if risk_streaks is None:
        risk_streaks = {subject: 1 for subject, status in previous.items() if status == "at_risk"}
    index = SubjectIndex(model, as_of)
    observer = Observer(model, index, as_of, risk_streaks)
    run = CaseRun(model, index, as_of, now)
    run.stale = {subject for subject, result in results.items() if result.stale}
    run.evaluated = frozenset(results)
    if findings is None:
        findings = hygiene_findings(model, results, as_of)

    observations: dict[tuple[str, Family], Observation] = {}
    for result in results.values():
        for obs in (observer.variance(result), observer.stale(result)):
            if obs is not None:
                observations[(obs.subject, obs.family)] = obs
    for obs in [
        *observer.mirages(checkins, results),
        *observer.late_dependencies(),
        *observer.hygiene(findings),
    ]:
        observations[(obs.subject, obs.family)] = obs

    open_cases: dict[tuple[str, Family], Case] = {}
    last_resolved: dict[tuple[str, Family], Case] = {}
    for case in cases:
        if is_channel_case(case):
            continue  # a broken channel's case follows the channel, not the evaluation
        key = (case.subject, case.family)
        if case.is_open:
            open_cases.setdefault(key, case)
        else:
            held = last_resolved.get(key)
            stamp = case.resolved_at or case.opened_at
            if held is None or stamp >= (held.resolved_at or held.opened_at):
                last_resolved[key] = case

    statuses = {subject: r.effective_status for subject, r in results.items()}
    # Where each subject's status change sits in run.events, so a case can be tied to it.
    announced: dict[str, int] = {}
    for subject in _subject_order(index, results, observations, open_cases):
        found = results.get(subject)
        if found is not None:
            result = found
            before = previous.get(subject, "no_data")
            now_status = result.effective_status
            if now_status != before and now_status in ANNOUNCED:
                info = index.info(subject, result.level)
                event = CaseEvent(
                    event="status_changed",
                    kind=variance_kind(now_status),
                    subject=subject,
                    subject_level=result.level,
                    at=now,
                    owner=info.owner,
                    participants=tuple(p for p in [info.owner] if p),
                    detail={"from": before, "to": now_status, **result_detail(result)},
                )
                announced[subject] = len(run.events)
                run.events.append(event)
        for family in FAMILIES:
            step(run, (subject, family), observations, open_cases, last_resolved, announced)
        attach_case(run, announced.get(subject), open_cases.get((subject, "variance")))

    for key, case in list(open_cases.items()):
        current = latest(run, case)
        if not current.is_open:
            continue
        info = index.info(current.subject, current.subject_level)
        escalated, events = escalate_overdue(current, ladder(model, info), now, model.calendar.timezone)
        if events:
            run.touch(escalated)
            run.events.extend(events)
        open_cases[key] = escalated

    streaks = {s: risk_streaks.get(s, 0) + 1 for s, status in statuses.items() if status == "at_risk"}
    return Decision(tuple(run.changed.values()), tuple(run.events), statuses, streaks)


def _subject_order(
    index: SubjectIndex,
    results: Mapping[str, SubjectResult],
    observations: Mapping[tuple[str, Family], Observation],
    open_cases: Mapping[tuple[str, Family], Case],
) -> list[str]:
    """Return every subject to look at: model order first, then the rest sorted (deterministic)."""
    wanted = set(results) | {s for s, _ in observations} | {s for s, _ in open_cases}
    ordered = [info.subject for info in index.subjects() if info.subject in wanted]
    known = set(ordered)
    return ordered + sorted(wanted - known)
