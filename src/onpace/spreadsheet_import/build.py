"""Import a workbook: read its sheets, build the model, write it as YAML and check that it validates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from onpace.domain.model import Model
from onpace.modelfile import ModelFileError, Problem, parse_model_text
from onpace.spreadsheet_import.emit import model_text
from onpace.spreadsheet_import.findings import Finding, Report
from onpace.spreadsheet_import.kpis import KpiBook, read_kpis
from onpace.spreadsheet_import.layout import Layout, read_layout
from onpace.spreadsheet_import.okrs import OkrBook, read_okrs
from onpace.spreadsheet_import.people import TOP_UNIT, UNASSIGNED, Directory, read_people
from onpace.spreadsheet_import.sheets import WorkbookError, read_workbook


@dataclass(frozen=True)
class ImportResult:
    """The YAML text, the model it describes (None when it does not validate), and the report."""

    text: str
    model: Model | None
    problems: list[Problem]
    findings: list[Finding]


def import_workbook(
    path: Path, *, org: str | None, today: dt.date, output_name: str = "onpace.yaml"
) -> ImportResult:
    """Turn the workbook at ``path`` into onpace.yaml text, noting guesses and what needs a person.

    ``org`` names the organisation (default: from the file name, noted as a guess); ``today``
    picks the quarter for key results with neither a quarter nor a due date. Raise
    :class:`WorkbookError` when the file cannot be read or holds no OKR or KPI table.
    """
    sheets = read_workbook(path)
    report = Report()
    if org is None:
        org = path.stem.replace("_", " ").replace("-", " ").strip().title() or "My organisation"
        report.guessed(path.name, f"organisation named `{org}` after the file; name it with --org")
    layouts = [read_layout(sheet, report) for sheet in sheets]
    for layout in layouts:
        if layout.shape == "unknown":
            report.guessed(
                layout.sheet.where(layout.sheet.header_row),
                "sheet not read: no objective/key result, KPI or people columns",
            )
    if not any(layout.shape in ("okrs", "kpi_targets") for layout in layouts):
        raise WorkbookError(
            f"{path}: found no OKR table (objective, key result, owner, baseline, target, due date) and no "
            "KPI table (KPI, owner, and target columns per month or week); see docs/import.md"
        )
    directory = Directory(org, report)
    for layout in _of(layouts, "people"):
        read_people(layout, directory)
    okrs, kpis = OkrBook(), KpiBook()
    for layout in _of(layouts, "okrs"):
        read_okrs(layout, directory, okrs, today=today)
    for layout in _of(layouts, "kpi_targets"):
        read_kpis(layout, directory, kpis, okrs)
    _judge_by_feeds(okrs, kpis, report)
    _summarise_people(directory)
    text = model_text(
        header=[
            f"Imported from {path.name} by `onpace import`.",
            "Check the lines marked 'needs' and the import report, then `onpace validate` and `onpace load`.",
        ],
        org=org,
        sections={
            "units": _units(directory),
            "people": [_person(p) for p in directory.people.values()],
            "cycles": [
                {"id": c.id, "start": c.start, "end": c.end}
                for c in sorted({**okrs.cycles, **kpis.cycles}.values(), key=lambda c: (c.start, c.id))
            ],
            "objectives": okrs.objectives,
            "kpis": kpis.kpis,
        },
        notes=okrs.notes | _person_notes(directory),
    )
    try:
        model: Model | None = parse_model_text(text, output_name)
        problems: list[Problem] = []
    except ModelFileError as exc:
        model, problems = None, exc.problems
    return ImportResult(text, model, problems, report.findings)


def _judge_by_feeds(okrs: OkrBook, kpis: KpiBook, report: Report) -> None:
    """Let a key result that KPIs feed be judged by them, not by a series nobody will send."""
    feeders: dict[str, list[str]] = {}
    for kpi in kpis.kpis:
        for feed in kpi.get("feeds", []):
            feeders.setdefault(feed["kr"], []).append(kpi["id"])
    for objective in okrs.objectives:
        for kr in objective["key_results"]:
            if kr["id"] in feeders:
                for key in ("measure", "direction", "grain", "aggregate", "plan"):
                    kr.pop(key, None)
                okrs.notes.pop(kr["id"], None)
                report.guessed(
                    f"key result {kr['id']}",
                    f"judged by the KPIs that feed it ({', '.join(feeders[kr['id']])}), not by its own "
                    "baseline and target",
                )


def _of(layouts: list[Layout], shape: str) -> list[Layout]:
    return [layout for layout in layouts if layout.shape == shape]


def _units(directory: Directory) -> list[dict[str, object]]:
    units: list[dict[str, object]] = []
    for ident, name in directory.units.items():
        unit: dict[str, object] = {"id": ident, "name": name}
        if ident != TOP_UNIT:
            unit["parent"] = TOP_UNIT
        units.append(unit)
    if directory.units:
        directory.report.needs_person(
            "units",
            "no unit has a head: add `head:` to each unit so that late cases escalate to someone",
        )
    return units


def _person(person: object) -> dict[str, object]:
    fields = {k: v for k, v in vars(person).items() if v is not None}
    return fields


def _person_notes(directory: Directory) -> dict[str, str]:
    notes = {
        p.id: "needs an email" for p in directory.people.values() if p.email is None and p.id != UNASSIGNED
    }
    if UNASSIGNED in directory.people:
        notes[UNASSIGNED] = "needs a person: give what this placeholder owns to real owners"
    return notes


def _summarise_people(directory: Directory) -> None:
    if directory.made_from_owners:
        directory.report.needs_person(
            "people",
            "no people sheet: made "
            + ", ".join(f"`{p}`" for p in directory.made_from_owners)
            + " from the owners named, without emails (add them so people can sign in and get mail)",
        )
