"""Benchmark the web app: p50/p95 latency of the scorecard page and ``GET /api/v1/kpis``.

Builds a synthetic organisation (default 1,000 KPIs, 200 KRs, 50 objectives, 20 units, ten
weeks of daily points, evaluated every week) in a temporary SQLite store through the services,
starts ``uvicorn --factory onpace.app:create_app`` in a subprocess on a loopback port, then lets
50 concurrent clients (httpx, asyncio) fetch each address in turn: the scorecard's first page,
the first page of KPIs (100) and all 1,000 KPIs at once. Prints one line per address:
``<address>: <n> requests, p50 <ms> ms, p95 <ms> ms, max <ms> ms`` (target p95 ≤ 150 ms).

    python bench/http.py [--kpis 1000] [--clients 50] [--requests 20] [--workers 1]
"""

# ruff: noqa: E402 - the search path is mended before anything imports the standard ``http``
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on the search path and its name would hide
# the standard library's ``http`` package from httpx and uvicorn: drop the folder.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import tempfile
import time

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


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """Start uvicorn on the app factory in a subprocess and wait until it answers."""
    env = {**os.environ, "ONPACE_DATABASE_URL": url, "ONPACE_SECRET_KEY": SECRET}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "onpace.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
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


async def hammer(base: str, path: str, cookies: httpx.Cookies, clients: int, requests: int) -> list[float]:
    """Let ``clients`` concurrent clients each fetch ``path`` ``requests`` times; return latencies (s)."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits, timeout=60) as client:
        await client.get(path)  # warm the model cache

        async def one_client() -> None:
            for _ in range(requests):
                started = time.perf_counter()
                answer = await client.get(path)
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise SystemExit(f"{path} answered {answer.status_code}")

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies


def report(path: str, latencies: list[float]) -> str:
    """Return the summary line of one address."""
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    return f"{path}: {len(ms)} requests, p50 {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms"


def main() -> int:
    """Build the store, start the server, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kpis", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="requests per client and address")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
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
            base = f"http://127.0.0.1:{port}"
            cookies = asyncio.run(sign_in(base))
            for path in ("/scorecard", "/api/v1/kpis", "/api/v1/kpis?limit=1000"):
                latencies = asyncio.run(hammer(base, path, cookies, args.clients, args.requests))
                print(report(path, latencies))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
