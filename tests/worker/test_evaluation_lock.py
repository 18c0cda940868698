"""On PostgreSQL an evaluation in progress keeps other workers out but lets pushes through."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from loop_processes import seed
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from onpace.connectors.base import FetchResult
from onpace.services.pull import evaluate_and_govern, ingest_fetched


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
