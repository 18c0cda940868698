"""Real processes for the loop tests: a model whose cycle holds today, `onpace serve` and `onpace worker`.

No tests here: builders only. Every process reads the same store URL; the webhook route's URL
and secret come from the environment, as in production.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from onpace.modelfile import parse_model_text
from onpace.services.model_store import save_model
from onpace.services.tokens import create_token
from onpace.services.users import add_user

HOOK_SECRET = "loop-hook-secret"


def model_text(today: dt.date, kpis: int = 3) -> str:
    """Return an organisation whose cycle holds ``today``, with weekly KPIs planned at 100 and a hook."""
    start = today - dt.timedelta(days=today.weekday() + 28)
    lines = [
        "org: Loopco",
        "units:",
        "  - {id: ops, name: Operations, head: olga}",
        "people:",
        "  - {id: olga, name: Olga Berg, email: olga@loop.example, unit: ops}",
        "cycles:",
        f"  - {{id: c1, start: {start}, end: {start + dt.timedelta(days=90)}}}",
        "kpis:",
    ]
    lines += [
        f"  - {{id: k{i}, title: KPI {i}, unit: ops, owner: olga, measure: level, grain: week, "
        "aggregate: last, plan: {per_bucket: 100}, source: feed, constraint: true}"
        for i in range(kpis)
    ]
    lines += [
        "sources:",
        "  - {id: feed, kind: push}",
        "policy:",
        "  open_case_on: [red]",
        "notify:",
        '  - {id: owner-hook, url: "env:ONPACE_ROUTE_LOOP_HOOK_URL", '
        'secret: "env:ONPACE_ROUTE_LOOP_HOOK_SECRET", units: [ops], events: [case_opened]}',
    ]
    return "\n".join(lines) + "\n"


def seed(engine: Engine, today: dt.date, kpis: int = 3) -> str:
    """Store the model and an editor with an API token; return the token."""
    now = dt.datetime.now(dt.UTC)
    model = parse_model_text(model_text(today, kpis), "loopco.yaml")
    with Session(engine) as session, session.begin():
        save_model(session, model, by="test", now=now)
        add_user(session, email="ed@loop.example", name="Ed", role="editor", password=None, now=now)
        token = create_token(session, email="ed@loop.example", name="feed", scope="write", now=now)
    return token.token


def free_port() -> int:
    """Return a port nothing listens on, chosen by the system.

    A fixed range probed in order hands the same port to two test processes running at once,
    and one of them then talks to the other's server.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def process_env(url: str, hook_url: str) -> dict[str, str]:
    """Return the environment of a serve or worker process on the store ``url``."""
    return {
        **os.environ,
        "ONPACE_DATABASE_URL": url,
        "ONPACE_SECRET_KEY": "loop-test-key-0123456789abcdef",
        "ONPACE_OUTBOUND_ALLOW": "127.0.0.1",
        "ONPACE_LOG_LEVEL": "WARNING",
        "ONPACE_ROUTE_LOOP_HOOK_URL": hook_url,
        "ONPACE_ROUTE_LOOP_HOOK_SECRET": HOOK_SECRET,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m onpace ARGS`` for the block; stop it with SIGTERM (SIGKILL if it lingers)."""
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "onpace", *args], env=env, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """Run `onpace serve` (one process) for the block and yield its base URL once it answers."""
    port = free_port()
    with running(["serve", "--port", str(port), "--workers", "1"], env, log) as proc:
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, "the server to answer")
        yield base
