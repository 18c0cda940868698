"""Who answers for a subject: its one accountable owner, its unit, its cycle and its hand-offs.

Governance asks these questions of every subject it opens a case on. The answers come from
the model alone (plus ``as_of`` for cycles and deliveries), so they are computed once per
decision in a :class:`SubjectIndex`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from onpace.domain.cases import SubjectLevel
from onpace.domain.cycles import kpi_cycles_in_force
from onpace.domain.model import Cycle, Dependency, Model


@dataclass(frozen=True)
class SubjectInfo:
    """The accountability facts of one subject."""

    subject: str
    level: SubjectLevel
    owner: str | None
    unit: str | None
    cycle: str | None
    title: str = ""


def cycle_at(cycles: Iterable[Cycle], as_of: dt.date) -> Cycle | None:
    """Return the cycle running on ``as_of``; else the latest one already started; else the first."""
    ordered = sorted(cycles, key=lambda c: (c.start, c.id))
    running = [c for c in ordered if c.start <= as_of <= c.end]
    if running:
        return running[0]
    started = [c for c in ordered if c.start <= as_of]
    if started:
        return started[-1]
    return ordered[0] if ordered else None


def _person_unit(model: Model, person: str | None) -> str | None:
    found = model.person(person)
    return found.unit if found else None


def _kpi_cycles(model: Model) -> dict[str, str]:
    """Map each KPI to the cycle of the first objective whose KR uses it (as its KPI or a feed)."""
    found: dict[str, str] = {}
    feeds_by_kr: dict[str, list[str]] = {}
    for kpi in model.kpis:
        for feed in kpi.feeds:
            feeds_by_kr.setdefault(feed.kr, []).append(kpi.id)
    for obj in model.objectives:
        for kr in obj.key_results:
            users = ([kr.kpi] if kr.kpi else []) + feeds_by_kr.get(kr.id, [])
            for kpi_id in users:
                found.setdefault(kpi_id, obj.cycle)
    return found


class SubjectIndex:
    """Answer who owns a subject, which unit it sits in and which cycle it belongs to."""

    def __init__(self, model: Model, as_of: dt.date) -> None:
        self.model = model
        self.as_of = as_of
        current = cycle_at(model.cycles, as_of)
        self.current_cycle: str | None = current.id if current else None
        self._info: dict[str, SubjectInfo] = {}
        kpi_cycles = _kpi_cycles(model)
        # A KPI lives across cycles: its cases belong to the cycle in force for it on the date.
        in_force = kpi_cycles_in_force(model, as_of) if len(model.cycles) > 1 else {}
        for kpi in model.kpis:
            now_in = in_force.get(kpi.id)
            self._info[kpi.id] = SubjectInfo(
                kpi.id,
                "kpi",
                kpi.owner,
                kpi.unit or _person_unit(model, kpi.owner),
                now_in.id if now_in else kpi.cycle or kpi_cycles.get(kpi.id) or self.current_cycle,
                kpi.title,
            )
        for obj in model.objectives:
            self._info[obj.id] = SubjectInfo(obj.id, "objective", obj.owner, obj.unit, obj.cycle, obj.title)
            for kr in obj.key_results:
                unit = _person_unit(model, kr.owner) or obj.unit
                self._info[kr.id] = SubjectInfo(kr.id, "kr", kr.owner, unit, obj.cycle, kr.title)
        for dep in model.dependencies:
            self._info[dep.id] = SubjectInfo(
                dep.id, "dependency", dep.provider.owner, dep.provider.unit, self.current_cycle, dep.title
            )
        for source in model.sources:
            users = [k for k in model.kpis if k.source == source.id]
            owned = next((k for k in users if k.owner), None)
            self._info[source.id] = SubjectInfo(
                source.id,
                "source",
                owned.owner if owned else None,
                owned.unit if owned else None,
                self.current_cycle,
                source.id,
            )

    def get(self, subject: str) -> SubjectInfo | None:
        """Return the facts of ``subject``, or None when the model does not know it."""
        return self._info.get(subject)

    def info(self, subject: str, level: SubjectLevel) -> SubjectInfo:
        """Return the facts of ``subject``; an unknown one has no owner, unit or cycle of its own."""
        return self._info.get(subject) or SubjectInfo(subject, level, None, None, self.current_cycle)

    def subjects(self) -> list[SubjectInfo]:
        """Return every known subject in model order: KPIs, objectives and KRs, dependencies, sources."""
        return list(self._info.values())


def dependency_ties(model: Model, as_of: dt.date) -> dict[str, tuple[Dependency, ...]]:
    """Map each subject tied to a cross-team dependency to those dependencies.

    A dependency is tied to its health KPI always, even after delivery (DESIGN.md §4). Until it
    is delivered (as of ``as_of``) it is also tied to each KR it blocks and to every KPI feeding
    such a KR, the KR's own ``kpi`` included: once delivered the hand-off no longer blocks them.
    """
    krs = {kr.id: kr for kr in model.key_results}
    feeders: dict[str, list[str]] = {}
    for kpi in model.kpis:
        for feed in kpi.feeds:
            feeders.setdefault(feed.kr, []).append(kpi.id)
    ties: dict[str, list[Dependency]] = {}

    def tie(subject: str, dep: Dependency) -> None:
        bucket = ties.setdefault(subject, [])
        if dep not in bucket:
            bucket.append(dep)

    for dep in model.dependencies:
        if dep.kpi:
            tie(dep.kpi, dep)
        delivered = dep.delivered is not None and dep.delivered <= as_of
        if delivered:
            continue
        for kr_id in dep.blocks:
            tie(kr_id, dep)
            kr = krs.get(kr_id)
            if kr is not None and kr.kpi:
                tie(kr.kpi, dep)
            for kpi_id in feeders.get(kr_id, []):
                tie(kpi_id, dep)
    return {subject: tuple(deps) for subject, deps in ties.items()}


def joint_participants(owner: str | None, deps: Iterable[Dependency]) -> tuple[str, ...]:
    """Return the owner followed by the owners on both sides of each hand-off, without repeats."""
    people: list[str] = []
    for person in [owner, *(p for d in deps for p in (d.provider.owner, d.consumer.owner))]:
        if person and person not in people:
            people.append(person)
    return tuple(people)
