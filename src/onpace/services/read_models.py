"""Read models for the pages: the latest verdicts, trends, the scorecard and my desk.

One KPI or KR: :mod:`onpace.services.subject_view`; the dependency map:
:mod:`onpace.services.dependency_view`.

Each function reads what a page shows in a fixed number of queries (no query per KPI): the
latest stored evaluation of every subject in one query, their recent history in another.
Assembling the page's rows walks the model (a few thousand objects at most), never the store.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onpace.domain.cases import Case
from onpace.domain.model import Model
from onpace.services.cases import list_cases
from onpace.storage.repositories import evaluations_repo
from onpace.storage.tables import EvaluationRow

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
