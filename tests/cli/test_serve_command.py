"""``onpace serve``: the app in as many worker processes as asked, on one store; no start without a key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from onpace.app import MAX_DEFAULT_WORKERS, default_workers
from onpace.cli import app
from onpace.config import get_settings

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def worker_processes(parent: int) -> list[int]:
    """Return the processes the server spawned to serve requests (not multiprocessing's helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if ppid == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts processes through /proc")
def test_serve_runs_the_asked_number_of_worker_processes_and_they_answer(database_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ONPACE_DATABASE_URL": database_url,
        "ONPACE_SECRET_KEY": "serve-test-key-0123456789",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "onpace", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), "the server to answer")
        wait_for(lambda: len(worker_processes(server.pid)) == 2, "two worker processes")
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=10)
        assert login.status_code == 200
        assert 'name="csrf_token"' in login.text
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=60)
    assert "with 2 worker processes" in output.decode()


def test_serve_with_a_too_short_secret_key_says_so_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("ONPACE_SECRET_KEY", "short")
    monkeypatch.delenv("ONPACE_SECRET_KEY_FILE", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["serve", "--port", str(free_port())])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "ONPACE_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "serve.db").exists()
    assert not (tmp_path / "secret-key").exists()


def test_the_default_number_of_workers_follows_the_cpus_within_the_cap() -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    assert default_workers() == max(1, min(usable, MAX_DEFAULT_WORKERS))
