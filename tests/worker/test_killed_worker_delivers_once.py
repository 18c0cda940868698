"""A worker killed with SIGKILL, or cut off from the store, mid-batch re-sends at most the delivery in flight."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from loop_processes import HOOK_SECRET, process_env, running, seed, wait_for
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from loopback_receivers import Received, running_http_receiver
from onpace.connectors.base import FetchResult
from onpace.notifiers.base import Channel, Notification
from onpace.outbound import Allowlist
from onpace.services.dispatch import DispatchOptions, dispatch_due, sender
from onpace.services.pull import evaluate_and_govern, ingest_fetched
from onpace.storage import db
from onpace.storage.tables import DeliveryAttemptRow, OutboxRow

pytestmark = pytest.mark.slow

KPIS = 8
LOOPBACK = Allowlist.parse("127.0.0.1")  # the loopback receiver


def breach_every_kpi(store: Engine, today: dt.date) -> int:
    """Store a red actual for every KPI and govern: one case_opened event each; return the org id."""
    now = dt.datetime.now(dt.UTC)
    frame = pl.DataFrame(
        {"metric": [f"k{i}" for i in range(KPIS)], "date": [today] * KPIS, "value": [5.0] * KPIS},
        schema={"metric": pl.String, "date": pl.Date, "value": pl.Float64},
    )
    with Session(store) as session, session.begin():
        ingest_fetched(session, 1, "feed", FetchResult(frame), now=now, known={f"k{i}" for i in range(KPIS)})
        evaluate_and_govern(session, 1, as_of=today, now=now)
    with Session(store) as session:
        opened = select(func.count()).where(OutboxRow.event == "case_opened")
        assert session.scalar(opened) == KPIS
    return 1


def test_a_worker_killed_mid_batch_causes_at_most_one_duplicate(store: Engine, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    seed(store, today, kpis=KPIS)
    breach_every_kpi(store, today)

    def slow(_got: Received) -> int | None:
        time.sleep(0.4)  # a slow receiver: the batch takes seconds, and is killed in the middle
        return None

    with running_http_receiver(check=slow) as hook:
        env = process_env(store.url.render_as_string(hide_password=False), hook.url)
        with running(["worker"], env, tmp_path / "worker.log") as worker:
            wait_for(lambda: len(hook.received) >= 3, "three deliveries to start", timeout=60)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        killed_after = len(hook.received)
        assert killed_after < KPIS  # killed mid-batch
        with Session(store) as session:
            recorded = session.scalar(select(func.count()).select_from(DeliveryAttemptRow))
        assert recorded == killed_after - 1  # every delivery but the one in flight was recorded

        # Another worker takes the rows once the dead one's claim has expired.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        options = DispatchOptions(
            allow=LOOPBACK,
            env={"ONPACE_ROUTE_LOOP_HOOK_URL": hook.url, "ONPACE_ROUTE_LOOP_HOOK_SECRET": HOOK_SECRET},
        )
        while dispatch_due(store, worker_id="taker", now=later, options=options).claimed:
            pass

    keys = Counter(got.headers["idempotency-key"] for got in hook.received)
    assert len(keys) == KPIS  # every case reached the owner
    duplicates = sum(n - 1 for n in keys.values())
    assert duplicates <= 1
    with Session(store) as session:
        undelivered = session.scalar(select(func.count()).where(OutboxRow.delivered_at.is_(None)))
    assert undelivered == 0


def test_a_worker_cut_off_from_the_store_mid_batch_resends_only_the_delivery_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)  # give up on a held store quickly
    path = tmp_path / "cut.db"
    store = db.make_engine(f"sqlite:///{path}", sqlite_immediate=True)
    db.upgrade(store)
    today = dt.datetime.now(dt.UTC).date()
    seed(store, today, kpis=KPIS)
    breach_every_kpi(store, today)
    blocker = sqlite3.connect(path, isolation_level=None)
    options = DispatchOptions(
        allow=LOOPBACK, env={"ONPACE_ROUTE_LOOP_HOOK_URL": "", "ONPACE_ROUTE_LOOP_HOOK_SECRET": HOOK_SECRET}
    )

    with running_http_receiver() as hook:
        options = dataclasses.replace(
            options,
            env={"ONPACE_ROUTE_LOOP_HOOK_URL": hook.url, "ONPACE_ROUTE_LOOP_HOOK_SECRET": HOOK_SECRET},
        )
        real = sender(options)

        def send_then_lose_the_store(channel: Channel, notification: Notification) -> None:
            real(channel, notification)
            if len(hook.received) == 3:
                blocker.execute("BEGIN EXCLUSIVE")  # the store stops taking writes right after this send

        now = dt.datetime.now(dt.UTC)
        with pytest.raises(OperationalError):
            dispatch_due(store, worker_id="cut", now=now, options=options, send=send_then_lose_the_store)
        assert len(hook.received) == 3  # nothing more was sent once nothing could be recorded
        blocker.execute("ROLLBACK")
        later = now + dt.timedelta(minutes=5)
        while dispatch_due(store, worker_id="taker", now=later, options=options).claimed:
            pass
    blocker.close()
    store.dispose()
    keys = Counter(got.headers["idempotency-key"] for got in hook.received)
    assert len(keys) == KPIS
    assert sum(n - 1 for n in keys.values()) == 1  # the one in flight when the store went away
