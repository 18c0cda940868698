"""Gather what a case page shows before any form: the figures, the causes, the claim, the ladder, the story.

A case is decided on evidence: the subject's plan against its actuals (with the chart of the
subject page), the KPIs that threaten it and their weights, what a check-in claimed against
what the data said (mirage), a hand-off's due date and lateness, who holds the case on the
escalation ladder and until when, and a timeline told in words ("at risk → red",
"explain deadline missed"). Everything is read from the same services as the other pages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from onpace.domain.accountability import SubjectIndex
from onpace.domain.cases import Case
from onpace.domain.escalation import ladder
from onpace.domain.model import Model
from onpace.services.read_models import latest_verdicts
from onpace.services.subject_view import SubjectDetail, subject_detail
from onpace.storage.tables import CaseEventRow

STATUS_WORDS = {
    "green": "on track",
    "amber": "amber",
    "red": "red",
    "at_risk": "at risk",
    "threatened": "threatened",
    "no_data": "no data",
    "unplanned": "unplanned",
    "stale": "stale",
    "mirage": "mirage",
    "dependency_late": "late hand-off",
    "hygiene": "model hygiene",
}
_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?")


def words(status: object) -> str:
    """Return a status or case kind in words ("at risk", "late hand-off")."""
    text = str(status or "")
    return STATUS_WORDS.get(text, text.replace("_", " "))


def _day_text(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def readable_moments(text: str) -> str:
    """Return ``text`` with ISO moments written as "3 Nov 2026, 23:59"."""
    return _MOMENT.sub(lambda m: f"{_day_text(dt.date.fromisoformat(m.group(1)))}, {m.group(2)}", text)


@dataclass(frozen=True)
class Cause:
    """A KPI that threatens the case's subject, or a key result the subject threatens, with its weight."""

    subject: str
    title: str
    href: str
    status: str | None
    weight: float


@dataclass(frozen=True)
class Claim:
    """What a check-in claimed against what the data said (a mirage)."""

    by: str
    day: str
    reported: str
    computed: str
    confidence: object
    comment: str


@dataclass(frozen=True)
class HandOff:
    """A hand-off's promise: who delivers what to whom, by when, and how late it is."""

    title: str
    provider: str
    consumer: str
    due: dt.date
    delivered: dt.date | None
    days_late: int


@dataclass(frozen=True)
class Rung:
    """One step of the escalation ladder: its role, the person on it, and whether they hold the case."""

    level: int
    role: str
    person: str | None
    holds: bool
    passed: bool


@dataclass(frozen=True)
class Moment:
    """One line of the case's story: when, who, what changed, and what they wrote."""

    at: dt.datetime
    actor: str
    what: str
    text: str = ""


@dataclass(frozen=True)
class CaseEvidence:
    """Everything the case page shows above its forms."""

    subject_title: str
    detail: SubjectDetail | None
    measured_title: str
    causes: tuple[Cause, ...]
    threatens: tuple[Cause, ...]
    claim: Claim | None
    hand_off: HandOff | None
    rungs: tuple[Rung, ...]
    holds_until: tuple[str, dt.datetime] | None
    timeline: tuple[Moment, ...]
    names: Mapping[str, str]


def case_evidence(
    session: Session,
    org_id: int,
    model: Model,
    case: Case,
    events: Sequence[CaseEventRow],
    *,
    now: dt.datetime,
) -> CaseEvidence:
    """Return the evidence of ``case`` as the page shows it (the subject's figures evaluated as of the latest run)."""
    names = {p.id: p.name for p in model.people}
    index = SubjectIndex(model, now.date())
    info = index.info(case.subject, case.subject_level)
    # A hand-off is judged by its health KPI when it has one: its figures are the hand-off's evidence.
    measured = case.subject if case.subject_level in ("kpi", "kr") else None
    dependency = next((d for d in model.dependencies if d.id == case.subject), None)
    if case.subject_level == "dependency" and dependency is not None:
        measured = dependency.kpi
    detail = subject_detail(session, org_id, model, measured, now=now) if measured else None
    causes, threatens = _causes(model, case, detail), _threatens(model, case)
    linked = [c.subject for c in (*causes, *threatens)]
    verdicts = latest_verdicts(session, org_id, subjects=linked) if linked else {}

    def with_status(found: tuple[Cause, ...]) -> tuple[Cause, ...]:
        return tuple(
            dataclasses.replace(c, status=verdicts[c.subject].effective_status)
            if c.subject in verdicts
            else c
            for c in found
        )

    return CaseEvidence(
        subject_title=info.title or case.subject,
        detail=detail,
        measured_title=detail.title if detail is not None else "",
        causes=with_status(causes),
        threatens=with_status(threatens),
        claim=_claim(case, names),
        hand_off=_hand_off(model, case, now, names),
        rungs=_rungs(model, case, index, names),
        holds_until=_holds_until(case),
        timeline=tuple(_moment(e, names) for e in events),
        names=names,
    )


def _causes(model: Model, case: Case, detail: SubjectDetail | None) -> tuple[Cause, ...]:
    """Return the KPIs threatening a KR case, heaviest first (from the verdict's threatened_by)."""
    if case.subject_level != "kr" or detail is None or detail.verdict is None:
        return ()
    found = []
    for kpi in model.kpis:
        if kpi.id not in detail.verdict.threatened_by:
            continue
        weight = max((float(f.weight) for f in kpi.feeds if f.kr == case.subject), default=0.0)
        found.append(Cause(kpi.id, kpi.title, f"/kpis/{kpi.id}", None, weight))
    return tuple(sorted(found, key=lambda c: (-c.weight, c.title)))


def _threatens(model: Model, case: Case) -> tuple[Cause, ...]:
    """Return the key results a KPI case's subject feeds, heaviest first: what its variance puts at stake."""
    kpi = next((k for k in model.kpis if k.id == case.subject), None)
    if kpi is None:
        return ()
    titles = {kr.id: kr.title for kr in model.key_results}
    found = [
        Cause(f.kr, titles.get(f.kr, f.kr), f"/krs/{f.kr}", None, float(f.weight))
        for f in kpi.feeds
        if f.kr in titles
    ]
    return tuple(sorted(found, key=lambda c: (-c.weight, c.title)))


def _claim(case: Case, names: Mapping[str, str]) -> Claim | None:
    detail = case.detail
    if case.family != "mirage" or "reported" not in detail:
        return None
    by = str(detail.get("checkin_by") or "")
    day = str(detail.get("checkin_date") or "")
    return Claim(
        by=names.get(by, by) or "someone",
        day=_day_text(dt.date.fromisoformat(day)) if day else "–",
        reported=words(detail.get("reported")),
        computed=words(detail.get("computed")),
        confidence=detail.get("confidence"),
        comment=str(detail.get("comment") or ""),
    )


def _hand_off(model: Model, case: Case, now: dt.datetime, names: Mapping[str, str]) -> HandOff | None:
    dependency = next((d for d in model.dependencies if d.id == case.subject), None)
    if dependency is None:
        return None
    units = {u.id: u.name for u in model.units}
    end = dependency.delivered or now.date()

    def side(unit: str, owner: str) -> str:
        return f"{units.get(unit, unit)} ({names.get(owner, owner)})"

    return HandOff(
        title=dependency.title,
        provider=side(dependency.provider.unit, dependency.provider.owner),
        consumer=side(dependency.consumer.unit, dependency.consumer.owner),
        due=dependency.due,
        delivered=dependency.delivered,
        days_late=max(0, (end - dependency.due).days),
    )


def _rungs(model: Model, case: Case, index: SubjectIndex, names: Mapping[str, str]) -> tuple[Rung, ...]:
    info = index.info(case.subject, case.subject_level)
    people = ladder(model, dataclasses.replace(info, owner=case.owner or info.owner))
    return tuple(
        Rung(
            level=level,
            role=role.replace("_", " "),
            person=names.get(person, person) if person else None,
            holds=level == case.rung and case.is_open,
            passed=level < case.rung,
        )
        for level, (role, person) in enumerate(zip(model.policy.escalation, people, strict=False))
    )


def _holds_until(case: Case) -> tuple[str, dt.datetime] | None:
    """Return the next deadline that moves the case up a rung if missed: (what, when)."""
    if not case.is_open:
        return None
    if case.explained_at is None:
        return ("an explanation", case.explain_due)
    if case.acted_at is None:
        return ("a corrective action", case.act_due)
    return None


def _moment(event: CaseEventRow, names: Mapping[str, str]) -> Moment:
    detail: Mapping[str, Any] = event.detail or {}
    actor = event.actor or ""
    who = "onpace" if actor in ("", "onpace") else names.get(actor, actor)
    name = event.event
    text = ""
    if name == "case_opened":
        what = f"opened: {words(detail.get('kind'))}"
        if detail.get("status"):
            what += f" (status {words(detail.get('status'))})"
    elif name == "status_changed":
        what = f"{words(detail.get('from'))} → {words(detail.get('to'))}"
    elif name == "case_escalated":
        deadline = str(detail.get("deadline") or "")
        to = str(detail.get("to") or "")
        what = f"{deadline} deadline missed; escalated to {names.get(to, to) or 'nobody'} (level {detail.get('level')})"
        text = readable_moments(str(detail.get("reason") or ""))
    elif name == "case_explained":
        what = f"explained ({detail.get('category')})" + (" after the deadline" if detail.get("late") else "")
        text = str(detail.get("text") or "")
    elif name == "action_committed":
        owner = str(detail.get("owner") or "")
        what = f"action committed, owner {names.get(owner, owner)}, due {detail.get('due')}"
        text = str(detail.get("title") or "")
    elif name == "action_done":
        what = "action done"
        text = str(detail.get("title") or "")
    elif name == "case_commented":
        what = "comment"
        text = str(detail.get("text") or "")
    elif name == "case_resolved":
        what = "closed by hand" if who != "onpace" else "resolved: back within tolerance"
        text = str(detail.get("note") or detail.get("reason") or "")
    elif name == "case_reopened":
        what = "reopened"
    else:
        what = name.replace("_", " ")
    return Moment(at=event.at, actor=who, what=what, text=text)
