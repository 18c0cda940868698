"""Read actuals from an HTTP API that answers JSON, page by page, through a field mapping.

Options:

- ``url``: the endpoint; ``params``: query parameters. Both may contain ``{since}`` or
  ``{since:%Y-%m-%d %H:%M}``, replaced by the time of the last good pull (``since_default``,
  default 1970-01-01, on the first).
- ``headers`` (values may be ``env:VAR``), ``token`` (sent as ``Authorization: Bearer``),
  ``username`` + ``password`` (HTTP basic auth); ``timeout`` in seconds (default 30).
- ``records``: dotted path of the list of items in each page (empty: the body is the list).
- ``fields``: ``{metric: …, date: …, value: …[, source: …]}``, each a dotted path into an
  item or ``=literal`` (``metric: =bugs_closed``, ``value: =1``).
- ``paginate``: see :mod:`onpace.connectors.http_json.paging`.
- ``aggregate``: fold items to one record per metric and date (``count`` counts them).

Worked example, issues resolved per day from a Jira-style search API::

    - id: jira
      kind: http
      url: https://jira.example.com/rest/api/2/search
      params: {jql: 'resolved >= "{since:%Y-%m-%d}"', fields: resolutiondate}
      token: env:JIRA_TOKEN
      records: issues
      fields: {metric: =issues_resolved, date: fields.resolutiondate, value: =1}
      paginate: {style: offset, param: startAt, size_param: maxResults, size: 100, total: total}
      aggregate: count

Every request goes through the outbound guard (:mod:`onpace.outbound`): the URL and each
redirect's target must be public or allowlisted (``ONPACE_OUTBOUND_ALLOW``); credentials are
not carried to another origin.

Failures: no connection, a timeout, HTTP 408, 429 and 5xx are transient; 401 and 403 (and
any other 4xx), a refused address, a body that is not JSON or has no list at ``records`` are
permanent.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import replace

import httpx
import polars as pl

from onpace import outbound
from onpace.connectors.base import (
    FetchResult,
    SourceError,
    option_mapping,
    option_number,
    option_text,
    validate,
)
from onpace.connectors.http_json.paging import Pager, PagingError
from onpace.connectors.http_json.paths import MISSING, extract, lookup
from onpace.domain.model import Source

KIND = "http"
_SINCE = re.compile(r"\{since(?::([^}]*))?\}")
_FIELDS = ("metric", "date", "value")
_TRANSIENT_STATUS = frozenset({408, 425, 429})


def fill_since(text: str, since: dt.datetime) -> str:
    """Replace ``{since}`` (ISO date) and ``{since:FORMAT}`` (strftime) placeholders in ``text``."""
    return _SINCE.sub(lambda m: since.strftime(m.group(1)) if m.group(1) else since.date().isoformat(), text)


def _since(source: Source, since: dt.datetime | None, env: Mapping[str, str]) -> dt.datetime:
    if since is not None:
        return since
    default = option_text(source, "since_default", env, "1970-01-01")
    try:
        return dt.datetime.fromisoformat(default)
    except ValueError:
        raise SourceError(
            f"option 'since_default' is not an ISO date: {default!r}", permanent=True, source=source.id
        ) from None


def _fields(source: Source) -> dict[str, str]:
    mapping = source.options.get("fields", {})
    if not isinstance(mapping, Mapping):
        raise SourceError(
            "option 'fields' must map metric, date and value to paths", permanent=True, source=source.id
        )
    fields = {k: str(mapping.get(k, k)) for k in (*_FIELDS, "source") if k in mapping or k in _FIELDS}
    return fields


def _client(source: Source, env: Mapping[str, str]) -> httpx.Client:
    headers = {"Accept": "application/json", "User-Agent": "onpace-connector"}
    headers.update(option_mapping(source, "headers", env))
    if "token" in source.options:
        headers["Authorization"] = "Bearer " + option_text(source, "token", env)
    auth = None
    if "username" in source.options:
        auth = httpx.BasicAuth(option_text(source, "username", env), option_text(source, "password", env, ""))
    timeout = option_number(source, "timeout", 30.0)
    # Redirects are followed by the guard, hop by hop, never by the client itself.
    return httpx.Client(
        headers=headers,
        auth=auth,
        timeout=timeout,
        follow_redirects=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def _get(
    client: httpx.Client, url: str, params: Mapping[str, str], source_id: str
) -> tuple[httpx.Response, str]:
    try:
        # An empty params mapping would wipe the query a next link already carries.
        response, answered = outbound.request(
            client, "GET", url, params=dict(params) or None, follow_redirects=True
        )
    except outbound.OutboundError as err:
        raise SourceError(err.message, permanent=err.permanent, source=source_id) from None
    except httpx.TimeoutException as err:
        raise SourceError(
            f"timed out calling {url} ({type(err).__name__})", permanent=False, source=source_id
        ) from None
    except httpx.TransportError as err:
        raise SourceError(f"cannot reach {url}: {err}", permanent=False, source=source_id) from None
    status = response.status_code
    if status >= 500 or status in _TRANSIENT_STATUS:
        raise SourceError(f"{url} answered HTTP {status}; will retry", permanent=False, source=source_id)
    if status in (401, 403):
        raise SourceError(
            f"{url} refused the credentials (HTTP {status}); check the token or headers",
            permanent=True,
            source=source_id,
        )
    if status >= 400:
        raise SourceError(
            f"{url} answered HTTP {status}: {response.text[:200]}", permanent=True, source=source_id
        )
    if 300 <= status < 400:
        raise SourceError(
            f"{url} answered HTTP {status} with no usable redirect", permanent=True, source=source_id
        )
    return response, answered


def fetch(
    source: Source,
    since: dt.datetime | None,
    *,
    env: Mapping[str, str],
    state: Mapping[str, str] | None = None,
) -> FetchResult:
    """Pull every page of the source's API and return the mapped items as records.

    A record's line is its item number across all pages (from 1); its locator names the page.
    """
    moment = _since(source, since, env)
    url = fill_since(option_text(source, "url", env), moment)
    params = {k: fill_since(v, moment) for k, v in option_mapping(source, "params", env).items()}
    records_path = str(source.options.get("records", ""))
    fields = _fields(source)
    settings = source.options.get("paginate", {})
    if not isinstance(settings, Mapping):
        raise SourceError("option 'paginate' must be a mapping", permanent=True, source=source.id)
    try:
        pager = Pager(settings, url)
    except PagingError as err:
        raise SourceError(str(err), permanent=True, source=source.id) from None
    columns: dict[str, list[object]] = {k: [] for k in fields}
    locators: list[str] = []
    raws: list[str] = []
    request = pager.first()
    with _client(source, env) as client:
        for page in range(1, pager.max_pages + 1):
            query = dict(request.params) if request.complete else {**params, **request.params}
            response, answered = _get(client, request.url, query, source.id)
            try:
                body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise SourceError(
                    f"{request.url} did not answer JSON (content type {response.headers.get('content-type')})",
                    permanent=True,
                    source=source.id,
                ) from None
            items = lookup(body, records_path)
            if not isinstance(items, list):
                found = "nothing" if items is MISSING else type(items).__name__
                raise SourceError(
                    f"expected a list at '{records_path or '(body)'}' in page {page}, found {found}",
                    permanent=True,
                    source=source.id,
                )
            for index, item in enumerate(items, start=1):
                for name, spec in fields.items():
                    columns[name].append(extract(item, spec))
                locators.append(f"page {page} item {index}")
                raws.append(json.dumps(item, default=str)[:500])
            nxt = pager.next(body, len(items), response.headers.get("link"), answered)
            if nxt is None:
                break
            request = nxt
        else:
            raise SourceError(
                f"pagination did not end after {pager.max_pages} pages; check 'paginate'",
                permanent=True,
                source=source.id,
            )
    frame = pl.DataFrame(
        {
            **{name: _column(values) for name, values in columns.items()},
            "locator": pl.Series(locators, dtype=pl.String),
            "raw": pl.Series(raws, dtype=pl.String),
        }
    )
    return replace(validate(frame, source=source, origin=url), state=dict(state or {}))


def _column(values: list[object]) -> pl.Series:
    """Return one mapped field as text; JSON numbers keep their exact decimal text."""
    return pl.Series(
        [
            None if v is None else json.dumps(v) if isinstance(v, dict | list | bool) else str(v)
            for v in values
        ],
        dtype=pl.String,
    )
