"""An evaluation in progress keeps other workers out but lets pushes through, and never stores stale verdicts."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from loop_processes import seed
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from onpace.connectors.base import FetchResult
from onpace.services.pull import evaluate_and_govern, ingest_fetched, prepare_evaluation
from onpace.storage.tables import EvaluationRow


def test_a_push_is_stored_while_an_evaluation_holds_the_organisation(store: Engine) -> None:
    if store.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite writers take turns on the whole file")
    today = dt.datetime.now(dt.UTC).date()
    seed(store, today, kpis=2)
    now = dt.datetime.now(dt.UTC)
    frame = pl.DataFrame(
        {"metric": ["k0"], "date": [today], "value": [50.0]},
        schema={"metric": pl.String, "date": pl.Date, "value": pl.Float64},
    )
    with Session(store) as evaluating:
        evaluate_and_govern(evaluating, 1, as_of=today, now=now)  # holds the organisation, not committed
        with Session(store) as pushing, pushing.begin():
            pushing.execute(text("SET LOCAL lock_timeout = '3s'"))
            report = ingest_fetched(pushing, 1, "feed", FetchResult(frame), now=now, known={"k0", "k1"})
        assert report.added == 1
        evaluating.commit()


def test_an_evaluation_prepared_before_new_data_is_not_the_one_stored(store: Engine) -> None:
    today = dt.datetime.now(dt.UTC).date()
    seed(store, today, kpis=2)
    now = dt.datetime.now(dt.UTC)

    def push(value: float) -> None:
        frame = pl.DataFrame(
            {"metric": ["k0"], "date": [today], "value": [value]},
            schema={"metric": pl.String, "date": pl.Date, "value": pl.Float64},
        )
        with Session(store) as session, session.begin():
            ingest_fetched(session, 1, "feed", FetchResult(frame), now=now, known={"k0", "k1"})

    push(100.0)
    unchanged = prepare_evaluation(store, 1, as_of=today, now=now)
    with Session(store) as session, session.begin():
        evaluate_and_govern(session, 1, as_of=today, now=now, prepared=unchanged)
    assert stored_actual(store, "k0") == 100.0

    stale = prepare_evaluation(store, 1, as_of=today, now=now)
    push(20.0)  # a correction lands while the prepared evaluation waits for the lock
    with Session(store) as session, session.begin():
        report = evaluate_and_govern(session, 1, as_of=today, now=now, prepared=stale)
    assert stored_actual(store, "k0") == 20.0
    assert any(event.subject == "k0" for event in report.events)  # the breach is governed, not missed


def stored_actual(store: Engine, subject: str) -> float | None:
    with Session(store) as session:
        row = session.scalars(select(EvaluationRow).where(EvaluationRow.subject == subject)).one()
        return row.actual_to_date
