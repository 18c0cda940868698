"""Benchmark the web app: p50/p95 latency of the scorecard page and ``GET /api/v1/kpis``.

Builds a synthetic organisation (default 1,000 KPIs, 200 KRs, 50 objectives, 20 units, ten
weeks of daily points, evaluated every week) in a temporary SQLite store through the services,
starts ``onpace serve --workers N`` in a subprocess on a loopback port (N defaults to what
``onpace serve`` picks for this machine), signs in as a viewer through the form, then lets
50 concurrent clients, each on its own keep-alive HTTP/1.1 connection, fetch each address in
turn: the scorecard's first page, the first page of KPIs (100) and all 1,000 KPIs at once.

Every answer is checked: status 200 and a body equal, byte for byte, to a reference answer that
was itself checked (the scorecard shows its objectives, KRs and KPI rows; the KPI list parses
as JSON with the expected ids). Each client first makes ``--warmup`` requests that are not
counted, so every server process has built its caches. The clients speak HTTP/1.1 on asyncio
streams directly: a general-purpose client spends several milliseconds of CPU per request on
this 2-core machine and would measure itself rather than the server. Prints one line per
address and run, then the medians over the runs:
``<address>: <n> requests, p50 <ms> ms, p95 <ms> ms, max <ms> ms`` (target p95 ≤ 150 ms).

    python bench/web_latency.py [--kpis 1000] [--clients 50] [--requests 20] [--runs 3] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import polars as pl

from onpace.domain.model import Cycle, Feed, KeyResult, Kpi, Model, Objective, Person, Plan, Unit
from onpace.services.evaluate_service import evaluate_store
from onpace.services.ingest import ingest_frame
from onpace.services.model_store import save_model
from onpace.services.users import add_user
from onpace.storage.db import make_engine, make_session_factory, upgrade

START = dt.date(2026, 4, 6)
WEEKS = 10
PASSWORD = "benchmark-password"
SECRET = "benchmark-secret-key-0123456789"


def build_model(kpis: int, rng: np.random.Generator) -> Model:
    """Return a synthetic organisation with ``kpis`` KPIs feeding a fifth as many KRs."""
    units = tuple(Unit(f"u{i}", f"Unit {i}", parent="u0" if i else None, head=f"p{i}") for i in range(20))
    people = tuple(Person(f"p{i}", f"Person {i}", f"p{i}@bench.example", f"u{i % 20}") for i in range(100))
    n_krs, n_objectives = max(1, kpis // 5), max(1, kpis // 20)
    objectives = []
    for o in range(n_objectives):
        krs = tuple(
            KeyResult(f"kr{k}", f"Key result {k}", f"o{o}", owner=f"p{k % 100}", weight=1.0 + k % 3)
            for k in range(o * n_krs // n_objectives, (o + 1) * n_krs // n_objectives)
        )
        objectives.append(
            Objective(
                f"o{o}", f"Objective {o}", "q", f"u{o % 20}", f"p{o % 100}", "customer", key_results=krs
            )
        )
    kpi_list = []
    for i in range(kpis):
        feeds = (Feed(f"kr{i % n_krs}", round(float(rng.uniform(0.2, 1.0)), 2)),)
        kpi_list.append(
            Kpi(
                f"k{i}",
                f"KPI {i}",
                f"u{i % 20}",
                (f"p{i % 100}",),
                measure="flow" if i % 3 == 0 else "level",
                aggregate="sum" if i % 3 == 0 else "mean",
                plan=Plan(per_bucket=700.0) if i % 3 == 0 else Plan(baseline=90.0, target=99.0),
                feeds=feeds,
            )
        )
    cycle = Cycle("q", START, START + dt.timedelta(weeks=12, days=-1))
    return Model(
        "Bench Org",
        units=units,
        people=people,
        cycles=(cycle,),
        objectives=tuple(objectives),
        kpis=tuple(kpi_list),
    )


def build_points(kpis: int, rng: np.random.Generator) -> pl.DataFrame:
    """Return ten weeks of daily points for every KPI, drifting so some go amber and red."""
    days = WEEKS * 7
    ids = np.repeat(np.arange(kpis), days)
    offsets = np.tile(np.arange(days), kpis)
    drift = rng.normal(0, 0.002, kpis)[ids] * offsets
    level = np.where(
        ids % 3 == 0,
        100.0 * (1 + drift + rng.normal(0, 0.05, ids.size)),
        90.0 * (1 + drift) + rng.normal(0, 1.0, ids.size),
    )
    return pl.DataFrame(
        {
            "metric": [f"k{i}" for i in ids],
            "date": [START + dt.timedelta(days=int(d)) for d in offsets],
            "value": level,
        }
    )


def build_store(url: str, kpis: int) -> None:
    """Fill the store: model, points, one evaluation per week, and a viewer to sign in as."""
    rng = np.random.default_rng(7)
    model = build_model(kpis, rng)
    points = build_points(kpis, rng)
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC)
    with make_session_factory(engine)() as session:
        org_id = save_model(session, model, by="bench", now=now).org_id
        ingest_frame(
            session,
            org_id,
            points,
            source="bench",
            run_by="bench",
            manual=False,
            now=now,
            known_metrics={k.id for k in model.kpis},
        )
        for week in range(1, WEEKS + 1):
            as_of = START + dt.timedelta(weeks=week, days=-1)
            evaluate_store(session, org_id, model, as_of, now=now + dt.timedelta(weeks=week))
        add_user(
            session,
            email="viewer@bench.example",
            name="Viewer",
            role="viewer",
            password=PASSWORD,
            now=now,
            person_id="p1",
        )
        session.commit()
    engine.dispose()


def free_port() -> int:
    """Return a TCP port free on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(url: str, port: int, workers: int | None) -> subprocess.Popen[bytes]:
    """Start ``onpace serve`` in a subprocess, as production runs it, and wait until it answers."""
    env = {**os.environ, "ONPACE_DATABASE_URL": url, "ONPACE_SECRET_KEY": SECRET}
    command = [sys.executable, "-m", "onpace", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start within 60 s")


async def sign_in(base: str) -> httpx.Cookies:
    """Sign in as the viewer through the form; return the session cookies."""
    async with httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/login")
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        answer = await client.post(
            "/login",
            data={"email": "viewer@bench.example", "password": PASSWORD, "csrf_token": csrf, "next": "/"},
        )
        if answer.status_code != 303:
            raise SystemExit(f"sign-in failed: {answer.status_code}")
        return client.cookies


class Connection:
    """One client's keep-alive HTTP/1.1 connection: GET requests, answers read by Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        """Connect to the server on the loopback interface."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        return cls(reader, writer)

    async def get(self, request: bytes) -> tuple[int, bytes]:
        """Send one prepared GET request; return the status and the whole body."""
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise SystemExit("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = None
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise SystemExit(f"an answer without Content-Length: {status_line!r}")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()


def get_request(path: str, port: int, cookie: str) -> bytes:
    """Return the bytes of a browser-like GET request for ``path`` with the session cookie."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        "Accept: */*\r\nUser-Agent: onpace-bench\r\n\r\n"
    ).encode()


def check_answer(path: str, body: bytes, kpis: int) -> None:
    """Check that ``body`` is the real content of ``path`` for the synthetic organisation."""
    if path.startswith("/scorecard"):
        page = body.decode()
        for needed in ('id="scorecard"', "Objective 0", 'href="/krs/kr0"', 'class="kpi-link"'):
            if needed not in page:
                raise SystemExit(f"{path} does not show {needed!r}")
        return
    items = json.loads(body)
    limit = int(path.partition("limit=")[2] or 100)
    expected = [f"k{i}" for i in range(min(limit, kpis))]
    if [item["id"] for item in items] != expected or not all(item["feeds"] for item in items):
        raise SystemExit(f"{path} did not list KPIs {expected[0]}…{expected[-1]} with their feeds")


@dataclass(frozen=True)
class Load:
    """What one measurement does: the clients, their requests, and the expected answer."""

    port: int
    cookie: str
    clients: int
    requests: int
    warmup: int
    kpis: int


async def hammer(load: Load, path: str) -> list[float]:
    """Let the clients each fetch ``path`` (warm-up, then measured); return the latencies (s).

    Every answer must be 200 with the same bytes as the first, which is checked for content.
    """
    request = get_request(path, load.port, load.cookie)
    first = await Connection.open(load.port)
    status, reference = await first.get(request)
    first.close()
    if status != 200:
        raise SystemExit(f"{path} answered {status}")
    check_answer(path, reference, load.kpis)
    latencies: list[float] = []

    async def one_client() -> None:
        connection = await Connection.open(load.port)
        try:
            for n in range(load.warmup + load.requests):
                started = time.perf_counter()
                status, body = await connection.get(request)
                if n >= load.warmup:
                    latencies.append(time.perf_counter() - started)
                if status != 200 or body != reference:
                    raise SystemExit(f"{path} answered {status} with {len(body)} bytes unlike the first")
        finally:
            connection.close()

    await asyncio.gather(*(one_client() for _ in range(load.clients)))
    return latencies


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    """Return p50, p95 and the maximum of ``latencies``, in milliseconds."""
    ms = sorted(x * 1000 for x in latencies)
    return statistics.median(ms), ms[max(0, round(0.95 * len(ms)) - 1)], ms[-1]


def report(path: str, latencies: list[float]) -> str:
    """Return the summary line of one address."""
    p50, p95, top = percentiles(latencies)
    return f"{path}: {len(latencies)} requests, p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {top:.0f} ms"


def main() -> int:
    """Build the store, start the server, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="measured requests per client and address")
    parser.add_argument("--warmup", type=int, default=2, help="requests per client not measured")
    parser.add_argument("--runs", type=int, default=3, help="measurements of each address")
    parser.add_argument("--workers", type=int, default=None, help="server processes (onpace serve's default)")
    args = parser.parse_args()
    paths = ("/scorecard", "/api/v1/kpis", "/api/v1/kpis?limit=1000")
    with tempfile.TemporaryDirectory(prefix="onpace-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        started = time.perf_counter()
        build_store(url, args.kpis)
        print(
            f"store: {args.kpis} KPIs, {WEEKS} weekly evaluations, built in {time.perf_counter() - started:.1f} s"
        )
        port = free_port()
        server = start_server(url, port, args.workers)
        try:
            cookies = asyncio.run(sign_in(f"http://127.0.0.1:{port}"))
            cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
            load = Load(port, cookie, args.clients, args.requests, args.warmup, args.kpis)
            # The store was built in this process: keep the client's own collector from pausing
            # over those objects mid-measurement, which would count as the server's latency.
            gc.collect()
            gc.freeze()
            figures: dict[str, list[tuple[float, float, float]]] = {path: [] for path in paths}
            for run in range(1, args.runs + 1):
                for path in paths:
                    latencies = asyncio.run(hammer(load, path))
                    figures[path].append(percentiles(latencies))
                    print(f"run {run} {report(path, latencies)}")
            for path, runs in figures.items():
                p50, p95, top = (statistics.median(run[i] for run in runs) for i in range(3))
                print(
                    f"median of {len(runs)} runs {path}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {top:.0f} ms"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
