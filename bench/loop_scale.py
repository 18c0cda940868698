"""Measure the loop at enterprise scale: evaluate, load, push-to-owner latency and concurrent pushes.

A synthetic organisation — ``--kpis`` KPIs (default 10,000; grains day/week/month, flow and
level), one KR per five KPIs, one objective per four KRs — with ``--years`` years (default 3) of
daily history already in the store and the current quarter in progress. On the store named by
``--url`` (default: a temporary SQLite file; on PostgreSQL the run works in a schema of its own,
dropped at the end — nothing is started on the server) it prints:

- ``onpace load`` of the model, in a fresh process;
- ``onpace evaluate`` end to end in a fresh process (first run: opens the cases; second: the
  steady state), with the process's peak RSS;
- the evaluate-and-govern service call alone (a process that imports, then times only the call):
  cold (nothing read yet), then warm (after one pushed point, as a running worker meets it);
- push → case opened → signed webhook received, over ``--trials`` trials, through a real
  ``onpace serve`` and one ``onpace worker`` (and three on PostgreSQL): p50/p95/max;
- ``--clients`` clients (default 50) pushing batches for ``--seconds`` seconds (default 30):
  answers by status, and whether every acknowledged point is in the store.

The last line is exactly
``loop_scale: <kpis> kpis, <points> points, evaluate <s> s, service <s> s, push p95 <ms> ms, 5xx <n>``
(evaluate: a fresh-process run on a store whose evaluations keep their points cache, as a running
worker's do; service: the evaluate-and-govern call of a fresh process from that cache; push p95:
one worker; 5xx: over the bursts). The runs without the cache (a store nobody evaluated yet, or
the first evaluation of new cycles) are printed above it. ``--keep PATH`` keeps the store (a SQLite file, or a PostgreSQL schema named after
PATH's stem) and reuses it on the next run, skipping the load and the history.

    python bench/loop_scale.py [--kpis 10000] [--years 3] [--url postgresql://…] [--port 8000] [--keep PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import numpy as np
import polars as pl
from latency import SECRET, fresh_store, percentile, running_receiver
from push_burst import burst
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from onpace.services.tokens import create_token
from onpace.services.users import add_user
from onpace.storage import bulk
from onpace.storage.db import make_engine, normalise_url, upgrade
from onpace.storage.tables import CaseRow, OrgRow, PointRow, PointsCacheRow

GRAINS = ("day",) * 6 + ("week",) * 3 + ("month",)
PLAN = {"day": 100.0, "week": 700.0, "month": 3000.0}


def quarter_start(today: dt.date) -> dt.date:
    return dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


def kpi_grain(i: int) -> str:
    return GRAINS[i % len(GRAINS)]


def is_flow(i: int) -> bool:
    return i % 2 == 0


def model_text(kpis: int, today: dt.date) -> str:
    """Return the organisation: units, people, the current quarter, objectives, KRs, KPIs and a hook."""
    krs, objectives, units, people = (
        max(kpis // 5, 1),
        max(kpis // 20, 1),
        max(kpis // 200, 1),
        max(kpis // 50, 1),
    )
    start = quarter_start(today)
    end = dt.date(start.year + (start.month + 3 > 12), (start.month + 2) % 12 + 1, 1) - dt.timedelta(days=1)
    lines = ["org: Scale bench", "units:"]
    lines += [f"  - {{id: u{u}, name: Unit {u}, head: p{u % people}}}" for u in range(units)]
    lines += ["people:"]
    lines += [
        f"  - {{id: p{p}, name: Person {p}, email: p{p}@scale.example, unit: u{p % units}}}"
        for p in range(people)
    ]
    lines += ["cycles:", f"  - {{id: q, start: {start}, end: {end}}}", "objectives:"]
    per_objective = -(-krs // objectives)
    for o in range(objectives):
        lines += [f"  - id: O{o}", f"    title: Objective {o}", "    cycle: q", f"    unit: u{o % units}"]
        lines += [f"    owner: p{o % people}", "    key_results:"]
        for r in range(o * per_objective, min((o + 1) * per_objective, krs)):
            lines.append(f"      - {{id: KR{r}, title: Key result {r}, owner: p{r % people}, weight: 1}}")
    lines += ["kpis:"]
    for i in range(kpis):
        grain, flow = kpi_grain(i), is_flow(i)
        measure, aggregate = ("flow", "sum") if flow else ("level", "mean")
        plan = PLAN[grain] if flow else 100.0
        lines.append(
            f"  - {{id: k{i}, title: KPI {i}, unit: u{i % units}, owner: p{i % people}, measure: {measure}, "
            f"grain: {grain}, aggregate: {aggregate}, plan: {{per_bucket: {plan}}}, source: feed, leading: true, "
            f"feeds: [{{kr: KR{i % krs}, weight: 0.5}}]}}"
        )
    lines += [
        "sources:",
        "  - {id: feed, kind: push}",
        "policy:",
        "  open_case_on: [red]",
        "notify:",
        '  - {id: owner-hook, url: "env:ONPACE_ROUTE_BENCH_HOOK_URL", secret: "env:ONPACE_ROUTE_BENCH_SECRET", '
        f"units: [{', '.join(f'u{u}' for u in range(units))}], events: [case_opened]}}",
    ]
    return "\n".join(lines) + "\n"


def write_history(engine: Engine, org_id: int, kpis: int, today: dt.date, years: int) -> int:
    """Store one point a day per KPI for ``years`` years up to today (on plan, small noise); return how many."""
    rng = np.random.default_rng(7)
    first = today - dt.timedelta(days=365 * years - 1)
    days = pl.date_range(first, today, "1d", eager=True)
    now = dt.datetime.now(dt.UTC)
    total = 0
    chunk = max(1, 1_000_000 // days.len())
    for lo in range(0, kpis, chunk):
        ids = list(range(lo, min(lo + chunk, kpis)))
        # Flow KPIs book 100 a day (their plans are per bucket); level ones sit near 100.
        values = rng.normal(100.0, 1.0, (len(ids), days.len())).round(3)
        frame = pl.DataFrame(
            {
                "org_id": org_id,
                "metric": np.repeat(np.array([f"k{i}" for i in ids]), days.len()),
                "date": pl.concat([days] * len(ids)),
                "value": values.ravel(),
                "source": "feed",
                "ingested_at": now,
                "manual": False,
                "version": 1,
                "approved": True,
                "retro_flag": False,
            }
        ).with_columns(pl.col("ingested_at").dt.replace_time_zone("UTC"))
        with Session(engine) as session, session.begin():
            bulk.insert_frame(session, PointRow.__table__, frame)  # type: ignore[arg-type]
        total += frame.height
    return total


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``python ARGS``; return (seconds, the process's peak RSS in MB, stdout); stop on an error."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], env=env, stdout=out, stderr=err)
        # wait4 gives this child's own resource use (RUSAGE_CHILDREN would be the largest of all).
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args[:3])} failed:\n{err.read().decode()[-3000:]}")
        return elapsed, usage.ru_maxrss / 1024, out.read().decode()


def service_child(url: str, as_of: str) -> None:
    """Time evaluate-and-govern calls (the body of ``--service-child``) and print the seconds.

    First the call of a process that has read nothing yet (cold), then, after one pushed point,
    the call of a process that evaluated before (warm: a running worker's steady state).
    """
    from onpace.services.ingest import ingest_frame
    from onpace.services.pull import evaluate_and_govern
    from onpace.storage.db import make_engine

    day = dt.date.fromisoformat(as_of)
    engine = make_engine(url, sqlite_immediate=True)
    with Session(engine) as session:
        org_id = session.scalars(select(OrgRow.id)).one()
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        evaluate_and_govern(session, org_id, as_of=day, now=dt.datetime.now(dt.UTC))
    cold = time.perf_counter() - started
    point = pl.DataFrame(
        {"metric": ["k1"], "date": [day], "value": [100.0 + time.time() % 1], "source": ["feed"]}
    )
    with Session(engine) as session, session.begin():
        ingest_frame(
            session,
            org_id,
            point,
            source="feed",
            run_by="bench",
            manual=False,
            now=dt.datetime.now(dt.UTC),
            known_metrics={"k1"},
        )
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        evaluate_and_govern(session, org_id, as_of=day, now=dt.datetime.now(dt.UTC))
    warm = time.perf_counter() - started
    print(f"{cold:.3f} {warm:.3f}")
    print(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


@contextmanager
def kept_store(url: str | None, keep: Path) -> Iterator[Engine]:
    """Yield a worker engine on a migrated store kept between runs: ``keep`` as a SQLite file, or a schema.

    On PostgreSQL the schema is named after ``keep``'s stem and stays after the run.
    """
    if url is None or make_url(normalise_url(url)).get_backend_name() == "sqlite":
        keep.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(f"sqlite:///{keep}", sqlite_immediate=True)
    else:
        schema = "".join(c if c.isalnum() else "_" for c in keep.stem)
        admin = make_engine(url)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        admin.dispose()
        scoped = make_url(normalise_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
        engine = make_engine(scoped.render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def free_port(wanted: int) -> int:
    for port in [wanted, *range(wanted + 1, wanted + 50)] if wanted else [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise SystemExit("no free port")


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "onpace", *args], env=env, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer")


def latency_trials(base: str, token: str, receiver: object, kpis: list[str], today: dt.date) -> list[float]:
    """Push one red actual per KPI and wait for its signed webhook; return the latencies in ms."""
    latencies = []
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        for kpi in kpis:
            started = time.perf_counter()
            answer = http.post(
                f"{base}/api/v1/actuals",
                json={
                    "source": "feed",
                    "records": [{"metric": kpi, "date": today.isoformat(), "value": 5.0}],
                },
            )
            if answer.status_code != 200:
                raise SystemExit(f"push failed: {answer.status_code} {answer.text}")
            arrived = receiver.wait_for(kpi, timeout=120)  # type: ignore[attr-defined]
            if arrived is None:
                raise SystemExit(f"no webhook for {kpi} within 120 s")
            latencies.append((arrived - started) * 1000)
    return latencies


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpis", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--url", default=None, help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--trials", type=int, default=100, help="push-to-webhook trials per worker count")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=0, help="first port to try for the server (default: any)")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep the store (SQLite file, or a PostgreSQL schema named after it) and reuse it next time",
    )
    parser.add_argument("--only-evaluate", action="store_true", help="stop after the evaluation figures")
    parser.add_argument("--service-child", nargs=2, metavar=("URL", "AS_OF"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.service_child:
        service_child(*args.service_child)
        return
    today = dt.datetime.now(dt.UTC).date()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="onpace-scale-")))
        if args.keep is not None:
            engine = stack.enter_context(kept_store(args.url, args.keep))
        else:
            engine = stack.enter_context(fresh_store(args.url, tmp))
        url = engine.url.render_as_string(hide_password=False)
        receiver = stack.enter_context(running_receiver())
        env = {
            **os.environ,
            "ONPACE_DATABASE_URL": url,
            "ONPACE_SECRET_KEY": "scale-bench-key-0123456789abcdef",
            "ONPACE_OUTBOUND_ALLOW": "127.0.0.1",
            "ONPACE_LOG_LEVEL": "WARNING",
            "ONPACE_ROUTE_BENCH_HOOK_URL": receiver.url,
            "ONPACE_ROUTE_BENCH_SECRET": SECRET,
        }
        print(f"store: {engine.dialect.name}; machine: {os.cpu_count()} CPUs (shared)")
        with Session(engine) as session:
            built = session.scalars(select(OrgRow.id)).one_or_none() is not None
        if built:
            with Session(engine) as session:
                points = session.scalar(select(func.count()).select_from(PointRow)) or 0
            print(f"store kept from an earlier run: {points:,} points (load and history not measured)")
        else:
            model = tmp / "onpace.yaml"
            model.write_text(model_text(args.kpis, today), encoding="utf-8")
            load_s, load_rss, _ = run_child(["-m", "onpace", "load", str(model)], env)
            print(f"onpace load: {args.kpis} KPIs in {load_s:.2f} s (peak RSS {load_rss:.0f} MB)")
            with Session(engine) as session:
                org_id = session.scalars(select(OrgRow.id)).one()
            started = time.perf_counter()
            points = write_history(engine, org_id, args.kpis, today, args.years)
            print(
                f"history: {points:,} points ({args.years} years daily) stored in "
                f"{time.perf_counter() - started:.1f} s"
            )
        evaluate = ["-m", "onpace", "evaluate", "--as-of", today.isoformat(), "--json"]

        def drop_points_cache() -> None:
            with Session(engine) as session, session.begin():
                session.execute(delete(PointsCacheRow))

        # Without the store's cache of the points (a store nobody has evaluated yet, or the first
        # evaluation of new cycles), then from the cache the evaluations before kept.
        drop_points_cache()
        first_s, first_rss, _ = run_child(evaluate, env)
        print(
            f"onpace evaluate (first of the day: opens cases; no points cache): {first_s:.2f} s, peak RSS {first_rss:.0f} MB"
        )
        drop_points_cache()
        bare_s, _, _ = run_child(evaluate, env)
        eval_s, eval_rss, _ = run_child(evaluate, env)
        print(
            f"onpace evaluate (steady): {bare_s:.2f} s without the points cache, {eval_s:.2f} s from it "
            f"(peak RSS {eval_rss:.0f} MB)"
        )
        drop_points_cache()
        _, _, out = run_child([__file__, "--service-child", url, today.isoformat()], env)
        uncached_s, _, _ = (float(x) for x in out.split())
        _, _, out = run_child([__file__, "--service-child", url, today.isoformat()], env)
        cold_s, warm_s, service_rss = (float(x) for x in out.split())
        print(
            f"evaluate-and-govern service call, fresh process: {uncached_s:.2f} s without the points cache "
            f"(it writes it), {cold_s:.2f} s from it; warm (after one pushed point, as in a running "
            f"worker) {warm_s:.2f} s (process peak RSS {service_rss:.0f} MB)"
        )
        if args.only_evaluate:
            return

        with Session(engine) as session, session.begin():
            now = dt.datetime.now(dt.UTC)
            if not built:  # a kept store has its user from the first run
                add_user(
                    session, email="feed@scale.example", name="Feed", role="editor", password=None, now=now
                )
            token = create_token(
                session, email="feed@scale.example", name="bench", scope="write", now=now
            ).token
        port = free_port(args.port)
        base = f"http://127.0.0.1:{port}"
        stack.enter_context(process(["serve", "--port", str(port), "--workers", "2"], env, tmp / "serve.log"))
        wait_ready(base)
        stack.enter_context(process(["worker"], env, tmp / "worker0.log"))
        with Session(engine) as session:
            taken = set(session.scalars(select(CaseRow.subject).distinct()))
        # A kept store holds earlier runs' red KPIs: only KPIs that never had a case are pushed red.
        red = [
            f"k{i}"
            for i in range(args.kpis)
            if kpi_grain(i) == "day" and not is_flow(i) and f"k{i}" not in taken
        ]
        p95s: dict[int, float] = {}
        counts = [1, 3] if engine.dialect.name == "postgresql" else [1]
        used = 0
        for workers in counts:
            while (
                len([p for p in ("worker0", "worker1", "worker2") if (tmp / f"{p}.log").exists()]) < workers
            ):
                n = len([p for p in ("worker0", "worker1", "worker2") if (tmp / f"{p}.log").exists()])
                stack.enter_context(process(["worker"], env, tmp / f"worker{n}.log"))
            trials = red[used : used + args.trials]
            used += len(trials)
            ms = latency_trials(base, token, receiver, trials, today)
            p95s[workers] = percentile(ms, 0.95) if len(ms) > 1 else ms[0]
            print(
                f"push → signed webhook, {workers} worker(s), {len(ms)} trials: p50 {statistics.median(ms):.0f} ms, "
                f"p95 {p95s[workers]:.0f} ms, max {max(ms):.0f} ms"
            )
        print("concurrent pushes:")
        statuses = burst(base, token, engine, args.clients, args.seconds, args.kpis).statuses
        errors = sum(n for code, n in statuses.items() if code >= 500)
        with Session(engine) as session:
            points = session.scalar(select(func.count()).select_from(PointRow)) or 0
    print(
        f"loop_scale: {args.kpis} kpis, {points} points, evaluate {eval_s:.2f} s, service {cold_s:.2f} s, "
        f"push p95 {p95s[1]:.0f} ms, 5xx {errors}"
    )


if __name__ == "__main__":
    main()
