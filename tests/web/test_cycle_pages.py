"""The cycles page: states and grades for everyone, the close form for admins only, on a real store."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from web_world import PASSWORD, SECRET_KEY, Persona, new_database, sign_in

from onpace.app import create_app
from onpace.config import Settings
from onpace.modelfile.load import load_model_file
from onpace.services.replay import as_of_dates, replay_into
from onpace.services.users import add_user
from onpace.storage.db import make_engine, make_session_factory, upgrade

pytestmark = pytest.mark.store

STORY = Path(__file__).resolve().parents[1] / "stories" / "four_quarters.yaml"


@pytest.fixture(scope="module")
def story_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Persona]]]:
    """Return a client on a store holding the four-quarter story up to mid-May, and its users."""
    import sys

    sys.path.insert(0, str(STORY.parent))
    from test_four_quarters import actuals

    url, drop = new_database(tmp_path_factory.mktemp("cycles"), "cycles")
    engine = make_engine(url)
    upgrade(engine)
    model = load_model_file(STORY)
    created = dt.datetime(2026, 3, 30, 9, tzinfo=dt.UTC)
    personas: dict[str, Persona] = {}
    with make_session_factory(engine)() as session:
        weeks = as_of_dates(dt.date(2026, 1, 4), dt.date(2026, 5, 17), "week")
        list(replay_into(session, model, actuals(), [], weeks, actor="loader", origin="story"))
        for key, role, person in (
            ("admin", "admin", None),
            ("viewer", "viewer", None),
            ("ben", "owner", "ben"),
        ):
            email = f"{key}@bakery.example"
            add_user(
                session,
                email=email,
                name=key.title(),
                role=role,
                password=PASSWORD,
                now=created,
                person_id=person,
                org=model.org,
            )
            personas[key] = Persona(key, email, role, person, "", "")
        session.commit()
    engine.dispose()
    app = create_app(Settings(database_url=url, secret_key=SecretStr(SECRET_KEY)))
    with TestClient(app, follow_redirects=False) as client:
        yield client, personas
    drop()


def test_a_viewer_sees_the_cycles_but_may_not_close_one(
    story_app: tuple[TestClient, dict[str, Persona]],
) -> None:
    client, personas = story_app
    csrf = sign_in(client, personas["viewer"])
    page = client.get("/cycles?cycle=2026-Q1")
    assert page.status_code == 200
    assert 'data-cycle="2026-Q4"' in page.text
    assert 'id="close-cycle"' not in page.text
    refused = client.post("/cycles/2026-Q1/close", data={"csrf_token": csrf})
    assert refused.status_code == 403
    client.cookies.clear()


def test_an_admin_closes_a_quarter_and_its_grades_stand_on_the_page(
    story_app: tuple[TestClient, dict[str, Persona]],
) -> None:
    client, personas = story_app
    csrf = sign_in(client, personas["admin"])
    page = client.get("/cycles?cycle=2026-Q1")
    assert 'id="close-cycle"' in page.text
    unknown = client.post("/cycles/2026-Q9/close", data={"csrf_token": csrf})
    assert unknown.status_code == 400
    assert "no cycle" in unknown.text
    closed = client.post("/cycles/2026-Q1/close", data={"csrf_token": csrf})
    assert closed.status_code == 303
    page = client.get("/cycles?cycle=2026-Q1").text
    row = page[page.index('data-cycle="2026-Q1"') :]
    assert re.search(r"<td>closed</td>", row[:400])
    view = page[page.index('id="cycle-view"') :]
    assert 'data-subject="KR-Q1"' in view
    assert "green" in view[view.index('data-subject="KR-Q1"') :][:600]
    again = client.post("/cycles/2026-Q1/close", data={"csrf_token": csrf})
    assert again.status_code == 400
    assert "already closed" in again.text
    scorecard = client.get("/scorecard?cycle=2026-Q1")
    assert scorecard.status_code == 200
    assert "KR-Q1" in scorecard.text
    client.cookies.clear()


def test_a_kpi_page_charts_its_standing_cycle_after_cycle(
    story_app: tuple[TestClient, dict[str, Persona]],
) -> None:
    client, personas = story_app
    sign_in(client, personas["viewer"])
    page = client.get("/kpis/orders")
    assert page.status_code == 200
    trend = page.text[page.text.index('id="by-cycle"') :]
    assert "<svg" in trend
    q1 = trend[trend.index('<tr data-cycle="2026-Q1">') :][:200]
    q2 = trend[trend.index('<tr data-cycle="2026-Q2">') :][:200]
    assert "<td>green</td>" in q1
    assert "<td>red</td>" in q2
    client.cookies.clear()
