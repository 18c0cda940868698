"""Decide manual entries awaiting approval: list them, approve them into force, or reject them.

When the model's policy sets ``approve_manual``, points entered by hand are stored with
``approved=False``: they are kept, shown and audited, but no evaluation reads them. A decision
names an entry (its ingest run) or some of its points:

- **approve**: each point becomes the value in force; the older versions of the same metric,
  date and source are superseded at that moment, as a correction supersedes them. The
  evaluation of the organisation is requested in the same transaction (the loop starts).
- **reject**: each point is superseded at that moment without ever having been in force; the
  value in force before stays in force.

Who decides (four eyes): an editor or admin of the organisation, or the head of the unit of
every KPI or key result the points are for (or of a unit above it) — and never the person who
entered them, whatever their role. Each decision appends one audit row naming its runs, so the
points cache and the worker's snapshot re-read those metrics (:mod:`onpace.services.points_cache`).
Nothing here commits: the caller does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onpace.domain.accountability import SubjectIndex
from onpace.domain.escalation import heads_to_top
from onpace.domain.model import Model
from onpace.errors import UserError
from onpace.services.audit import append_audit
from onpace.services.auth import Principal
from onpace.services.evaluation_requests import enqueue_evaluation
from onpace.services.ingest_store import supersede
from onpace.storage.repositories import points_repo
from onpace.storage.tables import IngestRunRow, PointRow

APPROVED = "actuals.approved"
REJECTED = "actuals.rejected"


class DecisionError(UserError):
    """A decision on manual entries that cannot be made; the message says why."""


class UnknownEntryError(DecisionError):
    """No manual entry or point of the organisation has that number."""


class AlreadyDecidedError(DecisionError):
    """The points named were already approved, rejected or overtaken by a later version."""


class RefusedError(DecisionError):
    """The person may not decide these points (four eyes, or not an approver of their KPIs)."""


@dataclass(frozen=True)
class Decider:
    """Who decides: the name recorded, the model person they are, other names, and their role.

    ``editor`` is true for an editor or admin of the organisation; ``aliases`` are the other
    names the same person may have entered points under (their email).
    """

    name: str
    person: str | None = None
    aliases: frozenset[str] = frozenset()
    editor: bool = False

    def identities(self, model: Model) -> set[str]:
        """Return every name this decider goes by: name, person id, aliases and the person's email."""
        names = {self.name, *self.aliases}
        if self.person is not None:
            names.add(self.person)
        for person in model.people:
            if person.id in names or (person.email is not None and person.email in names):
                names.add(person.id)
                if person.email:
                    names.add(person.email)
        return names


def decider_of(who: Principal) -> Decider:
    """Return the decider a signed-in user (or API token) is: their person, email and role."""
    return Decider(
        who.person_id or who.email,
        person=who.person_id,
        aliases=frozenset({who.email}),
        editor=who.writes and who.role in ("admin", "editor"),
    )


@dataclass(frozen=True)
class PendingPoint:
    """One manual point awaiting approval, with what approving it would change."""

    id: int
    run_id: int | None
    metric: str
    title: str
    date: dt.date
    source: str
    version: int
    in_force: float | None
    proposed: float
    entered_by: str | None
    entered_at: dt.datetime


@dataclass(frozen=True)
class Decision:
    """What one decision did: approved or rejected, which runs and points, by whom, when."""

    action: str
    runs: tuple[int, ...]
    points: tuple[PendingPoint, ...]
    by: str
    at: dt.datetime

    @property
    def approved(self) -> bool:
        """Return whether the points were approved (else rejected)."""
        return self.action == APPROVED


def _describe(session: Session, org_id: int, model: Model, rows: list[PointRow]) -> list[PendingPoint]:
    """Return the rows as pending points, each with the value in force for its key (one query)."""
    in_force: dict[tuple[str, dt.date, str], float] = {}
    if rows:
        found = session.execute(
            select(PointRow.metric, PointRow.date, PointRow.source, PointRow.value).where(
                PointRow.org_id == org_id,
                PointRow.metric.in_(sorted({r.metric for r in rows})),
                PointRow.date >= min(r.date for r in rows),
                PointRow.date <= max(r.date for r in rows),
                PointRow.approved.is_(True),
                PointRow.superseded_at.is_(None),
            )
        ).all()
        in_force = {(m, d, s): v for m, d, s, v in found}
    return [
        PendingPoint(
            id=r.id,
            run_id=r.run_id,
            metric=r.metric,
            title=model.title(r.metric),
            date=r.date,
            source=r.source,
            version=r.version,
            in_force=in_force.get((r.metric, r.date, r.source)),
            proposed=r.value,
            entered_by=r.entered_by,
            entered_at=r.ingested_at,
        )
        for r in rows
    ]


def pending_entries(session: Session, org_id: int, model: Model) -> list[PendingPoint]:
    """Return the manual points awaiting approval, oldest first, with the values they would replace."""
    return _describe(session, org_id, model, points_repo.pending_approval(session, org_id))


def refusal(
    model: Model,
    who: Decider,
    points: Iterable[PendingPoint],
    as_of: dt.date,
    index: SubjectIndex | None = None,
) -> str | None:
    """Return why ``who`` may not decide ``points``, or None when they may (see the module docstring).

    ``index`` (the model's, as of ``as_of``) saves building it again when asking for many entries.
    """
    points = list(points)
    names = who.identities(model)
    own = sorted({p.entered_by for p in points if p.entered_by is not None and p.entered_by in names})
    if own:
        return f"{who.name} entered these points; someone else must approve or reject them (four eyes)"
    if who.editor:
        return None
    person = who.person if who.person is not None else (who.name if model.person(who.name) else None)
    index = index if index is not None else SubjectIndex(model, as_of)
    for point in points:
        info = index.get(point.metric)
        if person is None or person not in heads_to_top(model, info.unit if info else None):
            return (
                f"{who.name} may not decide the points of {point.title}: that is for the head of its "
                "unit (or of a unit above it), an editor or an admin"
            )
    return None


def _select(session: Session, org_id: int, run: int | None, points: Collection[int]) -> list[PointRow]:
    """Return the named points (or every point of ``run``), checking they exist and wait for a decision."""
    stmt = select(PointRow).where(PointRow.org_id == org_id)
    if points:
        stmt = stmt.where(PointRow.id.in_(sorted(set(points))))
    if run is not None:
        stmt = stmt.where(PointRow.run_id == run)
    rows = list(session.scalars(stmt.order_by(PointRow.ingested_at, PointRow.id)))
    missing = sorted(set(points) - {r.id for r in rows})
    if missing:
        where = f" of manual entry {run}" if run is not None else ""
        raise UnknownEntryError(f"there is no point {', '.join(map(str, missing))}{where}")
    if not rows:
        if run is None:
            raise UnknownEntryError("name an entry or points")
        found = session.get(IngestRunRow, run)
        if found is None or found.org_id != org_id:
            raise UnknownEntryError(f"there is no manual entry {run}")
        raise AlreadyDecidedError(f"entry {run} holds no point waiting for approval")
    decided = [r for r in rows if r.approved or r.superseded_at is not None]
    if decided and (points or len(decided) == len(rows)):
        named = ", ".join(str(r.id) for r in decided)
        raise AlreadyDecidedError(
            f"point(s) {named} no longer wait for approval (already approved, rejected or replaced)"
        )
    return [r for r in rows if not r.approved and r.superseded_at is None]


def decide(
    session: Session,
    org_id: int,
    model: Model,
    *,
    approve: bool,
    who: Decider,
    now: dt.datetime,
    run: int | None = None,
    points: Collection[int] = (),
) -> Decision:
    """Approve or reject the pending points of a manual entry (``run``) or the points named.

    Raise :class:`UnknownEntryError`, :class:`AlreadyDecidedError` or :class:`RefusedError` (four eyes,
    or not an approver) and change nothing then.
    """
    rows = _select(session, org_id, run, points)
    described = _describe(session, org_id, model, rows)
    why = refusal(model, who, described, now.date())
    if why is not None:
        raise RefusedError(why)
    ids = [r.id for r in rows]
    session.flush()
    if approve:
        session.execute(
            update(PointRow)
            .where(PointRow.id.in_(ids))
            .values(approved=True, approved_by=who.name, approved_at=now)
            .execution_options(synchronize_session=False)
        )
        keys = pl.DataFrame(
            {
                "metric": [r.metric for r in rows],
                "date": [r.date for r in rows],
                "source": [r.source for r in rows],
                "version": [r.version for r in rows],
            },
            schema={"metric": pl.String, "date": pl.Date, "source": pl.String, "version": pl.Int64},
        )
        supersede(session, org_id, keys, now)
    else:
        session.execute(
            update(PointRow)
            .where(PointRow.id.in_(ids))
            .values(superseded_at=now)
            .execution_options(synchronize_session=False)
        )
    session.expire_all()
    runs = tuple(sorted({r.run_id for r in rows if r.run_id is not None}))
    action = APPROVED if approve else REJECTED
    append_audit(
        session,
        org_id=org_id,
        at=now,
        actor=who.name,
        action=action,
        subject=", ".join(sorted({p.metric for p in described})),
        payload={
            "runs": list(runs),
            "points": [
                {
                    "id": p.id,
                    "metric": p.metric,
                    "date": p.date,
                    "source": p.source,
                    "version": p.version,
                    "value": p.proposed,
                    "in_force": p.in_force,
                    "entered_by": p.entered_by,
                }
                for p in described
            ],
        },
    )
    if approve:
        enqueue_evaluation(session, org_id, now=now)
    return Decision(action=action, runs=runs, points=tuple(described), by=who.name, at=now)
