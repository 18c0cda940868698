"""A small organisation and result builders shared by the governance tests (no tests here).

Units: exec (head ceo) → ops (head maria), it (head raj), lab (no head).
KR1 (maria) is measured by `throughput` (lee) and fed by `sync_errors` (ana, leading); the
hand-off D1 (it/raj → ops/maria) has `sync_errors` as its health KPI and blocks KR1.
KR2 (lee) has its own series and is fed by `lab_yield` (sam, in the headless lab unit).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from onpace.domain.calendar import end_of_day as end_of
from onpace.domain.cases import Case
from onpace.domain.checkins import CheckIn
from onpace.domain.governance import Decision, govern
from onpace.domain.model import (
    Cycle,
    Dependency,
    Feed,
    KeyResult,
    Kpi,
    Model,
    Objective,
    Person,
    Plan,
    Side,
    Source,
    Unit,
)
from onpace.domain.results import Level, Status, SubjectResult

Q1 = Cycle("2026-Q1", dt.date(2026, 1, 5), dt.date(2026, 3, 29))
Q2 = Cycle("2026-Q2", dt.date(2026, 3, 30), dt.date(2026, 6, 28))
PLAN = Plan(baseline=0, target=10)


def world(**changes: object) -> Model:
    """Return the test organisation, with top-level fields replaced by ``changes``."""
    model = Model(
        org="Testco",
        units=(
            Unit("exec", "Executive", head="ceo"),
            Unit("ops", "Operations", parent="exec", head="maria"),
            Unit("it", "IT", parent="exec", head="raj"),
            Unit("lab", "Lab", parent="exec", head=None),
        ),
        people=(
            Person("ceo", "Dana", unit="exec"),
            Person("maria", "Maria", unit="ops"),
            Person("lee", "Lee", unit="ops"),
            Person("raj", "Raj", unit="it"),
            Person("ana", "Ana", unit="it"),
            Person("sam", "Sam", unit="lab"),
        ),
        cycles=(Q1, Q2),
        objectives=(
            Objective(
                "O1",
                "Deliver faster",
                "2026-Q1",
                "exec",
                "ceo",
                key_results=(
                    KeyResult("KR1", "Throughput up", "O1", "maria", kpi="throughput"),
                    KeyResult("KR2", "Yield up", "O1", "lee", plan=PLAN),
                ),
            ),
        ),
        kpis=(
            Kpi("throughput", "Throughput", "ops", ("lee",), plan=PLAN, source="wms"),
            Kpi(
                "sync_errors",
                "Sync errors",
                "it",
                ("ana",),
                direction="down",
                plan=Plan(per_bucket=1),
                source="wms",
                leading=True,
                feeds=(Feed("KR1", 0.5),),
            ),
            Kpi(
                "lab_yield",
                "Lab yield",
                "lab",
                ("sam",),
                plan=PLAN,
                source="wms",
                leading=True,
                feeds=(Feed("KR2", 0.6),),
            ),
        ),
        dependencies=(
            Dependency(
                "D1",
                "Orders flow into the WMS",
                Side("it", "raj"),
                Side("ops", "maria"),
                due=dt.date(2026, 3, 15),
                kpi="sync_errors",
                blocks=("KR1",),
            ),
        ),
        sources=(Source("wms", "push"),),
    )
    return dataclasses.replace(model, **changes)  # type: ignore[arg-type]


def with_policy(model: Model, **changes: object) -> Model:
    """Return ``model`` with its policy fields replaced."""
    return dataclasses.replace(model, policy=dataclasses.replace(model.policy, **changes))  # type: ignore[arg-type]


LEVELS: dict[str, Level] = {"KR1": "kr", "KR2": "kr", "O1": "objective"}


def result(
    subject: str,
    status: Status = "green",
    *,
    as_of: dt.date = dt.date(2026, 1, 18),
    at_risk: bool = False,
    stale: bool = False,
    threatened_by: tuple[str, ...] = (),
    last_point: dt.date | None = dt.date(2026, 1, 18),
) -> SubjectResult:
    """Return an engine result for ``subject`` (level guessed from the id)."""
    return SubjectResult(
        subject=subject,
        level=LEVELS.get(subject, "kpi"),
        as_of=as_of,
        status=status,
        at_risk=at_risk,
        stale=stale,
        threatened_by=threatened_by,
        last_point=last_point,
    )


def results(**statuses: Status | SubjectResult) -> dict[str, SubjectResult]:
    """Return a result for every subject of the world: green unless given."""
    out: dict[str, SubjectResult] = {}
    for subject in ("throughput", "sync_errors", "lab_yield", "KR1", "KR2", "O1"):
        given = statuses.get(subject, "green")
        out[subject] = given if isinstance(given, SubjectResult) else result(subject, given)
    return out


def decide(
    model: Model,
    found: Mapping[str, SubjectResult],
    cases: Iterable[Case] = (),
    *,
    as_of: dt.date = dt.date(2026, 1, 18),
    checkins: Sequence[CheckIn] = (),
    previous: Mapping[str, str] | None = None,
    hygiene: bool = False,
    risk_streaks: Mapping[str, int] | None = None,
) -> Decision:
    """Run governance as of a day; hygiene findings are left out unless asked for."""
    return govern(
        model,
        found,
        list(cases),
        as_of=as_of,
        now=end_of(as_of),
        checkins=checkins,
        previous=previous,
        findings=None if hygiene else [],
        risk_streaks=risk_streaks,
    )


class Store:
    """Keep cases between runs the way the store would, giving new cases ids."""

    def __init__(self) -> None:
        self.cases: dict[int, Case] = {}
        self.previous: dict[str, str] = {}
        self.risk_streaks: dict[str, int] = {}
        self.next_id = 1

    def apply(self, decision: Decision) -> None:
        for changed in decision.cases:
            case = changed
            if case.id is None:
                case = dataclasses.replace(case, id=self.next_id)
                self.next_id += 1
            self.cases[case.id] = case  # type: ignore[index]
        self.previous = dict(decision.statuses)
        self.risk_streaks = dict(decision.risk_streaks)

    def run(
        self,
        model: Model,
        found: Mapping[str, SubjectResult],
        as_of: dt.date,
        checkins: Sequence[CheckIn] = (),
        hygiene: bool = False,
    ) -> Decision:
        decision = decide(
            model,
            found,
            self.cases.values(),
            as_of=as_of,
            checkins=checkins,
            previous=self.previous,
            hygiene=hygiene,
            risk_streaks=self.risk_streaks,
        )
        self.apply(decision)
        return decision

    def open(self, subject: str | None = None) -> list[Case]:
        return [c for c in self.cases.values() if c.is_open and (subject is None or c.subject == subject)]


def events(decision: Decision, name: str | None = None) -> list[tuple[str, str, str]]:
    """Return (event, kind, subject) of each event: only those named ``name``, else all but escalations."""
    if name is None:
        return [(e.public_event, e.kind, e.subject) for e in decision.events if e.event != "case_escalated"]
    return [(e.public_event, e.kind, e.subject) for e in decision.events if name in (e.event, e.public_event)]


def weeks(start: dt.date, count: int) -> list[dt.date]:
    """Return ``count`` weekly as-of dates from ``start``."""
    return [start + dt.timedelta(weeks=i) for i in range(count)]
