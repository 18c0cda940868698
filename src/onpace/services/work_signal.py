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
so nothing depends on it for correctness. A waiter whose connection breaks (a database restart,
a cut network) polls meanwhile and connects again after :data:`RECONNECT_AFTER` seconds,
doubling up to :data:`RECONNECT_MAX` while it keeps failing; once connected again it reports
work at once, since announcements made while it was away were lost.
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

#: Seconds before a waiter whose connection broke tries again, and the longest it backs off.
RECONNECT_AFTER = 2.0
RECONNECT_MAX = 60.0


def announce_work(session: Session) -> None:
    """Tell waiting workers there is work, when the caller's transaction commits (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, "")))


class WorkWaiter:
    """Wait up to a time for work to be announced; one per worker, closed when the worker stops."""

    def __init__(self, engine: Engine, *, reconnect_after: float = RECONNECT_AFTER) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self._fairy: Any = None
        self._raw: Any = None
        self._version: int | None = None
        self._first_backoff = reconnect_after
        self._backoff = reconnect_after
        self._retry_at: float | None = None
        if not self._connect():
            self._retry_at = time.monotonic() + self._backoff

    def _connect(self) -> bool:
        """Open the waiter's own connection and start listening; say whether it worked."""
        try:
            self._fairy = self._engine.raw_connection()
            self._raw = self._fairy.driver_connection
            self._fairy.detach()  # held for the worker's life, never handed back to the pool
            raw = self._raw
            if self._dialect == "postgresql":
                raw.autocommit = True
                raw.execute(f"LISTEN {CHANNEL}")
            elif self._dialect == "sqlite":
                self._version = self._data_version()
        except Exception as err:  # no signal for now: the worker polls meanwhile
            log.warning("worker.no_work_signal", error=str(err))
            self.close()
            return False
        return True

    @property
    def listening(self) -> bool:
        """Say whether the waiter holds its connection (else it only polls until it connects again)."""
        return self._fairy is not None

    def _data_version(self) -> int:
        cursor = self._raw.execute("PRAGMA data_version")
        return int(cursor.fetchone()[0])

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """Wait until work is announced, ``timeout`` passes or ``stop`` is set; return whether announced."""
        if self._fairy is None:
            if self._reconnect():
                return True
            stop.wait(timeout)
            return False
        deadline = time.monotonic() + timeout
        try:
            if self._dialect == "postgresql":
                return self._wait_postgresql(deadline, stop)
            return self._wait_sqlite(deadline, stop)
        except Exception as err:  # a broken signal connection: poll until it is back
            log.warning("worker.work_signal_lost", error=str(err))
            self.close(broken=True)
            self._retry_at = time.monotonic() + self._backoff
            stop.wait(max(0.0, deadline - time.monotonic()))
            return False

    def _reconnect(self) -> bool:
        """Connect again once the back-off has passed; True means "look for work now"."""
        if self._retry_at is None or time.monotonic() < self._retry_at:
            return False
        if not self._connect():
            self._backoff = min(self._backoff * 2, RECONNECT_MAX)
            self._retry_at = time.monotonic() + self._backoff
            return False
        log.info("worker.work_signal_back")
        self._backoff = self._first_backoff
        self._retry_at = None
        return True

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

    def close(self, *, broken: bool = False) -> None:
        """Close the waiter's connection (``broken``: it is lost already, so only let go of it)."""
        if self._fairy is not None:
            try:
                if broken:
                    self._fairy.invalidate()
                else:
                    self._fairy.close()
            finally:
                self._fairy = self._raw = None
