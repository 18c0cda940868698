"""The record checks every connector shares (connectors.base)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from onpace.connectors.base import RECORD_SCHEMA, FetchResult, SourceError, option_text, resolve_env, validate
from onpace.domain.model import Source

SOURCE = Source("wms", "csv")


def _check(rows: list[tuple[object, object, object]], source: Source = SOURCE) -> FetchResult:
    frame = pl.DataFrame(rows, schema=["metric", "date", "value"], orient="row", strict=False)
    return validate(frame, source=source, origin="feed.csv")


def test_good_rows_become_typed_records_with_the_source_and_line() -> None:
    result = _check([("orders", "2026-01-05", "120"), ("orders", "2026-01-06", " 1e3 ")])
    assert result.records.schema == pl.Schema(RECORD_SCHEMA)
    assert result.records.rows() == [
        ("orders", dt.date(2026, 1, 5), 120.0, "wms", 1),
        ("orders", dt.date(2026, 1, 6), 1000.0, "wms", 2),
    ]
    assert result.rejected == ()


@pytest.mark.parametrize(
    ("date", "day"),
    [
        ("2026-01-07", dt.date(2026, 1, 7)),
        ("2026-01-07T23:30:00", dt.date(2026, 1, 7)),
        ("2026-01-07 23:30", dt.date(2026, 1, 7)),
        ("2026-01-07T23:30:00Z", dt.date(2026, 1, 7)),
        ("2026-01-07T23:30:00.123-05:00", dt.date(2026, 1, 7)),
        ("2026-01-07T10:12:33.000+0000", dt.date(2026, 1, 7)),
    ],
)
def test_it_keeps_the_date_part_of_a_timestamp_as_written(date: str, day: dt.date) -> None:
    assert _check([("m", date, "1")]).records["date"].to_list() == [day]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (("", "2026-01-05", "1"), "missing metric"),
        ((None, "2026-01-05", "1"), "missing metric"),
        (("m", "", "1"), "missing date"),
        (("m", "2026-02-30", "1"), "unparseable date '2026-02-30'"),
        (("m", "07/01/2026", "1"), "unparseable date '07/01/2026'"),
        (("m", "2026-01-07Tnoon", "1"), "unparseable date '2026-01-07Tnoon'"),
        (("m", "2026-01-05", ""), "missing value"),
        (("m", "2026-01-05", "1,5"), "unparseable number '1,5'"),
        (("m", "2026-01-05", "twelve"), "unparseable number 'twelve'"),
        (("m", "2026-01-05", "NaN"), "value is not a finite number ('NaN')"),
        (("m", "2026-01-05", "inf"), "value is not a finite number ('inf')"),
        (("m", "2026-01-05", "-Infinity"), "value is not a finite number ('-Infinity')"),
    ],
)
def test_it_rejects_a_bad_row_with_its_line_and_reason(
    row: tuple[object, object, object], reason: str
) -> None:
    result = _check([("ok", "2026-01-05", "1"), row])
    assert result.records["metric"].to_list() == ["ok"]
    [bad] = result.rejected
    assert (bad.line, bad.locator, bad.reason) == (2, "feed.csv:2", reason)


def test_native_dates_and_numbers_pass_through() -> None:
    frame = pl.DataFrame(
        {
            "metric": ["a", "b"],
            "date": [dt.datetime(2026, 1, 5, 8), dt.datetime(2026, 1, 6)],
            "value": [1.0, float("nan")],
        }
    )
    result = validate(frame, source=SOURCE, origin="q")
    assert result.records.rows() == [("a", dt.date(2026, 1, 5), 1.0, "wms", 1)]
    assert result.rejected[0].reason.startswith("value is not a finite number")


def test_a_source_column_overrides_the_source_id_unless_empty() -> None:
    frame = pl.DataFrame(
        {"metric": ["a", "a"], "date": ["2026-01-05"] * 2, "value": ["1", "2"], "source": ["crm", " "]}
    )
    assert validate(frame, source=SOURCE, origin="x").records["source"].to_list() == ["crm", "wms"]


def test_restrict_to_rejects_unknown_metrics() -> None:
    result = _check([("orders", "2026-01-05", "1"), ("ordres", "2026-01-05", "2")]).restrict_to({"orders"})
    assert result.records["metric"].to_list() == ["orders"]
    assert [(r.line, r.reason) for r in result.rejected] == [(2, "unknown metric 'ordres'")]


def test_the_aggregate_option_folds_records_per_metric_and_day() -> None:
    source = Source("jira", "http", options={"aggregate": "count"})
    result = _check(
        [("bugs", "2026-01-05T10:00", "1"), ("bugs", "2026-01-05T12:00", "1"), ("bugs", "2026-01-06", "1")],
        source,
    )
    assert result.records.select("date", "value").rows() == [
        (dt.date(2026, 1, 5), 2.0),
        (dt.date(2026, 1, 6), 1.0),
    ]
    with pytest.raises(SourceError, match="option 'aggregate' must be one of"):
        _check([("bugs", "2026-01-05", "1")], Source("jira", "http", options={"aggregate": "median"}))


def test_resolve_env_reads_the_named_variable_and_names_a_missing_one() -> None:
    assert resolve_env("env:DB_URL", {"DB_URL": "sqlite://"}) == "sqlite://"
    assert resolve_env("postgresql://x", {}) == "postgresql://x"
    with pytest.raises(SourceError) as caught:
        resolve_env("env:ONPACE_SOURCE_DB_URL", {}, source="wms", option="url")
    assert caught.value.permanent
    assert (
        str(caught.value) == "source wms: environment variable ONPACE_SOURCE_DB_URL is not set (option 'url')"
    )


def test_a_missing_required_option_is_a_permanent_error_naming_it() -> None:
    with pytest.raises(SourceError) as caught:
        option_text(Source("wms", "sql"), "query", {})
    assert caught.value.permanent
    assert str(caught.value) == "source wms: option 'query' is required for kind sql"
