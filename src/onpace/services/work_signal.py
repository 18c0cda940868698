"""Wake idle workers when work arrives instead of leaving it until their next look.

A worker with nothing to do waits ``poll_interval`` before it looks again (one second by default
for ``onpace worker``), which was most of the time a pushed breach took to reach its owner once
evaluations became fast. So a worker waits on a signal that ends the wait early:

- **PostgreSQL**: the transaction that asks for an evaluation also runs
  ``pg_notify('onpace_work', '')`` (:func:`announce_work`), delivered on commit to every
  worker that ``LISTEN``\\ s on a connection of its own, on any machine; they then race to claim
  the job, as always by compare-and-set.
- **SQLite**: no message crosses processes, but ``PRAGMA data_version`` changes when another
  connection commits to the file. The worker reads it every :data:`SQLITE_LOOK` seconds (a read
  that takes no lock) and looks for work when it changed.

The signal only shortens a wait: the poll stays the fallback (scheduled jobs, a lost signal),
so nothing depends on it for correctness.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import structlog
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

log = structlog.get_logger("onpace.worker")

CHANNEL = "onpace_work"

#: Seconds between two reads of SQLite's ``data_version`` while a worker waits.
SQLITE_LOOK = 0.02

#: The longest a PostgreSQL wait blocks before it checks whether the worker is stopping.
PG_SLICE = 0.5


def announce_work(session: Session) -> None:
    """Tell waiting workers there is work, when the caller's transaction commits (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, "")))


class WorkWaiter:
    """Wait up to a time for work to be announced; one per worker, closed when the worker stops."""

    def __init__(self, engine: Engine) -> None:
        self._dialect = engine.dialect.name
        self._fairy: Any = None
        self._raw: Any = None
        self._version: int | None = None
        try:
            self._fairy = engine.raw_connection()
            self._raw = self._fairy.driver_connection
            self._fairy.detach()  # held for the worker's life, never handed back to the pool
            raw = self._raw
            if self._dialect == "postgresql":
                raw.autocommit = True
                raw.execute(f"LISTEN {CHANNEL}")
            elif self._dialect == "sqlite":
                self._version = self._data_version()
        except Exception as err:  # no signal: the worker polls as before
            log.warning("worker.no_work_signal", error=str(err))
            self.close()

    def _data_version(self) -> int:
        cursor = self._raw.execute("PRAGMA data_version")
        return int(cursor.fetchone()[0])

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """Wait until work is announced, ``timeout`` passes or ``stop`` is set; return whether announced."""
        if self._fairy is None:
            stop.wait(timeout)
            return False
        deadline = time.monotonic() + timeout
        try:
            if self._dialect == "postgresql":
                return self._wait_postgresql(deadline, stop)
            return self._wait_sqlite(deadline, stop)
        except Exception as err:  # a broken signal connection: fall back to polling
            log.warning("worker.work_signal_lost", error=str(err))
            self.close()
            stop.wait(max(0.0, deadline - time.monotonic()))
            return False

    def _wait_postgresql(self, deadline: float, stop: threading.Event) -> bool:
        raw = self._raw
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for _ in raw.notifies(timeout=min(left, PG_SLICE), stop_after=1):
                return True
        return False

    def _wait_sqlite(self, deadline: float, stop: threading.Event) -> bool:
        while not stop.is_set():
            version = self._data_version()
            if version != self._version:
                self._version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            stop.wait(min(left, SQLITE_LOOK))
        return False

    def close(self) -> None:
        """Close the waiter's connection."""
        if self._fairy is not None:
            try:
                self._fairy.close()
            finally:
                self._fairy = self._raw = None
