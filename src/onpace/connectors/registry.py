"""Map a source's ``kind`` to the connector that reads it, and fetch through it.

A new kind is a new folder exposing ``KIND`` and ``fetch``, added to :data:`CONNECTORS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

from onpace.connectors import csv_files, excel, http_json, push, sql
from onpace.connectors.base import Fetch, FetchResult, SourceError
from onpace.domain.model import Source

CONNECTORS: Mapping[str, Fetch] = MappingProxyType(
    {
        csv_files.KIND: csv_files.fetch,
        excel.KIND: excel.fetch,
        sql.KIND: sql.fetch,
        http_json.KIND: http_json.fetch,
        push.KIND: push.fetch,
    }
)

#: Other spellings accepted in a model file.
ALIASES: Mapping[str, str] = MappingProxyType(
    {"xlsx": "excel", "http_json": "http", "json": "http", "database": "sql"}
)


def kinds() -> tuple[str, ...]:
    """Return the source kinds known, sorted."""
    return tuple(sorted(CONNECTORS))


def connector_for(kind: str) -> Fetch:
    """Return the fetch function of ``kind`` (or an alias); an unknown kind is a permanent error."""
    name = ALIASES.get(kind, kind)
    if name not in CONNECTORS:
        raise SourceError(f"unknown source kind '{kind}' (known: {', '.join(kinds())})", permanent=True)
    return CONNECTORS[name]


def fetch(
    source: Source,
    since: dt.datetime | None,
    *,
    env: Mapping[str, str],
    state: Mapping[str, str] | None = None,
) -> FetchResult:
    """Fetch ``source`` with the connector of its kind (see :class:`onpace.connectors.base.Fetch`)."""
    try:
        connector = connector_for(source.kind)
    except SourceError as err:
        raise SourceError(err.message, permanent=True, source=source.id) from None
    return connector(source, since, env=env, state=state)
