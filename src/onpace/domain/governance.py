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

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from onpace.domain.accountability import (
    SubjectIndex,
    SubjectInfo,
    dependency_ties,
    joint_participants,
)
from onpace.domain.cases import (
    FAMILIES,
    VARIANCE_RANK,
    Case,
    CaseEvent,
    EventName,
    Family,
    SubjectLevel,
)
from onpace.domain.channel_cases import is_channel_case
from onpace.domain.checkins import CheckIn, find_mirages
from onpace.domain.escalation import escalate_overdue, first_holder, ladder
from onpace.domain.hygiene import Finding, hygiene_findings
from onpace.domain.model import CaseKind, Model, Policy
from onpace.domain.results import SubjectResult

# What keeps a variance case of each kind open (its "own condition").
_HOLDS_OPEN: dict[str, frozenset[str]] = {
    "red": frozenset({"amber", "red"}),
    "amber": frozenset({"amber", "red"}),
    "at_risk": frozenset({"amber", "red", "at_risk"}),
    "threatened": frozenset({"amber", "red", "at_risk", "threatened"}),
}
_ANNOUNCED = ("amber", "red", "at_risk")
# Case detail key: the as-of day last counted towards the good streak.
GOOD_DAY = "good_day"


@dataclass(frozen=True)
class Observation:
    """What today's data says about one subject in one family.

    ``kinds`` are the kinds present today (for variance any of amber, threatened, at_risk, red);
    ``opening`` is the worst of them that may open a case under the policy, or None.
    """

    subject: str
    level: SubjectLevel
    family: Family
    kinds: frozenset[str]
    opening: CaseKind | None
    participants: tuple[str, ...] = ()
    severity: float | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


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


def variance_kinds(result: SubjectResult) -> frozenset[str]:
    """Return the variance kinds a result shows today (amber, red, at_risk, threatened)."""
    kinds: set[str] = set()
    if result.status in ("amber", "red"):
        kinds.add(result.status)
    if result.at_risk and result.status in ("green", "amber"):
        kinds.add("at_risk")
    if result.threatened_by:
        kinds.add("threatened")
    return frozenset(kinds)


def at_risk_holds(streak_before: int, at_risk_after: int) -> bool:
    """Return whether an at-risk projection seen today after ``streak_before`` at-risk evaluations may open a case."""
    return streak_before + 1 >= max(1, at_risk_after)


def resolve_after(kind: str, policy: Policy) -> int:
    """Return how many evaluations without its condition close a case of this kind."""
    base = max(1, policy.auto_resolve_after)
    return max(base, policy.at_risk_after) if kind == "at_risk" else base


def holds_open(case: Case, observation: Observation | None) -> bool:
    """Return True when today's observation still shows the case's own condition."""
    if observation is None or not observation.kinds:
        return False
    if case.family != "variance":
        return True
    return bool(observation.kinds & _HOLDS_OPEN.get(case.kind, frozenset(VARIANCE_RANK)))


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _result_detail(result: SubjectResult) -> dict[str, object]:
    return {
        "status": result.status,
        "at_risk": result.at_risk,
        "stale": result.stale,
        "plan_to_date": result.plan_to_date,
        "actual_to_date": result.actual_to_date,
        "variance_abs": result.variance_abs,
        "variance_pct": result.variance_pct,
        "forecast_end": result.forecast_end,
        "plan_end": result.plan_end,
        "p_target": result.p_target,
        "weeks_to_red": result.weeks_to_red,
        "threatened_by": list(result.threatened_by),
        "last_point": _iso(result.last_point),
    }


class _Observer:
    """Turn results, check-ins, dependencies and hygiene findings into observations."""

    def __init__(
        self, model: Model, index: SubjectIndex, as_of: dt.date, risk_streaks: Mapping[str, int]
    ) -> None:
        self.model = model
        self.index = index
        self.as_of = as_of
        self.policy = model.policy
        self.risk_streaks = risk_streaks
        self.ties = dependency_ties(model, as_of)
        self.kr_kpi = {kr.id: kr.kpi for kr in model.key_results}

    def variance(self, result: SubjectResult) -> Observation | None:
        kinds = variance_kinds(result)
        if not kinds:
            return None
        info = self.index.info(result.subject, result.level)
        deps = self.ties.get(result.subject, ())
        worthy = [k for k in kinds if deps or k in self.policy.open_case_on]
        if "at_risk" in worthy and not at_risk_holds(
            self.risk_streaks.get(result.subject, 0), self.policy.at_risk_after
        ):
            worthy.remove("at_risk")
        opening: CaseKind | None = None
        if worthy:
            worst = max(worthy, key=lambda k: VARIANCE_RANK[k])
            opening = _variance_kind(worst)
        detail = _result_detail(result)
        detail["joint_review"] = bool(deps)
        detail["dependencies"] = [d.id for d in deps]
        participants = joint_participants(info.owner, deps) if deps else ()
        return Observation(
            result.subject, result.level, "variance", kinds, opening, participants, None, detail
        )

    def stale(self, result: SubjectResult) -> Observation | None:
        if not result.stale:
            return None
        # A KR measured by a KPI goes stale with it; the KPI's case is the one to follow.
        if result.level == "objective" or (result.level == "kr" and self.kr_kpi.get(result.subject)):
            return None
        opening: CaseKind | None = "stale" if "stale" in self.policy.open_case_on else None
        detail = {"last_point": _iso(result.last_point), "status": result.status}
        return Observation(
            result.subject, result.level, "stale", frozenset({"stale"}), opening, (), None, detail
        )

    def mirages(self, checkins: Sequence[CheckIn], results: Mapping[str, SubjectResult]) -> list[Observation]:
        since: dict[str, dt.date] = {}
        for subject in {c.subject for c in checkins}:
            info = self.index.get(subject)
            cycle = self.model.cycle_of(info.cycle) if info else None
            if cycle is not None:
                since[subject] = cycle.start
        found = []
        opening: CaseKind | None = "mirage" if "mirage" in self.policy.open_case_on else None
        for subject, mirage in find_mirages(
            checkins, results, self.as_of, since, self.policy.checkin_valid_for
        ).items():
            level = results[subject].level
            info = self.index.info(subject, level)
            people = tuple(p for p in dict.fromkeys([info.owner, mirage.checkin.by]) if p)
            detail: dict[str, object] = {
                "reported": mirage.reported,
                "computed": mirage.computed,
                "severity": mirage.severity,
                "checkin_date": mirage.checkin.date.isoformat(),
                "checkin_by": mirage.checkin.by,
                "confidence": mirage.checkin.confidence,
                "comment": mirage.checkin.comment,
            }
            found.append(
                Observation(
                    subject,
                    level,
                    "mirage",
                    frozenset({"mirage"}),
                    opening,
                    people,
                    float(mirage.severity),
                    detail,
                )
            )
        return found

    def late_dependencies(self) -> list[Observation]:
        found = []
        opening: CaseKind | None = (
            "dependency_late" if "dependency_late" in self.policy.open_case_on else None
        )
        for dep in self.model.dependencies:
            delivered = dep.delivered is not None and dep.delivered <= self.as_of
            # An evaluation as of a day speaks for the end of that day: by then the due day is over.
            if self.as_of < dep.due or delivered:
                continue
            people = joint_participants(dep.provider.owner, [dep])
            detail: dict[str, object] = {
                "due": dep.due.isoformat(),
                "days_late": (self.as_of - dep.due).days,
                "provider": dep.provider.unit,
                "consumer": dep.consumer.unit,
                "blocks": list(dep.blocks),
                "joint_review": True,
            }
            found.append(
                Observation(
                    dep.id,
                    "dependency",
                    "dependency",
                    frozenset({"dependency_late"}),
                    opening,
                    people,
                    float((self.as_of - dep.due).days),
                    detail,
                )
            )
        return found

    def hygiene(self, findings: Iterable[Finding]) -> list[Observation]:
        grouped: dict[str, list[Finding]] = {}
        for finding in findings:
            grouped.setdefault(finding.subject, []).append(finding)
        opening: CaseKind | None = "hygiene" if "hygiene" in self.policy.open_case_on else None
        found = []
        for subject, items in grouped.items():
            detail: dict[str, object] = {
                "findings": [{"rule": f.rule, "message": f.message} for f in items],
            }
            found.append(
                Observation(
                    subject,
                    items[0].level,
                    "hygiene",
                    frozenset({"hygiene"}),
                    opening,
                    (),
                    float(len(items)),
                    detail,
                )
            )
        return found


def _variance_kind(kind: str) -> CaseKind:
    for known in ("amber", "threatened", "at_risk", "red"):
        if kind == known:
            return known
    raise ValueError(f"not a variance kind: {kind}")


class _Run:
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
    observer = _Observer(model, index, as_of, risk_streaks)
    run = _Run(model, index, as_of, now)
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
            if now_status != before and now_status in _ANNOUNCED:
                info = index.info(subject, result.level)
                event = CaseEvent(
                    event="status_changed",
                    kind=_variance_kind(now_status),
                    subject=subject,
                    subject_level=result.level,
                    at=now,
                    owner=info.owner,
                    participants=tuple(p for p in [info.owner] if p),
                    detail={"from": before, "to": now_status, **_result_detail(result)},
                )
                announced[subject] = len(run.events)
                run.events.append(event)
        for family in FAMILIES:
            _step(run, (subject, family), observations, open_cases, last_resolved, announced)
        _attach_case(run, announced.get(subject), open_cases.get((subject, "variance")))

    for key, case in list(open_cases.items()):
        current = _latest(run, case)
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


def _attach_case(run: _Run, index: int | None, case: Case | None) -> None:
    """Tie a subject's status change to its open variance case, so the case's history shows it."""
    if index is None or case is None or run.events[index].family is not None:
        return
    said = run.events[index]
    run.events[index] = dataclasses.replace(
        said, family=case.family, case_id=case.id, level=case.rung, participants=case.participants
    )


def _latest(run: _Run, case: Case) -> Case:
    key = (case.subject, case.family, case.id, case.opened_at.isoformat())
    return run.changed.get(key, case)


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


def _step(  # noqa: PLR0917 - private helper; the state is passed explicitly
    run: _Run,
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


def counts_towards_streak(case: Case, as_of: dt.date) -> bool:
    """Return whether a good evaluation as of ``as_of`` adds one to the case's streak.

    The streak counts distinct as-of dates, in order: an evaluation on or before the date last
    counted (kept in the case's detail) adds nothing.
    """
    last = case.detail.get(GOOD_DAY)
    if not isinstance(last, str):
        return True
    try:
        return as_of > dt.date.fromisoformat(last)
    except ValueError:
        return True


def _hold(
    run: _Run,
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
