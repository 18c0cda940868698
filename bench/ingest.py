"""Benchmark CSV → store ingestion against the plain bulk load of the same file into the same store.

Writes an actuals CSV (default 5,000,000 rows: 2,000 metrics × 2,500 days), then in one run:

- **ingest**: ``onpace.services.ingest.ingest_csv`` into a fresh store (parse, checks,
  quarantine, versions against the store, lineage, the insert into ``points``), committed;
- **raw**: the same file loaded as it is into a plain table of the same store — SQLite:
  ``executemany`` in one transaction; PostgreSQL: ``COPY`` — the floor any loader pays;
- **keyed** (PostgreSQL): the same file ``COPY``-ed into a table with the same columns, keys and
  indexes as ``points`` (``CREATE TABLE … (LIKE points INCLUDING ALL)``, the other columns
  filled by defaults) — the floor for a loader that must keep those keys, and the fair one.

Each run uses a fresh store; the figures are medians over ``--runs`` runs. The last line is
exactly ``ingest: <rows> rows, <rows/s> rows/s, raw <rows/s> rows/s, ratio <x>, keyed ratio <y>``
(ratio = median ingest time / median raw time; keyed ratio = median ingest time / median keyed
time, ``n/a`` on SQLite).

    python bench/ingest.py [--rows 5000000] [--runs 3] [--url sqlite:///…|postgresql://…] [--profile]

Without ``--url`` a temporary SQLite file is used. On PostgreSQL each run works in a schema of
its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from onpace.services.ingest import ingest_csv
from onpace.storage.db import make_engine, normalise_url, upgrade
from onpace.storage.tables import OrgRow

START = dt.date(2020, 1, 1)
NOW = dt.datetime(2026, 2, 3, 9, 0, tzinfo=dt.UTC)


def write_csv(path: Path, rows: int, *, seed: int = 7) -> list[str]:
    """Write ``rows`` actuals (metric-major, one per day) to ``path``; return the metric ids."""
    days = min(rows, 2500)
    metrics = -(-rows // days)
    rng = np.random.default_rng(seed)
    ids = [f"kpi_{i:05d}" for i in range(metrics)]
    metric = np.repeat(np.array(ids), days)[:rows]
    dates = pl.date_range(START, START + dt.timedelta(days=days - 1), "1d", eager=True)
    frame = pl.DataFrame(
        {
            "metric": metric,
            "date": pl.concat([dates] * metrics)[:rows],
            "value": np.round(rng.normal(100, 15, rows), 3),
            "source": "bench",
        }
    )
    frame.write_csv(path)
    return ids


@contextmanager
def fresh_store(url: str | None, folder: Path) -> Iterator[Engine]:
    """Yield an engine on a new migrated store: a SQLite file, or a PostgreSQL schema of its own."""
    if url is None or make_url(normalise_url(url)).get_backend_name() == "sqlite":
        engine = make_engine(url or f"sqlite:///{folder / 'bench.db'}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
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


def timed_ingest(engine: Engine, path: Path, metrics: list[str], *, profile: bool) -> tuple[float, str]:
    """Ingest the file into a new organisation, committed; return the seconds and the run's summary."""
    with Session(engine) as session, session.begin():
        org = OrgRow(
            name=f"bench-{uuid.uuid4().hex[:6]}", week_start="monday", created_at=NOW, updated_at=NOW
        )
        session.add(org)
        session.flush()
        org_id = org.id
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    with Session(engine) as session, session.begin():
        report = ingest_csv(
            session, org_id, path, source="bench", run_by="bench", now=NOW, known_metrics=metrics
        )
    elapsed = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    return elapsed, report.summary()


def timed_raw(engine: Engine, path: Path) -> float:
    """Load the file as it is into a plain table of the same store; return the seconds."""
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS bench_raw")
        connection.exec_driver_sql(
            "CREATE TABLE bench_raw (metric TEXT, date TEXT, value DOUBLE PRECISION, source TEXT)"
        )
    started = time.perf_counter()
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            statement = "COPY bench_raw FROM STDIN WITH (FORMAT csv, HEADER true)"
            with raw.cursor() as cursor, path.open("rb") as handle, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
        else:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                next(reader)
                raw.executemany("INSERT INTO bench_raw VALUES (?, ?, ?, ?)", reader)  # type: ignore[union-attr]
    elapsed = time.perf_counter() - started
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE bench_raw")
    return elapsed


_KEYED_DEFAULTS = {
    "org_id": "1",
    "ingested_at": "now()",
    "manual": "false",
    "version": "1",
    "approved": "true",
    "retro_flag": "false",
}


def timed_keyed(engine: Engine, path: Path) -> float | None:
    """COPY the file into a table keyed and indexed as ``points`` (PostgreSQL); return the seconds."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS bench_keyed")
        connection.exec_driver_sql("CREATE TABLE bench_keyed (LIKE points INCLUDING ALL)")
        for column, default in _KEYED_DEFAULTS.items():
            connection.exec_driver_sql(f"ALTER TABLE bench_keyed ALTER COLUMN {column} SET DEFAULT {default}")
    started = time.perf_counter()
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        statement = "COPY bench_keyed (metric, date, value, source) FROM STDIN WITH (FORMAT csv, HEADER true)"
        with raw.cursor() as cursor, path.open("rb") as handle, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
    elapsed = time.perf_counter() - started
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE bench_keyed")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows in the CSV (default 5,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs, each on a fresh store (default 3)")
    parser.add_argument("--url", default=None, help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the ingestion to stderr")
    args = parser.parse_args(argv)
    raw_times: list[float] = []
    keyed_times: list[float] = []
    ingest_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="onpace-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "actuals.csv"
        started = time.perf_counter()
        metrics = write_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(
            f"wrote {args.rows:,} rows ({size_mb:.0f} MB, {len(metrics)} metrics) in {time.perf_counter() - started:.1f} s"
        )
        for run in range(1, args.runs + 1):
            store = folder / f"run{run}"
            store.mkdir()
            with fresh_store(args.url, store) as engine:
                raw_s = timed_raw(engine, path)
                keyed = timed_keyed(engine, path)
                ingest_s, summary = timed_ingest(engine, path, metrics, profile=args.profile and run == 1)
            raw_times.append(raw_s)
            ingest_times.append(ingest_s)
            keyed_text = ""
            if keyed is not None:
                keyed_times.append(keyed)
                keyed_text = f", keyed COPY {keyed:.2f} s (keyed ratio {ingest_s / keyed:.2f})"
            print(
                f"run {run} ({engine.dialect.name}): raw bulk load {raw_s:.2f} s{keyed_text}, ingest "
                f"{ingest_s:.2f} s (ratio {ingest_s / raw_s:.2f}) — {summary}"
            )
    ingest_s, raw_s = statistics.median(ingest_times), statistics.median(raw_times)
    keyed_s = statistics.median(keyed_times) if keyed_times else None
    keyed_median = f", keyed COPY {keyed_s:.2f} s" if keyed_s is not None else ""
    print(
        f"medians over {args.runs} run(s): raw bulk load {raw_s:.2f} s{keyed_median}, ingest {ingest_s:.2f} s"
    )
    rate, raw_rate = args.rows / ingest_s, args.rows / raw_s
    keyed_ratio = f"{ingest_s / keyed_s:.2f}" if keyed_s is not None else "n/a"
    print(
        f"ingest: {args.rows} rows, {rate:.0f} rows/s, raw {raw_rate:.0f} rows/s, ratio {ingest_s / raw_s:.2f}, "
        f"keyed ratio {keyed_ratio}"
    )


if __name__ == "__main__":
    main()
