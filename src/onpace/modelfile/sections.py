"""Read each section of onpace.yaml into model values, keeping the records for later checks.

This pass checks what one record can tell on its own (keys, types, enums, required fields,
weights, tolerances, plan shapes, durations, formula syntax). Links between records are
checked afterwards by :mod:`onpace.modelfile.links`, which needs the lines kept here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from onpace.domain.calendar import zone
from onpace.domain.model import (
    AGGREGATES,
    CASE_KINDS,
    DIRECTIONS,
    GRAINS,
    KPI_KINDS,
    MEASURES,
    PERSPECTIVES,
    WEEKDAYS,
    Aggregate,
    Calendar,
    Cycle,
    Dependency,
    Direction,
    Feed,
    Initiative,
    KeyResult,
    Kpi,
    Measure,
    Model,
    NotifyRoute,
    Objective,
    Person,
    Plan,
    Policy,
    Side,
    Sla,
    Source,
    Unit,
)
from onpace.domain.units import check_uom
from onpace.modelfile import schema
from onpace.modelfile.cycle_plans import read_cycle_plans
from onpace.modelfile.formula import FormulaError, formula_names
from onpace.modelfile.plans import PlanDraft, read_plan
from onpace.modelfile.records import Record, Sink, did_you_mean, read_record
from onpace.modelfile.tolerances import read_tolerance
from onpace.modelfile.yamltree import construct
from onpace.notifiers.schemes import route_url_problem

T = TypeVar("T", bound=str)

# One mailbox, nothing a mail library could read as a list: a@x,b@y or "A" <a@x> are refused.
ONE_ADDRESS = re.compile(r"[^@\s,;<>()\[\]\"':\\]+@[^@\s,;<>()\[\]\"':\\]+\.[^@\s,;<>()\[\]\"':\\.]+")


@dataclass
class Draft:
    """Everything read from a file: the values, each beside the record it came from."""

    org: str = ""
    calendar: Calendar = field(default_factory=Calendar)
    units: list[tuple[Unit, Record]] = field(default_factory=list)
    people: list[tuple[Person, Record]] = field(default_factory=list)
    cycles: list[tuple[Cycle, Record]] = field(default_factory=list)
    objectives: list[tuple[Objective, Record]] = field(default_factory=list)
    key_results: list[tuple[KeyResult, Record]] = field(default_factory=list)
    kpis: list[tuple[Kpi, Record]] = field(default_factory=list)
    feeds: list[tuple[str, Feed, Record]] = field(default_factory=list)
    plans: list[tuple[str, str, PlanDraft]] = field(default_factory=list)
    cycle_plans: list[tuple[Record, list[tuple[PlanDraft, str, dt.date | None]]]] = field(
        default_factory=list
    )
    initiatives: list[tuple[Initiative, Record]] = field(default_factory=list)
    dependencies: list[tuple[Dependency, Record, Record | None, Record | None]] = field(default_factory=list)
    sources: list[tuple[Source, Record]] = field(default_factory=list)
    policy: Policy = field(default_factory=Policy)
    policy_record: Record | None = None
    notify: list[tuple[NotifyRoute, Record]] = field(default_factory=list)

    def model(self) -> Model:
        """Return the Model these values make (meaningful only when no problem was found)."""
        return Model(
            org=self.org,
            calendar=self.calendar,
            units=tuple(u for u, _ in self.units),
            people=tuple(p for p, _ in self.people),
            cycles=tuple(c for c, _ in self.cycles),
            objectives=tuple(o for o, _ in self.objectives),
            kpis=tuple(k for k, _ in self.kpis),
            initiatives=tuple(i for i, _ in self.initiatives),
            dependencies=tuple(d for d, *_ in self.dependencies),
            sources=tuple(s for s, _ in self.sources),
            policy=self.policy,
            notify=tuple(n for n, _ in self.notify),
        )


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
        _read_policy(draft, sink, top.values["policy"])
    return draft


def _read_unit(draft: Draft, rec: Record) -> None:
    unit = Unit(_ident(rec), rec.text("name") or "", rec.text("parent"), rec.text("head"))
    draft.units.append((unit, rec))


def _read_person(draft: Draft, rec: Record) -> None:
    email = rec.text("email")
    if email is not None and not ONE_ADDRESS.fullmatch(email):
        rec.problem(
            "email",
            f"email `{email}` is not one address: a person has exactly one (name@domain, "
            "no commas, semicolons, spaces or angle brackets)",
        )
    person = Person(_ident(rec), rec.text("name") or "", email, rec.text("unit"))
    draft.people.append((person, rec))


def _ident(record: Record) -> str:
    ident = record.text("id") or ""
    if any(ch.isspace() for ch in ident):
        record.problem("id", f"id `{ident}` has a space in it; ids are single words like `on_time_rate`")
    return ident


def _read_cycle(draft: Draft, rec: Record) -> None:
    start, end = rec.date("start"), rec.date("end")
    if start is not None and end is not None and end < start:
        rec.problem("end", f"{rec.what} ends on {end}, before it starts on {start}")
    draft.cycles.append((Cycle(_ident(rec), start or dt.date.min, end or dt.date.max), rec))


def _read_objective(draft: Draft, rec: Record) -> None:
    ident = _ident(rec)
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
    ident = _ident(rec)
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
    weight = _positive(rec, "weight")
    kpi = rec.text("kpi")
    if kpi is not None and rec.has("plan"):
        rec.problem("plan", f"{rec.what} is measured by KPI `{kpi}`, which holds its plan; drop `plan` here")
    tolerance = read_tolerance(rec.sink, rec.values["tolerance"], rec.what) if rec.has("tolerance") else None
    plan = _plan(draft, rec, "kr", ident, direction)
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


def default_aggregate(measure: Measure, otherwise: Aggregate) -> Aggregate:
    """Return the aggregate used when none is written: flows add up, others use ``otherwise``."""
    return "sum" if measure == "flow" else otherwise


def _positive(rec: Record, key: str) -> float | None:
    value = rec.number(key)
    if value is not None and not value > 0:
        rec.problem(key, f"`{key}` of {rec.what} is {value:g}; weights must be greater than 0")
        return None
    return value


def _plan(draft: Draft, rec: Record, level: str, ident: str, direction: Direction | None) -> Plan | None:
    if not rec.has("plan"):
        return None
    # An invalid direction was reported already; None then skips the band-needs-range check.
    if direction is None and not rec.has("direction"):
        direction = "up"
    planned = read_plan(rec.sink, rec.values["plan"], rec.what, direction)
    if planned is None:
        return None
    draft.plans.append((level, ident, planned))
    return planned.plan


def _read_kpi(draft: Draft, rec: Record) -> None:
    ident = _ident(rec)
    formula = rec.text("formula")
    if formula is not None:
        try:
            formula_names(formula)
        except FormulaError as exc:
            rec.problem("formula", f"the formula of {rec.what} does not parse: {exc}")
    measure = rec.choice("measure", MEASURES)
    if formula is not None and measure not in (None, "ratio"):
        rec.problem("measure", f"{rec.what} has a formula, so its measure is `ratio`, not `{measure}`")
    if formula is None and measure == "ratio":
        rec.problem("measure", f"{rec.what} has measure `ratio` but no `formula` to compute it from")
    measure = "ratio" if formula is not None else (measure if measure in ("flow", "level") else "level")
    direction = rec.choice("direction", DIRECTIONS)
    feeds: list[Feed] = []
    for index, node in enumerate(rec.items("feeds"), 1):
        place = f"item {index} of `feeds` of {rec.what}"
        feed_rec = read_record(
            rec.sink,
            node,
            "feed",
            place,
            schema.FEED,
            required=("kr", "weight"),
            what=_feed_name(node, place, rec),
        )
        if feed_rec is None:
            continue
        feed = _read_feed(feed_rec)
        if feed is not None:
            feeds.append(feed)
            draft.feeds.append((ident, feed, feed_rec))
    cycle_plans, cycle_drafts = read_cycle_plans(rec, direction)
    if cycle_drafts:
        draft.cycle_plans.append((rec, cycle_drafts))
    kpi = Kpi(
        id=ident,
        title=rec.text("title") or ident,
        unit=rec.text("unit"),
        owners=_owners(rec),
        measure=measure,
        direction=direction or "up",
        grain=rec.choice("grain", GRAINS) or "week",
        aggregate=rec.choice("aggregate", AGGREGATES) or default_aggregate(measure, "mean"),
        tolerance=read_tolerance(rec.sink, rec.values["tolerance"], rec.what)
        if rec.has("tolerance")
        else None,
        plan=_plan(draft, rec, "kpi", ident, direction),
        source=rec.text("source"),
        leading=bool(rec.boolean("leading")),
        feeds=tuple(feeds),
        formula=formula,
        kind=rec.choice("kind", KPI_KINDS) or "outcome",
        constraint=bool(rec.boolean("constraint")),
        cycle=rec.text("cycle"),
        plans=cycle_plans,
        uom=_uom(rec),
    )
    draft.kpis.append((kpi, rec))


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


def _uom(rec: Record) -> str | None:
    """Return a KPI's unit of measure, noting one that is not known."""
    uom = rec.text("uom")
    if uom is None:
        return None
    problem = check_uom(uom)
    if problem is not None:
        rec.problem("uom", f"`uom` of {rec.what}: {problem}")
        return None
    return uom


def _owners(rec: Record) -> tuple[str, ...]:
    """Return the owners of a KPI: one name, or a list (several is a hygiene finding, none an error)."""
    if isinstance(rec.values.get("owner"), SequenceNode):
        owners = tuple(name for name, _ in rec.words("owner", "[maria]"))
        if not owners:
            rec.problem("owner", f"{rec.what} has no owner")
        return owners
    if not rec.has("owner"):
        rec.problem("owner", f"{rec.what} has no owner")
        return ()
    owner = rec.text("owner")
    return (owner,) if owner is not None else ()


def _feed_name(node: Node, place: str, kpi: Record) -> str:
    """Name a feed in messages by its KR when it has a readable one."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if (
                isinstance(key, ScalarNode)
                and key.value == "kr"
                and isinstance(value, ScalarNode)
                and value.value
            ):
                return f"the feed of {kpi.what} to `{value.value}`"
    return f"the feed at {place}"


def _read_feed(rec: Record) -> Feed | None:
    kr = rec.text("kr")
    weight = rec.number("weight")
    if weight is not None and not 0 < weight <= 1:
        rec.problem(
            "weight", f"`weight` of {rec.what} is {weight:g}; feed weights must be above 0 and at most 1"
        )
        weight = None
    lag_days = 0
    lag = rec.duration("lag")
    if lag is not None:
        if lag % dt.timedelta(days=1):
            rec.problem("lag", f"`lag` of {rec.what} must be whole days or weeks, like `3d` or `2w`")
        else:
            lag_days = lag.days
    if kr is None:
        return None
    # A bad weight is reported above; keep the feed so its KR link is still checked.
    return Feed(kr, weight if weight is not None else 1.0, lag_days)


def _read_initiative(draft: Draft, rec: Record) -> None:
    initiative = Initiative(
        id=_ident(rec),
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
        id=_ident(rec),
        title=rec.text("title") or "",
        provider=sides[0][0],
        consumer=sides[1][0],
        due=rec.date("due") or dt.date.min,
        delivered=rec.date("delivered"),
        kpi=rec.text("kpi"),
        blocks=tuple(name for name, _ in rec.words("blocks", "[KR1]")),
    )
    draft.dependencies.append((dependency, rec, sides[0][1], sides[1][1]))


def _read_source(draft: Draft, rec: Record) -> None:
    _check_source_options(rec)
    options = {key: construct(node) for key, node in rec.values.items() if key not in schema.SOURCE_FIELDS}
    source = Source(_ident(rec), rec.text("kind") or "", rec.duration("every"), options)
    draft.sources.append((source, rec))


def _check_source_options(rec: Record) -> None:
    """Report an unknown kind, or an option the source's kind does not read (at its line)."""
    kind = rec.text("kind")
    if kind is None:
        return
    known = schema.SOURCE_OPTIONS.get(schema.SOURCE_KIND_ALIASES.get(kind, kind))
    if known is None:
        kinds = sorted(schema.SOURCE_OPTIONS)
        rec.problem(
            "kind", f"unknown source kind `{kind}` (known: {', '.join(kinds)}){did_you_mean(kind, kinds)}"
        )
        return
    for key in rec.values:
        if key not in schema.SOURCE_FIELDS and key not in known:
            allowed = ", ".join(known) or "none"
            rec.problem(
                key,
                f"unknown option `{key}` for a source of kind {kind} (it reads: {allowed})"
                f"{did_you_mean(key, known)}",
            )


def _read_policy(draft: Draft, sink: Sink, node: Node) -> None:
    rec = read_record(sink, node, "policy", "`policy`", schema.POLICY, what="`policy`")
    if rec is None:
        return
    draft.policy_record = rec
    defaults = Policy()
    open_case_on = tuple(_choices(rec, "open_case_on", CASE_KINDS, "[red, at_risk]"))
    tolerance = None
    if rec.has("default_tolerance"):
        tolerance = read_tolerance(sink, rec.values["default_tolerance"], "`policy`")
    sla = defaults.sla
    if rec.has("sla"):
        sla_rec = read_record(sink, rec.values["sla"], "sla", "`policy.sla`", schema.SLA, what="`policy.sla`")
        if sla_rec is not None:
            sla = Sla(
                explain=sla_rec.duration("explain") or defaults.sla.explain,
                act=sla_rec.duration("act") or defaults.sla.act,
            )
    escalation = tuple(_choices(rec, "escalation", schema.ESCALATION_RUNGS, "[owner, unit_head]"))
    ladder = rec.values.get("escalation")
    if isinstance(ladder, SequenceNode) and not ladder.value:
        rec.problem("escalation", "`escalation` of `policy` is empty; list at least `owner`")
    counts: dict[str, int] = {}
    for key in ("auto_resolve_after", "stale_after", "at_risk_after"):
        count = rec.integer(key)
        if count is not None and count < 1:
            rec.problem(key, f"`{key}` of `policy` is {count}; it must be 1 or more")
        elif count is not None:
            counts[key] = count
    threat_weight = rec.number("threat_weight")
    if threat_weight is not None and not 0 < threat_weight <= 1:
        rec.problem(
            "threat_weight",
            f"`threat_weight` of `policy` is {threat_weight:g}; it must be above 0 and at most 1",
        )
        threat_weight = None
    approve_manual = rec.boolean("approve_manual")
    valid_for = rec.duration("checkin_valid_for")
    if valid_for is not None and valid_for <= dt.timedelta(0):
        rec.problem(
            "checkin_valid_for", "`checkin_valid_for` of `policy` must be longer than zero, like `14d`"
        )
        valid_for = None
    draft.policy = Policy(
        open_case_on=open_case_on if rec.has("open_case_on") else defaults.open_case_on,
        default_tolerance=tolerance or defaults.default_tolerance,
        sla=sla,
        escalation=escalation if rec.has("escalation") else defaults.escalation,
        auto_resolve_after=counts.get("auto_resolve_after", defaults.auto_resolve_after),
        threat_weight=threat_weight if threat_weight is not None else defaults.threat_weight,
        stale_after=counts.get("stale_after", defaults.stale_after),
        at_risk_on=rec.choice("at_risk_on", schema.AT_RISK_ON) or defaults.at_risk_on,
        approve_manual=approve_manual if approve_manual is not None else defaults.approve_manual,
        review_weekday=rec.choice("review_weekday", WEEKDAYS) or defaults.review_weekday,
        at_risk_after=counts.get("at_risk_after", defaults.at_risk_after),
        checkin_valid_for=valid_for or defaults.checkin_valid_for,
    )


def _choices(rec: Record, key: str, choices: Sequence[T], example: str) -> list[T]:
    """Return the items of a list field that are among ``choices``, noting each that is not."""
    picked: list[T] = []
    for word, line in rec.words(key, example):
        match = next((choice for choice in choices if choice == word), None)
        if match is not None:
            picked.append(match)
        else:
            rec.sink.add(
                line,
                f"`{word}` in `{key}` of {rec.what} is not one of {', '.join(choices)}"
                + did_you_mean(word, choices),
            )
    return picked


def _read_route(draft: Draft, rec: Record) -> None:
    events = _choices(rec, "events", schema.NOTIFY_EVENTS, "[case_opened]")
    route = NotifyRoute(
        id=_ident(rec),
        url=rec.text("url") or "",
        units=tuple(name for name, _ in rec.words("units", "[ops]")),
        people=tuple(name for name, _ in rec.words("people", "[maria]")),
        events=tuple(events),
        digest=bool(rec.boolean("digest")),
        secret=rec.text("secret"),
    )
    if route.url:
        problem = route_url_problem(route.url)
        if problem is not None:
            rec.problem("url", f"`url` of notification route `{route.id}`: {problem}")
    draft.notify.append((route, rec))


_SECTIONS: tuple[
    tuple[str, str, tuple[str, ...] | None, tuple[str, ...], Callable[[Draft, Record], None]], ...
] = (
    ("units", "unit", schema.UNIT, ("id", "name"), _read_unit),
    ("people", "person", schema.PERSON, ("id", "name"), _read_person),
    ("cycles", "cycle", schema.CYCLE, schema.CYCLE, _read_cycle),
    ("objectives", "objective", schema.OBJECTIVE, ("id", "title", "cycle"), _read_objective),
    ("kpis", "KPI", schema.KPI, ("id",), _read_kpi),
    ("initiatives", "initiative", schema.INITIATIVE, ("id", "title"), _read_initiative),
    (
        "dependencies",
        "dependency",
        schema.DEPENDENCY,
        ("id", "title", "provider", "consumer", "due"),
        _read_dependency,
    ),
    ("sources", "source", None, ("id", "kind"), _read_source),
    ("notify", "notification route", schema.NOTIFY, ("id", "url"), _read_route),
)
