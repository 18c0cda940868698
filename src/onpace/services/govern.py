"""Govern as of a date: turn the evaluation into case decisions, in one transaction.

Load the open cases (and the latest resolved one per subject and family, for relapses), the
check-ins and the previous statuses; run the pure decision (``onpace.domain.governance``);
write the cases, their events, one outbox row per event and the audit rows. The caller commits:
nothing is sent before that, since notifiers only read committed outbox rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
from sqlalchemy.orm import Session

from onpace.domain.cases import Case, CaseEvent
from onpace.domain.governance import govern
from onpace.domain.hygiene import hygiene_findings
from onpace.domain.leadlag import not_leading_findings
from onpace.domain.model import Model
from onpace.domain.results import SubjectResult
from onpace.domain.tolerance_noise import Noise, noisy_tolerance_findings
from onpace.services.cases import governed_cases, record_events, save_case
from onpace.services.checkins import checkins_as_of
from onpace.storage.repositories import evaluations_repo


@dataclass(frozen=True)
class GovernReport:
    """What a governance run decided: the events (case ids filled in) and the cases it wrote."""

    as_of: dt.date
    events: tuple[CaseEvent, ...]
    cases: tuple[Case, ...]


def previous_statuses(session: Session, org_id: int, as_of: dt.date) -> dict[str, str]:
    """Return each subject's status (at risk folded in) at its latest evaluation before ``as_of``."""
    rows = evaluations_repo.latest_evaluations(session, org_id, as_of - dt.timedelta(days=1))
    return {
        row.subject: "at_risk" if row.at_risk and row.status in ("green", "amber") else row.status
        for row in rows
    }


def govern_store(
    session: Session,
    org_id: int,
    model: Model,
    results: Mapping[str, SubjectResult],
    *,
    as_of: dt.date,
    now: dt.datetime,
    previous: Mapping[str, str] | None = None,
    leadlag: pl.DataFrame | None = None,
    noise: Mapping[str, Noise] | None = None,
) -> GovernReport:
    """Decide and write what the evaluation as of ``as_of`` means for the cases (not committed).

    ``previous`` are the statuses to compare with for ``status_changed``; by default each
    subject's status at its latest evaluation before ``as_of`` (a live loop that evaluates the
    same day many times passes the day's own earlier verdicts instead). ``leadlag`` is the
    evaluation's lead-lag check: given, a leading KPI that does not lead is a hygiene finding too;
    ``noise`` the evaluation's noise readings: given, a tolerance narrower than a KPI's noise is
    a finding too (advisory: it opens no case, ``domain.hygiene.ADVISORY``).
    """
    findings = None
    if leadlag is not None or noise is not None:
        findings = [
            *hygiene_findings(model, results, as_of),
            *(not_leading_findings(model, leadlag) if leadlag is not None else []),
            *noisy_tolerance_findings(model, noise or {}),
        ]
    decision = govern(
        model,
        results,
        governed_cases(session, org_id),
        as_of=as_of,
        now=now,
        checkins=checkins_as_of(session, org_id, as_of),
        previous=previous if previous is not None else previous_statuses(session, org_id, as_of),
        risk_streaks=evaluations_repo.risk_streaks(session, org_id, as_of, model.policy.at_risk_after - 1),
        findings=findings,
    )
    saved: list[Case] = []
    new_ids: dict[tuple[str, str], int] = {}
    for case in decision.cases:
        stored = save_case(session, org_id, case, now=now)
        if case.id is None and stored.id is not None:
            new_ids[(case.subject, case.family)] = stored.id
        saved.append(stored)
    events = [
        dataclasses.replace(e, case_id=new_ids.get((e.subject, e.family)))
        if e.case_id is None and e.family is not None
        else e
        for e in decision.events
    ]
    record_events(session, org_id, events, as_of=as_of)
    return GovernReport(as_of, tuple(events), tuple(saved))
