"""Loopback receivers for the notifier and worker tests: a real HTTP server and a real SMTP server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """A real HTTP server on 127.0.0.1 that answers POSTs with the given statuses in turn."""

    url: str
    statuses: list[int]
    received: list[Received] = field(default_factory=list)
    check: Callable[[Received], int | None] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers (a ``Location`` to redirect, say)."""


@contextmanager
def running_http_receiver(
    statuses: list[int] | None = None, check: Callable[[Received], int | None] | None = None
) -> Iterator[HttpReceiver]:
    """Run an :class:`HttpReceiver` for the block; ``check`` may override the status of a request."""
    state = HttpReceiver(url="", statuses=list(statuses or [200]), check=check)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            got = Received(
                self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            state.received.append(got)
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
            if state.check is not None:
                status = state.check(got) or status
            self.send_response(status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/onpace"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Inbox:
    """Mail received by the SMTP server: (sender, recipients, message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        message = BytesParser().parsebytes(envelope.original_content or envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox

    @property
    def smtp_url(self) -> str:
        """Return the Apprise URL of this server, as ``ONPACE_SMTP_URL`` would give it."""
        return f"mailto://{self.host}:{self.port}?from=onpace@hook.example&smtp={self.host}"


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    # aiosmtpd cannot listen on port 0, so borrow a free port from the kernel first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()


def body_text(message: Message) -> str:
    """Return the decoded text of every part of a mail message."""
    parts = [p.get_payload(decode=True) for p in message.walk() if not p.is_multipart()]
    return "\n".join(bytes(p).decode() for p in parts if isinstance(p, bytes))
