"""Measure data-to-owner latency: a pushed actual turns a KPI red → case opened → webhook delivered.

A running worker (``run_worker`` in a thread, polling every ``--poll`` seconds) and a loopback
HTTP receiver that verifies each request's signature. Each trial pushes one actual that puts a
fresh KPI well below plan (ingest + evaluation request, committed), then waits for the signed
``case_opened`` webhook of that KPI. Prints p50/p95/max of push → case opened and push →
delivered over ``--trials`` trials (default 200).

    python bench/latency.py [--trials 200] [--poll 0.05] [--url sqlite:///…|postgresql://…] [--verbose]

Without ``--url`` a temporary SQLite file is used; on PostgreSQL the run works in a schema of its
own, dropped at the end. The last line is
``latency: <n> trials, p50 <ms> ms, p95 <ms> ms, max <ms> ms`` (push → delivered).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl
import structlog
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from onpace.connectors.base import FetchResult
from onpace.modelfile import parse_model_text
from onpace.notifiers.webhook import verify_signature
from onpace.services.dispatch import DispatchOptions
from onpace.services.model_store import save_model
from onpace.services.pull import ingest_fetched, request_evaluation
from onpace.services.worker import WorkerOptions, run_worker
from onpace.storage.db import make_engine, normalise_url, upgrade
from onpace.storage.tables import CaseRow

SECRET = "latency-bench-secret"


def model_text(kpis: int, today: dt.date) -> str:
    """Return an organisation with ``kpis`` weekly KPIs planned at 100, and a webhook for new cases."""
    start = today - dt.timedelta(days=today.weekday() + 28)
    lines = [
        "org: Latency bench",
        "units:",
        "  - {id: ops, name: Operations, head: olga}",
        "people:",
        "  - {id: olga, name: Olga Berg, email: olga@bench.example, unit: ops}",
        "cycles:",
        f"  - {{id: c1, start: {start}, end: {start + dt.timedelta(days=90)}}}",
        "kpis:",
    ]
    lines += [
        f"  - {{id: k{i:04d}, title: KPI {i}, unit: ops, owner: olga, measure: level, grain: week, "
        "aggregate: last, plan: {per_bucket: 100}, source: feed, constraint: true}"
        for i in range(kpis)
    ]
    lines += [
        "sources:",
        "  - {id: feed, kind: push}",
        "policy:",
        "  open_case_on: [red]",
        "notify:",
        '  - {id: owner-hook, url: "env:BENCH_HOOK_URL", secret: "env:BENCH_SECRET", units: [ops], '
        "events: [case_opened]}",
    ]
    return "\n".join(lines) + "\n"


class Receiver:
    """Loopback webhook receiver: records when each subject's signed ``case_opened`` arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.bad_signatures = 0
        self.changed = threading.Condition()
        self.url = ""

    def wait_for(self, subject: str, timeout: float) -> float | None:
        """Return the arrival time (perf_counter) of ``subject``'s webhook, or None after ``timeout``."""
        deadline = time.perf_counter() + timeout
        with self.changed:
            while subject not in self.arrived and time.perf_counter() < deadline:
                self.changed.wait(deadline - time.perf_counter())
            return self.arrived.get(subject)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """Serve a :class:`Receiver` on 127.0.0.1 for the block."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            stamp = self.headers.get("X-Onpace-Timestamp", "")
            ok = verify_signature(
                SECRET, stamp, body, self.headers.get("X-Onpace-Signature", ""), 300, time.time()
            )
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with state.changed:
                if ok:
                    state.arrived.setdefault(json.loads(body)["subject"], time.perf_counter())
                else:
                    state.bad_signatures += 1
                state.changed.notify_all()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def fresh_store(url: str | None, folder: Path) -> Iterator[Engine]:
    """Yield a worker engine on a new migrated store: a SQLite file, or a PostgreSQL schema of its own."""
    if url is None or make_url(normalise_url(url)).get_backend_name() == "sqlite":
        engine = make_engine(url or f"sqlite:///{folder / 'latency.db'}", sqlite_immediate=True)
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"latency_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    scoped = make_url(normalise_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(scoped.render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def percentile(values: list[float], q: float) -> float:
    """Return the ``q`` quantile (0–1) of ``values`` by linear interpolation."""
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def push_red(engine: Engine, org_id: int, kpi: str, known: set[str]) -> None:
    """Push one actual far below plan for ``kpi`` today and ask for an evaluation (one commit)."""
    now = dt.datetime.now(dt.UTC)
    frame = pl.DataFrame(
        {"metric": [kpi], "date": [now.date()], "value": [40.0], "source": ["feed"], "line": [1]},
        schema={
            "metric": pl.String,
            "date": pl.Date,
            "value": pl.Float64,
            "source": pl.String,
            "line": pl.Int64,
        },
    )
    with Session(engine) as session, session.begin():
        ingest_fetched(session, org_id, "feed", FetchResult(frame), now=now, known=known, run_by="bench")
        request_evaluation(session, org_id, now=now)


def case_opened_at(engine: Engine, kpi: str) -> dt.datetime | None:
    """Return when the case on ``kpi`` was opened (the worker's clock), if it is."""
    with Session(engine) as session:
        return session.scalar(select(CaseRow.opened_at).where(CaseRow.subject == kpi))


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--poll", type=float, default=0.05, help="the worker's poll interval in seconds")
    parser.add_argument("--url", default=None, help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--verbose", action="store_true", help="show the worker's logs")
    args = parser.parse_args(argv)
    # The worker's per-delivery logs would drown the figures.
    level = logging.INFO if args.verbose else logging.WARNING
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
    today = dt.datetime.now(dt.UTC).date()
    model = parse_model_text(model_text(args.trials, today), "latency.yaml")
    known = {k.id for k in model.kpis}
    with (
        tempfile.TemporaryDirectory(prefix="onpace-latency-") as tmp,
        running_receiver() as receiver,
        fresh_store(args.url, Path(tmp)) as engine,
    ):
        with Session(engine) as session, session.begin():
            org_id = save_model(session, model, by="bench", now=dt.datetime.now(dt.UTC)).org_id
        env = {"BENCH_HOOK_URL": receiver.url, "BENCH_SECRET": SECRET}
        options = WorkerOptions(
            dispatch=DispatchOptions(allow_private=True, env=env, base_url="http://bench.example"),
            env=env,
            tick=None,
        )
        stop = threading.Event()
        worker = threading.Thread(
            target=run_worker,
            args=(engine,),
            kwargs={
                "worker_id": "bench",
                "poll_interval": args.poll,
                "stop_event": stop,
                "options": options,
            },
            daemon=True,
        )
        worker.start()
        delivered: list[float] = []
        opened: list[float] = []
        try:
            for i in range(args.trials):
                kpi = f"k{i:04d}"
                wall, started = dt.datetime.now(dt.UTC), time.perf_counter()
                push_red(engine, org_id, kpi, known)
                arrived = receiver.wait_for(kpi, timeout=30)
                if arrived is None:
                    raise SystemExit(f"trial {i}: no webhook for {kpi} within 30 s")
                delivered.append((arrived - started) * 1000)
                case_at = case_opened_at(engine, kpi)
                if case_at is not None:
                    opened.append((case_at - wall).total_seconds() * 1000)
        finally:
            stop.set()
            worker.join()
    print(f"store: {args.url or 'sqlite (temporary file)'}; worker poll {args.poll * 1000:.0f} ms")
    if opened:
        print(
            f"push → case opened: p50 {percentile(opened, 0.5):.0f} ms, p95 {percentile(opened, 0.95):.0f} ms"
        )
    if receiver.bad_signatures:
        print(f"requests with a bad signature: {receiver.bad_signatures}")
    print(
        f"latency: {len(delivered)} trials, p50 {percentile(delivered, 0.5):.0f} ms, "
        f"p95 {percentile(delivered, 0.95):.0f} ms, max {max(delivered):.0f} ms"
    )


if __name__ == "__main__":
    main()
