"""Bring one organisation's stored model rows in line with a model: add, update, archive, version.

New rows of a collection go to the store in one multi-row INSERT (a 10,000-KPI model is a few
statements, not tens of thousands of ORM objects); changed rows are updated through the ORM,
since a save of an edited model changes few. Every change is recorded in the
:class:`SaveReport` for the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import insert
from sqlalchemy.orm import Session

from onpace.domain.model import Kpi, Model, Plan
from onpace.services.model_values import Values
from onpace.storage import codec
from onpace.storage.repositories import model_repo
from onpace.storage.tables import FeedRow, KpiOwnerRow, PlanVersionRow, PolicyRow


@dataclass
class SaveReport:
    """What ``save_model`` changed, counted per collection (``units``, ``kpis``, ``feeds`` …)."""

    org_id: int
    added: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    archived: Counter[str] = field(default_factory=Counter)
    plan_versions: int = 0
    # Each change with its item and values, for the audit log: see ``change``.
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


def change(
    collection: str,
    item: object,
    what: str,
    before: Mapping[str, object] | None,
    after: Mapping[str, object] | None,
) -> dict[str, object]:
    """Return one audited change: the collection, the item's id, what happened, values before and after."""
    ident = "/".join(str(part) for part in item) if isinstance(item, tuple) else str(item)
    record: dict[str, object] = {"collection": collection, "id": ident, "change": what}
    if before is not None:
        record["before"] = dict(before)
    if after is not None:
        record["after"] = dict(after)
    return record


def insert_rows(session: Session, row_cls: Any, rows: Sequence[Values]) -> None:
    """Insert ``rows`` (dicts keyed by column) in one executemany, bypassing the unit of work."""
    if rows:
        session.execute(insert(row_cls.__table__), list(rows))


class Sync:
    """Upsert-or-archive one collection of rows against the desired values."""

    def __init__(self, session: Session, org_id: int, now: dt.datetime, report: SaveReport) -> None:
        """Sync into organisation ``org_id`` at ``now``, recording the changes in ``report``."""
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
        """Add, update, restore or archive the rows of ``name`` so they hold ``desired``, in order."""
        by_key = {key(row): row for row in existing}
        wanted = set()
        new: list[Values] = []
        for position, (item_key, given) in enumerate(desired):
            wanted.add(item_key)
            values = {**given, "position": position}
            row = by_key.get(item_key)
            if row is None:
                new.append(
                    {
                        "org_id": self.org_id,
                        **key_columns(item_key),
                        **values,
                        "archived_at": None,
                        "created_at": self.now,
                        "updated_at": self.now,
                    }
                )
                self.report.added[name] += 1
                self.report.changes.append(change(name, item_key, "added", None, given))
                continue
            restored = row.archived_at is not None
            if restored or any(getattr(row, column) != value for column, value in values.items()):
                before = {c: getattr(row, c) for c, v in values.items() if getattr(row, c) != v}
                after = {c: values[c] for c in before}
                self.report.changes.append(
                    change(name, item_key, "restored" if restored else "updated", before, after)
                )
                for column, value in values.items():
                    setattr(row, column, value)
                row.archived_at = None
                row.updated_at = self.now
                # An item coming back from the archive is new to the active model.
                (self.report.added if restored else self.report.updated)[name] += 1
        for item_key, row in by_key.items():
            if item_key not in wanted and row.archived_at is None:
                self.report.changes.append(change(name, item_key, "archived", None, None))
                row.archived_at = self.now
                row.updated_at = self.now
                self.report.archived[name] += 1
        # Rows carry no ORM relationships, so the flush order between tables is not derived from
        # foreign keys: write each collection before the next one that may refer to it.
        self.session.flush()
        insert_rows(self.session, row_cls, new)


def sync_owners(
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
    insert_rows(
        session,
        KpiOwnerRow,
        [
            {"org_id": org_id, "kpi_id": kpi.id, "position": i, "person_id": person}
            for kpi in changed
            for i, person in enumerate(kpi.owners)
        ],
    )
    for kpi in changed:
        if kpi.id in known_kpis:  # a new KPI's owners are part of adding it
            report.updated["kpi_owners"] += 1
            before = [row.person_id for row in current.get(kpi.id, [])]
            report.changes.append(
                change("kpi_owners", kpi.id, "updated", {"owners": before}, {"owners": kpi.owners})
            )


def sync_feeds(sync: Sync, existing: Sequence[FeedRow], kpis: Sequence[Kpi]) -> None:
    """Sync the KPI → KR feeds, keyed by the pair."""
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


def sync_policy(
    session: Session,
    org_id: int,
    row: PolicyRow | None,
    model: Model,
    *,
    now: dt.datetime,
    report: SaveReport,
) -> None:
    """Store the model's policy when it differs from the stored one."""
    content = codec.encode_policy(model.policy)
    if row is None:
        session.add(PolicyRow(org_id=org_id, content=content, updated_at=now))
        report.added["policy"] += 1
        report.changes.append(change("policy", "policy", "added", None, {"content": content}))
    elif row.content != content:
        report.changes.append(
            change("policy", "policy", "updated", {"content": row.content}, {"content": content})
        )
        row.content = content
        row.updated_at = now
        report.updated["policy"] += 1


def sync_plans(
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
    new: list[Values] = []
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
        new.append(
            {
                "org_id": org_id,
                "subject": subject,
                "subject_level": level,
                "version": version,
                "effective": effective,
                "plan": document,
                "reason": reason,
                "requested_by": by,
                "approved_by": by,
                "created_at": now,
                "cycle": None,
            }
        )
        report.plan_versions += 1
        report.changes.append(
            change(
                "plans",
                f"{level}:{subject}",
                reason,
                None if previous is None else {"version": previous.version, "plan": previous.plan},
                {"version": version, "plan": document, "effective": effective},
            )
        )
    insert_rows(session, PlanVersionRow, new)
