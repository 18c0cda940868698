"""Build the review sections about plans and data: goalpost shifts, data health, KPI pollution and noisy tolerances."""

from __future__ import annotations

import datetime as dt

from onpace.domain.review import ReviewItem
from onpace.reports.format import format_day
from onpace.services.rebaseline import plan_end_value, shift_size

#: Statuses of subjects that are off track (at risk folded in).
from onpace.services.review_parts import (
    ReviewFacts,
    Window,
    case_facts,
    case_fields,
    figure,
    name_of,
    open_case,
    percent,
    status_words,
    subject_item,
)
from onpace.storage import codec
from onpace.storage.tables import PlanVersionRow


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
            line += f"; approved by {name_of(facts, row.approved_by)}"
        details = {"reason": row.reason, "version": str(row.version)}
        if row.requested_by:
            details["requested by"] = str(name_of(facts, row.requested_by))
        items.append(
            subject_item(
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
            f"requested by {name_of(facts, request.requested_by)} on {format_day(request.requested_at.date())}, "
            f"from {format_day(request.effective)}; awaiting a decision"
        )
        case = next((c for c in facts.cases if c.id == request.case_id), None)
        items.append(
            subject_item(
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
        case = open_case(facts, result.subject, "stale")
        items.append(
            subject_item(
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
        case = open_case(facts, finding.subject, "hygiene")
        items.append(
            subject_item(
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
            subject_item(
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
            subject_item(
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
            subject_item(
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
        case = open_case(facts, finding.subject, "hygiene")
        items.append(
            subject_item(
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


def tolerances(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the KPIs whose red tolerance is narrower than their own noise: their alarms say little.

    The finding is advisory (it opens no case); the item says what the noise and the tolerance
    are and how wide a tolerance the noise allows.
    """
    return [
        subject_item(
            facts,
            "tolerances",
            finding.subject,
            "kpi",
            headline=finding.message,
            status="hygiene",
        )
        for finding in facts.findings
        if finding.rule == "noisy_tolerance"
    ]
