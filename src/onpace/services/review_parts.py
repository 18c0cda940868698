"""The facts a review pack is built from, and the words and shared parts of its items.

The store is read once into :class:`ReviewFacts` (``onpace.services.review`` does that); the
section builders (:mod:`onpace.services.review_sections`, :mod:`onpace.services.review_plans_and_data`)
only decide, so one load serves the organisation's pack and every unit's. Items carry the
subject's owner, since when the condition holds, the case with its explanation and actions, and
the figures in one line (the headline), written here the same way for every section.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from onpace.domain.accountability import SubjectIndex
from onpace.domain.calendar import local_day
from onpace.domain.cases import Case
from onpace.domain.checkins import CheckIn
from onpace.domain.engine import Evaluation
from onpace.domain.hygiene import Finding
from onpace.domain.model import Cycle, Model
from onpace.domain.results import SubjectResult
from onpace.domain.review import ActionLine, Chart, ReviewItem, SectionKey
from onpace.reports.format import format_day, format_value
from onpace.services.read_models import Verdict
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


def weeks_text(count: int) -> str:
    """Return "1 week" or "3 weeks"."""
    return f"{count} week" if count == 1 else f"{count} weeks"


def days_text(count: int) -> str:
    """Return "1 day" or "3 days"."""
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


def name_of(facts: ReviewFacts, person: str | None) -> str | None:
    """Return a person's name (their id when the model has no such person; None for nobody)."""
    return facts.names.get(person, person) if person is not None else None


def title_of(facts: ReviewFacts, subject: str) -> str:
    """Return a subject's title (its id when the model has none)."""
    info = facts.index.get(subject)
    return info.title if info is not None and info.title else subject


def open_case(facts: ReviewFacts, subject: str, family: str) -> Case | None:
    """Return the open case of a subject in a family of kinds, if any."""
    return facts.open_cases.get((subject, family))


def subject_item(
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
        title=fields.pop("title", title_of(given, subject)),
        headline=headline,
        impact=given.weights.get(subject, 0.0),
        owner=owner,
        owner_name=name_of(given, owner),
        unit=unit,
        unit_name=unit_name(given, unit) if unit else None,
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
        "holder_name": name_of(facts, case.holder),
        "explanation": explanation if isinstance(explanation, str) else None,
        "cause": category if isinstance(category, str) else None,
        "actions": tuple(
            ActionLine(
                title=a.title,
                owner=name_of(facts, a.owner),
                due=a.due,
                done=a.done_at is not None,
                overdue=a.done_at is None and a.due < today,
            )
            for a in case.actions
        ),
    }


def unit_name(facts: ReviewFacts, unit: str) -> str:
    """Return the name of a unit (its id when the model has no such unit)."""
    found = facts.model.unit(unit)
    return found.name if found is not None else unit


def local_date(facts: ReviewFacts, moment: dt.datetime) -> dt.date:
    """Return the date a moment falls on in the organisation's time zone."""
    return local_day(moment, facts.model.calendar.timezone)


def case_facts(facts: ReviewFacts, case: Case | None) -> dict[str, str]:
    """Return the short facts of a case: its deadlines still open, its rung and who reviews it jointly."""
    if case is None:
        return {}
    found = {"opened as": f"{case.kind.replace('_', ' ')} on {format_day(local_date(facts, case.opened_at))}"}
    # Deadlines still ahead; missed ones are the overdue section's to tell.
    if case.explained_at is None and case.explain_due >= facts.moment:
        found["explain by"] = format_day(local_date(facts, case.explain_due))
    if case.acted_at is None and case.act_due >= facts.moment:
        found["act by"] = format_day(local_date(facts, case.act_due))
    if case.rung > 0:
        found["escalation level"] = str(case.rung)
    if case.joint_review:
        others = [p for p in case.participants if p != case.owner]
        found["joint review with"] = ", ".join(str(name_of(facts, p)) for p in others) or "both sides"
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


def since_when(facts: ReviewFacts, subject: str, holds: Callable[[StatusPoint], bool]) -> dt.date:
    """Return the first day of the run of statuses of ``subject`` that ``holds``, up to the pack's date."""
    return run_start(facts.history.get(subject, ()), holds, facts.as_of) or facts.as_of
