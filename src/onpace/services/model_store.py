"""Save an organisation model into the store and load it back, keeping every plan version.

``save_model`` updates the store in place: items are matched by id, changed ones are updated,
new ones added, and items that left the model are archived (never deleted) so history that
refers to them stays readable. A plan that differs from the stored one becomes a new plan
version; the old versions stay. ``load_model`` rebuilds the frozen :class:`Model` of the active
items, equal to the one saved. Neither commits: the caller's transaction does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import select
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
from onpace.services.audit import append_audit
from onpace.services.cycle_plans_store import stored_cycle_plans, sync_cycle_plans
from onpace.storage import codec
from onpace.storage.errors import StoreError
from onpace.storage.repositories import model_repo
from onpace.storage.tables import (
    CycleRow,
    DependencyRow,
    FeedRow,
    InitiativeRow,
    KeyResultRow,
    KpiOwnerRow,
    KpiRow,
    NotifyRouteRow,
    ObjectiveRow,
    OrgRow,
    PersonRow,
    PlanVersionRow,
    PolicyRow,
    SourceRow,
    UnitRow,
)

Values = dict[str, Any]


class ModelStoreError(StoreError, ValueError):
    """The model cannot be stored as given (duplicate ids, a link to a missing item …)."""


@dataclass
class SaveReport:
    """What ``save_model`` changed, counted per collection (``units``, ``kpis``, ``feeds`` …)."""

    org_id: int
    added: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    archived: Counter[str] = field(default_factory=Counter)
    plan_versions: int = 0
    # Each change with its item and values, for the audit log: see ``_change``.
    changes: list[dict[str, object]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Return True when the save changed anything in the store."""
        return bool(self.added or self.updated or self.archived or self.plan_versions)

    def __str__(self) -> str:
        """Return :meth:`summary`, so the report prints as a sentence."""
        return self.summary()

    def summary(self) -> str:
        """Return a one-line account, e.g. ``3 added, 1 updated, 0 archived, 1 new plan version``."""
        versions = "plan version" if self.plan_versions == 1 else "plan versions"
        return (
            f"{self.added.total()} added, {self.updated.total()} updated, "
            f"{self.archived.total()} archived, {self.plan_versions} new {versions}"
        )


# ---------------------------------------------------------------------------------------------
# save


def save_model(
    session: Session,
    model: Model,
    *,
    by: str,
    now: dt.datetime,
    org_id: int | None = None,
) -> SaveReport:
    """Store ``model`` for its organisation (found by name, created if new) and report the changes.

    Items are upserted by id; items of the organisation missing from ``model`` are archived.
    A KPI's or KR's plan that differs from its latest stored version adds a version effective
    ``now.date()`` (the first version of a subject is effective from the start of its cycle,
    so a model loaded mid-cycle plans the whole cycle). A dependency's recorded delivery date is
    kept when the model gives none (it may have been recorded in the app). Saving the same model
    twice changes nothing. Pass ``org_id`` to save into a given organisation (e.g. a rename).
    Raise :class:`ModelStoreError` for duplicate ids or a link to a missing KPI, KR or objective.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    _check_model(model)
    report = SaveReport(org_id=0)
    org = _upsert_org(session, model, now=now, org_id=org_id, report=report)
    report.org_id = org.id
    rows = model_repo.model_rows(session, org.id, include_archived=True)
    sync = _Sync(session, org.id, now, report)

    sync.items("units", UnitRow, rows.units, [(u.id, _unit_values(u)) for u in model.units])
    sync.items("people", PersonRow, rows.people, [(p.id, _person_values(p)) for p in model.people])
    sync.items("cycles", CycleRow, rows.cycles, [(c.id, _cycle_values(c)) for c in model.cycles])
    sync.items(
        "objectives", ObjectiveRow, rows.objectives, [(o.id, _objective_values(o)) for o in model.objectives]
    )
    sync.items(
        "key_results",
        KeyResultRow,
        rows.key_results,
        [(kr.id, _kr_values(kr, obj.id)) for obj in model.objectives for kr in obj.key_results],
    )
    sync.items("kpis", KpiRow, rows.kpis, [(k.id, _kpi_values(k)) for k in model.kpis])
    known_kpis = {row.id for row in rows.kpis}
    _sync_owners(session, org.id, rows.kpi_owners, model.kpis, known_kpis=known_kpis, report=report)
    _sync_feeds(sync, rows.feeds, model.kpis)
    sync.items(
        "initiatives",
        InitiativeRow,
        rows.initiatives,
        [(i.id, _initiative_values(i)) for i in model.initiatives],
    )
    previous_delivery = {row.id: row.delivered for row in rows.dependencies}
    sync.items(
        "dependencies",
        DependencyRow,
        rows.dependencies,
        [(d.id, _dependency_values(d, previous_delivery.get(d.id))) for d in model.dependencies],
    )
    sync.items("sources", SourceRow, rows.sources, [(s.id, _source_values(s)) for s in model.sources])
    sync.items(
        "notify_routes", NotifyRouteRow, rows.notify_routes, [(r.id, _route_values(r)) for r in model.notify]
    )
    _sync_policy(session, org.id, rows.policy, model, now=now, report=report)
    _sync_plans(session, org.id, model, by=by, now=now, report=report)
    report.plan_versions += sync_cycle_plans(session, org.id, model, by=by, now=now)
    session.flush()
    if report.changed:
        # Model and plan changes are chained in the audit log with who and when.
        append_audit(
            session,
            org_id=org.id,
            at=now,
            actor=by,
            action="model.saved",
            subject=model.org,
            payload={
                "added": dict(report.added),
                "updated": dict(report.updated),
                "archived": dict(report.archived),
                "plan_versions": report.plan_versions,
                "changes": report.changes,
            },
        )
    return report


def _change(
    collection: str,
    item: object,
    change: str,
    before: Mapping[str, object] | None,
    after: Mapping[str, object] | None,
) -> dict[str, object]:
    """Return one audited change: the collection, the item's id, what happened, values before and after."""
    ident = "/".join(str(part) for part in item) if isinstance(item, tuple) else str(item)
    record: dict[str, object] = {"collection": collection, "id": ident, "change": change}
    if before is not None:
        record["before"] = dict(before)
    if after is not None:
        record["after"] = dict(after)
    return record


def _check_model(model: Model) -> None:
    """Refuse what the tables cannot hold, with the offending ids named."""
    collections: Mapping[str, Iterable[str]] = {
        "unit": (u.id for u in model.units),
        "person": (p.id for p in model.people),
        "cycle": (c.id for c in model.cycles),
        "objective": (o.id for o in model.objectives),
        "key result": (kr.id for kr in model.key_results),
        "KPI": (k.id for k in model.kpis),
        "initiative": (i.id for i in model.initiatives),
        "dependency": (d.id for d in model.dependencies),
        "source": (s.id for s in model.sources),
        "notify route": (r.id for r in model.notify),
    }
    problems: list[str] = []
    for what, ids in collections.items():
        counts = Counter(ids)
        problems += [f"duplicate {what} id {item!r}" for item, n in counts.items() if n > 1]
    kr_ids = {kr.id for kr in model.key_results}
    for kpi in model.kpis:
        seen: set[str] = set()
        for feed in kpi.feeds:
            if feed.kr not in kr_ids:
                problems.append(f"KPI {kpi.id!r} feeds unknown key result {feed.kr!r}")
            if feed.kr in seen:
                problems.append(f"KPI {kpi.id!r} feeds key result {feed.kr!r} twice")
            seen.add(feed.kr)
    if problems:
        raise ModelStoreError("cannot store the model: " + "; ".join(problems))


def _upsert_org(
    session: Session, model: Model, now: dt.datetime, org_id: int | None, report: SaveReport
) -> OrgRow:
    if org_id is not None:
        org = session.get(OrgRow, org_id)
        if org is None:
            raise ModelStoreError(f"no organisation with id {org_id} in the store")
    else:
        org = session.scalars(select(OrgRow).where(OrgRow.name == model.org)).one_or_none()
    if org is None:
        org = OrgRow(
            name=model.org,
            week_start=model.calendar.week_start,
            timezone=model.calendar.timezone,
            created_at=now,
            updated_at=now,
        )
        session.add(org)
        session.flush()
        report.added["orgs"] += 1
    elif (org.name, org.week_start, org.timezone) != (
        model.org,
        model.calendar.week_start,
        model.calendar.timezone,
    ):
        org.name = model.org
        org.week_start = model.calendar.week_start
        org.timezone = model.calendar.timezone
        org.updated_at = now
        report.updated["orgs"] += 1
    return org


class _Sync:
    """Upsert-or-archive one collection of rows against the desired values."""

    def __init__(self, session: Session, org_id: int, now: dt.datetime, report: SaveReport) -> None:
        self.session = session
        self.org_id = org_id
        self.now = now
        self.report = report

    def items(
        self,
        name: str,
        row_cls: Callable[..., Any],
        existing: Sequence[Any],
        desired: Sequence[tuple[str, Values]],
        *,
        key: Callable[[Any], Any] = lambda row: row.id,
        key_columns: Callable[[Any], Values] = lambda item_id: {"id": item_id},
    ) -> None:
        by_key = {key(row): row for row in existing}
        wanted = set()
        for position, (item_key, given) in enumerate(desired):
            wanted.add(item_key)
            values = {**given, "position": position}
            row = by_key.get(item_key)
            if row is None:
                self.session.add(
                    row_cls(
                        org_id=self.org_id,
                        **key_columns(item_key),
                        **values,
                        archived_at=None,
                        created_at=self.now,
                        updated_at=self.now,
                    )
                )
                self.report.added[name] += 1
                self.report.changes.append(_change(name, item_key, "added", None, given))
                continue
            restored = row.archived_at is not None
            if restored or any(getattr(row, column) != value for column, value in values.items()):
                before = {c: getattr(row, c) for c, v in values.items() if getattr(row, c) != v}
                after = {c: values[c] for c in before}
                self.report.changes.append(
                    _change(name, item_key, "restored" if restored else "updated", before, after)
                )
                for column, value in values.items():
                    setattr(row, column, value)
                row.archived_at = None
                row.updated_at = self.now
                # An item coming back from the archive is new to the active model.
                (self.report.added if restored else self.report.updated)[name] += 1
        for item_key, row in by_key.items():
            if item_key not in wanted and row.archived_at is None:
                self.report.changes.append(_change(name, item_key, "archived", None, None))
                row.archived_at = self.now
                row.updated_at = self.now
                self.report.archived[name] += 1
        # Rows carry no ORM relationships, so the flush order between tables is not derived from
        # foreign keys: write each collection before the next one that may refer to it.
        self.session.flush()


def _sync_owners(
    session: Session,
    org_id: int,
    existing: Sequence[KpiOwnerRow],
    kpis: Sequence[Kpi],
    *,
    known_kpis: set[str],
    report: SaveReport,
) -> None:
    """Replace the owner list of every KPI whose owners changed (owners are an attribute, not items)."""
    current: dict[str, list[KpiOwnerRow]] = defaultdict(list)
    for row in existing:
        current[row.kpi_id].append(row)
    changed = [kpi for kpi in kpis if tuple(row.person_id for row in current.get(kpi.id, [])) != kpi.owners]
    stale = [row for kpi in changed for row in current.get(kpi.id, [])]
    for row in stale:
        session.delete(row)
    if stale:
        # Once for all KPIs, not once per KPI: a flush per KPI made loading 10,000 KPIs quadratic.
        session.flush()
    session.add_all(
        KpiOwnerRow(org_id=org_id, kpi_id=kpi.id, position=i, person_id=person)
        for kpi in changed
        for i, person in enumerate(kpi.owners)
    )
    for kpi in changed:
        if kpi.id in known_kpis:  # a new KPI's owners are part of adding it
            report.updated["kpi_owners"] += 1
            before = [row.person_id for row in current.get(kpi.id, [])]
            report.changes.append(
                _change("kpi_owners", kpi.id, "updated", {"owners": before}, {"owners": kpi.owners})
            )


def _sync_feeds(sync: _Sync, existing: Sequence[FeedRow], kpis: Sequence[Kpi]) -> None:
    desired = [
        ((kpi.id, feed.kr), {"weight": float(feed.weight), "lag_days": feed.lag_days})
        for kpi in kpis
        for feed in kpi.feeds
    ]
    sync.items(
        "feeds",
        FeedRow,
        existing,
        cast(Sequence[tuple[str, Values]], desired),
        key=lambda row: (row.kpi_id, row.kr_id),
        key_columns=lambda pair: {"kpi_id": pair[0], "kr_id": pair[1]},
    )


def _sync_policy(
    session: Session,
    org_id: int,
    row: PolicyRow | None,
    model: Model,
    *,
    now: dt.datetime,
    report: SaveReport,
) -> None:
    content = codec.encode_policy(model.policy)
    if row is None:
        session.add(PolicyRow(org_id=org_id, content=content, updated_at=now))
        report.added["policy"] += 1
        report.changes.append(_change("policy", "policy", "added", None, {"content": content}))
    elif row.content != content:
        report.changes.append(
            _change("policy", "policy", "updated", {"content": row.content}, {"content": content})
        )
        row.content = content
        row.updated_at = now
        report.updated["policy"] += 1


def _sync_plans(
    session: Session, org_id: int, model: Model, *, by: str, now: dt.datetime, report: SaveReport
) -> None:
    """Add a plan version for every KPI and KR whose plan in the model changed.

    A plan changed when it differs from the subject's latest version and from the latest version
    the model itself wrote: an approved re-baseline stands until the model's plan is edited, so
    loading an unchanged model file again does not undo it.
    """
    latest = model_repo.latest_plan_rows(session, org_id)
    from_model = model_repo.latest_model_plan_rows(session, org_id)
    cycle_start = {cycle.id: cycle.start for cycle in model.cycles}
    first_start = min(cycle_start.values(), default=now.date())
    objective_cycle = {obj.id: obj.cycle for obj in model.objectives}
    subjects: list[tuple[str, str, Plan | None, str | None]] = [
        ("kpi", kpi.id, kpi.plan, kpi.cycle) for kpi in model.kpis
    ] + [("kr", kr.id, kr.plan, objective_cycle.get(kr.objective)) for kr in model.key_results]
    for level, subject, plan, cycle in subjects:
        document = None if plan is None else codec.encode_plan(plan)
        previous = latest.get((level, subject))
        if previous is None and document is None:
            continue
        if previous is not None and previous.plan == document:
            continue
        last_loaded = from_model.get((level, subject))
        if previous is not None and last_loaded is not None and last_loaded.plan == document:
            continue
        if previous is None:
            start = cycle_start.get(cycle, first_start) if cycle else first_start
            effective, version, reason = min(start, now.date()), 1, "initial plan"
        else:
            effective, version = now.date(), previous.version + 1
            reason = "plan removed from the model" if document is None else "plan changed in the model"
        session.add(
            PlanVersionRow(
                org_id=org_id,
                subject=subject,
                subject_level=level,
                version=version,
                effective=effective,
                plan=document,
                reason=reason,
                requested_by=by,
                approved_by=by,
                created_at=now,
            )
        )
        report.plan_versions += 1
        report.changes.append(
            _change(
                "plans",
                f"{level}:{subject}",
                reason,
                None if previous is None else {"version": previous.version, "plan": previous.plan},
                {"version": version, "plan": document, "effective": effective},
            )
        )


def _unit_values(unit: Unit) -> Values:
    return {"name": unit.name, "parent": unit.parent, "head": unit.head}


def _person_values(person: Person) -> Values:
    return {"name": person.name, "email": person.email, "unit": person.unit}


def _cycle_values(cycle: Cycle) -> Values:
    return {"starts_on": cycle.start, "ends_on": cycle.end}


def _objective_values(objective: Objective) -> Values:
    return {
        "title": objective.title,
        "cycle": objective.cycle,
        "unit": objective.unit,
        "owner": objective.owner,
        "perspective": objective.perspective,
    }


def _kr_values(kr: KeyResult, objective_id: str) -> Values:
    return {
        "objective_id": objective_id,
        "title": kr.title,
        "owner": kr.owner,
        "weight": float(kr.weight),
        "kpi": kr.kpi,
        "measure": kr.measure,
        "direction": kr.direction,
        "grain": kr.grain,
        "aggregate": kr.aggregate,
        "tolerance": None if kr.tolerance is None else codec.encode_tolerance(kr.tolerance),
    }


def _kpi_values(kpi: Kpi) -> Values:
    return {
        "title": kpi.title,
        "unit": kpi.unit,
        "measure": kpi.measure,
        "direction": kpi.direction,
        "grain": kpi.grain,
        "aggregate": kpi.aggregate,
        "tolerance": None if kpi.tolerance is None else codec.encode_tolerance(kpi.tolerance),
        "source": kpi.source,
        "leading": kpi.leading,
        "formula": kpi.formula,
        "kind": kpi.kind,
        "is_constraint": kpi.constraint,
        "uom": kpi.uom,
        "cycle": kpi.cycle,
    }


def _initiative_values(initiative: Initiative) -> Values:
    return {
        "title": initiative.title,
        "owner": initiative.owner,
        "unit": initiative.unit,
        "supports": list(initiative.supports),
        "cost": initiative.cost,
        "capacity": initiative.capacity,
    }


def _dependency_values(dependency: Dependency, recorded_delivery: dt.date | None) -> Values:
    return {
        "title": dependency.title,
        "provider_unit": dependency.provider.unit,
        "provider_owner": dependency.provider.owner,
        "consumer_unit": dependency.consumer.unit,
        "consumer_owner": dependency.consumer.owner,
        "due": dependency.due,
        "delivered": dependency.delivered or recorded_delivery,
        "kpi": dependency.kpi,
        "blocks": list(dependency.blocks),
    }


def _source_values(source: Source) -> Values:
    return {
        "kind": source.kind,
        "every_seconds": None if source.every is None else source.every.total_seconds(),
        "options": codec.encode_options(source.options, f"source {source.id!r}"),
    }


def _route_values(route: NotifyRoute) -> Values:
    return {
        "url": route.url,
        "units": list(route.units),
        "people": list(route.people),
        "events": list(route.events),
        "digest": route.digest,
        "secret": route.secret,
    }


# ---------------------------------------------------------------------------------------------
# load


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
