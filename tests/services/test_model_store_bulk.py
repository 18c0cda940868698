"""Saving a large model costs a few statements per table, not one per item; the collector comes back on."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from onpace.modelfile import parse_model_text
from onpace.paused_gc import paused_gc
from onpace.services.model_store import load_model, save_model

pytestmark = pytest.mark.store

NOW = dt.datetime(2026, 2, 3, 9, 0, tzinfo=dt.UTC)


def wide_model(kpis: int) -> str:
    """Return a model file with ``kpis`` KPIs, one KR per five KPIs, each KPI feeding a KR."""
    krs = max(kpis // 5, 1)
    lines = [
        "org: Wide",
        "units: [{id: u0, name: Unit}]",
        "people: [{id: p0, name: Pat, email: p0@wide.example, unit: u0}]",
        "cycles: [{id: q, start: 2026-01-01, end: 2026-03-31}]",
        "objectives:",
        "  - id: O0",
        "    title: Grow",
        "    cycle: q",
        "    key_results:",
    ]
    lines += [f"      - {{id: KR{r}, title: Key result {r}, owner: p0, weight: 1}}" for r in range(krs)]
    lines += ["kpis:"]
    lines += [
        f"  - {{id: k{i}, title: KPI {i}, unit: u0, owner: p0, measure: flow, grain: week, aggregate: sum, "
        f"plan: {{per_bucket: 10}}, feeds: [{{kr: KR{i % krs}, weight: 1}}]}}"
        for i in range(kpis)
    ]
    return "\n".join(lines) + "\n"


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    """Yield the list of SQL statements the session's connection runs in the block."""
    statements: list[str] = []
    connection = session.connection()

    def note(*args: Any) -> None:
        statements.append(str(args[2]).split(None, 1)[0].upper())

    event.listen(connection, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", note)


def test_saving_ten_times_more_kpis_runs_no_more_statements(session: Session) -> None:
    runs = []
    for size in (20, 200):
        model = parse_model_text(wide_model(size).replace("Wide", f"Wide {size}"), "wide.yaml")
        with counted(session) as statements:
            save_model(session, model, by="test", now=NOW)
        runs.append(len(statements))
        assert load_model(session, f"Wide {size}") == model
    assert runs[1] <= runs[0]
    assert runs[1] < 60


def fail_while_paused(seen: list[bool]) -> None:
    with paused_gc():
        seen.append(gc.isenabled())
        raise RuntimeError("boom")


def test_the_collector_is_back_on_after_a_pause_even_when_the_block_fails() -> None:
    assert gc.isenabled()
    seen: list[bool] = []
    with pytest.raises(RuntimeError):
        fail_while_paused(seen)
    assert seen == [False]
    assert gc.isenabled()


def test_a_pause_inside_a_pause_leaves_the_collector_off_until_the_outer_one_ends() -> None:
    with paused_gc():
        with paused_gc():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_leaves_objects_frozen_by_the_server_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused_gc():
            pass
        # Other threads of the test process may free a few frozen objects meanwhile (the count
        # then drops by those); an unfreeze by the pause would leave none at all.
        assert gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()
