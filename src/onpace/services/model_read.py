"""Read an organisation's stored model back: the frozen :class:`Model` and every plan version."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy.orm import Session

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
    Plan,
    PlanVersion,
    Policy,
    Side,
    Source,
    Unit,
)
from onpace.services.cycle_plans_store import stored_cycle_plans
from onpace.storage import codec
from onpace.storage.repositories import model_repo
from onpace.storage.tables import FeedRow, KeyResultRow, KpiRow, PlanVersionRow


def load_model(session: Session, org: str | None = None) -> Model:
    """Return the active model of organisation ``org`` (or of the only one), as saved.

    Each KPI's and KR's plan is its latest plan version. Raise
    :class:`~onpace.storage.errors.OrgNotFoundError` when the organisation is not in the store.
    """
    org_row = model_repo.find_org(session, org)
    rows = model_repo.model_rows(session, org_row.id)
    plans = {
        key: None if row.plan is None else codec.decode_plan(row.plan)
        for key, row in model_repo.latest_plan_rows(session, org_row.id).items()
    }
    cycle_plans = stored_cycle_plans(session, org_row.id)
    owners: dict[str, list[str]] = defaultdict(list)
    for owner in rows.kpi_owners:
        owners[owner.kpi_id].append(owner.person_id)
    feeds: dict[str, list[FeedRow]] = defaultdict(list)
    for feed in sorted(rows.feeds, key=lambda f: (f.kpi_id, f.position)):
        feeds[feed.kpi_id].append(feed)
    key_results: dict[str, list[KeyResult]] = defaultdict(list)
    for kr in rows.key_results:
        key_results[kr.objective_id].append(_key_result(kr, plans.get(("kr", kr.id))))
    return Model(
        org=org_row.name,
        calendar=Calendar(week_start=org_row.week_start, timezone=org_row.timezone or "UTC"),
        units=tuple(Unit(id=u.id, name=u.name, parent=u.parent, head=u.head) for u in rows.units),
        people=tuple(Person(id=p.id, name=p.name, email=p.email, unit=p.unit) for p in rows.people),
        cycles=tuple(Cycle(id=c.id, start=c.starts_on, end=c.ends_on) for c in rows.cycles),
        objectives=tuple(
            Objective(
                id=o.id,
                title=o.title,
                cycle=o.cycle,
                unit=o.unit,
                owner=o.owner,
                perspective=cast(Any, o.perspective),
                key_results=tuple(key_results.get(o.id, ())),
            )
            for o in rows.objectives
        ),
        kpis=tuple(
            dataclasses.replace(
                _kpi(k, tuple(owners.get(k.id, ())), feeds.get(k.id, []), plans.get(("kpi", k.id))),
                plans=cycle_plans.get(k.id, ()),
            )
            for k in rows.kpis
        ),
        initiatives=tuple(
            Initiative(
                id=i.id,
                title=i.title,
                owner=i.owner,
                unit=i.unit,
                supports=tuple(i.supports),
                cost=i.cost,
                capacity=i.capacity,
            )
            for i in rows.initiatives
        ),
        dependencies=tuple(
            Dependency(
                id=d.id,
                title=d.title,
                provider=Side(unit=d.provider_unit, owner=d.provider_owner),
                consumer=Side(unit=d.consumer_unit, owner=d.consumer_owner),
                due=d.due,
                delivered=d.delivered,
                kpi=d.kpi,
                blocks=tuple(d.blocks),
            )
            for d in rows.dependencies
        ),
        sources=tuple(
            Source(
                id=s.id,
                kind=s.kind,
                every=None if s.every_seconds is None else dt.timedelta(seconds=s.every_seconds),
                options=dict(s.options),
            )
            for s in rows.sources
        ),
        policy=codec.decode_policy(rows.policy.content) if rows.policy is not None else Policy(),
        notify=tuple(
            NotifyRoute(
                id=r.id,
                url=r.url,
                units=tuple(r.units),
                people=tuple(r.people),
                events=tuple(r.events),
                digest=r.digest,
                secret=r.secret,
            )
            for r in rows.notify_routes
        ),
    )


def _key_result(row: KeyResultRow, plan: Plan | None) -> KeyResult:
    return KeyResult(
        id=row.id,
        title=row.title,
        objective=row.objective_id,
        owner=row.owner,
        weight=row.weight,
        kpi=row.kpi,
        measure=cast(Any, row.measure),
        direction=cast(Any, row.direction),
        grain=cast(Any, row.grain),
        aggregate=cast(Any, row.aggregate),
        tolerance=None if row.tolerance is None else codec.decode_tolerance(row.tolerance),
        plan=plan,
    )


def _kpi(row: KpiRow, owners: tuple[str, ...], feeds: Sequence[FeedRow], plan: Plan | None) -> Kpi:
    return Kpi(
        id=row.id,
        title=row.title,
        unit=row.unit,
        owners=owners,
        measure=cast(Any, row.measure),
        direction=cast(Any, row.direction),
        grain=cast(Any, row.grain),
        aggregate=cast(Any, row.aggregate),
        tolerance=None if row.tolerance is None else codec.decode_tolerance(row.tolerance),
        plan=plan,
        source=row.source,
        leading=row.leading,
        feeds=tuple(Feed(kr=f.kr_id, weight=f.weight, lag_days=f.lag_days) for f in feeds),
        formula=row.formula,
        kind=cast(Any, row.kind),
        constraint=row.is_constraint,
        uom=row.uom,
        cycle=row.cycle,
    )


def plan_versions(session: Session, org_id: int) -> dict[str, list[PlanVersion]]:
    """Return every subject's plan versions in force order (effective date, then version).

    Keyed by KPI or KR id. A version that removed a plan is not listed, and a subject whose
    latest version removed its plan is left out entirely (it is unplanned).
    """
    versions: dict[str, list[PlanVersion]] = defaultdict(list)
    latest: dict[str, PlanVersionRow] = {}
    for row in model_repo.plan_version_rows(session, org_id):
        if row.subject not in latest or row.version > latest[row.subject].version:
            latest[row.subject] = row
        if row.plan is None:
            continue
        versions[row.subject].append(
            PlanVersion(
                subject=row.subject,
                version=row.version,
                effective=row.effective,
                plan=codec.decode_plan(row.plan),
                reason=row.reason,
                approved_by=row.approved_by,
                cycle=row.cycle,
            )
        )
    return {
        subject: sorted(found, key=lambda v: (v.effective, v.version))
        for subject, found in versions.items()
        if latest[subject].plan is not None
    }
