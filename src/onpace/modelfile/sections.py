"""Read each section of onpace.yaml into model values, keeping the records for later checks.

This pass checks what one record can tell on its own (keys, types, enums, required fields,
weights, tolerances, plan shapes, durations, formula syntax). Links between records are
checked afterwards by :mod:`onpace.modelfile.links`, which needs the lines kept here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from yaml.nodes import Node

from onpace.domain.calendar import zone
from onpace.domain.model import (
    AGGREGATES,
    DIRECTIONS,
    GRAINS,
    MEASURES,
    PERSPECTIVES,
    WEEKDAYS,
    Calendar,
    Cycle,
    Dependency,
    Initiative,
    KeyResult,
    Objective,
    Person,
    Side,
    Unit,
)
from onpace.modelfile import schema
from onpace.modelfile.cycle_plans import read_cycle_plans
from onpace.modelfile.draft import Draft, item_id
from onpace.modelfile.kpi_section import default_aggregate, positive, read_item_plan, read_kpi
from onpace.modelfile.policy_sections import ONE_ADDRESS, read_policy, read_route, read_source
from onpace.modelfile.records import Record, Sink, read_record
from onpace.modelfile.tolerances import read_tolerance

__all__ = ["ONE_ADDRESS", "Draft", "default_aggregate", "read_draft"]


def read_draft(sink: Sink, root: Node) -> Draft:
    """Read the root mapping of a model file into a Draft, noting every problem in ``sink``."""
    draft = Draft()
    top = read_record(
        sink, root, "file", "the top level", schema.TOP, required=("org",), what="the top level"
    )
    if top is None:
        return draft
    draft.org = top.text("org") or ""
    if top.has("calendar"):
        calendar = read_record(
            sink, top.values["calendar"], "calendar", "`calendar`", schema.CALENDAR, what="`calendar`"
        )
        if calendar is not None:
            draft.calendar = Calendar(
                calendar.choice("week_start", WEEKDAYS) or "monday", _timezone(calendar)
            )
    for section, kind, allowed, required, read in _SECTIONS:
        for index, node in enumerate(top.items(section), 1):
            rec = read_record(sink, node, kind, f"item {index} of `{section}`", allowed, required=required)
            # An item without an id cannot be referred to; its missing id is already reported.
            if rec is not None and rec.has("id") and rec.text("id") is not None:
                read(draft, rec)
    if top.has("policy"):
        read_policy(draft, sink, top.values["policy"])
    return draft


def _read_unit(draft: Draft, rec: Record) -> None:
    unit = Unit(item_id(rec), rec.text("name") or "", rec.text("parent"), rec.text("head"))
    draft.units.append((unit, rec))


def _read_person(draft: Draft, rec: Record) -> None:
    email = rec.text("email")
    if email is not None and not ONE_ADDRESS.fullmatch(email):
        rec.problem(
            "email",
            f"email `{email}` is not one address: a person has exactly one (name@domain, "
            "no commas, semicolons, spaces or angle brackets)",
        )
    person = Person(item_id(rec), rec.text("name") or "", email, rec.text("unit"))
    draft.people.append((person, rec))


def _read_cycle(draft: Draft, rec: Record) -> None:
    start, end = rec.date("start"), rec.date("end")
    if start is not None and end is not None and end < start:
        rec.problem("end", f"{rec.what} ends on {end}, before it starts on {start}")
    draft.cycles.append((Cycle(item_id(rec), start or dt.date.min, end or dt.date.max), rec))


def _read_objective(draft: Draft, rec: Record) -> None:
    ident = item_id(rec)
    krs: list[KeyResult] = []
    for index, node in enumerate(rec.items("key_results"), 1):
        place = f"item {index} of `key_results` of {rec.what}"
        kr_rec = read_record(rec.sink, node, "key result", place, schema.KEY_RESULT, required=("id", "title"))
        if kr_rec is None or not kr_rec.has("id") or kr_rec.text("id") is None:
            continue
        kr = _read_key_result(draft, kr_rec, ident)
        krs.append(kr)
        draft.key_results.append((kr, kr_rec))
    objective = Objective(
        id=ident,
        title=rec.text("title") or "",
        cycle=rec.text("cycle") or "",
        unit=rec.text("unit"),
        owner=rec.text("owner"),
        perspective=rec.choice("perspective", PERSPECTIVES),
        key_results=tuple(krs),
    )
    draft.objectives.append((objective, rec))


def _read_key_result(draft: Draft, rec: Record, objective: str) -> KeyResult:
    ident = item_id(rec)
    owner = rec.text("owner")
    if owner is None:
        rec.problem("owner", f"{rec.what} has no owner")
    measure = rec.choice("measure", MEASURES)
    if measure == "ratio":
        rec.problem(
            "measure",
            f"{rec.what} cannot have measure `ratio` itself; measure it with a formula KPI (`kpi:`)",
        )
        measure = None
    direction = rec.choice("direction", DIRECTIONS)
    weight = positive(rec, "weight")
    kpi = rec.text("kpi")
    if kpi is not None and rec.has("plan"):
        rec.problem("plan", f"{rec.what} is measured by KPI `{kpi}`, which holds its plan; drop `plan` here")
    tolerance = read_tolerance(rec.sink, rec.values["tolerance"], rec.what) if rec.has("tolerance") else None
    plan = read_item_plan(draft, rec, "kr", ident, direction)
    if kpi is not None and rec.has("plans"):
        rec.problem(
            "plans", f"{rec.what} is measured by KPI `{kpi}`, which holds its plans; drop `plans` here"
        )
    plans, plan_drafts = read_cycle_plans(rec, direction)
    if plan_drafts:
        draft.cycle_plans.append((rec, plan_drafts))
    measure = measure or "level"
    return KeyResult(
        id=ident,
        title=rec.text("title") or "",
        objective=objective,
        owner=owner,
        weight=weight if weight is not None else 1.0,
        kpi=kpi,
        measure=measure,
        direction=direction or "up",
        grain=rec.choice("grain", GRAINS) or "week",
        aggregate=rec.choice("aggregate", AGGREGATES) or default_aggregate(measure, "last"),
        tolerance=tolerance,
        plan=plan,
        plans=plans,
    )


def _timezone(rec: Record) -> str:
    """Return the calendar's IANA time zone (UTC when absent), noting an unknown name."""
    name = rec.text("timezone")
    if name is None:
        return "UTC"
    try:
        zone(name)
    except ValueError as exc:
        rec.problem("timezone", f"`timezone` of `calendar`: {exc}")
        return "UTC"
    return name


def _read_initiative(draft: Draft, rec: Record) -> None:
    initiative = Initiative(
        id=item_id(rec),
        title=rec.text("title") or "",
        owner=rec.text("owner"),
        unit=rec.text("unit"),
        supports=tuple(name for name, _ in rec.words("supports", "[KR1, KR2]")),
        cost=rec.text("cost"),
        capacity=rec.text("capacity"),
    )
    draft.initiatives.append((initiative, rec))


def _read_dependency(draft: Draft, rec: Record) -> None:
    sides: list[tuple[Side, Record | None]] = []
    for role in ("provider", "consumer"):
        side_rec = None
        if rec.has(role):
            what = f"the {role} of {rec.what}"
            side_rec = read_record(
                rec.sink, rec.values[role], role, what, schema.SIDE, required=schema.SIDE, what=what
            )
        side = Side(side_rec.text("unit") or "", side_rec.text("owner") or "") if side_rec else Side("", "")
        sides.append((side, side_rec))
    dependency = Dependency(
        id=item_id(rec),
        title=rec.text("title") or "",
        provider=sides[0][0],
        consumer=sides[1][0],
        due=rec.date("due") or dt.date.min,
        delivered=rec.date("delivered"),
        kpi=rec.text("kpi"),
        blocks=tuple(name for name, _ in rec.words("blocks", "[KR1]")),
    )
    draft.dependencies.append((dependency, rec, sides[0][1], sides[1][1]))


_SECTIONS: tuple[
    tuple[str, str, tuple[str, ...] | None, tuple[str, ...], Callable[[Draft, Record], None]], ...
] = (
    ("units", "unit", schema.UNIT, ("id", "name"), _read_unit),
    ("people", "person", schema.PERSON, ("id", "name"), _read_person),
    ("cycles", "cycle", schema.CYCLE, schema.CYCLE, _read_cycle),
    ("objectives", "objective", schema.OBJECTIVE, ("id", "title", "cycle"), _read_objective),
    ("kpis", "KPI", schema.KPI, ("id",), read_kpi),
    ("initiatives", "initiative", schema.INITIATIVE, ("id", "title"), _read_initiative),
    (
        "dependencies",
        "dependency",
        schema.DEPENDENCY,
        ("id", "title", "provider", "consumer", "due"),
        _read_dependency,
    ),
    ("sources", "source", None, ("id", "kind"), read_source),
    ("notify", "notification route", schema.NOTIFY, ("id", "url"), read_route),
)
