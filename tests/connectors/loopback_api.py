"""A real JSON API on 127.0.0.1 for the HTTP connector tests, answering through a Python function."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


Reply = tuple[int, object]
"""A status and a body (serialised as JSON unless it is bytes)."""


@dataclass
class Api:
    base: str
    answer: Callable[[Call], Reply]
    calls: list[Call] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def running_api(answer: Callable[[Call], Reply]) -> Iterator[Api]:
    api = Api(base="", answer=answer)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            call = Call(
                parts.path,
                {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                {k.lower(): v for k, v in self.headers.items()},
            )
            api.calls.append(call)
            status, body = api.answer(call)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in api.extra_headers.items():
                self.send_header(name, value.replace("{base}", api.base))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    api.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
