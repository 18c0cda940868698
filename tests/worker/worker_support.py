"""Real parts for the worker tests: a store per test, a model with routes, loopback receivers, a clock.

No tests here: builders only.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from contextlib import AbstractContextManager
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loopback_receivers import (
    HttpReceiver,
    Received,
    SmtpServer,
    running_http_receiver,
    running_smtp_server,
)
from onpace.connectors.base import FetchResult
from onpace.domain.model import Model
from onpace.modelfile import parse_model_text
from onpace.notifiers.webhook import verify_signature
from onpace.outbound import Allowlist
from onpace.services.dispatch import DispatchOptions
from onpace.services.model_store import save_model
from onpace.services.pull import ingest_fetched, request_evaluation
from onpace.services.worker import WorkerOptions

SECRET = "hook-secret-for-ops"
CYCLE_START = dt.date(2026, 1, 5)
# A Tuesday in the fifth week of the cycle: four weeks of data are complete.
NOW = dt.datetime(2026, 2, 3, 9, 0, tzinfo=dt.UTC)

MODEL = """\
org: Hookco
calendar: {week_start: monday}
units:
  - {id: exec, name: Executive team, head: ceo}
  - {id: ops, name: Operations, parent: exec, head: maria}
  - {id: it, name: IT, parent: exec, head: raj}
people:
  - {id: ceo, name: Dana Ortiz, email: dana@hook.example, unit: exec}
  - {id: maria, name: Maria Chen, email: maria@hook.example, unit: ops}
  - {id: lee, name: Lee Park, email: lee@hook.example, unit: ops}
  - {id: raj, name: Raj Iyer, email: raj@hook.example, unit: it}
cycles:
  - {id: 2026-Q1, start: 2026-01-05, end: 2026-03-29}
objectives:
  - id: O1
    title: Ship more orders
    cycle: 2026-Q1
    unit: exec
    owner: ceo
    key_results:
      - {id: KR1, title: Throughput at 100 a day, owner: maria, kpi: throughput, weight: 1}
kpis:
  - id: throughput
    title: Orders shipped per day
    unit: ops
    owner: lee
    measure: level
    direction: up
    grain: week
    aggregate: mean
    tolerance: {amber: 5%, red: 10%}
    plan: {per_bucket: 100}
    source: wms
    leading: true
  - id: api_errors
    title: API error rate
    unit: it
    owner: raj
    measure: level
    direction: down
    grain: week
    aggregate: mean
    tolerance: {amber: 0.5, red: 1.0}
    plan: {per_bucket: 1.0}
    source: wms
    leading: true
    feeds: [{kr: KR1, weight: 0.2}]
sources:
  - {id: wms, kind: push}
policy:
  open_case_on: [red, at_risk, threatened, mirage, stale, dependency_late]
  sla: {explain: 2d, act: 5d}
  auto_resolve_after: 2
notify:
ROUTES
"""

HOOK_ROUTE = (
    '  - {id: ops-hook, url: "env:OPS_HOOK_URL", secret: "env:OPS_HOOK_SECRET", units: [ops], '
    "events: [case_opened, case_escalated]}"
)


def model_text(*routes: str) -> str:
    """Return the model file with these notify routes (none: an empty list)."""
    return MODEL.replace("ROUTES", "\n".join(routes) if routes else "  []")


def hook_env(url: str) -> dict[str, str]:
    """Return the environment the hook route reads its URL and secret from."""
    return {"OPS_HOOK_URL": url, "OPS_HOOK_SECRET": SECRET}


def options(
    *, env: dict[str, str] | None = None, smtp_url: str | None = None, **dispatch: Any
) -> WorkerOptions:
    """Return worker options for a test: loopback allowed, short leases, no periodic tick."""
    settings = DispatchOptions(
        smtp_url=smtp_url,
        base_url="https://onpace.example",
        allow=Allowlist.parse("127.0.0.1"),
        env=env or {},
        timeout=5.0,
        lease=dt.timedelta(seconds=30),
        **dispatch,
    )
    return WorkerOptions(dispatch=settings, env=env or {}, tick=None)


class Clock:
    """A clock the test moves by hand; every worker timestamp comes from it."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self.now

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self.now += delta


def save(engine: Engine, text: str) -> tuple[int, Model]:
    """Store the model; return the org id and the model."""
    model = parse_model_text(text, "hookco.yaml")
    with Session(engine) as session, session.begin():
        org_id = save_model(session, model, by="test", now=NOW - dt.timedelta(days=40)).org_id
    return org_id, model


def weekly_rows(last: dt.date, *, value: float, metric: str = "throughput") -> pl.DataFrame:
    """Return one record a day from the cycle start to ``last`` with ``value``."""
    days = [CYCLE_START + dt.timedelta(days=i) for i in range((last - CYCLE_START).days + 1)]
    return pl.DataFrame(
        {
            "metric": [metric] * len(days),
            "date": days,
            "value": [value] * len(days),
            "source": ["wms"] * len(days),
            "line": list(range(1, len(days) + 1)),
        },
        schema={
            "metric": pl.String,
            "date": pl.Date,
            "value": pl.Float64,
            "source": pl.String,
            "line": pl.Int64,
        },
    )


def push(engine: Engine, org_id: int, model: Model, frame: pl.DataFrame, *, now: dt.datetime = NOW) -> None:
    """Take records in as a push would, and ask for an evaluation (one transaction)."""
    known = {k.id for k in model.kpis}
    with Session(engine) as session, session.begin():
        ingest_fetched(session, org_id, "wms", FetchResult(frame), now=now, known=known)
        request_evaluation(session, org_id, now=now)


# ---------------------------------------------------------------------------------------------
# receivers


def hook_receiver(
    statuses: list[int] | None = None, secret: str | None = SECRET
) -> AbstractContextManager[HttpReceiver]:
    """Run a loopback HTTP receiver; with ``secret`` set, a request without a valid, fresh signature gets 401."""

    def signed(got: Received) -> int | None:
        headers = got.headers
        timestamp, signature = headers.get("x-onpace-timestamp", ""), headers.get("x-onpace-signature", "")
        return (
            None if verify_signature(str(secret), timestamp, got.body, signature, 300, time.time()) else 401
        )

    return running_http_receiver(statuses, check=signed if secret is not None else None)


def mail_server() -> AbstractContextManager[SmtpServer]:
    """Run an aiosmtpd server on loopback for the block."""
    return running_smtp_server()
