"""Serve the demo's HTTP sources on loopback: a small JSON API, as the model's ``http`` sources read it.

Each ``http`` source of the model gets ``GET /<source id>``, answering the records the demo
wrote to ``sources/<id>.json`` (:mod:`onpace.services.demo_sources`), shaped as the source's
options ask: the list under ``records``, a page at a time with ``paginate: {style: cursor}``
(the cursor is the next record's position, under ``next``), only the records dated on or after
the ``since`` query parameter when given. A request without ``Authorization: Bearer <token>``
is answered 401, as a real API would. The server listens on 127.0.0.1 on a port the system
chooses; :func:`running_endpoint` yields its base URL.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from onpace.domain.model import Model, Source
from onpace.services.demo_sources import SOURCES_FOLDER

HOST = "127.0.0.1"
PAGE_SIZE = 100


@dataclass
class Endpoint:
    """A running endpoint: where it listens, the token it wants, and how many requests it answered."""

    host: str
    port: int
    token: str
    served: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Return the base URL; a source's records are at ``url + "/" + source id``."""
        return f"http://{self.host}:{self.port}"

    @property
    def allow_entry(self) -> str:
        """Return the outbound allowlist entry that lets onpace reach this endpoint and nothing else."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Feed:
    """One source's records and how to page them."""

    records: list[dict[str, object]]
    records_key: str
    date_key: str
    cursor_param: str | None
    next_key: str


def _feed(source: Source, folder: Path) -> Feed:
    path = folder / SOURCES_FOLDER / f"{source.id}.json"
    records = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    paginate = source.options.get("paginate")
    cursor = isinstance(paginate, Mapping) and paginate.get("style") == "cursor"
    fields = source.options.get("fields")
    date_key = str(fields.get("date", "date")) if isinstance(fields, Mapping) else "date"
    return Feed(
        records=records,
        records_key=str(source.options.get("records") or ""),
        date_key=date_key,
        cursor_param=str(paginate.get("param", "cursor"))
        if cursor and isinstance(paginate, Mapping)
        else None,
        next_key=str(paginate.get("next", "next_cursor")) if isinstance(paginate, Mapping) else "next",
    )


def page_of(feed: Feed, query: Mapping[str, list[str]]) -> object:
    """Return the body answering ``query``: the records from the cursor on, dated on or after ``since``."""
    since = (query.get("since") or [""])[0][:10]
    records = [r for r in feed.records if str(r.get(feed.date_key, "")) >= since]
    if feed.cursor_param is None:
        return {feed.records_key: records} if feed.records_key else records
    raw = (query.get(feed.cursor_param) or ["0"])[0]
    start = int(raw) if raw.isdigit() else 0
    page = records[start : start + PAGE_SIZE]
    after = start + len(page)
    body: dict[str, object] = {feed.records_key or "items": page}
    body[feed.next_key] = str(after) if after < len(records) else None
    return body


def _handler(feeds: Mapping[str, Feed], endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            feed = feeds.get(parts.path.strip("/"))
            if feed is None:
                self._answer(404, {"error": f"no source at {parts.path}"})
                return
            if not secrets.compare_digest(self.headers.get("Authorization", ""), f"Bearer {endpoint.token}"):
                self._answer(401, {"error": "a bearer token is required"})
                return
            source = parts.path.strip("/")
            endpoint.served[source] = endpoint.served.get(source, 0) + 1
            self._answer(200, page_of(feed, parse_qs(parts.query)))

        def _answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Log nothing: the worker's log already says what each pull got."""

    return Handler


@contextmanager
def running_endpoint(model: Model, folder: Path, *, port: int = 0) -> Iterator[Endpoint]:
    """Serve the model's ``http`` sources from ``folder`` on loopback until the block ends."""
    feeds = {s.id: _feed(s, folder) for s in model.sources if s.kind == "http"}
    endpoint = Endpoint(HOST, port, secrets.token_urlsafe(24))
    server = ThreadingHTTPServer((HOST, port), _handler(feeds, endpoint))
    endpoint.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="onpace-demo-sources", daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
