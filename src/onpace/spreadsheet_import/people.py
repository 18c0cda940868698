"""The people and units of an import: from a people sheet when there is one, else from the owners named."""

from __future__ import annotations

from dataclasses import dataclass, field

from onpace.spreadsheet_import.findings import Report, slug, unique
from onpace.spreadsheet_import.layout import Layout
from onpace.spreadsheet_import.sheets import CellValue

UNASSIGNED = "unassigned"
TOP_UNIT = "company"


@dataclass
class Person:
    """A person of the model being built."""

    id: str
    name: str
    email: str | None = None
    unit: str | None = None


@dataclass
class Directory:
    """People and units found so far, and how names and addresses map to them."""

    org: str
    report: Report
    people: dict[str, Person] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # id -> name
    by_key: dict[str, str] = field(default_factory=dict)  # lower-cased name, first name or email -> id
    from_sheet: bool = False
    made_from_owners: list[str] = field(default_factory=list)

    def unit(self, team: CellValue) -> str:
        """Return the unit id of a team name (made on first use), or the top unit when there is none."""
        if team is None:
            self.units.setdefault(TOP_UNIT, self.org)
            return TOP_UNIT
        name = str(team)
        ident = slug(name, fallback="unit")
        if ident == TOP_UNIT:
            ident = "team_company"
        self.units.setdefault(TOP_UNIT, self.org)
        self.units.setdefault(ident, name)
        return ident

    def add(self, name: str, email: str | None, unit: str | None) -> Person:
        """Add a person and index them by name, first name (when unique) and email."""
        base = slug(name.split(maxsplit=1)[0] if name.split() else name, fallback="person")
        person = Person(unique(base, set(self.people)), name, email, unit)
        self.people[person.id] = person
        self.by_key.setdefault(name.lower(), person.id)
        if email:
            self.by_key.setdefault(email.lower(), person.id)
        first = name.split(maxsplit=1)[0].lower() if name.split() else ""
        if first:
            # A first name stands for a person only while nobody else has it.
            self.by_key[f"first:{first}"] = "" if f"first:{first}" in self.by_key else person.id
        return person

    def owner(self, cell: CellValue, where: str, what: str, team: str | None) -> str:
        """Return the person id for an owner cell, adding unknown people and the unassigned placeholder."""
        if cell is None:
            self.report.needs_person(where, f"{what} has no owner; given to `{UNASSIGNED}` for now")
            if UNASSIGNED not in self.people:
                self.people[UNASSIGNED] = Person(UNASSIGNED, "Needs an owner", None, self.unit(None))
            return UNASSIGNED
        text = str(cell).strip()
        key = text.lower()
        found = self.by_key.get(key) or self.by_key.get(f"first:{key}")
        if found:
            if key not in self.by_key:
                self.report.guessed(where, f"`{text}` read as {self.people[found].name}")
            return found
        email = text if "@" in text else None
        name = text.split("@")[0].replace(".", " ").title() if email else text
        person = self.add(name, email, team or self.unit(None))
        if self.from_sheet:
            self.report.needs_person(
                where, f"`{text}` is not in the people sheet; added as `{person.id}` without an email"
            )
        else:
            self.made_from_owners.append(person.id)
        return person.id


def read_people(layout: Layout, directory: Directory) -> None:
    """Add the people of a people sheet to ``directory``."""
    sheet = layout.sheet
    directory.from_sheet = True
    name_col, email_col, team_col = layout.col("name"), layout.col("email"), layout.col("team")
    for row in sheet.rows:
        name, email = row.get(name_col), row.get(email_col)
        if name is None and email is None:
            continue
        email_text = str(email).strip() if email is not None else None
        if email_text is not None and "@" not in email_text:
            directory.report.needs_person(
                sheet.where(row.number, email_col), f"`{email_text}` is not an email address; left out"
            )
            email_text = None
        label = str(name).strip() if name is not None else str(email_text).split("@")[0].title()
        team = row.get(team_col)
        directory.add(label, email_text, directory.unit(team) if team is not None else None)
