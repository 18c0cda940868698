"""Read and write an organisation's cached points of the evaluation window (``points_cache``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import polars as pl
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from onpace.storage.tables import PointsCacheRow


@dataclasses.dataclass(frozen=True)
class CacheMark:
    """What a stored cache holds, without its points: which window, at which store version."""

    key: str
    version: int
    head: str


def mark(session: Session, org_id: int) -> CacheMark | None:
    """Return what the organisation's stored cache holds, or None when there is none."""
    row = session.execute(
        select(PointsCacheRow.key, PointsCacheRow.version, PointsCacheRow.head).where(
            PointsCacheRow.org_id == org_id
        )
    ).first()
    return None if row is None else CacheMark(key=row[0], version=int(row[1]), head=row[2])


def points(session: Session, org_id: int, schema: dict[str, type[pl.DataType]]) -> pl.DataFrame | None:
    """Return the cached points, or None when there are none or they do not read as ``schema``.

    A cache that cannot be read (written by another version, damaged) is not an error: the
    caller reads the points from ``points`` instead.
    """
    blob = session.scalar(select(PointsCacheRow.points).where(PointsCacheRow.org_id == org_id))
    if blob is None:
        return None
    try:
        frame = pl.read_ipc(io.BytesIO(blob))
    except Exception:
        return None
    if dict(frame.schema) != schema:
        return None
    return frame


def write(
    session: Session,
    org_id: int,
    *,
    key: str,
    version: int,
    head: str,
    frame: pl.DataFrame,
    now: dt.datetime,
) -> None:
    """Put ``frame`` in the organisation's cache, in place of what it held (one row per organisation)."""
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="lz4")
    values = {
        "org_id": org_id,
        "key": key,
        "version": version,
        "head": head,
        "rows": frame.height,
        "points": buffer.getvalue(),
        "made_at": now,
    }
    # An upsert, so two processes keeping the cache at once never fail on the key.
    dialect = session.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = maker(PointsCacheRow).values(values)
    changed = {name: stmt.excluded[name] for name in values if name != "org_id"}
    session.execute(stmt.on_conflict_do_update(index_elements=["org_id"], set_=changed))
