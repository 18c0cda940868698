"""Read models for the pages: the latest verdicts, trends, my desk, one subject, the dependency map.

Each function reads what a page shows in a fixed number of queries (no query per KPI): the
latest stored evaluation of every subject in one query, their recent history in another.
Assembling the page's rows walks the model (a few thousand objects at most), never the store.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onpace.domain.cases import Case
from onpace.domain.model import DEFAULT_TOLERANCE, Dependency, Model, PlanVersion, Tolerance
from onpace.domain.running_bucket import owed_rows
from onpace.services.cases import list_cases
from onpace.services.evaluate_service import evaluate_store
from onpace.services.model_store import plan_versions
from onpace.storage.repositories import evaluations_repo, points_repo
from onpace.storage.tables import EvaluationRow, PointRow

TREND_POINTS = 12
OBJECTIVES_PER_PAGE = 10


@dataclass(frozen=True)
class Verdict:
    """A subject's stored verdict as the pages show it."""

    subject: str
    level: str
    as_of: dt.date
    status: str
    effective_status: str
    stale: bool
    attainment: float | None
    plan_to_date: float | None
    actual_to_date: float | None
    variance_pct: float | None
    forecast_end: float | None
    forecast_low: float | None
    forecast_high: float | None
    plan_end: float | None
    p_target: float | None
    weeks_to_red: int | None
    threatened_by: tuple[str, ...]


NO_VERDICT_STATUS = "no_data"


def verdict_of(row: EvaluationRow) -> Verdict:
    """Return the page view of a stored evaluation row."""
    effective = "at_risk" if row.at_risk and row.status in ("green", "amber") else row.status
    return Verdict(
        subject=row.subject,
        level=row.level,
        as_of=row.as_of,
        status=row.status,
        effective_status=effective,
        stale=row.stale,
        attainment=row.attainment,
        plan_to_date=row.plan_to_date,
        actual_to_date=row.actual_to_date,
        variance_pct=row.variance_pct,
        forecast_end=row.forecast_end,
        forecast_low=row.forecast_low,
        forecast_high=row.forecast_high,
        plan_end=row.plan_end,
        p_target=row.p_target,
        weeks_to_red=row.weeks_to_red,
        threatened_by=tuple(str(x) for x in row.threatened_by or ()),
    )


def latest_verdicts(
    session: Session,
    org_id: int,
    as_of: dt.date | None = None,
    *,
    subjects: Collection[str] | None = None,
) -> dict[str, Verdict]:
    """Return every subject's (or ``subjects``') latest verdict on or before ``as_of`` (one query)."""
    rows = evaluations_repo.latest_evaluations(session, org_id, as_of, subjects=subjects)
    return {row.subject: verdict_of(row) for row in rows}


def trends(
    session: Session, org_id: int, last: dt.date, *, weeks: int = TREND_POINTS
) -> dict[str, list[float]]:
    """Return each subject's recent history (attainment, else actual to date) for sparklines (one query).

    Only two columns are read: the sparklines of a large organisation are thousands of rows,
    too many to load as ORM objects on each page view.
    """
    table = EvaluationRow
    value = func.coalesce(table.attainment, table.actual_to_date)
    stmt = (
        select(table.subject, value)
        .where(
            table.org_id == org_id,
            table.as_of >= last - dt.timedelta(weeks=weeks),
            table.as_of <= last,
            value.is_not(None),
        )
        .order_by(table.subject, table.as_of, table.id)
    )
    history: dict[str, list[float]] = defaultdict(list)
    for subject, figure in session.execute(stmt):
        history[subject].append(float(figure))
    return history


def evaluated_as_of(verdicts: Mapping[str, Verdict]) -> dt.date | None:
    """Return the latest date any verdict is for."""
    return max((v.as_of for v in verdicts.values()), default=None)


# ---------------------------------------------------------------------------------------------
# scorecard


@dataclass
class ScoreLine:
    """One row of the scorecard tree: an objective, a KR or a KPI with its figures."""

    id: str
    title: str
    level: str
    owner: str | None
    unit: str | None
    weight: float | None
    verdict: Verdict | None
    trend: list[float]
    children: list[ScoreLine] = field(default_factory=list)
    note: str = ""
    matched: bool = True  # False: shown only as the context of a row below it that matches the filters

    @property
    def status(self) -> str:
        """Return the status shown (at risk folded in), ``no_data`` without a verdict."""
        return self.verdict.effective_status if self.verdict else NO_VERDICT_STATUS


@dataclass(frozen=True)
class Scorecard:
    """The scorecard: the objective → KR → KPI tree, the filters' choices and what is applied."""

    as_of: dt.date | None
    objectives: list[ScoreLine]
    units: list[tuple[str, str]]
    cycles: list[str]
    perspectives: list[str]
    filters: dict[str, str]
    page: int = 0
    pages: int = 1
    total: int = 0


def _matches(line: ScoreLine, status: str) -> bool:
    return line.status == status or any(_matches(child, status) for child in line.children)


def scorecard(
    session: Session,
    org_id: int,
    model: Model,
    *,
    as_of: dt.date | None = None,
    unit: str | None = None,
    cycle: str | None = None,
    perspective: str | None = None,
    status: str | None = None,
    page: int = 0,
    per_page: int = OBJECTIVES_PER_PAGE,
) -> Scorecard:
    """Return the scorecard as of the latest stored evaluation (on or before ``as_of``), filtered.

    Objectives come ``per_page`` at a time (page ``page``, from 0): a large organisation's whole
    tree is thousands of rows, more than a person reads or a browser should lay out at once.
    """
    verdicts = latest_verdicts(session, org_id, as_of)
    shown_as_of = evaluated_as_of(verdicts)
    history = trends(session, org_id, shown_as_of) if shown_as_of else {}
    kpis = {k.id: k for k in model.kpis}
    feeders: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for kpi in model.kpis:
        for feed in kpi.feeds:
            feeders[feed.kr].append((kpi.id, feed.weight))

    def kpi_line(kpi_id: str, weight: float | None, note: str) -> ScoreLine:
        kpi = kpis.get(kpi_id)
        return ScoreLine(
            id=kpi_id,
            title=kpi.title if kpi else kpi_id,
            level="kpi",
            owner=kpi.owner if kpi else None,
            unit=kpi.unit if kpi else None,
            weight=weight,
            verdict=verdicts.get(kpi_id),
            trend=history.get(kpi_id, []),
            note=note,
        )

    lines: list[ScoreLine] = []
    for objective in model.objectives:
        if unit and objective.unit != unit:
            continue
        if cycle and objective.cycle != cycle:
            continue
        if perspective and objective.perspective != perspective:
            continue
        krs = []
        for kr in objective.key_results:
            children = [kpi_line(kr.kpi, None, "measures")] if kr.kpi else []
            children += [kpi_line(kpi_id, weight, "feeds") for kpi_id, weight in feeders.get(kr.id, [])]
            krs.append(
                ScoreLine(
                    kr.id,
                    kr.title,
                    "kr",
                    kr.owner,
                    objective.unit,
                    kr.weight,
                    verdicts.get(kr.id),
                    history.get(kr.id, []),
                    children,
                )
            )
        line = ScoreLine(
            objective.id,
            objective.title,
            "objective",
            objective.owner,
            objective.unit,
            None,
            verdicts.get(objective.id),
            history.get(objective.id, []),
            krs,
            note=objective.perspective or "",
        )
        if status and not _matches(line, status):
            continue
        lines.append(line)
    pages = max(1, -(-len(lines) // per_page))
    page = min(max(page, 0), pages - 1)
    total = len(lines)
    lines = lines[page * per_page : (page + 1) * per_page]
    filters = {
        k: v
        for k, v in (("unit", unit), ("cycle", cycle), ("perspective", perspective), ("status", status))
        if v
    }
    return Scorecard(
        as_of=shown_as_of,
        objectives=lines,
        units=[(u.id, u.name) for u in model.units],
        cycles=[c.id for c in model.cycles],
        perspectives=sorted({o.perspective for o in model.objectives if o.perspective}),
        filters=filters,
        page=page,
        pages=pages,
        total=total,
    )


# ---------------------------------------------------------------------------------------------
# my desk


@dataclass(frozen=True)
class Desk:
    """A person's desk: the open cases they must work, and what they own with its status."""

    person: str | None
    cases: list[Case]
    owned: list[tuple[str, str, str, Verdict | None]]  # (level, id, title, verdict)
    as_of: dt.date | None


def my_desk(session: Session, org_id: int, model: Model, person: str | None) -> Desk:
    """Return the desk of ``person`` (a model person id; None gives an empty desk)."""
    verdicts = latest_verdicts(session, org_id)
    if person is None:
        return Desk(None, [], [], evaluated_as_of(verdicts))
    cases = list_cases(session, org_id, mine=person, open_only=True)
    cases.sort(key=lambda c: (c.explained_at is not None, c.explain_due, c.act_due))
    owned: list[tuple[str, str, str, Verdict | None]] = []
    owned += [("objective", o.id, o.title, verdicts.get(o.id)) for o in model.objectives if o.owner == person]
    owned += [("kr", kr.id, kr.title, verdicts.get(kr.id)) for kr in model.key_results if kr.owner == person]
    owned += [("kpi", k.id, k.title, verdicts.get(k.id)) for k in model.kpis if person in k.owners]
    return Desk(person, cases, owned, evaluated_as_of(verdicts))


# ---------------------------------------------------------------------------------------------
# one KPI or KR


@dataclass(frozen=True)
class SubjectDetail:
    """Everything the KPI / KR page shows."""

    id: str
    level: str
    title: str
    owner: str | None
    unit: str | None
    as_of: dt.date | None
    verdict: Verdict | None
    chart: dict[str, Any]
    buckets: list[dict[str, Any]]
    lineage: list[PointRow]
    versions: Sequence[PlanVersion]
    links: list[tuple[str, str, float, int]]  # (kpi, kr, weight, lag days)
    leadlag: list[dict[str, Any]]
    cases: list[Case]
    tolerance: Tolerance


def _bands(plan: float | None, tolerance: Tolerance, direction: str) -> tuple[float | None, float | None]:
    """Return the amber and red lines around ``plan`` (the shortfall side only)."""
    if plan is None or direction == "range":
        return None, None
    sign = -1.0 if direction == "up" else 1.0

    def line(threshold_value: float, relative: bool) -> float:
        size = abs(plan) * threshold_value if relative else threshold_value
        return plan + sign * size

    return (
        line(tolerance.amber.value, tolerance.amber.relative),
        line(tolerance.red.value, tolerance.red.relative),
    )


def leadlag_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Return lead-lag rows to show: each lag with its unit (declared in days, measured in buckets)."""
    return [
        {
            "kpi": row["kpi"],
            "kr": row["kr"],
            "declared_lag": f"{row['lag_days']} days",
            "measured_lag": "–"
            if row["best_lag"] is None
            else f"{row['best_lag']} {row['grain']}{'' if row['best_lag'] == 1 else 's'}",
            "correlation": row["best_corr"],
            "pairs": row["pairs"],
            "leads": row["leads"],
        }
        for row in frame.iter_rows(named=True)
    ]


def subject_detail(
    session: Session, org_id: int, model: Model, subject: str, *, now: dt.datetime
) -> SubjectDetail | None:
    """Return the KPI or KR page of ``subject`` as of the latest evaluation; None when unknown.

    The bucket series comes from evaluating the store as of that date (not stored), charting
    only this subject's series (a KR measured by a KPI shows its KPI's buckets); the other
    figures are the stored verdicts.
    """
    kpi = next((k for k in model.kpis if k.id == subject), None)
    kr = next((k for k in model.key_results if k.id == subject), None)
    if kpi is None and kr is None:
        return None
    # Only this subject's verdict, and only the date: a large organisation's latest verdicts are
    # thousands of rows.
    verdicts = latest_verdicts(session, org_id, subjects=[subject])
    as_of = evaluations_repo.latest_as_of(session, org_id) or now.date()
    versions = plan_versions(session, org_id)
    evaluation = evaluate_store(session, org_id, model, as_of, now=now, store=False, versions=versions)
    series_id = kr.kpi if kr is not None and kr.kpi else subject
    series = evaluation.chart([subject]).sort("bucket_start")
    if kpi is not None:
        tolerance = kpi.tolerance or model.policy.default_tolerance
        direction, title, owner, unit, level = kpi.direction, kpi.title, kpi.owner, kpi.unit, "kpi"
        links = [(kpi.id, f.kr, f.weight, f.lag_days) for f in kpi.feeds]
    else:
        assert kr is not None
        measured = next((k for k in model.kpis if k.id == kr.kpi), None)
        tolerance = (measured.tolerance if measured else kr.tolerance) or model.policy.default_tolerance
        direction = measured.direction if measured else kr.direction
        title, owner, level = kr.title, kr.owner, "kr"
        unit = next((o.unit for o in model.objectives if o.id == kr.objective), None)
        links = [(k.id, kr.id, f.weight, f.lag_days) for k in model.kpis for f in k.feeds if f.kr == kr.id]
    rows = series.to_dicts()
    verdict = verdicts.get(subject)
    # The running bucket is drawn at the plan owed so far, as the verdict judges it.
    owed = (
        verdict.plan_to_date if verdict is not None and verdict.as_of == as_of and not verdict.stale else None
    )
    drawn = owed_rows(rows, as_of, owed)
    chart: dict[str, Any] = {
        "dates": [r["bucket_end"].isoformat() for r in drawn],
        "plan": [r["plan_to_date"] for r in drawn],
        "actual": [r["actual_to_date"] for r in drawn],
        "forecast": [r["forecast"] for r in drawn],
        "lo": [r["lo"] for r in drawn],
        "hi": [r["hi"] for r in drawn],
        "amber": [_bands(r["plan_to_date"], tolerance, direction)[0] for r in drawn],
        "red": [_bands(r["plan_to_date"], tolerance, direction)[1] for r in drawn],
        "as_of": as_of.isoformat(),
    }
    leadlag = evaluation.leadlag
    if leadlag.height:
        leadlag = leadlag.filter((pl.col("kpi") == subject) | (pl.col("kr") == subject))
    cases = [c for c in list_cases(session, org_id, open_only=True) if c.subject == subject]
    return SubjectDetail(
        id=subject,
        level=level,
        title=title,
        owner=owner,
        unit=unit,
        as_of=as_of,
        verdict=verdicts.get(subject),
        chart=chart,
        buckets=rows,
        lineage=points_repo.point_history(session, org_id, series_id or subject),
        versions=versions.get(series_id or subject, []),
        links=links,
        leadlag=leadlag_rows(leadlag),
        cases=cases,
        tolerance=tolerance,
    )


# ---------------------------------------------------------------------------------------------
# dependency map


@dataclass(frozen=True)
class HandOff:
    """A dependency drawn as an edge: provider unit → consumer unit, with its status."""

    dependency: Dependency
    status: str  # delivered | late | at_risk (health KPI not green) | on_track


def hand_off_status(dependency: Dependency, as_of: dt.date, verdicts: Mapping[str, Verdict]) -> str:
    """Return a hand-off's status as of a date: delivered, late, at_risk or on_track."""
    if dependency.delivered is not None and dependency.delivered <= as_of:
        health = verdicts.get(dependency.kpi) if dependency.kpi else None
        return "at_risk" if health and health.effective_status in ("red", "at_risk") else "delivered"
    if as_of > dependency.due:
        return "late"
    health = verdicts.get(dependency.kpi) if dependency.kpi else None
    if health and health.effective_status in ("amber", "red", "at_risk"):
        return "at_risk"
    return "on_track"


def dependency_map(session: Session, org_id: int, model: Model, *, today: dt.date) -> dict[str, Any]:
    """Return the dependency graph for ECharts: units as nodes, hand-offs as coloured edges."""
    verdicts = latest_verdicts(session, org_id)
    as_of = evaluated_as_of(verdicts) or today
    edges = [HandOff(d, hand_off_status(d, as_of, verdicts)) for d in model.dependencies]
    involved = {e.dependency.provider.unit for e in edges} | {e.dependency.consumer.unit for e in edges}
    return {
        "as_of": as_of.isoformat(),
        "nodes": [{"id": u.id, "name": u.name, "involved": u.id in involved} for u in model.units],
        "edges": [
            {
                "id": e.dependency.id,
                "source": e.dependency.provider.unit,
                "target": e.dependency.consumer.unit,
                "title": e.dependency.title,
                "due": e.dependency.due.isoformat(),
                "delivered": e.dependency.delivered.isoformat() if e.dependency.delivered else None,
                "kpi": e.dependency.kpi,
                "status": e.status,
            }
            for e in edges
        ],
    }


__all__ = [
    "DEFAULT_TOLERANCE",
    "Desk",
    "HandOff",
    "ScoreLine",
    "Scorecard",
    "SubjectDetail",
    "Verdict",
    "dependency_map",
    "latest_verdicts",
    "my_desk",
    "scorecard",
    "subject_detail",
    "trends",
]
