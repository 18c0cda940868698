"""Build the items of each review-pack section from what the store says as of the pack's date.

The store is read once into :class:`ReviewFacts` (``onpace.services.review`` does that); the
functions here only decide, so one load serves the organisation's pack and every unit's.
Each section builder returns the items of the whole organisation; :func:`in_scope` narrows
them to a unit. Items carry the subject's owner, since when the condition holds, the case with
its explanation and actions, and the figures in one line (the headline).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import polars as pl

from onpace.domain.accountability import SubjectIndex
from onpace.domain.calendar import local_day
from onpace.domain.cases import Case
from onpace.domain.checkins import CheckIn, find_mirages
from onpace.domain.engine import Evaluation
from onpace.domain.hygiene import Finding
from onpace.domain.model import Cycle, Model
from onpace.domain.results import SubjectResult
from onpace.domain.review import ActionLine, Chart, ReviewItem, SectionKey
from onpace.domain.running_bucket import owed_plan
from onpace.domain.units import uom_of
from onpace.reports.format import format_day, format_value, readable_days
from onpace.services.read_models import Verdict, hand_off_status
from onpace.services.rebaseline import plan_end_value, shift_size
from onpace.services.routing import subject_units
from onpace.storage import codec
from onpace.storage.repositories.review_repo import StatusPoint
from onpace.storage.tables import CaseEventRow, IngestRunRow, PlanVersionRow, RebaselineRow

#: Statuses of subjects that are off track (at risk folded in).
OFF_TRACK = ("amber", "red", "at_risk")
# A deadline written into an escalation's reason as an ISO moment; the pack shows its day.


@dataclass(frozen=True)
class ReviewFacts:
    """Everything a pack is built from, loaded from the store once (as of ``as_of``).

    ``moment`` is the pack's "now": deadlines are measured against it. It is the end of the
    as-of day, or the generation time when that comes first, so a pack for a past week says
    what was overdue then, not what is overdue today.
    """

    model: Model
    as_of: dt.date
    moment: dt.datetime
    cycle: Cycle | None
    evaluation: Evaluation
    index: SubjectIndex
    weights: Mapping[str, float]
    cases: Sequence[Case]
    events: Mapping[int, Sequence[CaseEventRow]]
    checkins: Sequence[CheckIn]
    verdicts: Mapping[str, Verdict]
    history: Mapping[str, Sequence[StatusPoint]]
    findings: Sequence[Finding]
    plan_rows: Sequence[PlanVersionRow]
    requests: Sequence[RebaselineRow]
    manual: Mapping[str, tuple[int, int]]
    runs: Mapping[str, IngestRunRow]
    charts: dict[str, Chart | None] = field(default_factory=dict)

    @property
    def results(self) -> Mapping[str, SubjectResult]:
        """Return the engine's verdict on every KPI, KR and objective as of the pack's date."""
        return self.evaluation.results

    @cached_property
    def open_cases(self) -> dict[tuple[str, str], Case]:
        """Return the open cases by subject and family (one per pair, the oldest when the store holds more)."""
        found: dict[tuple[str, str], Case] = {}
        for case in self.cases:
            found.setdefault((case.subject, case.family), case)
        return found

    @cached_property
    def names(self) -> dict[str, str]:
        """Return each person's name by id."""
        return {p.id: p.name for p in self.model.people}


@dataclass(frozen=True)
class Window:
    """What "this week" means for one scope: since when breaches are new and edits are recent.

    ``since`` is the as-of date of the scope's previous pack (else a week before the pack's);
    ``baseline`` each subject's status (at risk folded in) at its latest evaluation on or
    before ``since``; ``retro`` the retroactive corrections ingested after ``since``, per
    metric (count, latest date corrected).
    """

    since: dt.date
    baseline: Mapping[str, str]
    retro: Mapping[str, tuple[int, dt.date]]


# ---------------------------------------------------------------------------------------------
# words and figures


def figure(value: float) -> str:
    """Return a figure as people read it: thousands separated, few decimals, fewer as it grows."""
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def percent(share: float, *, signed: bool = False) -> str:
    """Return a share (0.176) as a percentage ("17.6 %", or "+17.6 %" when ``signed``)."""
    return f"{share * 100:+.1f} %" if signed else f"{share * 100:.1f} %"


STATUS_WORDS = {
    "green": "green",
    "amber": "amber",
    "red": "red",
    "at_risk": "at risk",
    "no_data": "no data",
    "unplanned": "unplanned",
}


def status_words(status: str | None) -> str:
    """Return a status in words ("at risk" for at_risk)."""
    return STATUS_WORDS.get(status or "", status or "unknown")


def _weeks(count: int) -> str:
    return f"{count} week" if count == 1 else f"{count} weeks"


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def versus_plan(result: SubjectResult, uom: str | None = None) -> str | None:
    """Return "actual vs plan to date (variance)" for a result with both figures, else None.

    The figures are written in the subject's unit of measure ``uom`` when it has one.
    """
    if result.actual_to_date is None or result.plan_to_date is None:
        return None
    actual, plan = result.actual_to_date, result.plan_to_date
    shown = (format_value(actual, uom), format_value(plan, uom)) if uom else (figure(actual), figure(plan))
    line = f"{shown[0]} vs plan {shown[1]} to date"
    if result.variance_pct is not None:
        line += f" ({percent(result.variance_pct, signed=True)})"
    return line


# ---------------------------------------------------------------------------------------------
# shared parts of an item


def _name(facts: ReviewFacts, person: str | None) -> str | None:
    return facts.names.get(person, person) if person is not None else None


def _title(facts: ReviewFacts, subject: str) -> str:
    info = facts.index.get(subject)
    return info.title if info is not None and info.title else subject


def _open_case(facts: ReviewFacts, subject: str, family: str) -> Case | None:
    return facts.open_cases.get((subject, family))


def _subject_item(
    given: ReviewFacts,
    section: SectionKey,
    subject: str,
    level: str,
    *,
    headline: str,
    key: str | None = None,
    **fields: Any,
) -> ReviewItem:
    """Return an item on ``subject`` with its title, owner, unit and impact filled in."""
    info = given.index.get(subject)
    owner = fields.pop("owner", info.owner if info is not None else None)
    unit = fields.pop("unit", info.unit if info is not None else None)
    return ReviewItem(
        key=key or f"{section}:{subject}",
        section=section,
        subject=subject,
        subject_level=level,
        title=fields.pop("title", _title(given, subject)),
        headline=headline,
        impact=given.weights.get(subject, 0.0),
        owner=owner,
        owner_name=_name(given, owner),
        unit=unit,
        unit_name=_unit_name(given, unit) if unit else None,
        **fields,
    )


def case_fields(facts: ReviewFacts, case: Case | None) -> dict[str, Any]:
    """Return the item fields a case gives: its id, holder, explanation, cause and actions."""
    if case is None:
        return {}
    today = facts.moment.date()
    explanation = case.detail.get("cause")
    category = case.detail.get("cause_category")
    return {
        "case_id": case.id,
        "holder_name": _name(facts, case.holder),
        "explanation": explanation if isinstance(explanation, str) else None,
        "cause": category if isinstance(category, str) else None,
        "actions": tuple(
            ActionLine(
                title=a.title,
                owner=_name(facts, a.owner),
                due=a.due,
                done=a.done_at is not None,
                overdue=a.done_at is None and a.due < today,
            )
            for a in case.actions
        ),
    }


def _day(facts: ReviewFacts, moment: dt.datetime) -> dt.date:
    """Return the date a moment falls on in the organisation's time zone."""
    return local_day(moment, facts.model.calendar.timezone)


def case_facts(facts: ReviewFacts, case: Case | None) -> dict[str, str]:
    """Return the short facts of a case: its deadlines still open, its rung and who reviews it jointly."""
    if case is None:
        return {}
    found = {"opened as": f"{case.kind.replace('_', ' ')} on {format_day(_day(facts, case.opened_at))}"}
    # Deadlines still ahead; missed ones are the overdue section's to tell.
    if case.explained_at is None and case.explain_due >= facts.moment:
        found["explain by"] = format_day(_day(facts, case.explain_due))
    if case.acted_at is None and case.act_due >= facts.moment:
        found["act by"] = format_day(_day(facts, case.act_due))
    if case.rung > 0:
        found["escalation level"] = str(case.rung)
    if case.joint_review:
        others = [p for p in case.participants if p != case.owner]
        found["joint review with"] = ", ".join(str(_name(facts, p)) for p in others) or "both sides"
    return found


def run_start(
    points: Sequence[StatusPoint], holds: Callable[[StatusPoint], bool], as_of: dt.date
) -> dt.date | None:
    """Return the first day of the unbroken run of verdicts, up to ``as_of``, in which ``holds`` is true."""
    start: dt.date | None = None
    for point in reversed([p for p in points if p.as_of <= as_of]):
        if not holds(point):
            break
        start = point.as_of
    return start


def _since(facts: ReviewFacts, subject: str, holds: Callable[[StatusPoint], bool]) -> dt.date:
    return run_start(facts.history.get(subject, ()), holds, facts.as_of) or facts.as_of


# ---------------------------------------------------------------------------------------------
# sections


def new_breaches(facts: ReviewFacts, window: Window) -> list[ReviewItem]:
    """Return the subjects red now that were not red at the window's start, with their variance case."""
    items = []
    for result in facts.results.values():
        if result.status != "red" or window.baseline.get(result.subject, "no_data") == "red":
            continue
        case = _open_case(facts, result.subject, "variance")
        line = (
            versus_plan(result, uom_of(facts.model, result.subject))
            or _objective_line(facts, result.subject)
            or "red"
        )
        items.append(
            _subject_item(
                facts,
                "new_breaches",
                result.subject,
                result.level,
                headline=line + (" — data stale" if result.stale else ""),
                status="red",
                since=_since(facts, result.subject, lambda p: p.status == "red"),
                facts={"was": status_words(window.baseline.get(result.subject, "no_data"))}
                | case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    return items


def at_risk(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the subjects green or amber today whose forecast misses: "red in N weeks"."""
    items = []
    for result in facts.results.values():
        if result.effective_status != "at_risk":
            continue
        when = (
            f"red in {_weeks(result.weeks_to_red)}"
            if result.weeks_to_red is not None
            else "projected to miss at cycle end"
        )
        line = f"{status_words(result.status)} today; {when}"
        if result.forecast_end is not None and result.plan_end is not None:
            line += f" (forecast {figure(result.forecast_end)} vs plan {figure(result.plan_end)} at cycle end"
            if result.p_target is not None:
                line += f", {percent(result.p_target)} chance of target"
            line += ")"
        case = _open_case(facts, result.subject, "variance")
        items.append(
            _subject_item(
                facts,
                "at_risk",
                result.subject,
                result.level,
                headline=line,
                status="at_risk",
                state=when,
                since=_since(facts, result.subject, lambda p: p.effective_status == "at_risk"),
                facts=case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    return items


def mirages(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the subjects whose latest check-in reports better than the data says."""
    since: dict[str, dt.date] = {}
    for subject in {c.subject for c in facts.checkins}:
        info = facts.index.get(subject)
        cycle = facts.model.cycle_of(info.cycle) if info is not None else None
        if cycle is not None:
            since[subject] = cycle.start
    items = []
    for subject, mirage in find_mirages(
        facts.checkins, facts.results, facts.as_of, since, facts.model.policy.checkin_valid_for
    ).items():
        checkin = mirage.checkin
        case = _open_case(facts, subject, "mirage")
        reported = status_words(mirage.reported)
        computed = status_words(mirage.computed)
        extra = {"check-in comment": checkin.comment} if checkin.comment else {}
        items.append(
            _subject_item(
                facts,
                "mirages",
                subject,
                facts.results[subject].level,
                headline=(
                    f"reported {reported} (confidence {checkin.confidence}) on {format_day(checkin.date)} "
                    f"by {_name(facts, checkin.by)} while the data says {computed}"
                ),
                status=mirage.computed,
                state=f"reported {reported}, data {computed}",
                since=_day(facts, case.opened_at) if case is not None else checkin.date,
                facts={"severity": str(mirage.severity), **extra} | case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    return items


def _cause_line(facts: ReviewFacts, kpi: str, weight: float) -> str:
    result = facts.results.get(kpi)
    status = status_words(result.effective_status) if result is not None else "unknown"
    return f"{_title(facts, kpi)}: {status}, weight {weight:.2f}"


def _objective_line(facts: ReviewFacts, subject: str) -> str | None:
    objective = next((o for o in facts.model.objectives if o.id == subject), None)
    if objective is None or not objective.key_results:
        return None
    off = [kr for kr in objective.key_results if _kr_off_track(facts, kr.id)]
    return f"{len(off)} of {len(objective.key_results)} key results off track or threatened"


def _kr_off_track(facts: ReviewFacts, kr: str) -> bool:
    result = facts.results.get(kr)
    return result is not None and (result.effective_status in OFF_TRACK or bool(result.threatened_by))


def heaviest_first(
    frame: pl.DataFrame, key: str, name: str, weight: str
) -> dict[str, list[tuple[str, float]]]:
    """Return the (name, weight) pairs of ``frame`` per ``key``, heaviest first, in one pass."""
    grouped: dict[str, list[tuple[str, float]]] = {}
    ordered = frame.sort(weight, name, descending=[True, False]).select(key, name, weight)
    for group, label, amount in ordered.iter_rows():
        grouped.setdefault(str(group), []).append((str(label), float(amount)))
    return grouped


def threatened(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the threatened KRs with the KPIs that threaten them, and the objectives off track with their causes."""
    threats = heaviest_first(facts.evaluation.threats, "kr", "cause", "weight")
    items = []
    for kr in facts.model.key_results:
        result = facts.results.get(kr.id)
        if result is None or not result.threatened_by:
            continue
        causes = tuple(_cause_line(facts, c, w) for c, w in threats.get(kr.id, ()))
        names = sorted(_title(facts, cause) for cause in result.threatened_by)
        case = _open_case(facts, kr.id, "variance")
        items.append(
            _subject_item(
                facts,
                "threatened",
                kr.id,
                "kr",
                headline=f"{status_words(result.effective_status)}; threatened by {', '.join(names)}",
                status=result.effective_status,
                state="threatened by " + ", ".join(names),
                since=_since(facts, kr.id, lambda p: p.threatened),
                causes=causes,
                facts=case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    reaching = heaviest_first(facts.evaluation.impact, "subject", "kpi", "path_weight")
    for objective in facts.model.objectives:
        result = facts.results.get(objective.id)
        if result is None:
            continue
        off = [kr for kr in objective.key_results if _kr_off_track(facts, kr.id)]
        if result.effective_status not in OFF_TRACK and not off:
            continue
        causes = tuple(
            f"{kr.title}: {status_words(facts.results[kr.id].effective_status)}"
            + (" and threatened" if facts.results[kr.id].threatened_by else "")
            for kr in off
        ) + tuple(_cause_line(facts, k, w) for k, w in reaching.get(objective.id, ()))
        line = _objective_line(facts, objective.id) or ""
        case = _open_case(facts, objective.id, "variance")
        items.append(
            _subject_item(
                facts,
                "threatened",
                objective.id,
                "objective",
                headline=f"{status_words(result.effective_status)}: {line}",
                status=result.effective_status,
                state=line,
                since=_since(facts, objective.id, lambda p: p.effective_status in OFF_TRACK or p.threatened),
                causes=causes,
                facts=case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    return items


def _case_item(given: ReviewFacts, section: SectionKey, case: Case, **fields: Any) -> ReviewItem:
    result = given.results.get(case.subject)
    # A case on performance shows the subject's status; one on the model or a hand-off, its kind.
    measured = result is not None and case.family in ("variance", "mirage", "stale")
    status = result.effective_status if result is not None and measured else case.kind
    return _subject_item(
        given,
        section,
        case.subject,
        case.subject_level,
        key=f"{section}:{case.id}",
        owner=case.owner,
        status=status,
        facts=case_facts(given, case),
        **case_fields(given, case),
        **fields,
    )


def overdue(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the open cases with an explanation, a first action or a committed action past due."""
    moment = facts.moment
    items = []
    for case in facts.cases:
        parts: list[str] = []
        missed: list[str] = []
        dues: list[dt.date] = []
        if case.explained_at is None and case.explain_due < moment:
            late = (_day(facts, moment) - _day(facts, case.explain_due)).days
            parts.append(
                f"explanation overdue since {format_day(_day(facts, case.explain_due))} ({_days(late)})"
            )
            missed.append("explanation")
            dues.append(_day(facts, case.explain_due))
        if case.acted_at is None and case.act_due < moment:
            parts.append(f"no corrective action committed (due {format_day(_day(facts, case.act_due))})")
            missed.append("first action")
            dues.append(_day(facts, case.act_due))
        late_actions = [a for a in case.actions if a.done_at is None and a.due < _day(facts, moment)]
        if late_actions:
            titles = ", ".join(f"'{a.title}' (due {format_day(a.due)})" for a in late_actions)
            parts.append(f"{len(late_actions)} action(s) overdue: {titles}")
            missed.extend(f"action {a.id or a.title}" for a in late_actions)
            dues.extend(a.due for a in late_actions)
        if not parts:
            continue
        items.append(
            _case_item(
                facts, "overdue", case, headline="; ".join(parts), state=", ".join(missed), since=min(dues)
            )
        )
    return items


def escalations(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the open cases escalated above their owner: to whom, how far, since when and why."""
    items = []
    for case in facts.cases:
        if case.rung <= 0:
            continue
        steps = [e for e in facts.events.get(case.id or -1, ()) if e.event == "case_escalated"]
        first = steps[0].at.date() if steps else case.opened_at.date()
        last = steps[-1] if steps else None
        holder = _name(facts, case.holder) or "nobody"
        line = f"with {holder} (level {case.rung})"
        if last is not None:
            line += f" since {format_day(last.at.date())}"
            reason = (last.detail or {}).get("reason")
            if isinstance(reason, str) and reason:
                line += f": {readable_days(reason)}"
        if len(steps) > 1:
            line += f"; escalated {len(steps)} times"
        items.append(
            _case_item(
                facts, "escalations", case, headline=line, state=f"level {case.rung}, {holder}", since=first
            )
        )
    return items


def _unit_name(facts: ReviewFacts, unit: str) -> str:
    found = facts.model.unit(unit)
    return found.name if found is not None else unit


def handoffs(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the hand-offs late or at risk: who waits on whom, for what, since when."""
    items = []
    for dep in facts.model.dependencies:
        status = hand_off_status(dep, facts.as_of, facts.verdicts)
        if status not in ("late", "at_risk"):
            continue
        provider, consumer = _unit_name(facts, dep.provider.unit), _unit_name(facts, dep.consumer.unit)
        waits = f"{consumer} waits on {provider}"
        health = facts.verdicts.get(dep.kpi) if dep.kpi else None
        if status == "late":
            days = (facts.as_of - dep.due).days
            line = f"{waits}: due {format_day(dep.due)}, {_days(days)} late"
            since = dep.due
        else:
            shown = status_words(health.effective_status) if health is not None else "off track"
            delivered = dep.delivered if dep.delivered is not None and dep.delivered <= facts.as_of else None
            when = f"delivered {format_day(delivered)}" if delivered else f"due {format_day(dep.due)}"
            line = f"{waits}: {when}, but its health KPI {dep.kpi} is {shown}"
            since = _since(facts, dep.kpi or dep.id, lambda p: p.effective_status in OFF_TRACK)
        case = _open_case(facts, dep.id, "dependency")
        details = {
            "provider": f"{provider} ({_name(facts, dep.provider.owner)})",
            "consumer": f"{consumer} ({_name(facts, dep.consumer.owner)})",
            "due": format_day(dep.due),
        }
        if dep.blocks:
            details["blocks"] = ", ".join(dep.blocks)
        items.append(
            _subject_item(
                facts,
                "handoffs",
                dep.id,
                "dependency",
                headline=line,
                owner=dep.provider.owner,
                unit=dep.provider.unit,
                status=status,
                state=status,
                since=since,
                facts=details | case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    return items


def rebaselines(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the plan changes of the running cycle (goalpost shifts) and the requests awaiting a decision."""
    items = []
    start = facts.cycle.start if facts.cycle is not None else dt.date.min
    previous: dict[tuple[str, str], PlanVersionRow] = {}
    for row in facts.plan_rows:
        key = (row.subject_level, row.subject)
        before = previous.get(key)
        previous[key] = row
        made = row.created_at.date()
        if before is None or not start <= made <= facts.as_of or row.created_at > facts.moment:
            continue
        old = codec.decode_plan(before.plan) if before.plan is not None else None
        new = codec.decode_plan(row.plan) if row.plan is not None else None
        old_end, new_end = plan_end_value(old), plan_end_value(new)
        size = shift_size(old, new)
        line = (
            f"end-of-cycle plan {figure(old_end)} → {figure(new_end)}"
            if old_end is not None and new_end is not None
            else "plan removed"
            if new is None
            else "plan changed"
        )
        if size is not None:
            line += f" ({percent(size, signed=True)})"
        line += f", from {format_day(row.effective)}"
        if row.approved_by:
            line += f"; approved by {_name(facts, row.approved_by)}"
        details = {"reason": row.reason, "version": str(row.version)}
        if row.requested_by:
            details["requested by"] = str(_name(facts, row.requested_by))
        items.append(
            _subject_item(
                facts,
                "rebaselines",
                row.subject,
                row.subject_level,
                key=f"rebaselines:{row.subject}:v{row.version}",
                headline=line,
                status="approved",
                state="approved",
                since=made,
                facts=details,
            )
        )
    for request in facts.requests:
        if request.status != "requested" or request.requested_at > facts.moment:
            continue
        line = (
            f"requested by {_name(facts, request.requested_by)} on {format_day(request.requested_at.date())}, "
            f"from {format_day(request.effective)}; awaiting a decision"
        )
        case = next((c for c in facts.cases if c.id == request.case_id), None)
        items.append(
            _subject_item(
                facts,
                "rebaselines",
                request.subject,
                request.subject_level,
                key=f"rebaselines:request:{request.id}",
                headline=line,
                status="requested",
                state="requested",
                since=request.requested_at.date(),
                facts={"reason": request.reason, "request": str(request.id)},
                **case_fields(facts, case),
            )
        )
    return items


def data_health(facts: ReviewFacts, window: Window) -> list[ReviewItem]:
    """Return the data that cannot be trusted as it is: stale series, silent or failing sources, manual and retroactive points."""
    items = []
    kpis = {k.id: k for k in facts.model.kpis}
    for result in facts.results.values():
        if not result.stale or result.level == "objective":
            continue
        kpi = kpis.get(result.subject)
        if result.level == "kr" and any(kr.id == result.subject and kr.kpi for kr in facts.model.key_results):
            continue  # a KR measured by a KPI goes stale with it: the KPI's item says it
        last = format_day(result.last_point) if result.last_point else "the cycle started"
        source = f" (source {kpi.source})" if kpi is not None and kpi.source else ""
        case = _open_case(facts, result.subject, "stale")
        items.append(
            _subject_item(
                facts,
                "data_health",
                result.subject,
                result.level,
                key=f"data_health:stale:{result.subject}",
                headline=f"no data since {last}{source}; its status {status_words(result.status)} is the last known",
                status="stale",
                since=result.last_point or facts.as_of,
                facts=case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    for finding in facts.findings:
        if finding.rule != "source_no_data":
            continue
        case = _open_case(facts, finding.subject, "hygiene")
        items.append(
            _subject_item(
                facts,
                "data_health",
                finding.subject,
                "source",
                key=f"data_health:silent:{finding.subject}",
                headline=finding.message,
                status="no_data",
                since=facts.cycle.start if facts.cycle is not None else None,
                facts=case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    for source, run in sorted(facts.runs.items()):
        if run.status != "failed":
            continue
        items.append(
            _subject_item(
                facts,
                "data_health",
                source,
                "source",
                key=f"data_health:failing:{source}",
                headline=f"the last pull on {format_day(run.started_at.date())} failed: {run.error or 'no reason given'}",
                status="failed",
                since=run.started_at.date(),
            )
        )
    for metric, (hand, total) in sorted(facts.manual.items()):
        if hand == 0 or metric not in kpis:
            continue
        items.append(
            _subject_item(
                facts,
                "data_health",
                metric,
                "kpi",
                key=f"data_health:manual:{metric}",
                headline=f"{hand} of {total} points this cycle entered by hand ({percent(hand / total)})",
                status="manual",
                facts={"manual points": str(hand), "all points": str(total)},
            )
        )
    for metric, (count, latest) in sorted(window.retro.items()):
        level = "kpi" if metric in kpis else "kr"
        items.append(
            _subject_item(
                facts,
                "data_health",
                metric,
                level,
                key=f"data_health:retro:{metric}",
                headline=(
                    f"{count} already evaluated value(s) corrected since {format_day(window.since)} "
                    f"(latest for {format_day(latest)})"
                ),
                status="retroactive",
                since=latest,
            )
        )
    return items


def pollution(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the KPIs with no path to any key result that are not marked as constraints."""
    items = []
    for finding in facts.findings:
        if finding.rule != "kpi_pollution":
            continue
        case = _open_case(facts, finding.subject, "hygiene")
        items.append(
            _subject_item(
                facts,
                "pollution",
                finding.subject,
                "kpi",
                headline="measured and reported, but no path to any key result: link it or mark it a constraint",
                status="hygiene",
                since=case.opened_at.date() if case is not None else None,
                facts=case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    return items


BUILDERS: tuple[Callable[[ReviewFacts, Window], list[ReviewItem]], ...] = (
    new_breaches,
    at_risk,
    mirages,
    threatened,
    overdue,
    escalations,
    handoffs,
    rebaselines,
    data_health,
    pollution,
)


def build_items(facts: ReviewFacts, window: Window) -> list[ReviewItem]:
    """Return the items of every section for the whole organisation (charts not yet attached).

    Every open case is in the pack until it is resolved: one that no section found this week
    (a red that is neither new, overdue nor escalated) is listed under "still open".
    """
    items = [item for builder in BUILDERS for item in builder(facts, window)]
    covered = {item.case_id for item in items if item.case_id is not None}
    return items + still_open(facts, covered)


def still_open(facts: ReviewFacts, covered: set[int]) -> list[ReviewItem]:
    """Return an item for each open case not in ``covered``: its subject's figures, or its kind."""
    items = []
    for case in facts.cases:
        if case.id is None or case.id in covered:
            continue
        result = facts.results.get(case.subject)
        figures = versus_plan(result) if result is not None else None
        kind = case.kind.replace("_", " ")
        line = f"{kind}, open since {format_day(case.opened_at.date())}" + (f"; {figures}" if figures else "")
        items.append(_case_item(facts, "still_open", case, headline=line, since=case.opened_at.date()))
    return items


# ---------------------------------------------------------------------------------------------
# scope and charts


def in_scope(model: Model, item: ReviewItem, units: frozenset[str]) -> bool:
    """Return whether an item belongs to a scope: its subject sits in one of ``units`` or its owner does."""
    level = (
        item.subject_level
        if item.subject_level in ("kpi", "kr", "objective", "dependency", "source")
        else None
    )
    if subject_units(model, item.subject, level) & units:
        return True
    owner = model.person(item.owner)
    return owner is not None and owner.unit in units


#: Sections whose items get a chart (KPIs and KRs only: they have a series).
CHARTED_LEVELS = ("kpi", "kr")


def charts_for(facts: ReviewFacts, subjects: Iterable[str]) -> dict[str, Chart | None]:
    """Return the chart of each subject (None for one without a series), drawing only the ones not yet drawn.

    One call to the engine's chart rows for all new subjects; the results are kept in
    ``facts.charts`` so the organisation's pack and the units' share them.
    """
    wanted = sorted({s for s in subjects if s not in facts.charts})
    if wanted:
        frame = facts.evaluation.subjects
        series_of = dict(zip(frame["subject"].to_list(), frame["series"].to_list(), strict=True))
        measure_of = dict(zip(frame["subject"].to_list(), frame["measure"].to_list(), strict=True))
        rows = facts.evaluation.chart(wanted).sort("subject", "bucket_start")
        by_series = {str(key[0]): group for key, group in rows.group_by("subject", maintain_order=True)}
        for subject in wanted:
            series = series_of.get(subject) or subject
            group = by_series.get(series)
            if group is None or group.height == 0:
                facts.charts[subject] = None
                continue
            result = facts.results.get(subject)
            owed = result.plan_to_date if result is not None and not result.stale else None
            starts = group["bucket_start"].to_list()
            facts.charts[subject] = Chart(
                subject=subject,
                periods=tuple(starts),
                plan=owed_plan(
                    starts, group["bucket_end"].to_list(), group["plan_to_date"].to_list(), facts.as_of, owed
                ),
                actual=tuple(group["actual_to_date"].to_list()),
                forecast=tuple(group["forecast"].to_list()),
                low=tuple(group["lo"].to_list()),
                high=tuple(group["hi"].to_list()),
                as_of=facts.as_of,
                measure=str(measure_of.get(subject) or ""),
            )
    return {s: facts.charts.get(s) for s in subjects}
