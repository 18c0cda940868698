"""Scheduled pulls: a CSV drop folder pulled by the worker, ingested with lineage, retried on failure."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from worker_support import MODEL, NOW, Clock, options, save

from onpace.modelfile import parse_model_text
from onpace.services import jobs
from onpace.services.model_store import save_model
from onpace.services.pull import pull_key, request_pull, sync_schedules
from onpace.services.worker import run_worker
from onpace.storage.tables import CaseRow, IngestRunRow, JobRow, PointRow, QuarantineRow


def drop_model(folder: Path, every: str = "1h") -> str:
    return MODEL.replace(
        "  - {id: wms, kind: push}", f'  - {{id: wms, kind: csv, path: "{folder}", every: {every}}}'
    ).replace("ROUTES", "  []")


def write_week(folder: Path, name: str, first: dt.date, value: float, days: int = 7) -> None:
    lines = ["metric,date,value"]
    lines += [f"throughput,{first + dt.timedelta(days=i)},{value}" for i in range(days)]
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def runs(engine: Engine) -> list[IngestRunRow]:
    with Session(engine) as session:
        return list(session.scalars(select(IngestRunRow).order_by(IngestRunRow.id)))


def points(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(PointRow)) or 0


def pull_job(engine: Engine) -> JobRow:
    with Session(engine) as session:
        [row] = session.scalars(select(JobRow).where(JobRow.kind == "pull")).all()
        return row


def test_the_worker_pulls_a_drop_folder_on_schedule_and_governs_the_new_data(
    store: Engine, tmp_path: Path
) -> None:
    write_week(tmp_path, "week1.csv", dt.date(2026, 1, 5), 80.0, days=28)
    save(store, drop_model(tmp_path))
    clock = Clock()
    stats = run_worker(store, worker_id="w", once=True, now_fn=clock, options=options())
    assert stats.jobs_done == 2  # the pull, then the evaluation it asked for
    [run] = runs(store)
    assert (run.source, run.status, run.total, run.accepted, run.origin) == ("wms", "ok", 28, 28, "csv")
    with Session(store) as session:
        lineage = session.execute(select(PointRow.run_id, PointRow.source, PointRow.manual).distinct()).all()
        opened = session.scalars(select(CaseRow.subject).order_by(CaseRow.subject)).all()
    assert lineage == [(run.id, "wms", False)]
    assert "throughput" in opened
    job = pull_job(store)
    assert job.run_after == NOW + dt.timedelta(hours=1)
    assert job.payload["since"] == NOW.isoformat()
    assert list(job.payload["state"]) == [str(tmp_path / "week1.csv")]

    # An hour later: the file already read is skipped, a new one is taken.
    clock.advance(dt.timedelta(hours=1))
    write_week(tmp_path, "week5.csv", dt.date(2026, 2, 2), 100.0, days=1)
    run_worker(store, worker_id="w", once=True, now_fn=clock, options=options())
    assert [(r.total, r.accepted) for r in runs(store)] == [(28, 28), (1, 1)]
    assert points(store) == 29


def test_a_failing_source_is_recorded_and_retried_with_backoff_and_nothing_is_lost(
    store: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    write_week(folder, "a.csv", dt.date(2026, 1, 5), 100.0)
    save(store, drop_model(folder))
    clock = Clock()
    run_worker(store, worker_id="w", once=True, now_fn=clock, options=options())
    assert points(store) == 7

    shutil.rmtree(folder)  # the share is unmounted
    clock.advance(dt.timedelta(hours=1))
    run_worker(store, worker_id="w", once=True, now_fn=clock, options=options())
    failed = runs(store)[-1]
    assert failed.status == "failed"
    assert "does not exist" in (failed.error or "")
    job = pull_job(store)
    assert (job.attempts, job.run_after) == (1, clock() + dt.timedelta(seconds=30))
    assert points(store) == 7

    clock.advance(dt.timedelta(seconds=30))
    run_worker(store, worker_id="w", once=True, now_fn=clock, options=options())
    assert pull_job(store).attempts == 2
    assert pull_job(store).run_after == clock() + dt.timedelta(seconds=60)

    folder.mkdir()
    write_week(folder, "a.csv", dt.date(2026, 1, 5), 100.0)
    write_week(folder, "b.csv", dt.date(2026, 1, 12), 100.0)
    clock.advance(dt.timedelta(seconds=60))
    run_worker(store, worker_id="w", once=True, now_fn=clock, options=options())
    assert runs(store)[-1].status == "ok"
    assert (pull_job(store).attempts, pull_job(store).error) == (0, None)
    assert points(store) == 14  # a.csv again is unchanged, b.csv is new


def test_rows_the_connector_refuses_are_quarantined_with_their_file_and_line(
    store: Engine, tmp_path: Path
) -> None:
    (tmp_path / "bad.csv").write_text(
        "metric,date,value\nthroughput,2026-01-05,100\nthroughput,5 Jan,100\nnope,2026-01-06,3\n",
        encoding="utf-8",
    )
    save(store, drop_model(tmp_path))
    run_worker(store, worker_id="w", once=True, now_fn=Clock(), options=options())
    [run] = runs(store)
    assert (run.total, run.accepted, run.quarantined, run.status) == (3, 1, 2, "partial")
    with Session(store) as session:
        held = session.execute(
            select(QuarantineRow.line, QuarantineRow.reason).order_by(QuarantineRow.line)
        ).all()
    assert held[0] == (3, "bad.csv:3: unparseable date '5 Jan'")
    assert held[1][0] == 4
    assert "unknown metric 'nope'" in held[1][1]


def test_schedules_follow_the_model_when_a_source_changes_or_leaves(store: Engine, tmp_path: Path) -> None:
    org_id, _ = save(store, drop_model(tmp_path))
    with Session(store) as session, session.begin():
        assert sync_schedules(session, now=NOW, tick=None) == 1
        assert sync_schedules(session, now=NOW, tick=None) == 0
    assert pull_job(store).dedupe_key == pull_key(org_id, "wms")

    faster = parse_model_text(drop_model(tmp_path, every="15m"), "hookco.yaml")
    with Session(store) as session, session.begin():
        save_model(session, faster, by="test", now=NOW)
        assert sync_schedules(session, now=NOW, tick=None) == 1
    assert pull_job(store).payload["every"] == 900

    pushed = parse_model_text(MODEL.replace("ROUTES", "  []"), "hookco.yaml")
    with Session(store) as session, session.begin():
        save_model(session, pushed, by="test", now=NOW)
        assert sync_schedules(session, now=NOW, tick=None) == 1
    assert pull_job(store).done_at == NOW

    # Asked for by hand, the finished schedule runs once more (the source is a push source now).
    with Session(store) as session, session.begin():
        request_pull(session, org_id, "wms", now=NOW)
        assert [j.kind for j in jobs.pending_jobs(session)] == ["pull"]


def test_each_organisation_gets_a_periodic_evaluation(store: Engine, tmp_path: Path) -> None:
    org_id, _ = save(store, drop_model(tmp_path))
    with Session(store) as session, session.begin():
        sync_schedules(session, now=NOW, tick=dt.timedelta(days=1))
        ticks = [(t.org_id, t.run_after) for t in jobs.pending_jobs(session, kind="tick")]
    assert ticks == [(org_id, NOW + dt.timedelta(days=1))]
