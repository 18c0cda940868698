"""Three worker processes on one PostgreSQL store: every job done exactly once, a killed worker's job taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from worker_support import NOW

from onpace.services import jobs
from onpace.storage.tables import JobRow

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
LEASE_S = 1.5
JOBS = 60
WORKERS = 3


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def pg_store(store: Engine) -> Engine:
    if store.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: set ONPACE_TEST_DATABASE_URL to run workers against a shared server")
    with store.begin() as connection:
        connection.execute(text("CREATE TABLE job_marks (job_id bigint NOT NULL, worker text NOT NULL)"))
    return store


@pytest.fixture
def workers(pg_store: Engine, tmp_path: Path) -> Iterator[tuple[dict[str, subprocess.Popen[bytes]], Path]]:
    start_log = tmp_path / "starts.log"
    start_log.touch()
    url = pg_store.url.render_as_string(hide_password=False)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for n in range(WORKERS):
        worker_id = f"w{n}"
        with (tmp_path / f"{worker_id}.log").open("wb") as log:
            procs[worker_id] = subprocess.Popen(
                [
                    sys.executable,
                    str(HERE / "worker_process.py"),
                    url,
                    worker_id,
                    str(LEASE_S),
                    str(start_log),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    try:
        yield procs, start_log
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_three_workers_do_every_job_once_and_finish_a_killed_workers_job(
    pg_store: Engine, workers: tuple[dict[str, subprocess.Popen[bytes]], Path], tmp_path: Path
) -> None:
    procs, start_log = workers
    # Every worker must be polling before the queue fills, or the first one up could take it all.
    wait_until(
        lambda: all(Path(f"{start_log}.ready.{w}").exists() for w in procs), 60, "every worker to connect"
    )
    with Session(pg_store) as session, session.begin():
        jobs.enqueue(session, "slow_mark", {"sleep": 60}, now=NOW)
        for n in range(JOBS):
            jobs.enqueue(session, "mark", {"n": n, "sleep": 0.05}, now=NOW)

    wait_until(lambda: start_log.read_text().strip(), 30, "a worker to start the slow job")
    slow_id, victim, pid = start_log.read_text().split()[:3]
    os.kill(int(pid), signal.SIGKILL)
    procs[victim].wait(timeout=10)

    def all_done() -> bool:
        with Session(pg_store) as session:
            left = session.scalar(select(func.count()).select_from(JobRow).where(JobRow.done_at.is_(None)))
        return left == 0

    wait_until(all_done, 60, "every job to be done")
    with pg_store.connect() as connection:
        marks = connection.execute(text("SELECT job_id, worker FROM job_marks")).all()
    counts = Counter(job_id for job_id, _ in marks)
    assert len(counts) == JOBS + 1
    assert set(counts.values()) == {1}, "a job was done more than once"
    [(_, finisher)] = [m for m in marks if m[0] == int(slow_id)]
    assert finisher != victim
    starts = [line.split()[1] for line in start_log.read_text().splitlines()]
    assert starts == [victim, finisher]
    survivors = {worker for _, worker in marks}
    assert len(survivors - {victim}) >= 2, f"the work was not shared: {sorted(survivors)}"
    logs = {w: (tmp_path / f"{w}.log").read_text() for w in procs}
    assert "Traceback" not in "".join(logs.values())
