"""Save an organisation model into the store and load it back, keeping every plan version.

``save_model`` updates the store in place: items are matched by id, changed ones are updated,
new ones added, and items that left the model are archived (never deleted) so history that
refers to them stays readable (:mod:`onpace.services.model_sync`). A plan that differs from
the stored one becomes a new plan version; the old versions stay. ``load_model``
(:mod:`onpace.services.model_read`) rebuilds the frozen :class:`Model` of the active items,
equal to the one saved. Neither commits: the caller's transaction does.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from onpace.domain.model import Model
from onpace.paused_gc import paused_gc
from onpace.services import model_values as values
from onpace.services.audit import append_audit
from onpace.services.cycle_plans_store import sync_cycle_plans
from onpace.services.model_read import load_model, plan_versions
from onpace.services.model_sync import (
    SaveReport,
    Sync,
    sync_feeds,
    sync_owners,
    sync_plans,
    sync_policy,
)
from onpace.storage.errors import StoreError
from onpace.storage.repositories import model_repo
from onpace.storage.tables import (
    CycleRow,
    DependencyRow,
    InitiativeRow,
    KeyResultRow,
    KpiRow,
    NotifyRouteRow,
    ObjectiveRow,
    OrgRow,
    PersonRow,
    SourceRow,
    UnitRow,
)

__all__ = ["ModelStoreError", "SaveReport", "load_model", "plan_versions", "save_model"]


class ModelStoreError(StoreError, ValueError):
    """The model cannot be stored as given (duplicate ids, a link to a missing item …)."""


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
    with paused_gc():
        return _save(session, model, by=by, now=now, org_id=org_id)


def _save(session: Session, model: Model, *, by: str, now: dt.datetime, org_id: int | None) -> SaveReport:
    report = SaveReport(org_id=0)
    org = _upsert_org(session, model, now=now, org_id=org_id, report=report)
    report.org_id = org.id
    rows = model_repo.model_rows(session, org.id, include_archived=True)
    sync = Sync(session, org.id, now, report)

    sync.items("units", UnitRow, rows.units, [(u.id, values.unit_values(u)) for u in model.units])
    sync.items("people", PersonRow, rows.people, [(p.id, values.person_values(p)) for p in model.people])
    sync.items("cycles", CycleRow, rows.cycles, [(c.id, values.cycle_values(c)) for c in model.cycles])
    sync.items(
        "objectives",
        ObjectiveRow,
        rows.objectives,
        [(o.id, values.objective_values(o)) for o in model.objectives],
    )
    sync.items(
        "key_results",
        KeyResultRow,
        rows.key_results,
        [(kr.id, values.kr_values(kr, obj.id)) for obj in model.objectives for kr in obj.key_results],
    )
    sync.items("kpis", KpiRow, rows.kpis, [(k.id, values.kpi_values(k)) for k in model.kpis])
    known_kpis = {row.id for row in rows.kpis}
    sync_owners(session, org.id, rows.kpi_owners, model.kpis, known_kpis=known_kpis, report=report)
    sync_feeds(sync, rows.feeds, model.kpis)
    sync.items(
        "initiatives",
        InitiativeRow,
        rows.initiatives,
        [(i.id, values.initiative_values(i)) for i in model.initiatives],
    )
    previous_delivery = {row.id: row.delivered for row in rows.dependencies}
    sync.items(
        "dependencies",
        DependencyRow,
        rows.dependencies,
        [(d.id, values.dependency_values(d, previous_delivery.get(d.id))) for d in model.dependencies],
    )
    sync.items("sources", SourceRow, rows.sources, [(s.id, values.source_values(s)) for s in model.sources])
    sync.items(
        "notify_routes",
        NotifyRouteRow,
        rows.notify_routes,
        [(r.id, values.route_values(r)) for r in model.notify],
    )
    sync_policy(session, org.id, rows.policy, model, now=now, report=report)
    sync_plans(session, org.id, model, by=by, now=now, report=report)
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
