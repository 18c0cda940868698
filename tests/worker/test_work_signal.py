"""An idle worker is woken when an evaluation is requested, not at its next look for work."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from worker_support import model_text, options, save

from onpace.services import jobs
from onpace.services.evaluation_requests import EVALUATE, enqueue_evaluation
from onpace.services.evaluation_snapshot import WORKER_SNAPSHOTS
from onpace.services.work_signal import WorkWaiter
from onpace.services.worker import read_ahead, run_worker
from onpace.storage.db import make_engine


def test_an_idle_worker_takes_a_requested_evaluation_long_before_its_next_poll(store: Engine) -> None:
    org_id, _ = save(store, model_text())
    ran = threading.Event()

    def evaluate(run: jobs.JobRun) -> None:
        ran.set()

    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        kwargs={
            "engine": store,
            "worker_id": "w",
            "poll_interval": 3600.0,
            "stop_event": stop,
            "options": options(),
            "handlers": {EVALUATE: evaluate},
        },
    )
    thread.start()
    try:
        time.sleep(1.0)  # the worker has looked, found nothing, and waits an hour
        with Session(store) as session, session.begin():
            enqueue_evaluation(session, org_id, now=dt.datetime.now(dt.UTC))
        # Only the wake-up can run it within the hour the worker would otherwise sleep; the wait
        # is generous so a busy machine does not fail it (speed is measured in bench/).
        assert ran.wait(120)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_starting_worker_reads_its_organisations_ahead_and_a_missing_store_does_not_stop_it(
    store: Engine, tmp_path: Path
) -> None:
    org_id, _ = save(store, model_text())
    WORKER_SNAPSHOTS.clear()
    assert read_ahead(store, now=dt.datetime.now(dt.UTC)) == 1
    assert org_id in WORKER_SNAPSHOTS
    assert read_ahead(make_engine(f"sqlite:///{tmp_path / 'not-yet.db'}"), now=dt.datetime.now(dt.UTC)) == 0


def cut(store: Engine, waiter: WorkWaiter) -> None:
    """Break the waiter's connection: for real on PostgreSQL (the server ends it), by closing it on SQLite."""
    raw = waiter._raw
    if store.dialect.name == "postgresql":
        with store.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": raw.info.backend_pid})
    else:
        raw.close()  # a SQLite file cannot drop a connection by itself


def test_a_waiter_whose_connection_is_cut_polls_then_listens_again(store: Engine) -> None:
    org_id, _ = save(store, model_text())
    waiter = WorkWaiter(store, reconnect_after=0.2)
    stop = threading.Event()
    try:
        assert waiter.listening
        cut(store, waiter)
        # The loss is noticed without an error, and the worker polls meanwhile.
        assert waiter.wait(5.0, stop) is False
        assert not waiter.listening
        time.sleep(0.3)
        # Connected again: announcements made while away were lost, so it looks for work at once.
        assert waiter.wait(0.1, stop) is True
        assert waiter.listening
        with Session(store) as session, session.begin():
            enqueue_evaluation(session, org_id, now=dt.datetime.now(dt.UTC))
        assert waiter.wait(60.0, stop) is True
    finally:
        waiter.close()
