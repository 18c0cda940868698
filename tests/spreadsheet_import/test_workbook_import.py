"""``onpace import``: the sample workbooks become models that validate, load and evaluate as planned."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from onpace.cli import app
from onpace.modelfile import load_model_file
from onpace.services.evaluate_service import evaluate_store
from onpace.services.ingest import ingest_frame
from onpace.services.model_store import load_model, save_model
from onpace.spreadsheet_import import import_workbook
from onpace.spreadsheet_import.sheets import WorkbookError

WORKBOOKS = Path(__file__).resolve().parents[2] / "examples" / "workbooks"
TODAY = dt.date(2026, 6, 20)
NOW = dt.datetime(2026, 6, 20, 12, tzinfo=dt.UTC)
runner = CliRunner()


def findings_of(path: Path, **kwargs: object) -> list[str]:
    return [str(f) for f in import_workbook(path, org="Harbor & Pine", today=TODAY, **kwargs).findings]  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["okr-tracker.xlsx", "kpi-scorecard.xlsx"])
def test_each_sample_workbook_imports_validates_and_loads_into_a_store(name: str, session: Session) -> None:
    result = import_workbook(WORKBOOKS / name, org="Harbor & Pine", today=TODAY)
    assert result.problems == []
    assert result.model is not None
    report = save_model(session, result.model, by="import", now=NOW)
    session.flush()
    stored = load_model(session, "Harbor & Pine")
    assert {o.id for o in stored.objectives} == {o.id for o in result.model.objectives}
    assert {k.id for k in stored.kpis} == {k.id for k in result.model.kpis}
    assert str(report)


def test_the_okr_tracker_report_names_each_cell_that_needs_a_person() -> None:
    found = findings_of(WORKBOOKS / "okr-tracker.xlsx")
    assert (
        "okr-tracker.xlsx:Q3 OKRs!E8: needs a person: `Marta Ruiz` is not in the people sheet; "
        "added as `marta` without an email"
    ) in found
    assert (
        "okr-tracker.xlsx:Q3 OKRs!E9: needs a person: key result KR6 has no owner; given to `unassigned` for now"
        in found
    )
    assert (
        "okr-tracker.xlsx:Q3 OKRs!G14: needs a person: key result KR11 has no target number; it has no plan"
        in found
    )
    assert "okr-tracker.xlsx:Q3 OKRs!E5: guessed: `Sofia` read as Sofia Lind" in found
    assert any("Q3 OKRs!H3: guessed: `Unit` read as a unit of measure" in f for f in found)


def test_key_results_read_owners_by_name_first_name_or_email_and_plan_to_the_due_date() -> None:
    result = import_workbook(WORKBOOKS / "okr-tracker.xlsx", org="Harbor & Pine", today=TODAY)
    assert result.model is not None
    krs = {kr.id: kr for o in result.model.objectives for kr in o.key_results}
    assert krs["KR2"].owner == "sofia"  # "Sofia"
    assert krs["KR3"].owner == "leo"  # leo@harborpine.example
    assert krs["KR7"].owner == "priya"  # p.okafor@harborpine.example
    assert krs["KR2"].direction == "down"
    # "Batches passing cupping first time from 88% to 96%", due 15 September.
    assert krs["KR4"].plan is not None
    assert krs["KR4"].plan.points == ((dt.date(2026, 7, 1), 88.0), (dt.date(2026, 9, 15), 96.0))
    assert [c.id for c in result.model.cycles] == ["2026-Q3"]


def test_monthly_flow_targets_become_a_plan_whose_months_are_the_targets(session: Session) -> None:
    result = import_workbook(WORKBOOKS / "kpi-scorecard.xlsx", org="Harbor & Pine", today=TODAY)
    assert result.model is not None
    save_model(session, result.model, by="import", now=NOW)
    session.flush()
    org_id = _org_id(session)
    actuals = pl.DataFrame(
        {
            "metric": ["subscription_revenue"] * 2 + ["subscriber_churn_rate"] * 2,
            "date": [dt.date(2026, 7, 31), dt.date(2026, 8, 31)] * 2,
            "value": [130_000.0, 145_000.0, 6.0, 5.9],
        }
    )
    ingest_frame(
        session,
        org_id,
        actuals,
        source="test",
        run_by=None,
        manual=False,
        now=NOW,
        known_metrics={k.id for k in result.model.kpis},
    )
    evaluation = evaluate_store(
        session, org_id, load_model(session, "Harbor & Pine"), dt.date(2026, 8, 31), now=NOW, store=False
    )
    revenue = evaluation.results["subscription_revenue"]
    assert revenue.plan_to_date == pytest.approx(275_000.0)  # July 130k + August 145k
    assert revenue.status == "green"
    churn = evaluation.results["subscriber_churn_rate"]
    assert churn.plan_to_date == pytest.approx(5.2)  # August's target; lower is better
    assert churn.status == "red"


def _org_id(session: Session) -> int:
    from onpace.storage.repositories.model_repo import find_org

    return find_org(session, "Harbor & Pine").id


def test_a_csv_export_of_the_okr_sheet_imports_the_same_key_results(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    sheet = load_workbook(WORKBOOKS / "okr-tracker.xlsx", data_only=True)["Q3 OKRs"]
    target = tmp_path / "okrs.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in sheet.iter_rows(min_row=3, values_only=True):
            writer.writerow(
                [
                    v.date().isoformat() if isinstance(v, dt.datetime) else ("" if v is None else v)
                    for v in row
                ]
            )
    from_csv = import_workbook(target, org="Harbor & Pine", today=TODAY)
    from_xlsx = import_workbook(WORKBOOKS / "okr-tracker.xlsx", org="Harbor & Pine", today=TODAY)
    assert from_csv.model is not None
    assert from_xlsx.model is not None
    assert [kr.title for o in from_csv.model.objectives for kr in o.key_results] == [
        kr.title for o in from_xlsx.model.objectives for kr in o.key_results
    ]
    assert any(f.where == "okrs.csv:7" and "no owner" in f.message for f in from_csv.findings)


def test_two_columns_that_read_as_the_same_field_are_reported_as_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "okrs.csv"
    path.write_text(
        "Objective,Key result,Owner,Responsible,Baseline,Target,Due date\n"
        "Grow,Orders to 100,ana,bob,10,100,2026-09-30\n",
        encoding="utf-8",
    )
    result = import_workbook(path, org="Tiny", today=TODAY)
    assert result.model is not None
    [ambiguous] = [f for f in result.findings if "ambiguous" in f.message]
    assert ambiguous.where == "okrs.csv:1"
    assert "`Responsible` and `Owner`" in ambiguous.message
    assert result.model.objectives[0].key_results[0].owner == "ana"


def test_a_workbook_without_an_okr_or_kpi_table_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Date", "Note"])
    sheet.append(["2026-01-05", "kick-off"])
    book.save(tmp_path / "notes.xlsx")
    with pytest.raises(WorkbookError, match="found no OKR table"):
        import_workbook(tmp_path / "notes.xlsx", org=None, today=TODAY)
    (tmp_path / "fake.xlsx").write_text("not a zip")
    answer = runner.invoke(app, ["import", str(tmp_path / "fake.xlsx"), "-o", str(tmp_path / "o.yaml")])
    assert answer.exit_code == 1
    assert "not a readable .xlsx workbook" in answer.stderr
    assert "Traceback" not in answer.output


def test_the_cli_writes_a_model_that_validates_and_keeps_an_existing_file(tmp_path: Path) -> None:
    output = tmp_path / "onpace.yaml"
    answer = runner.invoke(
        app, ["import", str(WORKBOOKS / "kpi-scorecard.xlsx"), "-o", str(output), "--org", "Harbor & Pine"]
    )
    assert answer.exit_code == 0, answer.output
    assert "it validates" in answer.stdout
    assert "guessed: no direction column" in answer.stderr
    assert load_model_file(output).org == "Harbor & Pine"
    again = runner.invoke(app, ["import", str(WORKBOOKS / "okr-tracker.xlsx"), "-o", str(output)])
    assert again.exit_code == 1
    assert "exists" in again.stderr
    assert load_model_file(output).org == "Harbor & Pine"
