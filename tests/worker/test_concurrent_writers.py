"""Concurrent writers queue instead of failing: pushes through the API, two `onpace ingest` at once, 503 when overloaded."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import httpx
import pytest
from loop_processes import process_env, running_server, seed
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from onpace.storage import db
from onpace.storage.tables import JobRow, PointRow

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402

from onpace.app import create_app  # noqa: E402
from onpace.config import Settings  # noqa: E402

pytestmark = pytest.mark.slow

CLIENTS = 12
BATCHES = 8


def points(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(PointRow)) or 0


def test_many_clients_pushing_at_once_all_get_their_points_stored(store: Engine, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    token = seed(store, today, kpis=CLIENTS)
    env = process_env(store.url.render_as_string(hide_password=False), "http://127.0.0.1:9/unused")
    statuses: list[int] = []
    acknowledged: list[int] = []
    lock = threading.Lock()

    def client(n: int, base: str) -> None:
        with httpx.Client(timeout=60) as http:
            for batch in range(BATCHES):
                day = today - dt.timedelta(days=batch)
                records = [
                    {
                        "metric": f"k{n}",
                        "date": (day - dt.timedelta(days=30 * i)).isoformat(),
                        "value": 90.0 + i,
                    }
                    for i in range(20)
                ]
                answer = http.post(
                    f"{base}/api/v1/actuals",
                    json={"source": "feed", "records": records},
                    headers={"Authorization": f"Bearer {token}"},
                )
                with lock:
                    statuses.append(answer.status_code)
                    if answer.status_code == 200:
                        acknowledged.append(answer.json()["added"])

    with running_server(env, tmp_path / "serve.log") as base:
        threads = [threading.Thread(target=client, args=(n, base)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * CLIENTS * BATCHES
    assert points(store) == sum(acknowledged) == CLIENTS * BATCHES * 20
    with Session(store) as session:
        pending = session.scalars(select(JobRow).where(JobRow.kind == "evaluate", JobRow.done_at.is_(None)))
        assert len(list(pending)) == 1  # every write asked; one evaluation waits for a worker


def test_two_ingest_processes_at_once_both_succeed_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    today = dt.datetime.now(dt.UTC).date()
    seed(engine, today, kpis=2)
    rows = 30_000
    for n in range(2):
        lines = ["metric,date,value"]
        lines += [f"k{n},{today - dt.timedelta(days=i)},{i % 97}" for i in range(rows)]
        (tmp_path / f"part{n}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = process_env(url, "http://127.0.0.1:9/unused")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "onpace", "ingest", str(tmp_path / f"part{n}.csv")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        for n in range(2)
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err.decode()
        assert b"Traceback" not in err
        assert f"{rows} rows: {rows} added".encode() in out
    assert points(engine) == 2 * rows
    engine.dispose()


def test_a_store_locked_past_the_busy_timeout_answers_503_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'held.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    token = seed(engine, dt.datetime.now(dt.UTC).date(), kpis=1)
    engine.dispose()
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    app = create_app(Settings(database_url=url, secret_key="held-store-key-0123456789abcdef"))  # type: ignore[arg-type]
    holder = sqlite3.connect(tmp_path / "held.db", isolation_level=None)
    body = {"source": "feed", "records": [{"metric": "k0", "date": "2026-01-05", "value": 1.0}]}
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        assert client.get("/api/v1/me", headers=headers).status_code == 200  # the token is known
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the store's write lock
        refused = client.post("/api/v1/actuals", json=body, headers=headers)
        holder.execute("ROLLBACK")
        accepted = client.post("/api/v1/actuals", json=body, headers=headers)
    holder.close()
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "the store is busy; try again shortly"
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["added"] == 1
