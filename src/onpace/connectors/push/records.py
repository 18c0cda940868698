"""Check records pushed by a client (a list of JSON objects) with the same rules as every connector.

A pushed record is an object with ``metric``, ``date`` (ISO date or timestamp) and ``value``
(a number, or a number written as text), and optionally ``source``; other keys are ignored.
Nothing is pulled for a push source: :func:`fetch` returns no records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Mapping, Sequence

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


def push_sources(sources: Iterable[Source]) -> tuple[str, ...]:
    """Return the ids of the sources declared with kind ``push``: the only ones data may be pushed as."""
    return tuple(source.id for source in sources if source.kind == KIND)


def undeclared_source(requested: str | None, declared: Sequence[str]) -> tuple[str | None, str | None]:
    """Return the push source a batch is stored under, or None and why it is refused.

    With no source named, the model's only push source is meant; a source that the model does
    not declare as a push source is refused, so nobody can make data look as if a system sent it.
    """
    listed = ", ".join(declared) if declared else "none: declare one, e.g. `- {id: my_system, kind: push}`"
    if requested is None:
        if len(declared) == 1:
            return declared[0], None
        return None, f"name the push source the records come from (the model's push sources: {listed})"
    if requested not in declared:
        return None, f"'{requested}' is not a push source of the model (its push sources: {listed})"
    return requested, None


def restrict_sources(result: FetchResult, declared: Collection[str]) -> FetchResult:
    """Return ``result`` with records that name a source other than a declared push source rejected."""
    allowed = pl.col("source").is_in(list(declared))
    refused = result.records.filter(~allowed)
    if refused.is_empty():
        return result
    extra = tuple(
        Rejected(
            line=row["line"],
            locator=f"records[{row['line'] - 1}]",
            raw=f"{row['metric']},{row['date']},{row['value']:g},{row['source']}",
            reason=f"source '{row['source']}' is not a push source of the model",
        )
        for row in refused.iter_rows(named=True)
    )
    rejected = sorted((*result.rejected, *extra), key=lambda r: r.line or 0)
    return FetchResult(result.records.filter(allowed), tuple(rejected), result.state)
