"""Read what the page of one KPI or KR shows: verdict, chart, buckets, lineage, plan versions, links, cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from onpace.domain.cases import Case
from onpace.domain.model import Model, PlanVersion, Tolerance
from onpace.domain.running_bucket import owed_rows
from onpace.domain.tolerance_noise import noisy_tolerance_findings
from onpace.services.cases import list_cases
from onpace.services.evaluate_service import evaluate_store
from onpace.services.model_store import plan_versions
from onpace.services.read_models import Verdict, latest_verdicts
from onpace.storage.repositories import evaluations_repo, points_repo
from onpace.storage.tables import PointRow


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
    # Advisory hygiene findings on the subject (a tolerance narrower than its noise), in words.
    notes: tuple[str, ...] = ()


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
        notes=tuple(
            f.message for f in noisy_tolerance_findings(model, evaluation.noise) if f.subject == subject
        )
        if level == "kpi"
        else (),
    )
