"""Run a local SMTP server that keeps every message it receives as an ``.eml`` file: the demo's mailbox.

``onpace demo`` points the worker's mail at it, so the organisation's notifications go through
the real delivery code (Apprise over SMTP) and end up as files a visitor can open, instead of
in anybody's inbox. It listens on the loopback interface only and accepts any sender and
recipient. Each message is written under a temporary name and then renamed, so a reader never
sees half a file; files are numbered in the order they arrived (``0001-tom.eml``).
"""

from __future__ import annotations

import itertools
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class _MailFolder:
    """An aiosmtpd handler that writes each message it accepts into a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.numbers = itertools.count(len(list(folder.glob("*.eml"))) + 1)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        """Keep the message (the bytes as received) and accept it."""
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        first = str(envelope.rcpt_tos[0]) if envelope.rcpt_tos else "nobody"
        who = _UNSAFE.sub("-", first.split("@", 1)[0])[:40] or "nobody"
        name = f"{next(self.numbers):04d}-{who}.eml"
        partial = self.folder / f".{name}.part"
        partial.write_bytes(content)
        os.replace(partial, self.folder / name)
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class Mailbox:
    """A running mailbox: where it listens and where its files go."""

    host: str
    port: int
    folder: Path

    def smtp_url(self, sender: str) -> str:
        """Return the Apprise mail URL that sends through this mailbox as ``sender``."""
        query = urlencode({"from": sender, "smtp": self.host}, safe="@")
        return f"mailto://{self.host}:{self.port}?{query}"

    def address_url(self, sender: str, recipient: str) -> str:
        """Return the Apprise mail URL that sends to ``recipient`` through this mailbox."""
        query = urlencode({"from": sender, "to": recipient, "smtp": self.host}, safe="@")
        return f"mailto://{self.host}:{self.port}?{query}"


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_mailbox(folder: Path) -> Iterator[Mailbox]:
    """Run the mailbox on a free loopback port, writing into ``folder``, until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    # aiosmtpd cannot listen on port 0, so borrow a free port from the kernel first.
    port = free_port()
    controller = Controller(_MailFolder(folder), hostname=LOOPBACK, port=port)
    controller.start()
    try:
        yield Mailbox(LOOPBACK, port, folder)
    finally:
        controller.stop()
