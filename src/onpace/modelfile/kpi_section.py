"""Read the `kpis` section of a model file: a KPI with its plan, owners, unit of measure and feeds."""

from __future__ import annotations

import datetime as dt

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from onpace.domain.model import (
    AGGREGATES,
    DIRECTIONS,
    GRAINS,
    KPI_KINDS,
    MEASURES,
    Aggregate,
    Direction,
    Feed,
    Kpi,
    Measure,
    Plan,
)
from onpace.domain.units import check_uom
from onpace.modelfile import schema
from onpace.modelfile.cycle_plans import read_cycle_plans
from onpace.modelfile.draft import Draft, item_id
from onpace.modelfile.formula import FormulaError, formula_names
from onpace.modelfile.plans import read_plan
from onpace.modelfile.records import Record, read_record
from onpace.modelfile.tolerances import read_tolerance


def default_aggregate(measure: Measure, otherwise: Aggregate) -> Aggregate:
    """Return the aggregate used when none is written: flows add up, others use ``otherwise``."""
    return "sum" if measure == "flow" else otherwise


def positive(rec: Record, key: str) -> float | None:
    """Return the number at ``key`` when it is above zero; note a problem when it is not."""
    value = rec.number(key)
    if value is not None and not value > 0:
        rec.problem(key, f"`{key}` of {rec.what} is {value:g}; weights must be greater than 0")
        return None
    return value


def read_item_plan(
    draft: Draft, rec: Record, level: str, ident: str, direction: Direction | None
) -> Plan | None:
    """Return the `plan` of a KPI or KR, keeping its draft for the checks that need the cycle."""
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


def read_kpi(draft: Draft, rec: Record) -> None:
    """Read one item of `kpis` into the draft, with its feeds and plans."""
    ident = item_id(rec)
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
        plan=read_item_plan(draft, rec, "kpi", ident, direction),
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
