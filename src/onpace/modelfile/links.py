"""Check the links between records: ids, owners, references, cycles and plan dates.

Runs after :mod:`onpace.modelfile.sections` has read every record on its own, so a link to
an id defined further down the file is as good as one defined above it.
"""

from __future__ import annotations

import datetime as dt
import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from onpace.domain.model import Cycle, KeyResult, Kpi
from onpace.domain.seasonal import reference_period
from onpace.modelfile.cycle_plans import check_cycle_plans
from onpace.modelfile.formula import FormulaError, formula_names
from onpace.modelfile.plans import PlanDraft
from onpace.modelfile.records import Record, Sink, did_you_mean
from onpace.modelfile.sections import Draft

# Objectives, KRs, KPIs, initiatives and dependencies are all subjects of cases and check-ins,
# so an id must name one of them only.
_SUBJECTS = ("objective", "key result", "KPI", "initiative", "dependency")


@dataclass(frozen=True)
class _Entry:
    kind: str
    line: int


class _Links:
    """The ids of a draft, by collection, and the sink that collects link problems."""

    def __init__(self, draft: Draft, sink: Sink) -> None:
        self.draft = draft
        self.sink = sink
        self.ids: dict[str, dict[str, int]] = {}
        self.krs: dict[str, KeyResult] = {}
        self.kpis: dict[str, Kpi] = {}
        self.cycles: dict[str, Cycle] = {}

    def index(self, kind: str, entries: Iterable[tuple[str, Record]]) -> dict[str, int]:
        """Record the ids of one collection, noting duplicates; return id -> line of first use."""
        seen: dict[str, int] = {}
        for ident, rec in entries:
            if ident in seen:
                rec.problem("id", f"duplicate {kind} id `{ident}` (first on line {seen[ident]})")
            else:
                seen[ident] = rec.line_of("id")
        self.ids[kind] = seen
        return seen

    def refer(
        self, rec: Record, key: str, value: str | None, kind: str, *, line: int | None = None, said: str = ""
    ) -> bool:
        """Check that ``value`` names a ``kind`` (unit, KPI, ...); note a problem and return False if not.

        ``line`` is the line of a list item (default: the line of ``key``); ``said`` replaces the
        opening of the message (default: "<record> names `value` as its <key>", or for a list
        item "<record> lists `value` in `<key>`").
        """
        if value is None or not value or value in self.ids.get(kind, {}):
            return True
        if not said:
            said = (
                f"{rec.what} lists `{value}` in `{key}`"
                if line
                else f"{rec.what} names `{value}` as its {key}"
            )
        other = self._elsewhere(value, kind)
        if other is not None:
            message = f"{said}, but `{value}` is a {other}, not a {kind}"
        else:
            message = f"{said}, but there is no {kind} `{value}`" + did_you_mean(
                value, self.ids.get(kind, {})
            )
        self.sink.add(line if line is not None else rec.line_of(key), message)
        return False

    def person(self, rec: Record, key: str, value: str | None, line: int | None = None) -> None:
        """Check that ``value`` is a person's id (owners, heads)."""
        self.refer(rec, key, value, "person", line=line)

    def _elsewhere(self, value: str, kind: str) -> str | None:
        for other, ids in self.ids.items():
            if other != kind and value in ids:
                return other
        return None


def check_links(draft: Draft, sink: Sink) -> None:
    """Note every broken link of a draft in ``sink``."""
    links = _Links(draft, sink)
    links.index("unit", ((u.id, r) for u, r in draft.units))
    links.index("person", ((p.id, r) for p, r in draft.people))
    links.index("cycle", ((c.id, r) for c, r in draft.cycles))
    links.index("objective", ((o.id, r) for o, r in draft.objectives))
    links.index("key result", ((k.id, r) for k, r in draft.key_results))
    links.index("KPI", ((k.id, r) for k, r in draft.kpis))
    links.index("initiative", ((i.id, r) for i, r in draft.initiatives))
    links.index("dependency", ((d.id, r) for d, r, *_ in draft.dependencies))
    links.index("source", ((s.id, r) for s, r in draft.sources))
    links.index("notification route", ((n.id, r) for n, r in draft.notify))
    links.krs = {kr.id: kr for kr, _ in reversed(draft.key_results)}
    links.kpis = {kpi.id: kpi for kpi, _ in reversed(draft.kpis)}
    links.cycles = {c.id: c for c, _ in reversed(draft.cycles)}
    _check_subject_ids(draft)
    _check_units(links)
    _check_objectives(links)
    _check_kpis(links)
    _check_formula_cycles(links)
    _check_initiatives(links)
    _check_dependencies(links)
    _check_routes(links)
    _check_plan_dates(links)


def _check_subject_ids(draft: Draft) -> None:
    first: dict[str, tuple[str, int]] = {}
    collections: dict[str, list[tuple[str, Record]]] = {
        "objective": [(o.id, r) for o, r in draft.objectives],
        "key result": [(k.id, r) for k, r in draft.key_results],
        "KPI": [(k.id, r) for k, r in draft.kpis],
        "initiative": [(i.id, r) for i, r in draft.initiatives],
        "dependency": [(d.id, r) for d, r, *_ in draft.dependencies],
    }
    for kind in _SUBJECTS:
        for ident, rec in collections[kind]:
            if ident not in first:
                first[ident] = (kind, rec.line_of("id"))
            elif first[ident][0] != kind:
                other, line = first[ident]
                rec.problem(
                    "id",
                    f"id `{ident}` of {kind} is already the id of the {other} on line {line}; "
                    "objectives, key results, KPIs, initiatives and dependencies need distinct ids",
                )


def _check_units(links: _Links) -> None:
    parents: dict[str, str] = {}
    lines: dict[str, int] = {}
    for unit, rec in links.draft.units:
        if links.refer(rec, "parent", unit.parent, "unit") and unit.parent:
            parents.setdefault(unit.id, unit.parent)
            lines.setdefault(unit.id, rec.line_of("parent"))
        links.person(rec, "head", unit.head)
    for person, rec in links.draft.people:
        links.refer(rec, "unit", person.unit, "unit")
    for cycle in _cycles({child: [parent] for child, parent in parents.items()}):
        start = min(cycle, key=lambda u: lines[u])
        if len(cycle) == 1:
            links.sink.add(lines[start], f"unit `{start}` is its own parent")
        else:
            path = " → ".join([*_rotate(cycle, start), start])
            links.sink.add(lines[start], f"units form a parent cycle: {path}")


def _check_objectives(links: _Links) -> None:
    for objective, rec in links.draft.objectives:
        links.refer(rec, "cycle", objective.cycle, "cycle")
        links.refer(rec, "unit", objective.unit, "unit")
        links.person(rec, "owner", objective.owner)
    for kr, rec in links.draft.key_results:
        links.person(rec, "owner", kr.owner)
        links.refer(rec, "kpi", kr.kpi, "KPI")


def _check_kpis(links: _Links) -> None:
    for kpi, rec in links.draft.kpis:
        links.refer(rec, "unit", kpi.unit, "unit")
        for owner, line in rec.listed("owner"):
            links.refer(
                rec, "owner", owner, "person", line=line, said=f"{rec.what} names `{owner}` as an owner"
            )
        links.refer(rec, "source", kpi.source, "source")
        links.refer(rec, "cycle", kpi.cycle, "cycle")
        if kpi.formula is not None:
            for name in _names(kpi.formula):
                if name not in links.ids["KPI"]:
                    hint = did_you_mean(name, links.ids["KPI"])
                    rec.problem(
                        "formula", f"the formula of {rec.what} names `{name}`, which is not a KPI{hint}"
                    )
    for kpi_id, feed, rec in links.draft.feeds:
        if not links.refer(rec, "kr", feed.kr, "key result", said=f"KPI `{kpi_id}` feeds `{feed.kr}`"):
            continue
        measured = links.krs[feed.kr]
        if measured.kpi == kpi_id:
            rec.problem(
                "kr",
                f"KPI `{kpi_id}` feeds key result `{feed.kr}`, which it already measures (`kpi: {kpi_id}`); "
                "a KR cannot be fed by its own KPI",
            )


def _names(formula: str) -> tuple[str, ...]:
    try:
        return formula_names(formula)
    except FormulaError:
        return ()  # reported when the KPI was read


def _check_formula_cycles(links: _Links) -> None:
    graph: dict[str, list[str]] = {}
    lines: dict[str, int] = {}
    for kpi, rec in links.draft.kpis:
        if kpi.formula is not None and kpi.id not in graph:
            graph[kpi.id] = [n for n in _names(kpi.formula) if n in links.ids["KPI"]]
            lines[kpi.id] = rec.line_of("formula")
    for cycle in _cycles(graph):
        start = min(cycle, key=lambda k: lines[k])
        if len(cycle) == 1:
            links.sink.add(lines[start], f"the formula of KPI `{start}` refers to itself")
        else:
            path = " → ".join([*_rotate(cycle, start), start])
            links.sink.add(lines[start], f"formula KPIs refer to each other in a cycle: {path}")


def _check_initiatives(links: _Links) -> None:
    for initiative, rec in links.draft.initiatives:
        links.person(rec, "owner", initiative.owner)
        links.refer(rec, "unit", initiative.unit, "unit")
        for kr, line in rec.listed("supports"):
            links.refer(rec, "supports", kr, "key result", line=line)
        for key, value in (("cost", initiative.cost), ("capacity", initiative.capacity)):
            if links.refer(rec, key, value, "KPI") and value:
                kind = links.kpis[value].kind
                if kind != key:
                    rec.problem(
                        key,
                        f"{rec.what} uses KPI `{value}` as its {key}, but that KPI is of kind `{kind}`; "
                        f"give it `kind: {key}`",
                    )


def _check_dependencies(links: _Links) -> None:
    for dependency, rec, provider, consumer in links.draft.dependencies:
        for side_rec in (provider, consumer):
            if side_rec is not None:
                links.refer(side_rec, "unit", side_rec.text("unit"), "unit")
                links.person(side_rec, "owner", side_rec.text("owner"))
        links.refer(rec, "kpi", dependency.kpi, "KPI")
        for kr, line in rec.listed("blocks"):
            links.refer(rec, "blocks", kr, "key result", line=line)


def _check_routes(links: _Links) -> None:
    for _, rec in links.draft.notify:
        for unit, line in rec.listed("units"):
            links.refer(rec, "units", unit, "unit", line=line)
        for person, line in rec.listed("people"):
            links.person(rec, "people", person, line)


def _check_plan_dates(links: _Links) -> None:
    objective_cycle = {o.id: o.cycle for o, _ in links.draft.objectives}
    only = links.draft.cycles[0][0].id if len(links.draft.cycles) == 1 else None
    kpi_cycles = _kpi_cycles(links, objective_cycle)
    first = links.draft.cycles[0][0].id if links.draft.cycles else None
    for rec, drafts in links.draft.cycle_plans:
        kr = links.krs.get(_ident_of(rec)) if rec.what.startswith("key result") else None
        if kr is not None:
            _check_kr_plans(rec, drafts, links.cycles.get(objective_cycle.get(kr.objective) or ""))
            continue
        kpi = links.kpis.get(_ident_of(rec))
        home = (kpi.cycle if kpi else None) or only or kpi_cycles.get(_ident_of(rec)) or first
        check_cycle_plans(rec, drafts, home, links.cycles)
    for level, ident, planned in links.draft.plans:
        if level == "kr":
            kr = links.krs.get(ident)
            cycle_id = objective_cycle.get(kr.objective) if kr else None
            holder = f"key result `{ident}`"
        else:
            kpi = links.kpis.get(ident)
            cycle_id = (kpi.cycle if kpi else None) or only or kpi_cycles.get(ident)
            holder = f"KPI `{ident}`"
        seasonal_from = planned.plan.seasonal_from
        if seasonal_from is not None and reference_period(seasonal_from, links.cycles) is None:
            links.sink.add(
                planned.line,
                f"`seasonal_from` of the plan of {holder} is `{seasonal_from}`: name a cycle "
                f"(one of {', '.join(sorted(links.cycles)) or 'none defined'}) or a range like "
                f"2025-10-01..2025-12-31",
            )
        cycle = links.cycles.get(cycle_id or "")
        if cycle is None or cycle.start == dt.date.min or cycle.end == dt.date.max:
            continue
        for (day, _), line in zip(planned.plan.points, planned.point_lines, strict=True):
            if not cycle.start <= day <= cycle.end:
                links.sink.add(
                    line,
                    f"the plan of {holder} has a point on {day}, outside cycle `{cycle.id}` "
                    f"({cycle.start} to {cycle.end})",
                )


def _check_kr_plans(
    rec: Record, drafts: list[tuple[PlanDraft, str, dt.date | None]], cycle: Cycle | None
) -> None:
    """Note a KR ``plans:`` item that is not a dated re-baseline of its plan in its objective's cycle."""
    for planned, cycle_id, effective in drafts:
        if effective is None:
            rec.sink.add(
                planned.line,
                f"a `plans` item of {rec.what} needs `from:`: a key result has one cycle, planned by `plan`; "
                "its items are re-baselines from a date",
            )
        elif cycle is not None and cycle_id != cycle.id:
            rec.sink.add(planned.line, f"{rec.what} belongs to cycle `{cycle.id}`, not `{cycle_id}`")
        elif cycle is not None and not cycle.start <= effective <= cycle.end:
            rec.sink.add(planned.line, f"`from` {effective} of {rec.what} is outside cycle `{cycle.id}`")


def _ident_of(rec: Record) -> str:
    return rec.text("id") or ""


def _kpi_cycles(links: _Links, objective_cycle: Mapping[str, str]) -> dict[str, str]:
    """Return the one cycle each KPI serves through the KRs it measures or feeds, when unambiguous."""
    served: dict[str, set[str]] = {}
    for kr in links.krs.values():
        if kr.kpi:
            served.setdefault(kr.kpi, set()).add(objective_cycle.get(kr.objective, ""))
    for kpi_id, feed, _ in links.draft.feeds:
        fed = links.krs.get(feed.kr)
        if fed is not None:
            served.setdefault(kpi_id, set()).add(objective_cycle.get(fed.objective, ""))
    return {kpi: next(iter(cycles)) for kpi, cycles in served.items() if len(cycles) == 1}


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Return the cycles of a graph (node -> the nodes it depends on), one per broken edge."""
    edges = {node: list(deps) for node, deps in graph.items()}
    found: list[list[str]] = []
    while True:
        try:
            graphlib.TopologicalSorter(edges).prepare()
        except graphlib.CycleError as exc:
            cycle: list[str] = list(exc.args[1])[:-1]
            found.append(cycle)
            # graphlib lists a cycle as each node followed by one that depends on it.
            node, dependant = cycle[0], cycle[1] if len(cycle) > 1 else cycle[0]
            edges[dependant] = [d for d in edges[dependant] if d != node]
            continue
        return [list(reversed(c)) for c in found]


def _rotate(cycle: list[str], start: str) -> list[str]:
    index = cycle.index(start)
    return cycle[index:] + cycle[:index]
