"""Ingesting actuals: bad rows quarantined by line, corrections versioned, re-runs idempotent."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.services.ingest import IngestError, ingest_csv, ingest_frame, read_actuals_csv, record_failed_run
from onpace.storage.repositories import points_repo, runs_repo
from onpace.storage.tables import EvaluationRow, IngestRunRow, OrgRow, PointRow

NOW = dt.datetime(2026, 1, 12, 6, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)
KNOWN = ("orders", "uptime", "KR3")
D5, D6, D7 = dt.date(2026, 1, 5), dt.date(2026, 1, 6), dt.date(2026, 1, 7)


def make_org(session: Session) -> int:
    org = OrgRow(name=f"Org {uuid.uuid4().hex[:8]}", week_start="monday", created_at=NOW, updated_at=NOW)
    session.add(org)
    session.flush()
    return org.id


def write(tmp_path: Path, text: str, name: str = "actuals.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def ingest(session: Session, org: int, path: Path, *, now: dt.datetime = NOW, **options: object):  # type: ignore[no-untyped-def]
    options.setdefault("run_by", "pipeline")
    options.setdefault("known_metrics", KNOWN)
    return ingest_csv(session, org, path, now=now, **options)  # type: ignore[arg-type]


def in_force(session: Session, org: int) -> list[tuple[object, ...]]:
    return points_repo.points_frame(session, org).select("metric", "date", "value", "source").rows()


def evaluated(session: Session, org: int, subject: str, as_of: dt.date) -> None:
    session.add(
        EvaluationRow(
            org_id=org,
            subject=subject,
            level="kpi",
            as_of=as_of,
            status="green",
            at_risk=False,
            stale=False,
            threatened_by=[],
            created_at=NOW,
        )
    )
    session.flush()


def test_good_rows_are_stored_with_their_lineage(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    path = write(tmp_path, "metric,date,value,source\norders,2026-01-05,410,shop\nuptime,2026-01-05,99.9,\n")
    report = ingest(session, org, path, source="nightly")
    assert (report.total, report.added, report.quarantined) == (2, 2, 0)
    assert in_force(session, org) == [("orders", D5, 410.0, "shop"), ("uptime", D5, 99.9, "nightly")]
    rows = session.scalars(select(PointRow).where(PointRow.org_id == org)).all()
    assert {(r.run_id, r.ingested_at, r.manual, r.entered_by, r.version) for r in rows} == {
        (report.run_id, NOW, False, None, 1)
    }
    run = session.get(IngestRunRow, report.run_id)
    assert run is not None
    assert (run.source, run.origin, run.run_by, run.status, run.accepted) == (
        "nightly",
        str(path),
        "pipeline",
        "ok",
        2,
    )


def test_manual_entries_are_labelled_with_the_person(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    path = write(tmp_path, "metric,date,value\norders,2026-01-05,12\n")
    ingest(session, org, path, source="manual", manual=True, run_by="maria")
    row = session.scalars(select(PointRow).where(PointRow.org_id == org)).one()
    assert (row.manual, row.entered_by, row.source) == (True, "maria", "manual")
    assert points_repo.points_frame(session, org)["manual"].to_list() == [True]


def test_ingesting_the_same_data_again_adds_nothing(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    path = write(tmp_path, "metric,date,value\norders,2026-01-05,410\norders,2026-01-06,415\n")
    ingest(session, org, path)
    again = ingest(session, org, path, now=LATER)
    assert (again.added, again.corrected, again.unchanged) == (0, 0, 2)
    assert len(session.scalars(select(PointRow).where(PointRow.org_id == org)).all()) == 2


def test_a_changed_value_is_a_new_version_and_the_old_one_is_kept(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    ingest(session, org, write(tmp_path, "metric,date,value\norders,2026-01-05,410\norders,2026-01-06,415\n"))
    report = ingest(
        session, org, write(tmp_path, "metric,date,value\norders,2026-01-05,420\n", "fix.csv"), now=LATER
    )
    assert (report.added, report.corrected, report.retro) == (0, 1, 0)
    assert in_force(session, org) == [("orders", D5, 420.0, "csv"), ("orders", D6, 415.0, "csv")]
    history = points_repo.point_history(session, org, "orders", last=D5)
    assert [(p.version, p.value, p.superseded_at) for p in history] == [(1, 410.0, LATER), (2, 420.0, None)]


def test_a_correction_to_an_evaluated_date_is_flagged_retroactive(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    ingest(session, org, write(tmp_path, "metric,date,value\norders,2026-01-05,410\norders,2026-01-07,430\n"))
    evaluated(session, org, "orders", D6)
    fix = write(tmp_path, "metric,date,value\norders,2026-01-05,400\norders,2026-01-07,431\n", "fix.csv")
    report = ingest(session, org, fix, now=LATER)
    assert (report.corrected, report.retro) == (2, 1)
    flags = {
        p.date: p.retro_flag for p in points_repo.point_history(session, org, "orders") if p.version == 2
    }
    assert flags == {D5: True, D7: False}


def test_late_data_for_an_evaluated_date_is_not_an_edit(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    evaluated(session, org, "orders", D7)
    report = ingest(session, org, write(tmp_path, "metric,date,value\norders,2026-01-05,410\n"))
    assert (report.added, report.retro) == (1, 0)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",2026-01-05,1", "missing metric"),
        ("orders,,1", "missing date"),
        ("orders,2026-01-05,", "missing value"),
        ("orders,2026-01-05", "missing value"),
        ("orders,2026-13-01,1", "unparseable date '2026-13-01'"),
        ("orders,07/01/2026,1", "unparseable date '07/01/2026'"),
        ("orders,2026-01-05T25:99,1", "unparseable date"),
        ('orders,2026-01-05,"12,5"', "not a number: '12,5'"),
        ("orders,2026-01-05,lots", "not a number: 'lots'"),
        ("orders,2026-01-05,NaN", "NaN or infinite"),
        ("orders,2026-01-05,-inf", "NaN or infinite"),
        ("ordres,2026-01-05,1", "unknown metric 'ordres'"),
    ],
)
def test_a_bad_row_goes_to_quarantine_with_its_line_and_reason(
    session: Session, tmp_path: Path, row: str, reason: str
) -> None:
    org = make_org(session)
    path = write(tmp_path, f"metric,date,value\norders,2026-01-06,5\n{row}\nuptime,2026-01-06,99\n")
    report = ingest(session, org, path)
    assert (report.added, report.quarantined) == (2, 1)
    assert report.sample[0][0] == 3
    assert reason in report.sample[0][1]
    (stored,) = runs_repo.quarantined(session, report.run_id)
    assert (stored.line, stored.source) == (3, "csv")
    assert reason in stored.reason
    assert stored.raw.startswith(row.split(",", maxsplit=1)[0])
    run = session.get(IngestRunRow, report.run_id)
    assert run is not None
    assert (run.status, run.quarantined, run.accepted) == ("partial", 1, 2)


@pytest.mark.parametrize(
    "stamp",
    ["2026-01-05T10:30:00Z", "2026-01-05 10:30", "2026-01-05T23:59:59.250+01:00", "2026-01-05T08:00:00-0500"],
)
def test_timestamps_count_for_the_date_they_are_written_on(
    session: Session, tmp_path: Path, stamp: str
) -> None:
    org = make_org(session)
    report = ingest(session, org, write(tmp_path, f"metric,date,value\norders,{stamp},7\n"))
    assert report.added == 1
    assert in_force(session, org) == [("orders", D5, 7.0, "csv")]


def test_extra_columns_spaces_and_header_case_are_ignored(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    path = write(tmp_path, " Metric ,DATE,Value,comment,Source\n orders , 2026-01-05 , 1e3 ,hello, shop \n")
    ingest(session, org, path)
    assert in_force(session, org) == [("orders", D5, 1000.0, "shop")]


def test_line_numbers_are_the_files_own_despite_blank_lines_and_quoted_breaks(
    session: Session, tmp_path: Path
) -> None:
    org = make_org(session)
    text = 'metric,date,value,note\norders,2026-01-05,1,"two\nlines"\n\norders,2026-01-06,x,\n'
    report = ingest(session, org, write(tmp_path, text))
    assert report.total == 2
    assert [line for line, _ in report.sample] == [5]


def test_two_values_for_one_point_in_a_file_keep_the_later_line(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    text = "metric,date,value\norders,2026-01-05,1\norders,2026-01-05,2\norders,2026-01-05,2\n"
    report = ingest(session, org, write(tmp_path, text))
    assert (report.added, report.unchanged, report.quarantined) == (1, 1, 1)
    assert in_force(session, org) == [("orders", D5, 2.0, "csv")]
    (conflict,) = runs_repo.quarantined(session, report.run_id)
    assert conflict.line == 2
    assert "line 4, which is kept" in conflict.reason


def test_points_awaiting_approval_do_not_count_or_supersede(session: Session, tmp_path: Path) -> None:
    org = make_org(session)
    ingest(session, org, write(tmp_path, "metric,date,value\norders,2026-01-05,410\n"))
    report = ingest(
        session,
        org,
        write(tmp_path, "metric,date,value\norders,2026-01-05,500\n", "manual.csv"),
        now=LATER,
        manual=True,
        run_by="maria",
        approved=False,
    )
    assert report.corrected == 1
    assert in_force(session, org) == [("orders", D5, 410.0, "csv")]
    assert [(p.value, p.entered_by) for p in points_repo.pending_approval(session, org)] == [(500.0, "maria")]


def test_a_typed_frame_is_ingested_without_text_parsing(session: Session) -> None:
    org = make_org(session)
    frame = pl.DataFrame(
        {
            "metric": ["orders", "uptime", "orders"],
            "date": [D5, D5, None],
            "value": [1.5, float("inf"), 2.0],
        }
    )
    report = ingest_frame(
        session, org, frame, source="push", run_by="api", manual=False, now=NOW, known_metrics=KNOWN
    )
    assert (report.added, report.quarantined) == (1, 2)
    assert [reason for _, reason in report.sample] == ["value 'inf' is NaN or infinite", "missing date"]
    assert [line for line, _ in report.sample] == [2, 3]


def test_progress_follows_the_inserts(session: Session) -> None:
    org = make_org(session)
    frame = pl.DataFrame({"metric": ["orders"] * 3, "date": [D5, D6, D7], "value": [1, 2, 3]})
    seen: list[tuple[int, int]] = []
    ingest_frame(
        session,
        org,
        frame,
        source="push",
        run_by=None,
        manual=False,
        now=NOW,
        known_metrics=KNOWN,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(3, 3)]


def test_a_file_without_the_required_columns_is_refused_whole(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"missing column\(s\) value; expected metric,date,value"):
        read_actuals_csv(write(tmp_path, "metric,date,amount\norders,2026-01-05,1\n"))


@pytest.mark.parametrize(("text", "message"), [(None, "no such file"), ("", "the file is empty")])
def test_a_missing_or_empty_file_is_explained(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "actuals.csv"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError, match=message):
        read_actuals_csv(path)


def test_a_failed_pull_is_recorded_as_a_run(session: Session) -> None:
    org = make_org(session)
    run_id = record_failed_run(
        session, org, source="wms", error="connection refused", started_at=NOW, now=LATER
    )
    (run,) = runs_repo.recent_runs(session, org, source="wms")
    assert (run.id, run.status, run.error, run.finished_at) == (run_id, "failed", "connection refused", LATER)


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["orders", "uptime"]),
        st.sampled_from([D5, D6, D7]),
        st.sampled_from(["a", "b"]),
        st.integers(min_value=-3, max_value=3).map(float),
    ),
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=ROWS, second=ROWS)
def test_the_values_in_force_are_the_last_ones_given_whatever_the_batches(
    session: Session,
    first: list[tuple[str, dt.date, str, float]],
    second: list[tuple[str, dt.date, str, float]],
) -> None:
    org = make_org(session)
    for batch, now in ((first, NOW), (second, LATER)):
        frame = pl.DataFrame(batch, schema=["metric", "date", "source", "value"], orient="row")
        ingest_frame(session, org, frame, source="x", run_by=None, manual=False, now=now, known_metrics=KNOWN)
    expected: dict[tuple[str, dt.date, str], float] = {}
    for metric, day, source, value in [*first, *second]:
        expected[(metric, day, source)] = value
    assert in_force(session, org) == [(m, d, expected[(m, d, s)], s) for m, d, s in sorted(expected)]
    again = pl.DataFrame(second, schema=["metric", "date", "source", "value"], orient="row")
    report = ingest_frame(
        session, org, again, source="x", run_by=None, manual=False, now=LATER, known_metrics=KNOWN
    )
    assert report.accepted == 0
