"""A small organisation for the review-pack tests, run week by week through the real loop.

No tests here: builders only. Weeks end on Sundays; each week's actuals are one point per
metric dated that Sunday, then the store is evaluated and governed at the end of the day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl
from sqlalchemy.orm import Session

from onpace.domain.calendar import end_of_day as end_of
from onpace.domain.model import Model
from onpace.modelfile import parse_model_text
from onpace.services.evaluate_service import evaluate_store
from onpace.services.govern import GovernReport, govern_store
from onpace.services.ingest import ingest_frame
from onpace.services.model_store import save_model

MODEL = """\
org: Revco
calendar: {week_start: monday}
units:
  - {id: exec, name: Executive team, head: ceo}
  - {id: ops, name: Operations, parent: exec, head: maria}
  - {id: it, name: IT, parent: exec, head: raj}
people:
  - {id: ceo, name: Dana Ortiz, email: dana@rev.example, unit: exec}
  - {id: maria, name: Maria Chen, email: maria@rev.example, unit: ops}
  - {id: lee, name: Lee Park, email: lee@rev.example, unit: ops}
  - {id: raj, name: Raj Iyer, email: raj@rev.example, unit: it}
cycles:
  - {id: 2026-Q1, start: 2026-01-05, end: 2026-03-29}
objectives:
  - id: O1
    title: Ship more orders
    cycle: 2026-Q1
    unit: exec
    owner: ceo
    key_results:
      - {id: KR1, title: Throughput at 100 a day, owner: maria, kpi: throughput, weight: 2}
      - {id: KR2, title: Complaints under 10 a week, owner: lee, kpi: complaints, weight: 1}
kpis:
  - id: throughput
    title: Orders shipped per day
    unit: ops
    owner: lee
    measure: level
    direction: up
    grain: week
    aggregate: mean
    tolerance: {amber: 5%, red: 10%}
    plan: {per_bucket: 100}
    source: wms
    leading: true
  - id: complaints
    title: Customer complaints per week
    unit: ops
    owner: maria
    measure: level
    direction: down
    grain: week
    aggregate: mean
    tolerance: {amber: 10%, red: 15%}
    plan: {baseline: 10, target: 7}
    source: wms
    leading: true
  - id: api_errors
    title: Order API error rate (%)
    unit: it
    owner: raj
    measure: level
    direction: down
    grain: week
    aggregate: mean
    tolerance: {amber: 0.5, red: 1.0}
    plan: {per_bucket: 1.0}
    source: wms
    leading: true
    feeds: [{kr: KR1, weight: 0.4}]
  - id: page_views
    title: Website page views
    unit: ops
    owner: lee
    measure: level
    direction: up
    grain: week
    aggregate: mean
    plan: {per_bucket: 1000}
    source: wms
dependencies:
  - id: D1
    title: Order API for the warehouse
    provider: {unit: it, owner: raj}
    consumer: {unit: ops, owner: lee}
    due: 2026-01-26
    kpi: api_errors
    blocks: [KR1]
sources:
  - {id: wms, kind: push}
policy:
  sla: {explain: 2d, act: 5d}
  auto_resolve_after: 2
"""

WEEKS = tuple(dt.date(2026, 1, 11) + dt.timedelta(weeks=k) for k in range(8))
STEADY = {"throughput": 100.0, "complaints": 10.0, "api_errors": 1.0, "page_views": 1000.0}


def new_org(session: Session, text: str = MODEL) -> tuple[int, Model]:
    """Store the model (loaded the week before the cycle starts); return the org id and the model."""
    model = parse_model_text(text, "revco.yaml")
    org_id = save_model(session, model, by="test", now=end_of(dt.date(2026, 1, 4))).org_id
    session.commit()
    return org_id, model


def ingest(
    session: Session,
    org_id: int,
    model: Model,
    day: dt.date,
    values: Mapping[str, float],
    *,
    now: dt.datetime | None = None,
    manual: bool = False,
    by: str | None = None,
) -> None:
    """Ingest one point per metric dated ``day``."""
    frame = pl.DataFrame(
        {"metric": list(values), "date": [day] * len(values), "value": list(values.values())},
        schema={"metric": pl.String, "date": pl.Date, "value": pl.Float64},
    )
    known = {k.id for k in model.kpis}
    ingest_frame(
        session,
        org_id,
        frame,
        source="wms",
        run_by=by,
        manual=manual,
        now=now or end_of(day),
        known_metrics=known,
    )


def run_week(
    session: Session, org_id: int, model: Model, as_of: dt.date, changes: Mapping[str, float] | None = None
) -> GovernReport:
    """Ingest the week's actuals (steady, but for ``changes``), evaluate and govern as of ``as_of``; commit."""
    ingest(session, org_id, model, as_of, {**STEADY, **(changes or {})})
    evaluation = evaluate_store(session, org_id, model, as_of, now=end_of(as_of))
    report = govern_store(session, org_id, model, evaluation.results, as_of=as_of, now=end_of(as_of))
    session.commit()
    return report


def run_weeks(
    session: Session, org_id: int, model: Model, plan: Mapping[dt.date, Mapping[str, float]], last: dt.date
) -> None:
    """Run every week up to ``last``, with ``plan`` giving each week's departures from steady values."""
    for week in WEEKS:
        if week > last:
            break
        run_week(session, org_id, model, week, plan.get(week))
