"""The organisation's strategy as frozen values: units, people, cycles, objectives, KRs, KPIs and policy.

Everything here is pure data. The model file (``onpace.modelfile``) and the store
(``onpace.storage``) both produce a :class:`Model`; the engine and governance consume it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Measure = Literal["flow", "level", "ratio"]
Direction = Literal["up", "down", "range"]
Grain = Literal["day", "week", "month"]
Aggregate = Literal["sum", "mean", "last", "min", "max"]
Phasing = Literal["linear", "front", "back", "step"]
KpiKind = Literal["outcome", "cost", "capacity"]
Perspective = Literal["financial", "customer", "internal_process", "learning_growth"]
CaseKind = Literal["red", "amber", "at_risk", "threatened", "mirage", "stale", "dependency_late", "hygiene"]

MEASURES: tuple[Measure, ...] = ("flow", "level", "ratio")
DIRECTIONS: tuple[Direction, ...] = ("up", "down", "range")
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
AGGREGATES: tuple[Aggregate, ...] = ("sum", "mean", "last", "min", "max")
PHASINGS: tuple[Phasing, ...] = ("linear", "front", "back", "step")
KPI_KINDS: tuple[KpiKind, ...] = ("outcome", "cost", "capacity")
PERSPECTIVES: tuple[Perspective, ...] = (
    "financial",
    "customer",
    "internal_process",
    "learning_growth",
)
CASE_KINDS: tuple[CaseKind, ...] = (
    "red",
    "amber",
    "at_risk",
    "threatened",
    "mirage",
    "stale",
    "dependency_late",
    "hygiene",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Threshold:
    """A tolerance threshold: a fraction of the plan (``relative``) or an absolute amount."""

    value: float
    relative: bool

    def __str__(self) -> str:
        if self.relative:
            return f"{self.value * 100:g}%"
        return f"{self.value:g}"


@dataclass(frozen=True)
class Tolerance:
    """Amber and red shortfall thresholds; a shortfall equal to a threshold is the worse band."""

    amber: Threshold
    red: Threshold


DEFAULT_TOLERANCE = Tolerance(Threshold(0.05, True), Threshold(0.10, True))


@dataclass(frozen=True)
class Plan:
    """A time-phased plan.

    Exactly one form is used: ``baseline``/``target`` with a ``phasing`` over the cycle,
    explicit ``points`` (interpolated linearly by date, held flat outside), or ``per_bucket``
    (the planned level for level KPIs, the planned amount per bucket for flow KPIs).
    ``band`` is the green band (low, high) for ``range`` KPIs. A *seasonal* plan
    (``seasonal_from``: a cycle id or ``YYYY-MM-DD..YYYY-MM-DD``) plans each bucket at the same
    KPI's actual of the matching bucket of that period times ``1 + growth`` (``domain.seasonal``).
    """

    baseline: float | None = None
    target: float | None = None
    phasing: Phasing = "linear"
    points: tuple[tuple[dt.date, float], ...] = ()
    per_bucket: float | None = None
    band: tuple[float, float] | None = None
    seasonal_from: str | None = None
    growth: float = 0.0


@dataclass(frozen=True)
class PlanVersion:
    """One version of a subject's plan, in force from ``effective`` on (a re-baseline adds one)."""

    subject: str
    version: int
    effective: dt.date
    plan: Plan
    reason: str = ""
    approved_by: str | None = None
    cycle: str | None = None  # the cycle this version plans; None: the subject's home cycle


@dataclass(frozen=True)
class CyclePlan:
    """A KPI's plan for one named cycle (an item of the model file's ``plans:`` list).

    ``effective`` set: a re-baseline of that cycle's plan, in force from that day on.
    """

    cycle: str
    plan: Plan
    effective: dt.date | None = None


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    parent: str | None = None
    head: str | None = None


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Cycle:
    id: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class KeyResult:
    """A key result; measured by its own ``kpi``, its own series (``plan``), or its feeding KPIs."""

    id: str
    title: str
    objective: str
    owner: str | None
    weight: float = 1.0
    kpi: str | None = None
    measure: Measure = "level"
    direction: Direction = "up"
    grain: Grain = "week"
    aggregate: Aggregate = "last"
    tolerance: Tolerance | None = None
    plan: Plan | None = None
    plans: tuple[CyclePlan, ...] = ()  # dated re-baselines of ``plan`` (items with ``from:``)


@dataclass(frozen=True)
class Objective:
    id: str
    title: str
    cycle: str
    unit: str | None
    owner: str | None
    perspective: Perspective | None = None
    key_results: tuple[KeyResult, ...] = ()


@dataclass(frozen=True)
class Feed:
    """A weighted link KPI -> KR; ``lag_days`` says when the effect lands, never delays a signal."""

    kr: str
    weight: float
    lag_days: int = 0


@dataclass(frozen=True)
class Kpi:
    """An operational KPI. ``owners`` has one person in a healthy model (hygiene flags 0 or >1)."""

    id: str
    title: str
    unit: str | None
    owners: tuple[str, ...]
    measure: Measure = "level"
    direction: Direction = "up"
    grain: Grain = "week"
    aggregate: Aggregate = "mean"
    tolerance: Tolerance | None = None
    plan: Plan | None = None
    source: str | None = None
    leading: bool = False
    feeds: tuple[Feed, ...] = ()
    formula: str | None = None
    kind: KpiKind = "outcome"
    constraint: bool = False
    cycle: str | None = None
    plans: tuple[CyclePlan, ...] = ()

    uom: str | None = None  # unit of measure (domain.units); ``unit`` is the organisational unit

    @property
    def owner(self) -> str | None:
        """Return the one accountable owner, or None when there is not exactly one."""
        return self.owners[0] if len(self.owners) == 1 else None


@dataclass(frozen=True)
class Initiative:
    id: str
    title: str
    owner: str | None
    unit: str | None
    supports: tuple[str, ...] = ()
    cost: str | None = None
    capacity: str | None = None


@dataclass(frozen=True)
class Side:
    unit: str
    owner: str


@dataclass(frozen=True)
class Dependency:
    """A cross-team hand-off: ``provider`` delivers to ``consumer`` by ``due``."""

    id: str
    title: str
    provider: Side
    consumer: Side
    due: dt.date
    delivered: dt.date | None = None
    kpi: str | None = None
    blocks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """A data source; ``options`` keeps the kind-specific settings (url, query, path, …)."""

    id: str
    kind: str
    every: dt.timedelta | None = None
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Sla:
    explain: dt.timedelta = dt.timedelta(days=2)
    act: dt.timedelta = dt.timedelta(days=5)


@dataclass(frozen=True)
class Policy:
    """The org's governance policy; defaults are DESIGN.md §4's."""

    open_case_on: tuple[CaseKind, ...] = (
        "red",
        "at_risk",
        "threatened",
        "mirage",
        "stale",
        "dependency_late",
        "hygiene",
    )
    default_tolerance: Tolerance = DEFAULT_TOLERANCE
    sla: Sla = field(default_factory=Sla)
    escalation: tuple[str, ...] = ("owner", "unit_heads_to_top")
    auto_resolve_after: int = 2
    threat_weight: float = 0.3
    stale_after: int = 2
    at_risk_on: Literal["red", "amber"] = "red"
    approve_manual: bool = False
    review_weekday: str = "monday"
    # Consecutive evaluations an at-risk projection must hold before it opens a case (red opens at once).
    at_risk_after: int = 2

    # A check-in older than this says nothing about today: it raises no mirage.
    checkin_valid_for: dt.timedelta = dt.timedelta(days=14)


@dataclass(frozen=True)
class NotifyRoute:
    id: str
    url: str
    units: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    digest: bool = False
    secret: str | None = None  # HMAC key for signed webhooks; usually "env:NAME"


@dataclass(frozen=True)
class Calendar:
    """The org's calendar: the first day of its weeks and its IANA time zone (days end at local midnight)."""

    week_start: str = "monday"
    timezone: str = "UTC"

    @property
    def week_start_index(self) -> int:
        """Return the weekday number (Monday 0) on which weeks start."""
        return WEEKDAYS.index(self.week_start)


@dataclass(frozen=True)
class Model:
    """The whole organisation model; ids are unique within each collection."""

    org: str
    calendar: Calendar = field(default_factory=Calendar)
    units: tuple[Unit, ...] = ()
    people: tuple[Person, ...] = ()
    cycles: tuple[Cycle, ...] = ()
    objectives: tuple[Objective, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    initiatives: tuple[Initiative, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    sources: tuple[Source, ...] = ()
    policy: Policy = field(default_factory=Policy)
    notify: tuple[NotifyRoute, ...] = ()

    @property
    def key_results(self) -> tuple[KeyResult, ...]:
        """Return every KR of every objective, in file order."""
        return tuple(kr for obj in self.objectives for kr in obj.key_results)

    def unit(self, unit_id: str | None) -> Unit | None:
        """Return the unit with this id, or None."""
        return self._units_by_id.get(unit_id) if unit_id is not None else None

    def person(self, person_id: str | None) -> Person | None:
        """Return the person with this id, or None."""
        return self._people_by_id.get(person_id) if person_id is not None else None

    @cached_property
    def titles(self) -> Mapping[str, str]:
        """Return the title of every objective, key result, KPI, dependency and initiative by id.

        Built once per model (pages and messages look up thousands of subjects). A subject with
        an empty title is left out: callers show its id (:meth:`title`).
        """
        found: dict[str, str] = {}
        for items in (self.objectives, self.key_results, self.kpis, self.dependencies, self.initiatives):
            found.update((item.id, item.title) for item in items if item.title)
        return found

    def title(self, subject: str) -> str:
        """Return a subject's title, or its id when it has none."""
        return self.titles.get(subject, subject)

    @cached_property
    def _units_by_id(self) -> dict[str, Unit]:
        return {u.id: u for u in self.units}

    @cached_property
    def _people_by_id(self) -> dict[str, Person]:
        return {p.id: p for p in self.people}

    def cycle_of(self, cycle_id: str | None) -> Cycle | None:
        """Return the cycle with this id, or None."""
        return next((c for c in self.cycles if c.id == cycle_id), None)
