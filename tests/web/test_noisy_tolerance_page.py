"""A KPI whose red tolerance is narrower than its own noise says so on its page, in words its owner understands."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from web_world import PASSWORD, SECRET_KEY, Persona, new_database, sign_in

from onpace.app import create_app
from onpace.config import Settings
from onpace.domain.calendar import end_of_day as end_of
from onpace.modelfile import parse_model_text
from onpace.services.evaluate_service import evaluate_store
from onpace.services.govern import govern_store
from onpace.services.ingest import ingest_frame
from onpace.services.model_store import save_model
from onpace.services.users import add_user
from onpace.storage.db import make_engine, make_session_factory, upgrade

pytestmark = pytest.mark.store

MODEL = """\
org: Swingco
people:
  - {id: ana, name: Ana Ruiz, email: ana@swing.example}
cycles:
  - {id: 2026-Q1, start: 2026-01-05, end: 2026-03-29}
objectives:
  - id: O1
    title: Grow the shop
    cycle: 2026-Q1
    owner: ana
    key_results:
      - {id: KR1, title: Visits at 1000 a week, owner: ana, kpi: visits}
kpis:
  - {id: visits, title: Shop visits, owner: ana, measure: level, grain: week, aggregate: mean, plan: {per_bucket: 1000}, leading: true}
  - {id: orders, title: Orders, owner: ana, measure: level, grain: week, aggregate: mean, plan: {per_bucket: 100}, feeds: [{kr: KR1, weight: 0.5}]}
"""
WEEKS = [dt.date(2026, 1, 11) + dt.timedelta(weeks=k) for k in range(7)]


@pytest.fixture
def swinging_shop(tmp_path: Path) -> Iterator[tuple[TestClient, Persona]]:
    """Return a client on a store where visits swing by 20 % of plan a week and orders hold steady."""
    url, drop = new_database(tmp_path, "swing")
    engine = make_engine(url)
    try:
        upgrade(engine)
        model = parse_model_text(MODEL, "swing.yaml")
        with make_session_factory(engine)() as session:
            org_id = save_model(session, model, by="test", now=end_of(dt.date(2026, 1, 4))).org_id
            for k, week in enumerate(WEEKS):
                frame = pl.DataFrame(
                    {
                        "metric": ["visits", "orders"],
                        "date": [week] * 2,
                        "value": [1200.0 if k % 2 else 1000.0, 100.0],
                    }
                )
                ingest_frame(
                    session,
                    org_id,
                    frame,
                    source="push",
                    run_by=None,
                    manual=False,
                    now=end_of(week),
                    known_metrics={"visits", "orders"},
                )
                evaluation = evaluate_store(session, org_id, model, week, now=end_of(week))
                govern_store(
                    session,
                    org_id,
                    model,
                    evaluation.results,
                    as_of=week,
                    now=end_of(week),
                    leadlag=evaluation.leadlag,
                    noise=evaluation.noise,
                )
            add_user(
                session,
                email="viewer@swing.example",
                name="Viewer",
                role="viewer",
                password=PASSWORD,
                now=end_of(WEEKS[-1]),
            )
            session.commit()
        app = create_app(Settings(database_url=url, secret_key=SecretStr(SECRET_KEY)))
        with TestClient(app, follow_redirects=False) as client:
            yield client, Persona("viewer", "viewer@swing.example", "viewer", None, "", "")
    finally:
        engine.dispose()
        drop()


def test_a_viewer_reads_on_the_kpis_page_that_its_tolerance_is_narrower_than_its_noise(
    swinging_shop: tuple[TestClient, Persona],
) -> None:
    client, viewer = swinging_shop
    sign_in(client, viewer)
    page = html.unescape(client.get("/kpis/visits").text)
    assert "Tolerance narrower than its noise." in page
    assert "its value moves by about 20 % of plan from one week to the next" in page
    assert "Widen the red tolerance to at least 40 %" in page
    steady = html.unescape(client.get("/kpis/orders").text)
    assert "Tolerance narrower than its noise." not in steady
