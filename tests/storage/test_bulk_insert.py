"""Bulk inserts from polars frames read back exactly like rows written through the ORM."""

from __future__ import annotations

import datetime as dt
from typing import cast

import polars as pl
import pytest
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from onpace.storage.bulk import insert_frame
from onpace.storage.tables import IngestRunRow, OrgRow, PointRow

NOW = dt.datetime(2026, 1, 5, 9, 30, 15, 123456, tzinfo=dt.UTC)
POINTS = cast(Table, PointRow.__table__)


def make_org(session: Session, name: str = "Bulk Co") -> int:
    org = OrgRow(name=name, week_start="monday", created_at=NOW, updated_at=NOW)
    session.add(org)
    session.flush()
    return org.id


def points(org_id: int, rows: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "org_id": [org_id] * rows,
            "metric": [f"m{i % 3}" for i in range(rows)],
            "date": [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(rows)],
            "value": [i / 7 for i in range(rows)],
            "source": ["csv"] * rows,
            "ingested_at": [NOW] * rows,
            "entered_by": [None if i % 2 else "ana" for i in range(rows)],
            "manual": [i % 2 == 0 for i in range(rows)],
            "version": [1] * rows,
            "approved": [True] * rows,
            "retro_flag": [False] * rows,
        },
        schema_overrides={"ingested_at": pl.Datetime("us", "UTC"), "entered_by": pl.String},
    )


def test_it_writes_every_row_with_exact_values(session: Session) -> None:
    org_id = make_org(session)
    frame = points(org_id, 25)
    seen: list[int] = []
    assert insert_frame(session, POINTS, frame, chunk_size=10, progress=seen.append) == 25
    assert seen == [10, 20, 25]
    rows = session.scalars(select(PointRow).where(PointRow.org_id == org_id).order_by(PointRow.date)).all()
    assert [r.value for r in rows] == frame["value"].to_list()
    assert [r.date for r in rows] == frame["date"].to_list()
    assert {r.ingested_at for r in rows} == {NOW}
    assert [r.entered_by for r in rows] == frame["entered_by"].to_list()
    assert [r.manual for r in rows] == frame["manual"].to_list()
    assert all(r.superseded_at is None for r in rows)


def test_rows_written_in_bulk_compare_like_orm_rows_in_queries(session: Session) -> None:
    org_id = make_org(session)
    insert_frame(session, POINTS, points(org_id, 4))
    later = session.scalars(
        select(PointRow.id).where(PointRow.org_id == org_id, PointRow.ingested_at >= NOW)
    ).all()
    assert len(later) == 4


def test_it_refuses_naive_datetimes(session: Session) -> None:
    org_id = make_org(session)
    frame = points(org_id, 1).with_columns(pl.col("ingested_at").dt.replace_time_zone(None))
    with pytest.raises(ValueError, match="naive"):
        insert_frame(session, POINTS, frame)


def test_it_names_columns_the_table_does_not_have(session: Session) -> None:
    with pytest.raises(ValueError, match="no column"):
        insert_frame(session, cast(Table, IngestRunRow.__table__), pl.DataFrame({"colour": ["red"]}))


def test_rows_of_every_shape_read_back_exactly(session: Session) -> None:
    # Text of several lengths and scripts, empty text, NULLs scattered through text, numbers and
    # times: on PostgreSQL the rows travel in the binary COPY format, grouped by layout.
    org_id = make_org(session)
    run = IngestRunRow(
        org_id=org_id,
        source="csv",
        started_at=NOW,
        finished_at=NOW,
        manual=False,
        total=0,
        accepted=0,
        unchanged=0,
        quarantined=0,
        status="ok",
    )
    session.add(run)
    session.flush()
    metrics = ["a", "débit", "日本の売上", "orders_per_day", "", "x" * 300]
    rows = 60
    frame = pl.DataFrame(
        {
            "org_id": [org_id] * rows,
            "metric": [metrics[i % len(metrics)] for i in range(rows)],
            "date": [dt.date(1999, 12, 31) + dt.timedelta(days=i * 97) for i in range(rows)],
            "value": [(-1) ** i * i / 3 for i in range(rows)],
            "source": ["csv" if i % 4 else "wms-eu" for i in range(rows)],
            "run_id": [run.id if i % 3 else None for i in range(rows)],
            "ingested_at": [NOW - dt.timedelta(days=i, microseconds=i) for i in range(rows)],
            "entered_by": [None if i % 5 else 'O\'Brien, "Ana"' for i in range(rows)],
            "manual": [i % 2 == 0 for i in range(rows)],
            "version": [1 + i % 4 for i in range(rows)],
            "approved": [i % 7 != 0 for i in range(rows)],
            "approved_at": [None if i % 2 else NOW + dt.timedelta(hours=i) for i in range(rows)],
            "retro_flag": [i % 6 == 0 for i in range(rows)],
        },
        schema_overrides={
            "ingested_at": pl.Datetime("us", "UTC"),
            "approved_at": pl.Datetime("us", "UTC"),
            "entered_by": pl.String,
            "run_id": pl.Int64,
        },
    )
    assert insert_frame(session, POINTS, frame, chunk_size=25) == rows
    stored = session.scalars(select(PointRow).where(PointRow.org_id == org_id)).all()
    fields = ("metric", "date", "value", "source", "run_id", "ingested_at", "entered_by", "manual")
    fields += ("version", "approved", "approved_at", "retro_flag")
    got = sorted(tuple(getattr(r, name) for name in fields) for r in stored)
    expected = sorted(
        (m, d, v, s, run_id, at, by, manual, version, approved, approved_at, retro)
        for m, d, v, s, run_id, at, by, manual, version, approved, approved_at, retro in frame.drop(
            "org_id"
        ).iter_rows()
    )
    assert got == expected


def test_a_column_with_one_value_throughout_is_stored_like_any_other(session: Session) -> None:
    org_id = make_org(session)
    frame = points(org_id, 3).with_columns(
        pl.lit("O'Brien; DROP TABLE points").alias("entered_by"),
        pl.lit(0.1 + 0.2).alias("value"),
    )
    insert_frame(session, POINTS, frame)
    rows = session.scalars(select(PointRow).where(PointRow.org_id == org_id)).all()
    assert {(r.entered_by, r.value, r.source, r.manual) for r in rows} == {
        ("O'Brien; DROP TABLE points", 0.1 + 0.2, "csv", True),
        ("O'Brien; DROP TABLE points", 0.1 + 0.2, "csv", False),
    }
