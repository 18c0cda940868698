"""``/metrics``: Prometheus text for admins and the scraper beside the server, nobody else."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from web_world import Persona

from onpace.storage.db import make_engine, make_session_factory
from onpace.storage.tables import CaseRow, OutboxRow

PORT = 8453


def bearer(persona: Persona) -> dict[str, str]:
    return {"Authorization": f"Bearer {persona.token}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse the exposition (it must parse) into {(sample name, labels): value}."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_an_admin_reads_open_cases_by_kind_and_queue_depth_as_the_store_holds_them(
    client: TestClient, personas: dict[str, Persona], world: tuple[str, dict[str, Persona]]
) -> None:
    answer = client.get("/metrics", headers=bearer(personas["admin"]))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    got = samples(answer.text)
    engine = make_engine(world[0])
    with make_session_factory(engine)() as session:
        open_by_kind = dict(
            session.execute(
                select(CaseRow.kind, func.count()).where(CaseRow.status == "open").group_by(CaseRow.kind)
            ).all()
        )
        pending = session.scalar(select(func.count()).where(OutboxRow.delivered_at.is_(None)))
    engine.dispose()
    assert open_by_kind, "the demo store has open cases"
    shown = {
        dict(labels)["kind"]: value for (name, labels), value in got.items() if name == "onpace_open_cases"
    }
    assert shown == {kind: float(n) for kind, n in open_by_kind.items()}
    outbox = [
        v
        for (name, labels), v in got.items()
        if name == "onpace_queue_depth" and ("queue", "outbox") in labels
    ]
    assert sum(outbox) == float(pending or 0)


def test_requests_are_counted_by_route_template_not_by_path(
    client: TestClient, personas: dict[str, Persona]
) -> None:
    listed = client.get("/api/v1/cases", headers=bearer(personas["admin"])).json()
    case_id = listed[0]["id"] if isinstance(listed, list) else listed["items"][0]["id"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=bearer(personas["admin"])).status_code == 200
    assert client.get("/api/v1/cases/999999", headers=bearer(personas["admin"])).status_code == 404
    text = client.get("/metrics", headers=bearer(personas["admin"])).text
    got = samples(text)
    ok = (("method", "GET"), ("route", "/api/v1/cases/{case_id}"), ("status", "200"))
    missing = (("method", "GET"), ("route", "/api/v1/cases/{case_id}"), ("status", "404"))
    assert got[("onpace_http_requests_total", ok)] >= 1
    assert got[("onpace_http_requests_total", missing)] >= 1
    assert f'/api/v1/cases/{case_id}"' not in text
    # The store was built in this process: its evaluations and ingestions were timed.
    assert got[("onpace_evaluation_duration_seconds_count", ())] >= 1
    assert got[("onpace_ingest_duration_seconds_count", ())] >= 1


@pytest.mark.parametrize(("persona", "status"), [("owner", 403), ("editor", 403), ("viewer", 403)])
def test_anyone_but_an_admin_is_refused_from_afar(
    client: TestClient, personas: dict[str, Persona], persona: str, status: int
) -> None:
    answer = client.get("/metrics", headers=bearer(personas[persona]))
    assert answer.status_code == status
    assert "onpace_" not in answer.text


def test_an_anonymous_request_from_afar_is_refused_with_401(client: TestClient) -> None:
    answer = client.get("/metrics")
    assert answer.status_code == 401
    assert "onpace_" not in answer.text


@pytest.fixture(scope="module")
def served(app: FastAPI) -> Iterator[str]:
    """Serve the app with uvicorn on loopback for the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{PORT}"
    server.should_exit = True
    thread.join(timeout=30)


def test_a_scraper_on_this_machine_reads_them_without_credentials(served: str) -> None:
    answer = httpx.get(f"{served}/metrics", timeout=30)
    assert answer.status_code == 200
    assert re.search(r"^onpace_open_cases\{", answer.text, re.MULTILINE)


def test_a_request_through_a_proxy_on_this_machine_is_not_the_local_scraper(served: str) -> None:
    answer = httpx.get(f"{served}/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=30)
    assert answer.status_code == 401


@pytest.mark.slow
def test_the_processes_of_onpace_serve_add_up_their_request_counts(
    world: tuple[str, dict[str, Persona]],
) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"ONPACE_DATABASE_URL": world[0], "ONPACE_SECRET_KEY": "metrics-test-key-0123456789"}
    port = PORT + 1
    server = subprocess.Popen(
        [sys.executable, "-m", "onpace", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        before = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
        key = ("onpace_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))
        # New connections each time: the two processes share the listening socket and take turns.
        for _ in range(40):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        after = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    finally:
        server.terminate()
        server.communicate(timeout=60)
    assert after[key] - before.get(key, 0.0) == 40
