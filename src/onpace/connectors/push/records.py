"""Check records pushed by a client (a list of JSON objects) with the same rules as every connector.

A pushed record is an object with ``metric``, ``date`` (ISO date or timestamp) and ``value``
(a number, or a number written as text), and optionally ``source``; other keys are ignored.
Nothing is pulled for a push source: :func:`fetch` returns no records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

import polars as pl

from onpace.connectors.base import FetchResult, Rejected, validate
from onpace.domain.model import Source

KIND = "push"
_FIELDS = ("metric", "date", "value", "source")


def _text(value: object) -> str | None:
    """Return a pushed field as text for the shared parser; booleans are kept as words so they fail."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def validate_pushed(records: Sequence[object], *, source: Source | str) -> FetchResult:
    """Return the good records and the refused ones of a pushed batch (locator ``records[i]``, from 0).

    ``source`` is the push source (or its id); it is the records' source unless one names its own.
    """
    src = source if isinstance(source, Source) else Source(id=source, kind=KIND)
    columns: dict[str, list[str | None]] = {k: [] for k in (*_FIELDS, "line", "locator", "raw")}
    not_objects: list[Rejected] = []
    for index, item in enumerate(records):
        if not isinstance(item, Mapping):
            not_objects.append(
                Rejected(index + 1, f"records[{index}]", json.dumps(item, default=str)[:500], "not an object")
            )
            continue
        for name in _FIELDS:
            columns[name].append(_text(item.get(name)))
        columns["line"].append(str(index + 1))
        columns["locator"].append(f"records[{index}]")
        columns["raw"].append(json.dumps(item, default=str, sort_keys=True)[:500])
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String)).with_columns(
        pl.col("line").cast(pl.Int64)
    )
    result = validate(frame, source=src, origin="records")
    rejected = sorted((*result.rejected, *not_objects), key=lambda r: r.line or 0)
    return FetchResult(result.records, tuple(rejected), {})


def fetch(
    source: Source,
    since: dt.datetime | None,
    *,
    env: Mapping[str, str],
    state: Mapping[str, str] | None = None,
) -> FetchResult:
    """Return no records: a push source receives its data through the API, it is never pulled."""
    return FetchResult(state=dict(state or {}))
