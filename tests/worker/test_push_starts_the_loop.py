"""A pushed actual starts the loop: with only `onpace serve` and `onpace worker` running, its case reaches the owner."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import httpx
import pytest
from loop_processes import HOOK_SECRET, process_env, running, running_server, seed, wait_for
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from loopback_receivers import Received, running_http_receiver
from onpace.notifiers.webhook import verify_signature
from onpace.storage.tables import CaseRow, JobRow

pytestmark = pytest.mark.slow


def signed(got: Received) -> int | None:
    headers = got.headers
    ok = verify_signature(
        HOOK_SECRET,
        headers.get("x-onpace-timestamp", ""),
        got.body,
        headers.get("x-onpace-signature", ""),
        300,
        time.time(),
    )
    return None if ok else 401


def test_a_pushed_breach_is_evaluated_and_its_case_delivered_with_only_a_worker_running(
    store: Engine, tmp_path: Path
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    token = seed(store, today)
    url = store.url.render_as_string(hide_password=False)
    with running_http_receiver(check=signed) as hook:
        env = process_env(url, hook.url)
        with (
            running_server(env, tmp_path / "serve.log") as base,
            running(["worker"], env, tmp_path / "worker.log"),
        ):
            records = [{"metric": "k1", "date": today.isoformat(), "value": 12.0}]
            answer = httpx.post(
                f"{base}/api/v1/actuals",
                json={"source": "feed", "records": records},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["added"] == 1
            wait_for(lambda: any(r.headers.get("x-onpace-timestamp") for r in hook.received), "the webhook")

    [got] = hook.received
    body = json.loads(got.body)
    assert (body["event"], body["subject"]) == ("case_opened", "k1")
    assert signed(got) is None
    assert got.headers["idempotency-key"] == body["idempotency_key"]
    with Session(store) as session:
        [case] = session.scalars(select(CaseRow)).all()
        assert (case.subject, case.owner) == ("k1", "olga")
        # The one evaluation request was run by the worker: no daily tick was needed.
        evaluations = session.scalars(select(JobRow).where(JobRow.kind == "evaluate")).all()
        assert [job.done_at is not None for job in evaluations] == [True]
        assert all(job.kind != "tick" or job.done_at is None for job in session.scalars(select(JobRow)))


def test_a_burst_of_pushes_is_one_evaluation_request(store: Engine, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    token = seed(store, today)
    url = store.url.render_as_string(hide_password=False)
    env = process_env(url, "http://127.0.0.1:9/unused")
    with running_server(env, tmp_path / "serve.log") as base, httpx.Client(timeout=30) as client:
        for n in range(10):
            records = [{"metric": "k0", "date": today.isoformat(), "value": 90.0 + n}]
            answer = client.post(
                f"{base}/api/v1/actuals",
                json={"source": "feed", "records": records},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, answer.text
    with Session(store) as session:
        pending = session.scalars(select(JobRow).where(JobRow.kind == "evaluate")).all()
    assert len(pending) == 1
    assert pending[0].done_at is None
