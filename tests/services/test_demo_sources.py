"""The demo's sources have real systems behind them: every pull works and data health is clean.

The demo is built as ``onpace demo`` builds it; its sources' systems (the SQLite shop database,
the loopback JSON endpoint, the drop folder's file) are served as ``onpace demo`` serves them and
each source is pulled the way the worker pulls it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from onpace.demo_endpoint import running_endpoint
from onpace.demo_run import allowing_outbound, worker_environment, working_in
from onpace.mailbox import Mailbox
from onpace.services.demo import DemoStore, build_demo
from onpace.services.demo_sources import pulled_sources
from onpace.services.pull import pull_now
from onpace.services.review import build_pack
from onpace.storage.db import make_engine
from onpace.storage.repositories import review_repo

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = dt.datetime(2026, 11, 18, 10, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    return build_demo(EXAMPLES, tmp_path_factory.mktemp("demo") / "onpace-demo", now=NOW, say=lambda _: None)


@pytest.fixture(scope="module")
def pulled(
    demo: DemoStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[DemoStore, dict[str, object]]]:
    """Serve the demo's sources and pull each one once, as the demo's worker does when it starts."""
    engine = make_engine(demo.database_url)
    mailbox = Mailbox("127.0.0.1", 2525, tmp_path_factory.mktemp("mail"))
    clock = iter(NOW + dt.timedelta(seconds=s) for s in range(10_000))
    outcomes: dict[str, object] = {}
    try:
        with (
            running_endpoint(demo.model, demo.folder) as endpoint,
            allowing_outbound(endpoint.allow_entry),
            working_in(demo.folder),  # as the served demo does: the drop folder is relative
        ):
            env = worker_environment(demo, mailbox, {}, endpoint)
            for source in pulled_sources(demo.model):
                outcomes[source.id] = pull_now(
                    engine, 1, source.id, clock=lambda: next(clock), env=env, worker_id="test"
                )
            outcomes["served"] = dict(endpoint.served)
        yield demo, outcomes
    finally:
        engine.dispose()


def test_the_shop_database_holds_one_row_per_order_of_each_day(demo: DemoStore) -> None:
    database = demo.folder / "sources" / "shop_db.db"
    with sqlite3.connect(database) as connection:
        per_day = dict(connection.execute("SELECT order_day, count(*) FROM orders GROUP BY order_day"))
    first = min(per_day)
    text = (demo.folder / "org" / "actuals.csv").read_text(encoding="utf-8")
    expected = next(
        line.split(",")[2] for line in text.splitlines() if line.startswith(f"online_orders,{first},")
    )
    assert per_day[first] == round(float(expected))


def test_every_pulled_source_succeeds_and_reads_what_the_replay_loaded(
    pulled: tuple[DemoStore, dict[str, object]],
) -> None:
    demo, outcomes = pulled
    for source in pulled_sources(demo.model):
        outcome = outcomes[source.id]
        assert outcome.error is None, f"{source.id}: {outcome.error}"  # type: ignore[attr-defined]
        report = outcome.report  # type: ignore[attr-defined]
        assert report.total > 0, f"{source.id} read nothing"
        assert report.quarantined == 0, f"{source.id}: {report.sample}"
    # The cursor walked the endpoint's pages: more than one request for the warehouse API.
    assert outcomes["served"]["wms"] > 1  # type: ignore[index]


def test_after_the_pulls_no_source_is_failing_and_data_health_shows_no_failure(
    pulled: tuple[DemoStore, dict[str, object]],
) -> None:
    demo, _ = pulled
    engine = make_engine(demo.database_url)
    try:
        with Session(engine) as session:
            runs = review_repo.latest_runs(session, 1, NOW + dt.timedelta(days=1))
            for source in pulled_sources(demo.model):
                assert runs[source.id].status == "ok", runs[source.id].error
            pack = build_pack(session, 1, now=NOW + dt.timedelta(hours=1))
    finally:
        engine.dispose()
    health = [item for item in pack.items if item.section == "data_health"]
    assert [i.headline for i in health if i.status == "failed"] == []
    assert [i.subject for i in health if i.subject_level == "source"] == []
    # The pulls re-read the points the replay loaded: nothing is reported as corrected.
    assert [i.headline for i in health if i.status == "retroactive"] == []


def test_the_endpoint_wants_its_token_and_the_guard_refuses_it_unless_allowed(demo: DemoStore) -> None:
    engine = make_engine(demo.database_url)
    clock = iter(NOW + dt.timedelta(seconds=s) for s in range(100))
    try:
        with running_endpoint(demo.model, demo.folder) as endpoint:
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{endpoint.url}/wms", timeout=5)
            assert refused.value.code == 401
            request = urllib.request.Request(
                f"{endpoint.url}/wms", headers={"Authorization": f"Bearer {endpoint.token}"}
            )
            with urllib.request.urlopen(request, timeout=5) as answer:
                body = json.load(answer)
            assert set(body) == {"items", "next"}
            assert set(body["items"][0]) == {"day", "kpi", "value"}
            env = worker_environment(demo, Mailbox("127.0.0.1", 2525, demo.folder), {}, endpoint)
            outcome = pull_now(engine, 1, "wms", clock=lambda: next(clock), env=env, worker_id="test")
    finally:
        engine.dispose()
    assert outcome.error is not None
    assert "loopback" in outcome.error.message
