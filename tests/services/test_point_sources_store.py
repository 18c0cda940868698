"""A backfill and the declared source report the same days: the store's evaluation counts one source."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy.orm import Session
from test_govern_story import START, load_story

from onpace.domain.calendar import end_of_day
from onpace.services.evaluate_service import evaluate_store
from onpace.services.ingest import ingest_frame


def test_a_backfill_of_days_the_declared_source_already_sent_changes_nothing(session: Session) -> None:
    week_end = START + dt.timedelta(days=6)
    org_id, model = load_story(session, week_end)
    before = evaluate_store(session, org_id, model, week_end, now=end_of_day(week_end), store=False)
    days = [START + dt.timedelta(days=i) for i in range(7)]
    backfill = pl.DataFrame(
        {"metric": ["throughput"] * 7, "date": days, "value": [50.0] * 7, "source": ["backfill"] * 7}
    )
    later = end_of_day(week_end) + dt.timedelta(hours=1)
    ingest_frame(
        session,
        org_id,
        backfill,
        source="backfill",
        run_by="test",
        manual=False,
        now=later,
        known_metrics={k.id for k in model.kpis},
    )
    after = evaluate_store(session, org_id, model, week_end, now=later, store=False)
    assert before.results["throughput"].actual_to_date == 100.0
    assert after.results["throughput"].actual_to_date == 100.0
    assert after.results["throughput"].status == "green"


def test_days_only_the_backfill_reports_are_counted(session: Session) -> None:
    week_end = START + dt.timedelta(days=6)
    org_id, model = load_story(session, START + dt.timedelta(days=2))
    days = [START + dt.timedelta(days=i) for i in range(3, 7)]
    backfill = pl.DataFrame(
        {"metric": ["throughput"] * 4, "date": days, "value": [93.0] * 4, "source": ["backfill"] * 4}
    )
    ingest_frame(
        session,
        org_id,
        backfill,
        source="backfill",
        run_by="test",
        manual=False,
        now=end_of_day(week_end),
        known_metrics={k.id for k in model.kpis},
    )
    result = evaluate_store(session, org_id, model, week_end, now=end_of_day(week_end), store=False)
    assert result.results["throughput"].actual_to_date == (3 * 100.0 + 4 * 93.0) / 7
