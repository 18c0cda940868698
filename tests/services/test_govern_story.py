"""A small story for the governance service tests: a model file, twelve weeks of actuals, check-ins.

Throughput (lee, ops) runs at plan (100/day) except weeks 4–5 and 9 (80/day: red). API errors
(raj, IT) are the health of the hand-off D1 (IT → Ops, due 2026-02-15, never delivered) and spike
to amber in week 3. Maria reports KR1 green every week. No tests here: builders only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from sqlalchemy.orm import Session

from onpace.domain.calendar import end_of_day
from onpace.domain.model import Model
from onpace.modelfile import parse_model_text
from onpace.services.evaluate_service import evaluate_store
from onpace.services.govern import GovernReport, govern_store
from onpace.services.ingest import ingest_frame
from onpace.services.model_store import save_model

MODEL = """\
org: Storyco
calendar: {week_start: monday}
units:
  - {id: exec, name: Executive team, head: ceo}
  - {id: ops, name: Operations, parent: exec, head: maria}
  - {id: it, name: IT, parent: exec, head: raj}
people:
  - {id: ceo, name: Dana Ortiz, email: dana@story.example, unit: exec}
  - {id: maria, name: Maria Chen, email: maria@story.example, unit: ops}
  - {id: lee, name: Lee Park, email: lee@story.example, unit: ops}
  - {id: raj, name: Raj Iyer, email: raj@story.example, unit: it}
cycles:
  - {id: 2026-Q1, start: 2026-01-05, end: 2026-03-29}
objectives:
  - id: O1
    title: Ship more orders
    cycle: 2026-Q1
    unit: exec
    owner: ceo
    key_results:
      - {id: KR1, title: Throughput at 100 a day, owner: maria, kpi: throughput, weight: 1}
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
  - id: api_errors
    title: API error rate (%)
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
    feeds: [{kr: KR1, weight: 0.2}]
dependencies:
  - id: D1
    title: Order API for the warehouse
    provider: {unit: it, owner: raj}
    consumer: {unit: ops, owner: maria}
    due: 2026-02-15
    kpi: api_errors
    blocks: [KR1]
sources:
  - {id: wms, kind: push}
policy:
  open_case_on: [red, at_risk, threatened, mirage, stale, dependency_late, hygiene]
  sla: {explain: 2d, act: 5d}
  escalation: [owner, unit_head, parent_unit_head]
  auto_resolve_after: 2
"""

START = dt.date(2026, 1, 5)
RED_WEEKS = {3, 4, 8}  # zero-based: weeks 4, 5 and 9
AMBER_ERROR_WEEK = 2  # zero-based: week 3


def story_model() -> Model:
    """Return the story's model."""
    return parse_model_text(MODEL, "story.yaml")


def actual_rows(days: int = 84) -> list[tuple[str, dt.date, float]]:
    """Return (metric, date, value) for every day of the story."""
    rows = []
    for offset in range(days):
        day = START + dt.timedelta(days=offset)
        week = offset // 7
        rows.append(("throughput", day, 80.0 if week in RED_WEEKS else 100.0))
        rows.append(("api_errors", day, 1.6 if week == AMBER_ERROR_WEEK else 0.5))
    return rows


def write_story(folder: Path, *, checkins: bool = True) -> tuple[Path, Path, Path | None]:
    """Write the model, actuals and check-ins files; return their paths."""
    model = folder / "onpace.yaml"
    model.write_text(MODEL, encoding="utf-8")
    actuals = folder / "actuals.csv"
    lines = ["metric,date,value,source"]
    lines += [f"{metric},{day.isoformat()},{value},wms" for metric, day, value in actual_rows()]
    actuals.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if not checkins:
        return model, actuals, None
    path = folder / "checkins.csv"
    rows = ["subject,date,status,confidence,by,comment"]
    rows += [
        f"KR1,{(START + dt.timedelta(days=6 + 7 * w)).isoformat()},green,8,maria,On track" for w in range(12)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return model, actuals, path


def load_story(session: Session, up_to: dt.date) -> tuple[int, Model]:
    """Store the story's model and its actuals dated up to ``up_to``; return the org id and model."""
    model = story_model()
    org_id = save_model(session, model, by="test", now=end_of_day(START)).org_id
    add_actuals(session, org_id, model, START, up_to)
    return org_id, model


def add_actuals(session: Session, org_id: int, model: Model, first: dt.date, last: dt.date) -> None:
    """Ingest the story's actuals dated from ``first`` to ``last``."""
    rows = [r for r in actual_rows() if first <= r[1] <= last]
    frame = pl.DataFrame(
        rows, schema={"metric": pl.String, "date": pl.Date, "value": pl.Float64}, orient="row"
    )
    ingest_frame(
        session,
        org_id,
        frame.with_columns(pl.lit("wms").alias("source")),
        source="wms",
        run_by="test",
        manual=False,
        now=end_of_day(last),
        known_metrics={k.id for k in model.kpis},
    )


def step(session: Session, org_id: int, model: Model, as_of: dt.date) -> GovernReport:
    """Evaluate and govern as of ``as_of`` (the end of that day is 'now')."""
    now = end_of_day(as_of)
    evaluation = evaluate_store(session, org_id, model, as_of, now=now)
    return govern_store(session, org_id, model, evaluation.results, as_of=as_of, now=now)
