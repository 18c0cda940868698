"""Moments in the actuals fall on the organisation's local date."""

from __future__ import annotations

import datetime as dt
import uuid

import polars as pl
from sqlalchemy.orm import Session

from onpace.services.ingest import ingest_frame
from onpace.storage.repositories import points_repo
from onpace.storage.tables import OrgRow

NOW = dt.datetime(2026, 1, 20, 6, 0, tzinfo=dt.UTC)


def org(session: Session, timezone: str) -> int:
    row = OrgRow(
        name=f"Org {uuid.uuid4().hex[:8]}",
        week_start="monday",
        timezone=timezone,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(row)
    session.flush()
    return row.id


def dates_of(session: Session, org_id: int, written: list[str]) -> list[dt.date]:
    frame = pl.DataFrame(
        {"metric": ["orders"] * len(written), "date": written, "value": [1.0] * len(written)}
    )
    report = ingest_frame(
        session, org_id, frame, source="drop", run_by="test", manual=False, now=NOW, known_metrics={"orders"}
    )
    assert report.quarantined == 0
    return sorted(points_repo.points_frame(session, org_id)["date"].to_list())


def test_a_moment_with_an_offset_falls_on_its_local_date(session: Session) -> None:
    oslo = org(session, "Europe/Oslo")
    found = dates_of(session, oslo, ["2026-01-18T23:30:00Z", "2026-01-17T23:30:00+01:00", "2026-01-16"])
    assert found == [dt.date(2026, 1, 16), dt.date(2026, 1, 17), dt.date(2026, 1, 19)]


def test_a_time_without_an_offset_is_the_local_date_as_written(session: Session) -> None:
    oslo = org(session, "Europe/Oslo")
    assert dates_of(session, oslo, ["2026-01-18T23:30:00"]) == [dt.date(2026, 1, 18)]


def test_in_a_utc_organisation_the_date_is_the_one_written(session: Session) -> None:
    utc = org(session, "UTC")
    assert dates_of(session, utc, ["2026-01-18T23:30:00Z"]) == [dt.date(2026, 1, 18)]
