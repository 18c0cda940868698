"""The values read from a model file, each beside the record it came from, before the links are checked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from onpace.domain.model import (
    Calendar,
    Cycle,
    Dependency,
    Feed,
    Initiative,
    KeyResult,
    Kpi,
    Model,
    NotifyRoute,
    Objective,
    Person,
    Policy,
    Source,
    Unit,
)
from onpace.modelfile.plans import PlanDraft
from onpace.modelfile.records import Record


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


def item_id(record: Record) -> str:
    """Return the record's id, noting a problem when it has a space in it."""
    ident = record.text("id") or ""
    if any(ch.isspace() for ch in ident):
        record.problem("id", f"id `{ident}` has a space in it; ids are single words like `on_time_rate`")
    return ident
