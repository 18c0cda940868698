"""Write the two sample workbooks that `onpace import` reads (run: python make_workbooks.py).

- okr-tracker.xlsx: a quarter's OKRs kept one key result per row, the way a planning team keeps
  them (a title above the table, each objective written once, owners by name, first name or
  email, percentages as text, a key result nobody owns yet, a target still "TBD"), beside a
  people sheet and a notes sheet.
- kpi-scorecard.xlsx: the monthly and weekly KPI targets a finance team keeps in columns, with
  the key results they drive and the people sheet.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

HERE = Path(__file__).resolve().parent
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
# Fixed workbook properties, so that running this script again writes the same content.
CREATED = dt.datetime(2026, 6, 15, 9, 0)

PEOPLE = [
    ("Helen Brandt", "helen@harborpine.example", "Leadership"),
    ("Jonas Weber", "jonas@harborpine.example", "Roastery"),
    ("Priya Okafor", "p.okafor@harborpine.example", "Cafés"),
    ("Leo Tanaka", "leo@harborpine.example", "Online"),
    ("Sofia Lind", "sofia@harborpine.example", "Online"),
    ("Omar Haddad", "omar@harborpine.example", "Finance"),
]

OKRS = [
    # quarter, team, objective, key result, owner, baseline, target, unit, due, status, comment
    (
        "Q3 2026",
        "Online",
        "Grow the coffee subscription into our second business",
        "Active subscribers from 4,200 to 6,000",
        "Leo Tanaka",
        "4,200",
        "6,000",
        "#",
        dt.date(2026, 9, 30),
        "On track",
        "",
    ),
    (
        None,
        "Online",
        None,
        "Monthly subscriber churn from 6.5% to 4%",
        "Sofia",
        "6.5%",
        "4%",
        "%",
        dt.date(2026, 9, 30),
        "At risk",
        "new cancel flow ships in August",
    ),
    (
        None,
        "Online",
        None,
        "Subscription revenue per month to €180k",
        "leo@harborpine.example",
        "€120k",
        "€180k",
        "EUR",
        dt.date(2026, 9, 30),
        "",
        "",
    ),
    (
        "Q3 2026",
        "Roastery",
        "Roast consistently great coffee at lower cost",
        "Batches passing cupping first time from 88% to 96%",
        "Jonas",
        "88%",
        "96%",
        "%",
        dt.date(2026, 9, 15),
        "On track",
        "",
    ),
    (
        None,
        "Roastery",
        None,
        "Green coffee cost per kg roasted from €7.90 to €7.20",
        "Marta Ruiz",
        "€7.90",
        "€7.20",
        "EUR",
        dt.date(2026, 9, 30),
        "",
        "Marta joins in July",
    ),
    (
        None,
        "Roastery",
        None,
        "Roaster downtime under 2 hours a week",
        None,
        "5",
        "2",
        "hours",
        dt.date(2026, 9, 30),
        "",
        "owner to be agreed",
    ),
    (
        "Q3 2026",
        "Cafés",
        "Make every café a place people come back to",
        "Café NPS from 41 to 50",
        "p.okafor@harborpine.example",
        "41",
        "50",
        "score",
        dt.date(2026, 9, 30),
        "On track",
        "",
    ),
    (
        None,
        "Cafés",
        None,
        "Loyalty app share of café sales to 35%",
        "Priya Okafor",
        "22%",
        "35%",
        "%",
        dt.date(2026, 9, 30),
        "",
        "",
    ),
    (
        None,
        "Cafés",
        None,
        "Open the Harbour Street café",
        "Helen Brandt",
        "0",
        "1",
        "#",
        dt.date(2026, 8, 31),
        "",
        "lease signed",
    ),
    (
        "Q3 2026",
        "Finance",
        "Fund growth from our own cash",
        "Operating margin from 6% to 9%",
        "Omar Haddad",
        "6%",
        "9%",
        "%",
        dt.date(2026, 9, 30),
        "",
        "",
    ),
    (
        None,
        "Finance",
        None,
        "Supplier payment terms to 45 days",
        "Omar",
        "30",
        "TBD",
        "days",
        dt.date(2026, 9, 30),
        "",
        "target after the supplier talks",
    ),
]

MONTHS = [dt.date(2026, m, 1) for m in range(7, 13)]
MONTHLY = [
    # KPI, owner, team, unit, better, key result, targets Jul–Dec
    (
        "Subscription revenue",
        "Leo Tanaka",
        "Online",
        "EUR",
        "Higher",
        "Subscription revenue per month to €180k",
        [130_000, 145_000, 160_000, 170_000, 180_000, 190_000],
    ),
    (
        "Subscriber churn rate",
        "Sofia Lind",
        "Online",
        "%",
        "Lower",
        "Monthly subscriber churn from 6.5% to 4%",
        [6.0, 5.2, 4.5, 4.2, 4.0, 4.0],
    ),
    (
        "Green coffee cost per kg",
        "Jonas Weber",
        "Roastery",
        "EUR",
        "Lower",
        "Green coffee cost per kg roasted from €7.90 to €7.20",
        [7.8, 7.6, 7.4, 7.3, 7.2, 7.2],
    ),
    (
        "Operating margin",
        "Omar Haddad",
        "Finance",
        "%",
        "Higher",
        "Operating margin from 6% to 9%",
        [6.5, 7.0, 8.0, 8.5, 9.0, 9.0],
    ),
    (
        "Marketing spend",
        "Leo Tanaka",
        "Online",
        "EUR",
        "Lower",
        None,
        [25_000, 25_000, 25_000, 25_000, 25_000, 25_000],
    ),
]
WEEKS = list(range(27, 40))  # ISO weeks 27-39: the third quarter
WEEKLY = [
    # KPI, owner, team, type, targets per week
    (
        "New subscribers",
        "Sofia Lind",
        "Online",
        "Total",
        [150, 150, 160, 160, 170, 170, 180, 180, 190, 190, 200, 200, 210],
    ),
    ("Café transactions", "Priya Okafor", "Cafés", "Total", [9_500] * 13),
    (
        "Cupping pass rate",
        "Jonas Weber",
        "Roastery",
        "Average",
        [89, 90, 90, 91, 92, 92, 93, 94, 94, 95, 95, 96, 96],
    ),
]


def header(sheet: Worksheet, row: int, names: list[str]) -> None:
    """Write a bold, shaded header row."""
    for column, name in enumerate(names, 1):
        cell = sheet.cell(row=row, column=column, value=name)
        cell.font, cell.fill = BOLD, HEADER_FILL


def people_sheet(book: Workbook) -> None:
    """Add the people sheet."""
    sheet = book.create_sheet("People")
    header(sheet, 1, ["Name", "Email", "Team"])
    for person in PEOPLE:
        sheet.append(list(person))


def okr_tracker() -> Workbook:
    """Return the OKR tracker workbook."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Q3 OKRs"
    sheet["A1"] = "Harbor & Pine Coffee Roasters: OKRs for Q3 2026"
    sheet["A1"].font = Font(bold=True, size=14)
    names = [
        "Quarter",
        "Team",
        "Objective",
        "Key Result",
        "Owner",
        "Baseline",
        "Target",
        "Unit",
        "Due date",
        "Status",
        "Comments",
    ]
    header(sheet, 3, names)
    for record in OKRS:
        sheet.append(list(record))
    for cell in sheet["I"][3:]:
        cell.number_format = "yyyy-mm-dd"
    people_sheet(book)
    notes = book.create_sheet("Notes")
    notes["A1"] = "Scoring: 0.7 is a good quarter. Reviewed every Monday in the leadership meeting."
    return book


def kpi_scorecard() -> Workbook:
    """Return the KPI scorecard workbook (monthly and weekly targets in columns)."""
    book = Workbook()
    okrs = book.active
    assert okrs is not None
    okrs.title = "Key results"
    header(okrs, 1, ["Quarter", "Objective", "Key result", "Owner", "Baseline", "Target"])
    okrs.append(
        [
            "Q3 2026",
            "Grow the coffee subscription",
            "Subscription revenue per month to €180k",
            "Leo Tanaka",
            "€120k",
            "€180k",
        ]
    )
    okrs.append([None, None, "Monthly subscriber churn from 6.5% to 4%", "Sofia Lind", "6.5%", "4%"])
    okrs.append(
        [
            "Q3 2026",
            "Lower the cost of a great cup",
            "Green coffee cost per kg roasted from €7.90 to €7.20",
            "Jonas Weber",
            "7.90",
            "7.20",
        ]
    )
    okrs.append(
        [
            "Q3 2026",
            "Fund growth from our own cash",
            "Operating margin from 6% to 9%",
            "Omar Haddad",
            "6%",
            "9%",
        ]
    )
    monthly = book.create_sheet("Monthly KPIs")
    header(monthly, 1, ["KPI", "Owner", "Team", "Unit", "Better", "Key result"])
    for column, month in enumerate(MONTHS, 7):
        cell = monthly.cell(row=1, column=column, value=month)
        cell.number_format, cell.font, cell.fill = "mmm yyyy", BOLD, HEADER_FILL
    for name, owner, team, unit, better, kr, targets in MONTHLY:
        monthly.append([name, owner, team, unit, better, kr, *targets])
    weekly = book.create_sheet("Weekly KPIs")
    header(weekly, 1, ["KPI", "Owner", "Team", "Type", *[f"W{week} 2026" for week in WEEKS]])
    for name, owner, team, kind, targets in WEEKLY:
        weekly.append([name, owner, team, kind, *targets])
    people_sheet(book)
    return book


def save(book: Workbook, name: str) -> None:
    """Save with fixed properties."""
    book.properties.creator = "Harbor & Pine planning team"
    book.properties.created = book.properties.modified = CREATED
    book.save(HERE / name)


if __name__ == "__main__":
    save(okr_tracker(), "okr-tracker.xlsx")
    save(kpi_scorecard(), "kpi-scorecard.xlsx")
