"""Build the items of each review-pack section from what the store says as of the pack's date.

Each section builder returns the items of the whole organisation from :class:`ReviewFacts`;
:func:`onpace.services.review_charts.in_scope` narrows them to a unit. This module holds the
sections about results and cases (new breaches, at risk, mirages, threatened, overdue,
escalations, hand-offs, still open) and the order of all of them (:data:`BUILDERS`); the
sections about plans and data are :mod:`onpace.services.review_plans_and_data`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from onpace.domain.cases import Case
from onpace.domain.checkins import find_mirages
from onpace.domain.review import ReviewItem, SectionKey
from onpace.domain.units import uom_of
from onpace.reports.format import format_day, readable_days
from onpace.services.dependency_view import hand_off_status

#: Statuses of subjects that are off track (at risk folded in).
from onpace.services.review_parts import (
    OFF_TRACK,
    ReviewFacts,
    Window,
    case_facts,
    case_fields,
    days_text,
    figure,
    local_date,
    name_of,
    open_case,
    percent,
    since_when,
    status_words,
    subject_item,
    title_of,
    unit_name,
    versus_plan,
    weeks_text,
)
from onpace.services.review_plans_and_data import data_health, pollution, rebaselines, tolerances

# ---------------------------------------------------------------------------------------------
# sections


def new_breaches(facts: ReviewFacts, window: Window) -> list[ReviewItem]:
    """Return the subjects red now that were not red at the window's start, with their variance case."""
    items = []
    for result in facts.results.values():
        if result.status != "red" or window.baseline.get(result.subject, "no_data") == "red":
            continue
        case = open_case(facts, result.subject, "variance")
        line = (
            versus_plan(result, uom_of(facts.model, result.subject))
            or _objective_line(facts, result.subject)
            or "red"
        )
        items.append(
            subject_item(
                facts,
                "new_breaches",
                result.subject,
                result.level,
                headline=line + (" — data stale" if result.stale else ""),
                status="red",
                since=since_when(facts, result.subject, lambda p: p.status == "red"),
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
            f"red in {weeks_text(result.weeks_to_red)}"
            if result.weeks_to_red is not None
            else "projected to miss at cycle end"
        )
        line = f"{status_words(result.status)} today; {when}"
        if result.forecast_end is not None and result.plan_end is not None:
            line += f" (forecast {figure(result.forecast_end)} vs plan {figure(result.plan_end)} at cycle end"
            if result.p_target is not None:
                line += f", {percent(result.p_target)} chance of target"
            line += ")"
        case = open_case(facts, result.subject, "variance")
        items.append(
            subject_item(
                facts,
                "at_risk",
                result.subject,
                result.level,
                headline=line,
                status="at_risk",
                state=when,
                since=since_when(facts, result.subject, lambda p: p.effective_status == "at_risk"),
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
        case = open_case(facts, subject, "mirage")
        reported = status_words(mirage.reported)
        computed = status_words(mirage.computed)
        extra = {"check-in comment": checkin.comment} if checkin.comment else {}
        items.append(
            subject_item(
                facts,
                "mirages",
                subject,
                facts.results[subject].level,
                headline=(
                    f"reported {reported} (confidence {checkin.confidence}) on {format_day(checkin.date)} "
                    f"by {name_of(facts, checkin.by)} while the data says {computed}"
                ),
                status=mirage.computed,
                state=f"reported {reported}, data {computed}",
                since=local_date(facts, case.opened_at) if case is not None else checkin.date,
                facts={"severity": str(mirage.severity), **extra} | case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    return items


def _cause_line(facts: ReviewFacts, kpi: str, weight: float) -> str:
    result = facts.results.get(kpi)
    status = status_words(result.effective_status) if result is not None else "unknown"
    return f"{title_of(facts, kpi)}: {status}, weight {weight:.2f}"


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
        names = sorted(title_of(facts, cause) for cause in result.threatened_by)
        case = open_case(facts, kr.id, "variance")
        items.append(
            subject_item(
                facts,
                "threatened",
                kr.id,
                "kr",
                headline=f"{status_words(result.effective_status)}; threatened by {', '.join(names)}",
                status=result.effective_status,
                state="threatened by " + ", ".join(names),
                since=since_when(facts, kr.id, lambda p: p.threatened),
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
        case = open_case(facts, objective.id, "variance")
        items.append(
            subject_item(
                facts,
                "threatened",
                objective.id,
                "objective",
                headline=f"{status_words(result.effective_status)}: {line}",
                status=result.effective_status,
                state=line,
                since=since_when(
                    facts, objective.id, lambda p: p.effective_status in OFF_TRACK or p.threatened
                ),
                causes=causes,
                facts=case_facts(facts, case),
                **case_fields(facts, case),
            )
        )
    return items


def case_item(given: ReviewFacts, section: SectionKey, case: Case, **fields: Any) -> ReviewItem:
    """Return the item of an open case in ``section``, with its subject, owner and case fields."""
    result = given.results.get(case.subject)
    # A case on performance shows the subject's status; one on the model or a hand-off, its kind.
    measured = result is not None and case.family in ("variance", "mirage", "stale")
    status = result.effective_status if result is not None and measured else case.kind
    return subject_item(
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
            late = (local_date(facts, moment) - local_date(facts, case.explain_due)).days
            parts.append(
                f"explanation overdue since {format_day(local_date(facts, case.explain_due))} ({days_text(late)})"
            )
            missed.append("explanation")
            dues.append(local_date(facts, case.explain_due))
        if case.acted_at is None and case.act_due < moment:
            parts.append(
                f"no corrective action committed (due {format_day(local_date(facts, case.act_due))})"
            )
            missed.append("first action")
            dues.append(local_date(facts, case.act_due))
        late_actions = [a for a in case.actions if a.done_at is None and a.due < local_date(facts, moment)]
        if late_actions:
            titles = ", ".join(f"'{a.title}' (due {format_day(a.due)})" for a in late_actions)
            parts.append(f"{len(late_actions)} action(s) overdue: {titles}")
            missed.extend(f"action {a.id or a.title}" for a in late_actions)
            dues.extend(a.due for a in late_actions)
        if not parts:
            continue
        items.append(
            case_item(
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
        holder = name_of(facts, case.holder) or "nobody"
        line = f"with {holder} (level {case.rung})"
        if last is not None:
            line += f" since {format_day(last.at.date())}"
            reason = (last.detail or {}).get("reason")
            if isinstance(reason, str) and reason:
                line += f": {readable_days(reason)}"
        if len(steps) > 1:
            line += f"; escalated {len(steps)} times"
        items.append(
            case_item(
                facts, "escalations", case, headline=line, state=f"level {case.rung}, {holder}", since=first
            )
        )
    return items


def handoffs(facts: ReviewFacts, _window: Window) -> list[ReviewItem]:
    """Return the hand-offs late or at risk: who waits on whom, for what, since when."""
    items = []
    for dep in facts.model.dependencies:
        status = hand_off_status(dep, facts.as_of, facts.verdicts)
        if status not in ("late", "at_risk"):
            continue
        provider, consumer = unit_name(facts, dep.provider.unit), unit_name(facts, dep.consumer.unit)
        waits = f"{consumer} waits on {provider}"
        health = facts.verdicts.get(dep.kpi) if dep.kpi else None
        if status == "late":
            days = (facts.as_of - dep.due).days
            line = f"{waits}: due {format_day(dep.due)}, {days_text(days)} late"
            since = dep.due
        else:
            shown = status_words(health.effective_status) if health is not None else "off track"
            delivered = dep.delivered if dep.delivered is not None and dep.delivered <= facts.as_of else None
            when = f"delivered {format_day(delivered)}" if delivered else f"due {format_day(dep.due)}"
            line = f"{waits}: {when}, but its health KPI {dep.kpi} is {shown}"
            since = since_when(facts, dep.kpi or dep.id, lambda p: p.effective_status in OFF_TRACK)
        case = open_case(facts, dep.id, "dependency")
        details = {
            "provider": f"{provider} ({name_of(facts, dep.provider.owner)})",
            "consumer": f"{consumer} ({name_of(facts, dep.consumer.owner)})",
            "due": format_day(dep.due),
        }
        if dep.blocks:
            details["blocks"] = ", ".join(dep.blocks)
        items.append(
            subject_item(
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
    tolerances,
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
        items.append(case_item(facts, "still_open", case, headline=line, since=case.opened_at.date()))
    return items
