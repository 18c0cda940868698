"""The worker loop as a process runs it: stops on request, outlives a store that is not there yet."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from worker_support import NOW, options

from onpace.config import Settings
from onpace.outbound import Allowlist
from onpace.services import jobs
from onpace.services.worker import WorkerStats, run_worker
from onpace.storage.db import make_engine, upgrade
from onpace.worker import options_from_settings, serve


def test_a_running_worker_stops_when_asked_and_reports_what_it_did(store: Engine) -> None:
    done = threading.Event()

    def probe(run: jobs.JobRun) -> None:
        done.set()

    with Session(store) as session, session.begin():
        jobs.enqueue(session, "probe", {}, now=NOW)
    stop = threading.Event()
    result: list[WorkerStats] = []
    thread = threading.Thread(
        target=lambda: result.append(
            run_worker(
                store,
                worker_id="w",
                poll_interval=0.02,
                stop_event=stop,
                options=options(),
                handlers={"probe": probe},
            )
        )
    )
    thread.start()
    assert done.wait(10)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    [stats] = result
    assert (stats.jobs_done, stats.jobs_failed, stats.errors) == (1, 0, 0)


def test_a_worker_started_before_its_store_is_ready_waits_for_it(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url, sqlite_immediate=True)
    stop = threading.Event()
    result: list[WorkerStats] = []
    thread = threading.Thread(
        target=lambda: result.append(
            run_worker(engine, worker_id="w", poll_interval=0.01, stop_event=stop, options=options())
        )
    )
    thread.start()
    try:
        time.sleep(0.2)  # long enough for a few failing passes; nothing below depends on timing
        upgrade(engine)
        with Session(engine) as session, session.begin():
            jobs.enqueue(session, "nobody_handles_this", {}, now=NOW)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Session(engine) as session:
                [job] = jobs.pending_jobs(session)
                if job.attempts:
                    break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(20)
        engine.dispose()
    [stats] = result
    assert stats.errors >= 1
    assert stats.jobs_failed == 1  # once the store was there, the worker took the job


def test_serve_runs_a_worker_from_the_settings(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        jobs.enqueue(session, "evaluate", {}, now=NOW)  # for an organisation that is not there
    engine.dispose()
    stats = serve(worker_id="cli", once=True, settings=Settings(database_url=empty_database_url))
    assert stats.jobs_failed == 1


def test_the_settings_give_the_mail_url_links_and_address_policy() -> None:
    settings = Settings(
        smtp_url="mailtos://bot:pw@mail.example?from=onpace@x.example",  # type: ignore[arg-type]
        base_url="https://onpace.x.example",
        outbound_allow="127.0.0.1",
    )
    found = options_from_settings(settings, {"HOOK": "https://hooks.x.example"})
    assert found.dispatch.smtp_url == "mailtos://bot:pw@mail.example?from=onpace@x.example"
    assert found.dispatch.base_url == "https://onpace.x.example"
    assert found.dispatch.allow == Allowlist.parse("127.0.0.1")
    assert found.env == found.dispatch.env == {"HOOK": "https://hooks.x.example"}
