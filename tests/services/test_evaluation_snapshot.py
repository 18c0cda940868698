"""An evaluation from the worker's kept snapshot, brought up to date run by run, equals a full one.

So do the points a process that keeps nothing yet reads from the store's cache of the window.

Random changes — new points, corrections, a second source, the first points of a KPI, points of
a formula's inputs (one read by a nested formula), points outside the window, a
manual entry awaiting approval, now and then a plan change — are ingested one run at a time. After
each, the worker's way (the snapshot, refreshed from the runs since, and the verdicts stored
from it) is compared with an evaluation read from scratch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import polars as pl
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onpace.domain.calendar import end_of_day
from onpace.domain.model import Model, Plan
from onpace.domain.read_window import evaluation_metrics, evaluation_window
from onpace.modelfile import parse_model_text
from onpace.services import points_cache
from onpace.services.evaluate_service import (
    VERDICT_COLUMNS,
    evaluate_store,
    evaluation_rows,
    store_evaluation,
)
from onpace.services.evaluation_snapshot import SnapshotCache
from onpace.services.ingest import ingest_frame
from onpace.services.manual_approval import Decider, decide
from onpace.services.model_store import load_model, save_model
from onpace.storage.repositories import points_repo
from onpace.storage.tables import EvaluationRow, PointsCacheRow

START = dt.date(2026, 1, 5)
AS_OF = START + dt.timedelta(days=40)

MODEL = f"""
org: Snapshot check
units:
  - {{id: ops, name: Operations, head: olga}}
people:
  - {{id: olga, name: Olga Berg, email: olga@example.com, unit: ops}}
cycles:
  - {{id: q1, start: {START}, end: {START + dt.timedelta(days=83)}}}
objectives:
  - id: O1
    title: Deliver
    cycle: q1
    unit: ops
    owner: olga
    key_results:
      - {{id: KR1, title: Fed, owner: olga, weight: 2}}
      - {{id: KR2, title: Measured, owner: olga, kpi: monthly}}
  - id: O2
    title: Grow
    cycle: q1
    unit: ops
    owner: olga
    key_results:
      - id: KR3
        title: Own series
        owner: olga
        measure: flow
        grain: week
        aggregate: sum
        plan: {{per_bucket: 70}}
      - {{id: KR4, title: By formula, owner: olga}}
  - id: O3
    title: Apart
    cycle: q1
    unit: ops
    owner: olga
    key_results:
      - {{id: KR5, title: Alone, owner: olga}}
kpis:
  - {{id: solo, title: Solo, unit: ops, owner: olga, measure: level, grain: day, aggregate: mean,
      plan: {{per_bucket: 50}}, source: feed, feeds: [{{kr: KR5, weight: 1}}]}}
  - {{id: daily, title: Daily, unit: ops, owner: olga, measure: flow, grain: day, aggregate: sum,
      plan: {{per_bucket: 10}}, source: feed, feeds: [{{kr: KR1, weight: 0.6}}]}}
  - {{id: weekly, title: Weekly, unit: ops, owner: olga, measure: level, grain: week, aggregate: mean,
      plan: {{per_bucket: 100}}, source: feed, feeds: [{{kr: KR1, weight: 0.4}}]}}
  - {{id: monthly, title: Monthly, unit: ops, owner: olga, measure: flow, grain: month, aggregate: sum,
      plan: {{per_bucket: 300}}, source: feed}}
  - {{id: unused, title: Never sent, unit: ops, owner: olga, measure: level, grain: week, aggregate: last,
      plan: {{per_bucket: 5}}, source: feed, constraint: true}}
  - {{id: extra, title: Extra, unit: ops, owner: olga, measure: level, grain: week, aggregate: last,
      plan: {{per_bucket: 1}}, source: feed, constraint: true}}
  - {{id: ratio, title: Ratio, unit: ops, owner: olga, formula: daily / weekly, grain: week, direction: up,
      plan: {{per_bucket: 0.7}}, feeds: [{{kr: KR4, weight: 1}}]}}
  - {{id: twice, title: Twice, unit: ops, owner: olga, formula: ratio * 2 + extra, grain: week,
      plan: {{per_bucket: 1.4}}, constraint: true}}
sources:
  - {{id: feed, kind: push}}
  - {{id: backfill, kind: push}}
"""

METRICS = ("daily", "weekly", "monthly", "unused", "KR3", "extra", "solo", "solo")


def the_model() -> Model:
    return parse_model_text(MODEL, "snapshot.yaml")


def ingest(
    session: Session,
    org_id: int,
    rows: list[tuple[str, dt.date, float]],
    *,
    source: str,
    at: int,
    manual: bool = False,
    approved: bool = True,
) -> None:
    frame = pl.DataFrame(
        [(m, d, v, source) for m, d, v in rows],
        schema={"metric": pl.String, "date": pl.Date, "value": pl.Float64, "source": pl.String},
        orient="row",
    )
    ingest_frame(
        session,
        org_id,
        frame,
        source=source,
        run_by="test",
        manual=manual,
        approved=approved,
        now=end_of_day(START) + dt.timedelta(minutes=at),
        known_metrics=set(METRICS),
    )


def random_change(
    rng: random.Random, session: Session, org_id: int, sent: list[tuple[str, dt.date, str]], step: int
) -> str:
    """Apply one random change through ingest (or, now and then, a plan change); return its kind."""
    kind = rng.choice(
        [
            "points",
            "points",
            "correction",
            "second_source",
            "first_points",
            "formula_input",
            "outside",
            "manual",
            "approve",
            "reject",
            "plan",
        ]
    )
    day = START + dt.timedelta(days=rng.randrange(0, 41))
    if kind == "correction" and sent:
        metric, day, source = rng.choice(sent)
        ingest(session, org_id, [(metric, day, round(rng.uniform(0, 200), 2))], source=source, at=step)
    elif kind == "second_source" and sent:
        metric, day, _ = rng.choice(sent)
        ingest(session, org_id, [(metric, day, round(rng.uniform(0, 200), 2))], source="backfill", at=step)
        sent.append((metric, day, "backfill"))
    elif kind == "first_points":
        ingest(session, org_id, [("unused", day, rng.uniform(0, 10))], source="feed", at=step)
        sent.append(("unused", day, "feed"))
    elif kind == "formula_input":
        metric = rng.choice(["extra", "weekly", "daily"])
        ingest(session, org_id, [(metric, day, rng.uniform(0, 150))], source="feed", at=step)
        sent.append((metric, day, "feed"))
    elif kind == "outside":
        # Before the cycle and after the as-of date: no evaluation reads them.
        early, late = START - dt.timedelta(days=3), AS_OF + dt.timedelta(days=2)
        ingest(session, org_id, [("daily", early, 1e6), ("weekly", late, -5.0)], source="feed", at=step)
    elif kind in ("approve", "reject") and points_repo.pending_approval(session, org_id):
        # The unit head decides one pending entry: approving puts its points in force.
        entry = rng.choice(points_repo.pending_approval(session, org_id)).run_id
        decide(
            session,
            org_id,
            the_model(),
            approve=kind == "approve",
            who=Decider("olga", person="olga"),
            now=end_of_day(START) + dt.timedelta(minutes=step),
            run=entry,
        )
    elif kind in ("manual", "approve", "reject"):
        metric = rng.choice(["weekly", "daily", "KR3"])
        ingest(
            session,
            org_id,
            [(metric, day, round(rng.uniform(0, 150), 2))],
            source="feed",
            at=step,
            manual=True,
            approved=False,
        )
        sent.append((metric, day, "feed"))
        kind = "manual"
    elif kind == "plan":
        model = load_model(session, "Snapshot check")
        kpis = tuple(
            dataclasses.replace(k, plan=Plan(per_bucket=rng.choice([9.0, 10.0, 11.0])))
            if k.id == "daily"
            else k
            for k in model.kpis
        )
        save_model(
            session,
            dataclasses.replace(model, kpis=kpis),
            by="test",
            now=end_of_day(START) + dt.timedelta(minutes=step),
        )
    else:
        metric = rng.choice(METRICS)
        days = sorted({START + dt.timedelta(days=rng.randrange(0, 41)) for _ in range(rng.randrange(1, 6))})
        ingest(
            session,
            org_id,
            [(metric, d, round(rng.uniform(0, 150), 2)) for d in days],
            source="feed",
            at=step,
        )
        sent += [(metric, d, "feed") for d in days]
        kind = "points"
    return kind


def stored_verdicts(session: Session, org_id: int) -> set[tuple[object, ...]]:
    table = EvaluationRow.__table__
    rows = session.execute(
        select(*(table.c[name] for name in VERDICT_COLUMNS)).where(
            table.c.org_id == org_id, table.c.as_of == AS_OF
        )
    ).mappings()
    return {tuple(tuple(r[n] or ()) if n == "threatened_by" else r[n] for n in VERDICT_COLUMNS) for r in rows}


@pytest.mark.parametrize("seed", range(4))
def test_an_evaluation_kept_up_to_date_run_by_run_equals_a_full_one(session: Session, seed: int) -> None:
    rng = random.Random(seed)
    org_id = save_model(session, the_model(), by="test", now=end_of_day(START)).org_id
    ingest(
        session,
        org_id,
        [("daily", START + dt.timedelta(days=i), 10.0) for i in range(20)],
        source="feed",
        at=0,
    )
    sent: list[tuple[str, dt.date, str]] = [
        ("daily", START + dt.timedelta(days=i), "feed") for i in range(20)
    ]
    cache = SnapshotCache()
    refreshed = []
    for step in range(1, 16):
        random_change(rng, session, org_id, sent, step)
        if rng.random() < 0.2:  # now and then two runs before the next evaluation
            random_change(rng, session, org_id, sent, step)
        snapshot = cache.snapshot(session, org_id, AS_OF)
        refreshed.append(snapshot.refreshed if snapshot.base is None else "parts")
        now = end_of_day(AS_OF)
        store_evaluation(session, org_id, AS_OF, snapshot.evaluation.results, now=now)

        full = evaluate_store(
            session, org_id, load_model(session, "Snapshot check"), AS_OF, now=now, store=False
        )
        assert snapshot.evaluation.results == full.results, f"seed {seed}, step {step}"
        # Governance also reads the lead-lag check (hygiene findings).
        assert snapshot.evaluation.leadlag.sort("kpi", "kr").equals(full.leadlag.sort("kpi", "kr"))
        wanted = {
            tuple(tuple(r[n] or ()) if n == "threatened_by" else r[n] for n in VERDICT_COLUMNS)
            for r in evaluation_rows(org_id, full.results, now=now)
        }
        assert stored_verdicts(session, org_id) == wanted, f"seed {seed}, step {step}"
    # The runs since the last evaluation were read, and only their parts evaluated, most of the time.
    assert refreshed.count("parts") >= 5


def test_the_snapshot_is_read_again_when_the_date_changes(session: Session) -> None:
    org_id = save_model(session, the_model(), by="test", now=end_of_day(START)).org_id
    ingest(session, org_id, [("daily", START, 10.0)], source="feed", at=0)
    cache = SnapshotCache()
    assert cache.snapshot(session, org_id, AS_OF).refreshed == "full"
    first = cache.snapshot(session, org_id, AS_OF)
    assert first.refreshed == "full"
    assert cache.snapshot(session, org_id, AS_OF) is first
    assert cache.snapshot(session, org_id, AS_OF + dt.timedelta(days=1)).refreshed == "full"


def test_storing_an_evaluation_again_rewrites_only_the_verdicts_that_changed(session: Session) -> None:
    org_id = save_model(session, the_model(), by="test", now=end_of_day(START)).org_id
    ingest(
        session,
        org_id,
        [("daily", START + dt.timedelta(days=i), 10.0) for i in range(20)],
        source="feed",
        at=0,
    )
    cache = SnapshotCache()
    now = end_of_day(AS_OF)
    first = cache.snapshot(session, org_id, AS_OF).evaluation.results
    assert store_evaluation(session, org_id, AS_OF, first, now=now) == len(first)
    assert store_evaluation(session, org_id, AS_OF, first, now=now) == 0
    ingest(session, org_id, [("monthly", START, 999.0)], source="feed", at=1)
    second = cache.snapshot(session, org_id, AS_OF).evaluation.results
    changed = {s for s in second if second[s] != first[s]}
    assert "monthly" in changed
    assert "daily" not in changed
    assert store_evaluation(session, org_id, AS_OF, second, now=now) == len(changed)


def test_the_kept_model_serves_deliveries_until_the_model_changes(session: Session) -> None:
    org_id = save_model(session, the_model(), by="test", now=end_of_day(START)).org_id
    cache = SnapshotCache()
    kept = cache.snapshot(session, org_id, AS_OF).model
    ingest(session, org_id, [("daily", START, 10.0)], source="feed", at=1)
    assert cache.current_model(session, org_id) is kept
    renamed = dataclasses.replace(
        kept, kpis=tuple(dataclasses.replace(k, title="Renamed") if k.id == "daily" else k for k in kept.kpis)
    )
    save_model(session, renamed, by="test", now=end_of_day(START) + dt.timedelta(minutes=2))
    fresh = cache.current_model(session, org_id)
    assert fresh is not kept
    assert next(k.title for k in fresh.kpis if k.id == "daily") == "Renamed"


def full_points(session: Session, org_id: int) -> pl.DataFrame:
    model = load_model(session, "Snapshot check")
    return points_repo.points_frame(
        session, org_id, AS_OF, since=evaluation_window(model, AS_OF), metrics=evaluation_metrics(model)
    )


def window_points(session: Session, org_id: int) -> points_cache.WindowPoints:
    model = load_model(session, "Snapshot check")
    return points_cache.read_window_points(
        session, org_id, as_of=AS_OF, since=evaluation_window(model, AS_OF), metrics=evaluation_metrics(model)
    )


@pytest.mark.parametrize("seed", range(4))
def test_points_read_from_the_stores_cache_after_random_runs_equal_a_full_read(
    session: Session, seed: int
) -> None:
    rng = random.Random(seed)
    org_id = save_model(session, the_model(), by="test", now=end_of_day(START)).org_id
    ingest(
        session,
        org_id,
        [("daily", START + dt.timedelta(days=i), 10.0) for i in range(20)],
        source="feed",
        at=0,
    )
    sent: list[tuple[str, dt.date, str]] = [
        ("daily", START + dt.timedelta(days=i), "feed") for i in range(20)
    ]
    decided: list[str] = []
    first = window_points(session, org_id)
    assert first.behind == points_cache.NO_CACHE
    assert points_cache.keep_window_points(session, org_id, first, now=end_of_day(AS_OF))
    used = 0
    for step in range(1, 16):
        before = points_cache.store_head(session, org_id)
        kind = random_change(rng, session, org_id, sent, step)
        window = window_points(session, org_id)
        assert window.points.equals(full_points(session, org_id)), f"seed {seed}, step {step}, {kind}"
        if kind == "plan" and points_cache.store_head(session, org_id) != before:
            # A change to the model is not an ingest run: the cache cannot be brought up to date.
            assert window.behind == points_cache.NO_CACHE
        if kind in ("approve", "reject"):
            # A decision names its runs: the cache is brought up to date, not read again.
            assert window.behind < points_cache.NO_CACHE, f"seed {seed}, step {step}, {kind}"
            decided.append(kind)
        used += window.behind < points_cache.NO_CACHE
        # As an evaluation that stores its verdicts would: written again when missing.
        points_cache.keep_window_points(session, org_id, window, now=end_of_day(AS_OF))
        # A process that keeps nothing yet starts from the cache and evaluates as a full read does.
        cold = SnapshotCache().snapshot(session, org_id, AS_OF)
        full = evaluate_store(
            session, org_id, load_model(session, "Snapshot check"), AS_OF, now=end_of_day(AS_OF), store=False
        )
        assert cold.evaluation.results == full.results, f"seed {seed}, step {step}, {kind}"
    assert used >= 10
    assert decided, f"seed {seed}: no approval or rejection was tried"


def test_a_damaged_cache_is_read_past_and_written_again(session: Session) -> None:
    org_id = save_model(session, the_model(), by="test", now=end_of_day(START)).org_id
    ingest(session, org_id, [("daily", START, 10.0), ("weekly", START, 90.0)], source="feed", at=0)
    assert points_cache.keep_window_points(
        session, org_id, window_points(session, org_id), now=end_of_day(AS_OF)
    )
    kept = window_points(session, org_id)
    assert kept.behind == 0
    assert not points_cache.keep_window_points(session, org_id, kept, now=end_of_day(AS_OF))
    session.execute(update(PointsCacheRow).values(points=b"not arrow at all"))
    damaged = window_points(session, org_id)
    assert damaged.behind == points_cache.NO_CACHE
    assert damaged.points.equals(full_points(session, org_id))
    assert points_cache.keep_window_points(session, org_id, damaged, now=end_of_day(AS_OF))
    assert window_points(session, org_id).behind == 0


def test_the_cache_of_a_window_serves_the_next_day_of_the_same_cycles(session: Session) -> None:
    org_id = save_model(session, the_model(), by="test", now=end_of_day(START)).org_id
    later = AS_OF + dt.timedelta(days=1)
    ingest(session, org_id, [("daily", AS_OF, 10.0), ("daily", later, 12.0)], source="feed", at=0)
    assert points_cache.keep_window_points(
        session, org_id, window_points(session, org_id), now=end_of_day(AS_OF)
    )
    model = load_model(session, "Snapshot check")
    since = evaluation_window(model, later)
    assert since == evaluation_window(model, AS_OF)
    next_day = points_cache.read_window_points(
        session, org_id, as_of=later, since=since, metrics=evaluation_metrics(model)
    )
    assert next_day.behind == 0
    full = points_repo.points_frame(session, org_id, later, since=since, metrics=evaluation_metrics(model))
    assert next_day.points.equals(full)
    assert next_day.points.filter(pl.col("date") == later)["value"].to_list() == [12.0]
