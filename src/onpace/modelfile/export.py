"""Write a Model back as onpace.yaml, in the layout of DESIGN.md §5, without default values.

``parse_model_text(dump_model(m)) == m`` for every valid model: numbers are written so they
read back as the same floats, text is quoted whenever YAML would read it as something else,
and a field is left out only when reading it back gives the same default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import yaml
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from onpace.domain.model import (
    DEFAULT_TOLERANCE,
    Calendar,
    Cycle,
    CyclePlan,
    Dependency,
    Initiative,
    KeyResult,
    Kpi,
    Model,
    NotifyRoute,
    Objective,
    Person,
    Plan,
    Policy,
    Sla,
    Source,
    Tolerance,
    Unit,
)
from onpace.modelfile.durations import format_days, format_duration
from onpace.modelfile.numbers import format_number, format_percent
from onpace.modelfile.sections import default_aggregate
from onpace.modelfile.tolerances import format_threshold
from onpace.modelfile.yamltree import STR_TAG

# Records written on one line as `- {id: x, ...}` when they fit; longer ones are written as blocks.
WIDTH = 110
_PLAIN = re.compile(r"^[\w(./$][\w ()./$+=%'&:;?!@*-]*$")
_RESOLVER = Resolver()

Fields = list[tuple[str, object]]


class Raw(str):
    """Text already rendered as YAML (a duration, a threshold), written as is."""

    __slots__ = ()


def dump_model(model: Model) -> str:
    """Return the model as onpace.yaml text that parses back to an equal Model."""
    lines: list[str] = [f"org: {_scalar(model.org)}"]
    if model.calendar != Calendar():
        calendar: dict[str, object] = {"week_start": model.calendar.week_start}
        if model.calendar.timezone != "UTC":
            calendar["timezone"] = model.calendar.timezone
        lines.append(f"calendar: {_flow(calendar)}")
    _section(lines, "units", [_unit(u) for u in model.units], block=False)
    _section(lines, "people", [_person(p) for p in model.people], block=False)
    _section(lines, "cycles", [_cycle(c) for c in model.cycles], block=False)
    if model.objectives:
        lines.append("objectives:")
        for objective in model.objectives:
            _objective(lines, objective)
    _section(lines, "kpis", [_kpi(k) for k in model.kpis], block=True)
    _section(lines, "initiatives", [_initiative(i) for i in model.initiatives], block=False)
    _section(lines, "dependencies", [_dependency(d) for d in model.dependencies], block=True)
    _section(lines, "sources", [_source(s) for s in model.sources], block=False)
    policy = _policy(model.policy)
    if policy:
        lines.append("policy:")
        lines.extend(f"  {key}: {_flow(value)}" for key, value in policy)
    _section(lines, "notify", [_route(n) for n in model.notify], block=False)
    return "\n".join(lines) + "\n"


def _section(lines: list[str], name: str, records: list[Fields], *, block: bool) -> None:
    if not records:
        return
    lines.append(f"{name}:")
    for fields in records:
        _record(lines, fields, indent=2, block=block)


def _record(lines: list[str], fields: Fields, *, indent: int, block: bool) -> None:
    """Write one list item: on one line when it fits and ``block`` is false, else key by key."""
    pad = " " * indent
    one_line = f"{pad}- {_flow(dict(fields))}"
    if not block and len(one_line) <= WIDTH:
        lines.append(one_line)
        return
    for position, (key, value) in enumerate(fields):
        lead = f"{pad}- " if position == 0 else f"{pad}  "
        lines.append(f"{lead}{key}: {_flow(value)}")


def _objective(lines: list[str], objective: Objective) -> None:
    fields: Fields = [("id", objective.id), ("title", objective.title), ("cycle", objective.cycle)]
    _put(fields, "unit", objective.unit)
    _put(fields, "owner", objective.owner)
    _put(fields, "perspective", objective.perspective)
    _record(lines, fields, indent=2, block=True)
    if objective.key_results:
        lines.append("    key_results:")
        for kr in objective.key_results:
            _record(lines, _key_result(kr), indent=6, block=False)


def _key_result(kr: KeyResult) -> Fields:
    fields: Fields = [("id", kr.id), ("title", kr.title)]
    _put(fields, "owner", kr.owner)
    _put(fields, "kpi", kr.kpi)
    _put(fields, "weight", kr.weight, 1.0)
    _put(fields, "measure", kr.measure, "level")
    _put(fields, "direction", kr.direction, "up")
    _put(fields, "grain", kr.grain, "week")
    _put(fields, "aggregate", kr.aggregate, default_aggregate(kr.measure, "last"))
    _put(fields, "tolerance", _tolerance(kr.tolerance))
    _put(fields, "plan", _plan(kr.plan))
    _put(fields, "plans", [_cycle_plan(p) for p in kr.plans], [])
    return fields


def _kpi(kpi: Kpi) -> Fields:
    fields: Fields = [("id", kpi.id)]
    _put(fields, "title", kpi.title, kpi.id)
    _put(fields, "formula", kpi.formula)
    _put(fields, "kind", kpi.kind, "outcome")
    _put(fields, "unit", kpi.unit)
    _put(fields, "uom", kpi.uom)
    fields.append(("owner", kpi.owners[0] if len(kpi.owners) == 1 else list(kpi.owners)))
    if kpi.formula is None:
        _put(fields, "measure", kpi.measure, "level")
    _put(fields, "direction", kpi.direction, "up")
    _put(fields, "grain", kpi.grain, "week")
    _put(fields, "aggregate", kpi.aggregate, default_aggregate(kpi.measure, "mean"))
    _put(fields, "tolerance", _tolerance(kpi.tolerance))
    _put(fields, "plan", _plan(kpi.plan))
    _put(fields, "plans", [_cycle_plan(p) for p in kpi.plans], [])
    _put(fields, "source", kpi.source)
    _put(fields, "leading", kpi.leading, False)
    _put(fields, "constraint", kpi.constraint, False)
    _put(fields, "cycle", kpi.cycle)
    feeds = []
    for feed in kpi.feeds:
        entry: dict[str, object] = {"kr": feed.kr, "weight": feed.weight}
        if feed.lag_days:
            entry["lag"] = Raw(format_days(feed.lag_days))
        feeds.append(entry)
    _put(fields, "feeds", feeds, [])
    return fields


def _unit(unit: Unit) -> Fields:
    fields: Fields = [("id", unit.id), ("name", unit.name)]
    _put(fields, "parent", unit.parent)
    _put(fields, "head", unit.head)
    return fields


def _person(person: Person) -> Fields:
    fields: Fields = [("id", person.id), ("name", person.name)]
    _put(fields, "email", person.email)
    _put(fields, "unit", person.unit)
    return fields


def _cycle(cycle: Cycle) -> Fields:
    return [("id", cycle.id), ("start", cycle.start), ("end", cycle.end)]


def _initiative(initiative: Initiative) -> Fields:
    fields: Fields = [("id", initiative.id), ("title", initiative.title)]
    _put(fields, "owner", initiative.owner)
    _put(fields, "unit", initiative.unit)
    _put(fields, "supports", list(initiative.supports), [])
    _put(fields, "cost", initiative.cost)
    _put(fields, "capacity", initiative.capacity)
    return fields


def _dependency(dependency: Dependency) -> Fields:
    fields: Fields = [
        ("id", dependency.id),
        ("title", dependency.title),
        ("provider", {"unit": dependency.provider.unit, "owner": dependency.provider.owner}),
        ("consumer", {"unit": dependency.consumer.unit, "owner": dependency.consumer.owner}),
        ("due", dependency.due),
    ]
    _put(fields, "delivered", dependency.delivered)
    _put(fields, "kpi", dependency.kpi)
    _put(fields, "blocks", list(dependency.blocks), [])
    return fields


def _source(source: Source) -> Fields:
    fields: Fields = [("id", source.id), ("kind", source.kind)]
    if source.every is not None:
        fields.append(("every", Raw(format_duration(source.every))))
    fields.extend(source.options.items())
    return fields


def _route(route: NotifyRoute) -> Fields:
    fields: Fields = [("id", route.id), ("url", route.url)]
    _put(fields, "units", list(route.units), [])
    _put(fields, "people", list(route.people), [])
    _put(fields, "events", list(route.events), [])
    _put(fields, "digest", route.digest, False)
    _put(fields, "secret", route.secret, None)
    return fields


def _policy(policy: Policy) -> Fields:
    default = Policy()
    fields: Fields = []
    _put(fields, "open_case_on", list(policy.open_case_on), list(default.open_case_on))
    if policy.default_tolerance != DEFAULT_TOLERANCE:
        fields.append(("default_tolerance", _tolerance(policy.default_tolerance)))
    sla = {
        key: Raw(format_duration(getattr(policy.sla, key)))
        for key in ("explain", "act")
        if getattr(policy.sla, key) != getattr(Sla(), key)
    }
    _put(fields, "sla", sla, {})
    _put(fields, "escalation", list(policy.escalation), list(default.escalation))
    _put(fields, "auto_resolve_after", policy.auto_resolve_after, default.auto_resolve_after)
    _put(fields, "threat_weight", policy.threat_weight, default.threat_weight)
    _put(fields, "stale_after", policy.stale_after, default.stale_after)
    _put(fields, "at_risk_on", policy.at_risk_on, default.at_risk_on)
    _put(fields, "approve_manual", policy.approve_manual, default.approve_manual)
    _put(fields, "review_weekday", policy.review_weekday, default.review_weekday)
    _put(fields, "at_risk_after", policy.at_risk_after, default.at_risk_after)

    if policy.checkin_valid_for != default.checkin_valid_for:
        fields.append(("checkin_valid_for", Raw(format_duration(policy.checkin_valid_for))))
    return fields


def _tolerance(tolerance: Tolerance | None) -> dict[str, object] | None:
    if tolerance is None:
        return None
    return {"amber": Raw(format_threshold(tolerance.amber)), "red": Raw(format_threshold(tolerance.red))}


def _plan(plan: Plan | None) -> dict[str, object] | None:
    if plan is None:
        return None
    out: dict[str, object] = {}
    if plan.baseline is not None or plan.target is not None:
        _put_dict(out, "baseline", plan.baseline)
        _put_dict(out, "target", plan.target)
        if plan.phasing != "linear":
            out["phasing"] = plan.phasing
    if plan.points:
        out["points"] = dict(plan.points)
    _put_dict(out, "per_bucket", plan.per_bucket)
    if plan.seasonal_from is not None:
        out["seasonal_from"] = plan.seasonal_from
        if plan.growth:
            out["growth"] = Raw(format_percent(plan.growth) + "%")
    if plan.band is not None:
        out["band"] = list(plan.band)
    return out


def _cycle_plan(entry: CyclePlan) -> dict[str, object]:
    out: dict[str, object] = {"cycle": entry.cycle}
    _put_dict(out, "from", entry.effective)
    out.update(_plan(entry.plan) or {})
    return out


def _put(fields: Fields, key: str, value: object, default: object = None) -> None:
    """Add a field unless it is absent or equal to the value read when it is left out."""
    if value is not None and value != default:
        fields.append((key, value))


def _put_dict(out: dict[str, object], key: str, value: object) -> None:
    if value is not None:
        out[key] = value


def _flow(value: object) -> str:
    """Render a value in YAML flow style on one line."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: object) -> str:
    """Render one scalar so that YAML reads back the same value and type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if _is_plain(text):
        return text
    quoted: str = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=1_000_000_000)
    return quoted.strip()


def _is_plain(text: str) -> bool:
    """Tell whether text can be written unquoted, inside flow collections, and read back as text."""
    return (
        bool(_PLAIN.match(text))
        and text == text.strip()
        and ": " not in text
        and not text.endswith(":")
        and " #" not in text
        and _RESOLVER.resolve(ScalarNode, text, (True, False)) == STR_TAG  # type: ignore[no-untyped-call]
    )
