"""Export keeps the plan history: a re-baselined plan survives load → export → load into a fresh store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from onpace.cli import app
from onpace.config import get_settings
from onpace.domain.model import Plan
from onpace.services.model_store import load_model
from onpace.services.rebaseline import approve_rebaseline, request_rebaseline
from onpace.storage.db import make_engine
from onpace.storage.repositories.model_repo import find_org

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "onpace.yaml"
ACTUALS = ROOT / "examples" / "actuals.csv"

runner = CliRunner()


def use_store(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONPACE_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def rebaseline(path: Path, subject: str, plan: Plan, by: str) -> None:
    """Re-plan ``subject`` from 2026-05-11 on, decided on 2026-05-08 (the CLI reads the wall clock)."""
    engine = make_engine(f"sqlite:///{path}")
    decided = dt.datetime(2026, 5, 8, 9, tzinfo=dt.UTC)
    with Session(engine) as session:
        model = load_model(session)
        org_id = find_org(session, model.org).id
        row = request_rebaseline(
            session,
            org_id,
            model,
            subject=subject,
            plan=plan,
            reason="van fleet halved",
            effective=dt.date(2026, 5, 11),
            by=by,
            now=decided,
        )
        approve_rebaseline(session, org_id, model, row.id, by="admin", now=decided, admin=True)
        session.commit()
    engine.dispose()


def verdict(subject: str, as_of: str) -> dict[str, object]:
    rows = [
        json.loads(line)
        for line in ok("evaluate", "--as-of", as_of, "--json").splitlines()
        if line.startswith("{")
    ]
    return next(r for r in rows if r["subject"] == subject)


def test_a_rebaselined_plan_keeps_its_effective_date_through_export_into_a_fresh_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    use_store(tmp_path / "first.db", monkeypatch)
    ok("load", str(EXAMPLE))
    ok("ingest", str(ACTUALS))
    rebaseline(tmp_path / "first.db", "online_orders", Plan(per_bucket=2400), "lina")
    rebaseline(tmp_path / "first.db", "KR3", Plan(baseline=34, target=40), "ana")
    before = verdict("online_orders", "2026-06-01")
    before_kr = verdict("KR3", "2026-05-03")  # before the re-baseline: the first plan
    ok("export", "-o", str(tmp_path / "exported.yaml"))
    text = (tmp_path / "exported.yaml").read_text()
    assert "from: 2026-05-11" in text
    assert "per_bucket: 3200" in text

    use_store(tmp_path / "fresh.db", monkeypatch)
    ok("load", str(tmp_path / "exported.yaml"))
    ok("ingest", str(ACTUALS))
    after = verdict("online_orders", "2026-06-01")
    assert after["plan_to_date"] == before["plan_to_date"]
    assert after["status"] == before["status"]
    after_kr = verdict("KR3", "2026-05-03")
    assert after_kr["plan_to_date"] == before_kr["plan_to_date"]
    assert after_kr["status"] == before_kr["status"]
    # Loading the exported file again changes nothing: the history is already there.
    assert "0 new plan versions" in ok("load", str(tmp_path / "exported.yaml"))
    get_settings.cache_clear()
