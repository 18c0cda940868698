"""Points of one metric and day from several sources: one source wins, nothing is summed."""

from __future__ import annotations

import datetime as dt

import polars as pl
from test_evaluate_world import WEEK_END, kpi, model, result

from onpace.domain.engine import evaluate_model
from onpace.domain.model import Plan
from onpace.domain.point_sources import one_source_per_day

D1, D2 = dt.date(2026, 1, 5), dt.date(2026, 1, 6)


def frame(rows: list[tuple[str, dt.date, float, str, int | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "metric": pl.String,
            "date": pl.Date,
            "value": pl.Float64,
            "source": pl.String,
            "run": pl.Int64,
        },
        orient="row",
    )


def kept(points: pl.DataFrame, declared: dict[str, str]) -> list[tuple[object, ...]]:
    return sorted(one_source_per_day(points, declared).select("metric", "date", "source").rows())


def test_the_declared_source_wins_over_a_later_backfill() -> None:
    points = frame([("k", D1, 10.0, "erp", 1), ("k", D1, 10.0, "csv", 2), ("k", D2, 11.0, "csv", 2)])
    assert kept(points, {"k": "erp"}) == [("k", D1, "erp"), ("k", D2, "csv")]


def test_without_a_declared_source_the_latest_ingest_wins() -> None:
    points = frame([("k", D1, 10.0, "drop", 3), ("k", D1, 12.0, "csv", 5)])
    assert kept(points, {}) == [("k", D1, "csv")]


def test_a_tie_is_settled_by_the_source_name_whatever_the_row_order() -> None:
    rows = [("k", D1, 10.0, "b", None), ("k", D1, 12.0, "a", None)]
    assert kept(frame(rows), {}) == kept(frame(rows[::-1]), {}) == [("k", D1, "a")]


def test_one_source_keeps_every_point_of_its_day() -> None:
    points = frame([("k", D1, 1.0, "erp", 1), ("k", D1, 2.0, "erp", 1), ("j", D1, 5.0, "csv", 1)])
    assert one_source_per_day(points, {"k": "erp"}).height == 3


def test_a_backfill_and_a_drop_folder_reporting_the_same_week_do_not_double_it() -> None:
    the_model = model(kpi("k", measure="flow", aggregate="sum", plan=Plan(per_bucket=70.0), source="erp"))
    days = [D1 + dt.timedelta(days=i) for i in range(7)]
    rows = [("k", day, 10.0, "erp", 1) for day in days] + [("k", day, 10.0, "csv", 2) for day in days]
    r = result(evaluate_model(the_model, frame(rows), WEEK_END[0]), "k")
    assert r.actual_to_date == 70.0
    assert r.status == "green"
