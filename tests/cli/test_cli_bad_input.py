"""`onpace ingest` of a file with a stray quote or a huge value: the good rows kept, the run recorded, output short."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from onpace.cli import app
from onpace.config import get_settings
from onpace.storage.db import make_engine
from onpace.storage.tables import IngestRunRow, PointRow, QuarantineRow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "onpace.yaml"

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    assert runner.invoke(app, ["load", str(EXAMPLE)]).exit_code == 0
    yield tmp_path
    get_settings.cache_clear()


def stored(store: Path) -> tuple[list[IngestRunRow], list[PointRow], list[QuarantineRow]]:
    engine = make_engine(f"sqlite:///{store / 'cli.db'}")
    with Session(engine) as session:
        found = (
            list(session.scalars(select(IngestRunRow))),
            list(session.scalars(select(PointRow))),
            list(session.scalars(select(QuarantineRow))),
        )
    engine.dispose()
    return found


def test_a_stray_quote_quarantines_its_line_and_keeps_the_good_rows_in_a_recorded_run(store: Path) -> None:
    path = store / "stray.csv"
    path.write_text(
        'metric,date,value\nonline_orders,2026-04-07,120\nonline_orders,2026-04-08,"12\nonline_orders,2026-04-09,130\n'
    )
    result = runner.invoke(app, ["ingest", str(path)])
    assert "2 added" in result.output
    assert "1 quarantined" in result.output
    assert f"{path}:3: line 3 is not valid CSV" in result.stderr
    assert "Traceback" not in result.output
    runs, points, quarantine = stored(store)
    assert [(r.accepted, r.quarantined, r.status) for r in runs] == [(2, 1, "partial")]
    assert sorted(p.value for p in points) == [120.0, 130.0]
    assert [(q.line, q.raw) for q in quarantine] == [(3, 'online_orders,2026-04-08,"12')]


def test_a_ten_megabyte_value_is_clipped_where_it_is_stored_and_printed(store: Path) -> None:
    path = store / "huge.csv"
    path.write_text(
        "metric,date,value\nonline_orders,2026-04-07,x" + "9" * 10_000_000 + "\nonline_orders,2026-04-08,5\n"
    )
    result = runner.invoke(app, ["ingest", str(path)])
    assert "1 added" in result.output
    assert len(result.output) < 2_000
    [row] = stored(store)[2]
    assert len(row.raw or "") < 1_100
    assert len(row.reason) < 200
    assert row.raw is not None
    assert row.raw.endswith("(10000026 characters)")
