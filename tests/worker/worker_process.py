"""A worker process for the multi-process tests: the real loop plus two probe job kinds.

Usage: ``python worker_process.py DATABASE_URL WORKER_ID LEASE_SECONDS START_LOG``

- ``mark`` sleeps ``payload.sleep`` seconds (default none), then writes one row to ``job_marks``
  (job id, worker) in the job's own transaction.
- ``slow_mark`` notes its start in START_LOG, sleeps ``payload.sleep`` seconds the first time it
  starts (so a test can kill the worker mid-job), then marks like ``mark``.

Once connected, the worker touches ``START_LOG.ready.WORKER_ID`` so a test can wait for all workers.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from sqlalchemy import text

from onpace.services.jobs import JobRun
from onpace.services.worker import WorkerOptions, run_worker
from onpace.storage.db import make_engine


def main() -> None:
    url, worker_id, lease, start_log = sys.argv[1], sys.argv[2], float(sys.argv[3]), Path(sys.argv[4])
    engine = make_engine(url, sqlite_immediate=True)

    def mark(run: JobRun) -> None:
        time.sleep(float(run.job.payload.get("sleep", 0)) if run.job.kind == "mark" else 0)
        with run.transaction() as session:
            session.execute(
                text("INSERT INTO job_marks (job_id, worker) VALUES (:job, :worker)"),
                {"job": run.job.id, "worker": worker_id},
            )
            run.settle(session)

    def slow_mark(run: JobRun) -> None:
        with start_log.open("a", encoding="utf-8") as log:
            log.write(f"{run.job.id} {worker_id} {os.getpid()}\n")
            log.flush()
            os.fsync(log.fileno())
        starts = [line for line in start_log.read_text().splitlines() if line.split()[0] == str(run.job.id)]
        if len(starts) == 1:
            time.sleep(float(run.job.payload.get("sleep", 30)))
        mark(run)

    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    Path(f"{start_log}.ready.{worker_id}").touch()
    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    options = WorkerOptions(
        job_lease=dt.timedelta(seconds=lease), tick=None, schedule_every=dt.timedelta(hours=1)
    )
    run_worker(
        engine,
        worker_id=worker_id,
        poll_interval=0.05,
        stop_event=stop,
        options=options,
        handlers={"mark": mark, "slow_mark": slow_mark},
    )
    engine.dispose()


if __name__ == "__main__":
    main()
