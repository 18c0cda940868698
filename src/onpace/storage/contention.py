"""Tell a busy or unreachable store from a broken request, and retry a transaction a bounded number of times.

On SQLite, writers queue on the database lock for up to the busy timeout; past it SQLite says
"database is locked". On PostgreSQL a serialisation failure or a deadlock may be retried, and a
lost connection is the store being unreachable. None of these is the caller's fault: a command
retries its whole transaction a few times (:func:`retry_when_busy`), and the API answers 503
with ``Retry-After`` (see :mod:`onpace.api.errors`), never 500.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = structlog.get_logger("onpace.store")

_T = TypeVar("_T")

_BUSY_WORDS = ("database is locked", "database is busy", "database table is locked")
# SQLSTATE 40001 serialization_failure and 40P01 deadlock_detected: safe to run again.
_RETRYABLE_STATES = ("40001", "40P01")


def is_busy(err: BaseException) -> bool:
    """Return whether ``err`` says the store was too busy to take the transaction (worth a retry)."""
    if isinstance(err, PoolTimeoutError):
        return True
    if not isinstance(err, DBAPIError):
        return False
    text = str(err.orig).lower()
    if any(word in text for word in _BUSY_WORDS):
        return True
    return getattr(err.orig, "sqlstate", None) in _RETRYABLE_STATES


def retry_when_busy(work: Callable[[], _T], *, attempts: int = 4, wait: float = 0.5) -> _T:
    """Run ``work`` (a whole transaction), running it again when the store was busy; return its result.

    Up to ``attempts`` runs, waiting ``wait`` seconds, doubled each time, with jitter, between
    them; the last busy error is raised. ``work`` must roll back what it did when it raises.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as err:
            if attempt == attempts or not is_busy(err):
                raise
            pause = wait * 2 ** (attempt - 1) * (0.5 + random.random())
            log.warning("store.busy_retry", attempt=attempt, retry_in_s=round(pause, 2), error=str(err)[:200])
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover
