"""Real parts for the worker tests: a store per test, a model with routes, loopback receivers, a clock.

No tests here: builders only.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import polars as pl
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from onpace.connectors.base import FetchResult
from onpace.domain.model import Model
from onpace.modelfile import parse_model_text
from onpace.notifiers.webhook import verify_signature
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
        allow_private=True,
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


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HookReceiver:
    """A real HTTP server on 127.0.0.1 answering POSTs with ``statuses`` in turn (the last repeats).

    With ``secret`` set, a request without a valid, fresh signature is answered 401.
    """

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [200])
    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` requests have arrived (or the timeout passes); return them."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.received) < count and time.monotonic() < deadline:
                self.arrived.wait(deadline - time.monotonic())
            return list(self.received)


@contextmanager
def hook_receiver(statuses: list[int] | None = None, secret: str | None = SECRET) -> Iterator[HookReceiver]:
    """Run a :class:`HookReceiver` for the block."""
    state = HookReceiver(statuses=list(statuses or [200]), secret=secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            got = Received(
                self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
            if state.secret is not None and not verify_signature(
                state.secret,
                got.headers.get("x-onpace-timestamp", ""),
                got.body,
                got.headers.get("x-onpace-signature", ""),
                300,
                time.time(),
            ):
                status = 401
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with state.arrived:
                state.received.append(got)
                state.arrived.notify_all()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/onpace"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Inbox:
    """Mail received by the SMTP server: (sender, recipients, message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        message = BytesParser().parsebytes(envelope.original_content or envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class MailServer:
    port: int
    inbox: Inbox

    @property
    def smtp_url(self) -> str:
        """Return the Apprise URL of this server, as ``ONPACE_SMTP_URL`` would give it."""
        return f"mailto://127.0.0.1:{self.port}?from=onpace@hook.example&smtp=127.0.0.1"


@contextmanager
def mail_server() -> Iterator[MailServer]:
    """Run an aiosmtpd server on loopback for the block."""
    # aiosmtpd cannot listen on port 0, so borrow a free port from the kernel first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield MailServer(port, inbox)
    finally:
        controller.stop()


def body_text(message: Message) -> str:
    """Return the decoded text of every part of a mail message."""
    parts = [p.get_payload(decode=True) for p in message.walk() if not p.is_multipart()]
    return "\n".join(bytes(p).decode() for p in parts if isinstance(p, bytes))
