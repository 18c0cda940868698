"""Give the demo's pulled sources real systems to pull from, written into the demo folder.

The example organisation's ``actuals.csv`` says which source delivered each point (its
``source`` column). For every source the model pulls, the demo writes what that source would
hold, so that the worker's pulls read exactly the points the replay loaded:

- a ``sql`` source reads ``sources/<id>.db``, a SQLite database its query runs on unchanged.
  The example's shop database has one row per order in ``orders`` (``order_day``), so the
  query's ``count(*) … GROUP BY order_day`` gives back each day's order count;
- an ``http`` source reads ``sources/<id>.json``, the records a loopback endpoint of the demo
  serves (:mod:`onpace.demo_endpoint`), each keyed as the source's ``fields`` option maps them;
- a ``csv`` source's relative drop folder gets one file with the source's points.

:func:`source_environment` then says what the ``env:`` names of those sources resolve to while
the demo serves: the database's URL, the endpoint's URL and its token.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from onpace.domain.model import Model, Source

SOURCES_FOLDER = "sources"
#: The table and column of the example shop database, as the model's query reads them.
ORDERS_TABLE = "orders"
ORDER_DAY = "order_day"


@dataclass(frozen=True)
class Point:
    """One row of the example's actuals: metric, ISO date, value."""

    metric: str
    date: str
    value: float


def points_by_source(actuals_csv: Path) -> dict[str, list[Point]]:
    """Return the points of an actuals file grouped by its ``source`` column (rows without one are left out)."""
    grouped: dict[str, list[Point]] = defaultdict(list)
    with actuals_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            source = (row.get("source") or "").strip()
            try:
                value = float(row.get("value") or "")
            except ValueError:
                continue
            if source:
                grouped[source].append(Point(row["metric"].strip(), row["date"].strip()[:10], value))
    return dict(grouped)


def pulled_sources(model: Model) -> list[Source]:
    """Return the model's sources the worker pulls on a schedule or on request (not ``push``)."""
    return [s for s in model.sources if s.kind in ("sql", "http", "csv")]


def write_shop_database(path: Path, points: list[Point]) -> int:
    """Write a SQLite database with one ``orders`` row per order of each day; return the orders written."""
    path.unlink(missing_ok=True)
    orders = [(p.date,) for p in points for _ in range(max(0, round(p.value)))]
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.execute(
                f"CREATE TABLE {ORDERS_TABLE} (id INTEGER PRIMARY KEY, {ORDER_DAY} TEXT NOT NULL)"
            )
            connection.executemany(f"INSERT INTO {ORDERS_TABLE} ({ORDER_DAY}) VALUES (?)", orders)
    finally:
        connection.close()
    return len(orders)


def _field(source: Source, name: str) -> str:
    fields = source.options.get("fields")
    value = fields.get(name, name) if isinstance(fields, Mapping) else name
    return str(value)


def api_records(source: Source, points: list[Point]) -> list[dict[str, object]]:
    """Return the points as the records of an HTTP source, keyed by the source's ``fields`` mapping."""
    keys = {name: _field(source, name) for name in ("metric", "date", "value")}
    return [
        {keys["date"]: p.date, keys["metric"]: p.metric, keys["value"]: p.value}
        for p in sorted(points, key=lambda p: (p.date, p.metric))
    ]


def write_drop_file(path: Path, points: list[Point]) -> None:
    """Write a source's points as a CSV file (``metric,date,value``) a csv source reads."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(("metric", "date", "value"))
    # repr keeps every digit: the file must hold the very values the replay loaded.
    writer.writerows((p.metric, p.date, repr(p.value)) for p in points)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.getvalue(), encoding="utf-8")


def write_source_systems(model: Model, actuals_csv: Path, folder: Path) -> list[str]:
    """Write what each pulled source of ``model`` reads into ``folder``; return one line per source.

    ``actuals_csv`` holds the points already loaded. A relative drop folder is made under
    ``folder``; an absolute or ``env:`` one is left alone (the demo writes nowhere else).
    """
    points = points_by_source(actuals_csv)
    systems = folder / SOURCES_FOLDER
    systems.mkdir(parents=True, exist_ok=True)
    lines = []
    for source in pulled_sources(model):
        mine = points.get(source.id, [])
        if source.kind == "sql":
            orders = write_shop_database(systems / f"{source.id}.db", mine)
            lines.append(
                f"{source.id}: a SQLite database with {orders} orders ({SOURCES_FOLDER}/{source.id}.db)"
            )
        elif source.kind == "http":
            records = api_records(source, mine)
            (systems / f"{source.id}.json").write_text(json.dumps(records, indent=1), encoding="utf-8")
            lines.append(
                f"{source.id}: {len(records)} records served on loopback ({SOURCES_FOLDER}/{source.id}.json)"
            )
        else:
            drop = source.options.get("path")
            if not isinstance(drop, str) or drop.startswith("env:") or Path(drop).is_absolute():
                continue
            (folder / drop).mkdir(parents=True, exist_ok=True)
            if mine:
                write_drop_file(folder / drop / f"{source.id}-actuals.csv", mine)
            lines.append(f"{source.id}: {len(mine)} points in its drop folder ({drop})")
    return lines


def _env_name(value: object) -> str | None:
    return value[4:].strip() if isinstance(value, str) and value.startswith("env:") else None


def source_environment(model: Model, folder: Path, *, endpoint: str, token: str) -> dict[str, str]:
    """Return what the ``env:`` names of the model's sources mean while the demo serves.

    A ``sql`` source's URL is its database in ``folder``; an ``http`` source's URL is
    ``endpoint`` + ``/<id>``, and its ``Authorization`` header or ``token`` carries ``token``.
    """
    env: dict[str, str] = {}
    for source in pulled_sources(model):
        url = _env_name(source.options.get("url"))
        if source.kind == "sql" and url:
            env[url] = f"sqlite:///{(folder / SOURCES_FOLDER / f'{source.id}.db').resolve()}"
        if source.kind != "http":
            continue
        if url:
            env[url] = f"{endpoint}/{source.id}"
        headers = source.options.get("headers")
        if isinstance(headers, Mapping):
            for header, value in headers.items():
                name = _env_name(value)
                if name and str(header).lower() == "authorization":
                    env[name] = f"Bearer {token}"
        name = _env_name(source.options.get("token"))
        if name:
            env[name] = token
    return env
