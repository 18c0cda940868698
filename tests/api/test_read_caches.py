"""The read caches: every reader gets the store's current state, and a warm view asks the store nothing.

The app remembers the store's fingerprints, who a session or token is, the model and the views
built from them (the scorecard, the KPI list). A change made through the app is seen by the next
request at once; a change made by another process (a worker, ``onpace load``) once the app looks
at the fingerprints again, which these tests make immediate by setting ``FINGERPRINT_TTL`` to 0
rather than by waiting. The module works on a demo store of its own, since it changes it.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, event
from web_world import LAST_WEEK, SECRET_KEY, Persona, build_world, new_database, sign_in

from onpace.api import state as app_state
from onpace.app import create_app
from onpace.config import Settings
from onpace.services import model_edit
from onpace.services.evaluate_service import evaluate_store
from onpace.services.model_store import load_model
from onpace.services.users import set_role
from onpace.storage.db import make_engine, make_session_factory
from onpace.storage.repositories import model_repo

pytestmark = pytest.mark.store

NEXT_WEEK = LAST_WEEK + dt.timedelta(days=7)


class World:
    """An app on a store of its own, the personas, and an engine that writes as another process."""

    def __init__(self, app: FastAPI, personas: dict[str, Persona], other: Engine) -> None:
        self.app, self.personas, self.other = app, personas, other

    def bearer(self, key: str) -> dict[str, str]:
        """Return the headers of a request made with a persona's write token."""
        return {"Authorization": f"Bearer {self.personas[key].token}"}


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Return a world used by this module only."""
    url, drop = new_database(tmp_path_factory.mktemp("caches"), "caches")
    personas = build_world(url)
    other = make_engine(url)
    yield World(create_app(Settings(database_url=url, secret_key=SecretStr(SECRET_KEY))), personas, other)
    other.dispose()
    drop()


@pytest.fixture
def client(own: World) -> Iterator[TestClient]:
    """Return a client on the module's app."""
    with TestClient(own.app, follow_redirects=False) as test_client:
        yield test_client


def kpi_ids(client: TestClient, own: World) -> list[str]:
    answer = client.get("/api/v1/kpis", params={"limit": 1000}, headers=own.bearer("viewer"))
    assert answer.status_code == 200
    return [kpi["id"] for kpi in answer.json()]


def test_a_kpi_added_through_the_api_is_listed_by_the_next_request(
    client: TestClient, own: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_state, "FINGERPRINT_TTL", 3600.0)  # only the commit may refresh the view
    before = kpi_ids(client, own)
    assert "returns_rate" not in before
    body = {"id": "returns_rate", "title": "Returns (%)", "unit": "online", "owners": ["ana"]}
    assert client.post("/api/v1/kpis", json=body, headers=own.bearer("editor")).status_code == 201
    assert kpi_ids(client, own) == [*before, "returns_rate"]


def test_an_objective_renamed_through_the_api_shows_on_the_next_scorecard(
    client: TestClient, own: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_state, "FINGERPRINT_TTL", 3600.0)
    sign_in(client, own.personas["viewer"])
    assert "Grow online sales" not in client.get("/scorecard").text
    editor = own.bearer("editor")
    objective = client.get("/api/v1/objectives/O1", headers=editor).json()
    renamed = {**objective, "title": "Grow online sales"}
    assert client.put("/api/v1/objectives/O1", json=renamed, headers=editor).status_code == 200
    assert "Grow online sales" in client.get("/scorecard").text


def test_a_model_saved_by_another_process_is_listed_once_the_fingerprints_are_read_again(
    client: TestClient, own: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "spare_kpi" not in kpi_ids(client, own)  # the list is now cached
    with make_session_factory(own.other)() as session:
        model = load_model(session, None)
        first = model.kpis[0]
        spare = type(first)(id="spare_kpi", title="Spare", unit=first.unit, owners=first.owners)
        org_id = model_repo.find_org(session).id
        model_edit.save_edit(
            session, org_id, model_edit.with_kpi(model, spare), by="loader", now=dt.datetime.now(dt.UTC)
        )
        session.commit()
    monkeypatch.setattr(app_state, "FINGERPRINT_TTL", 0.0)
    assert "spare_kpi" in kpi_ids(client, own)


def test_a_new_evaluation_by_another_process_shows_on_the_next_scorecard(
    client: TestClient, own: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, own.personas["viewer"])
    assert f"as of {LAST_WEEK.day} {LAST_WEEK:%b %Y}" in client.get("/scorecard").text
    with make_session_factory(own.other)() as session:
        model = load_model(session, None)
        now = dt.datetime.combine(NEXT_WEEK, dt.time(23), tzinfo=dt.UTC)
        evaluate_store(session, model_repo.find_org(session).id, model, NEXT_WEEK, now=now)
        session.commit()
    monkeypatch.setattr(app_state, "FINGERPRINT_TTL", 0.0)
    assert f"as of {NEXT_WEEK.day} {NEXT_WEEK:%b %Y}" in client.get("/scorecard").text


def test_a_role_changed_by_another_process_applies_once_the_app_looks_again(
    client: TestClient, own: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_state, "FINGERPRINT_TTL", 0.0)
    viewer = own.personas["viewer"]
    assert client.get("/api/v1/me", headers=own.bearer("viewer")).json()["role"] == "viewer"
    with make_session_factory(own.other)() as session:
        set_role(session, viewer.email, "editor")
        session.commit()
    try:
        assert client.get("/api/v1/me", headers=own.bearer("viewer")).json()["role"] == "editor"
    finally:
        with make_session_factory(own.other)() as session:
            set_role(session, viewer.email, "viewer")
            session.commit()


def test_warm_views_are_served_without_a_single_query(
    client: TestClient, own: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_state, "FINGERPRINT_TTL", 3600.0)
    sign_in(client, own.personas["viewer"])
    paths = ["/scorecard", "/scorecard?status=red", "/api/v1/kpis", "/api/v1/kpis?limit=1000"]

    # Each page carries a fresh CSP nonce; everything else must be the same.
    def text(path: str) -> str:
        return re.sub(r'nonce="[^"]+"', 'nonce=""', client.get(path).text)

    warm = {path: text(path) for path in paths}
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = own.app.state.onpace.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        again = {path: text(path) for path in paths}
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert again == warm
    assert statements == []


def test_while_one_request_builds_a_view_the_others_wait_for_it(
    own: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = own.app.state.onpace
    late_readers = 6
    building, release = threading.Event(), threading.Event()
    tried = threading.Barrier(late_readers + 1)
    entered_during_build: list[str] = []
    builds: list[str] = []
    builder = type(state)._builder

    class Watched:
        """The build lock, noting who gets in while the first build is still running."""

        def __init__(self, lock: threading.Lock) -> None:
            self.lock = lock

        def __enter__(self) -> None:
            name = threading.current_thread().name
            got_in = self.lock.acquire(blocking=False)
            if name.startswith("late"):
                if got_in and not release.is_set():
                    entered_during_build.append(name)
                tried.wait()
            if not got_in:
                self.lock.acquire()

        def __exit__(self, *exc: object) -> None:
            self.lock.release()

    monkeypatch.setattr(type(state), "_builder", lambda self, key: Watched(builder(self, key)))

    def build() -> str:
        builds.append(threading.current_thread().name)
        building.set()
        assert release.wait(timeout=60)
        return "the view"

    results: list[str] = []

    def read() -> None:
        results.append(state.view(("built once",), ("fingerprint",), build))

    first = threading.Thread(target=read, name="first")
    first.start()
    assert building.wait(timeout=60)
    late = [threading.Thread(target=read, name=f"late{n}") for n in range(late_readers)]
    for thread in late:
        thread.start()
    tried.wait()  # every late reader has missed the cache and tried the build lock
    release.set()
    for thread in [first, *late]:
        thread.join(timeout=60)
    assert entered_during_build == []
    assert builds == ["first"]
    assert results == ["the view"] * (late_readers + 1)
