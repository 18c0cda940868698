"""Where each cycle stands: upcoming, running, ended or closed; retrospective notes; frozen dates.

A closed cycle's grades stand: :func:`frozen_on` tells whether an evaluation dated ``as_of``
falls in closed cycles only, in which case its rows are not stored again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session

from onpace.domain.model import Model
from onpace.errors import UserError
from onpace.storage.repositories import cycles_repo
from onpace.storage.tables import CycleGradeRow, RetroNoteRow


def closed_cycles(session: Session, org_id: int) -> frozenset[str]:
    """Return the ids of the organisation's closed cycles."""
    return frozenset(row.cycle for row in cycles_repo.close_rows(session, org_id))


def frozen_on(model: Model, closed: Collection[str], as_of: dt.date) -> bool:
    """Tell whether ``as_of`` lies in a closed cycle and in no open one (its verdicts are frozen)."""
    holding = [c for c in model.cycles if c.start <= as_of <= c.end]
    return bool(holding) and all(c.id in closed for c in holding)


@dataclass(frozen=True)
class CycleLine:
    """One line of ``onpace cycle list``."""

    id: str
    start: dt.date
    end: dt.date
    state: str  # upcoming | running | ended | closed
    objectives: int
    closed_by: str | None = None
    closed_at: dt.datetime | None = None
    next_cycle: str | None = None
    grades: dict[str, int] | None = None


def cycle_lines(session: Session, org_id: int, model: Model, today: dt.date) -> list[CycleLine]:
    """Return every cycle of the model with its state and, once closed, its grade counts."""
    closes = {row.cycle: row for row in cycles_repo.close_rows(session, org_id)}
    counts: dict[str, dict[str, int]] = {}
    for grade in cycles_repo.grade_rows(session, org_id):
        per = counts.setdefault(grade.cycle, {})
        per[grade.status] = per.get(grade.status, 0) + 1
    lines = []
    for cycle in sorted(model.cycles, key=lambda c: (c.start, c.id)):
        done = closes.get(cycle.id)
        if done is not None:
            state = "closed"
        elif today < cycle.start:
            state = "upcoming"
        elif today <= cycle.end:
            state = "running"
        else:
            state = "ended"
        lines.append(
            CycleLine(
                cycle.id,
                cycle.start,
                cycle.end,
                state,
                sum(1 for o in model.objectives if o.cycle == cycle.id),
                done.closed_by if done else None,
                done.closed_at if done else None,
                done.next_cycle if done else None,
                counts.get(cycle.id),
            )
        )
    return lines


def grades(session: Session, org_id: int, cycle: str) -> list[CycleGradeRow]:
    """Return the frozen grades of a closed cycle; raise UserError when it is not closed."""
    if cycle not in closed_cycles(session, org_id):
        raise UserError(f"cycle {cycle} is not closed; it has no grades yet")
    return cycles_repo.grade_rows(session, org_id, cycle)


def write_note(
    session: Session, org_id: int, model: Model, subject: str, *, text: str, by: str, now: dt.datetime
) -> RetroNoteRow:
    """Record the owner's retrospective note on a KR or objective (not committed).

    Only the subject's owner writes it. On a closed cycle the note also goes on its grade.
    """
    body = text.strip()
    if not body:
        raise UserError("the note is empty")
    objective = next((o for o in model.objectives if o.id == subject), None)
    owner: str | None
    if objective is not None:
        cycle, owner = objective.cycle, objective.owner
    else:
        found = next(((o, kr) for o in model.objectives for kr in o.key_results if kr.id == subject), None)
        if found is None:
            raise UserError(f"{subject} is not a key result or objective")
        cycle, owner = found[0].cycle, found[1].owner
    if by != owner:
        raise UserError(
            f"{by} does not own {subject}; its owner ({owner or 'nobody'}) writes its retrospective"
        )
    row = RetroNoteRow(org_id=org_id, cycle=cycle, subject=subject, text=body, written_by=by, written_at=now)
    session.add(row)
    for grade in cycles_repo.grade_rows(session, org_id, cycle):
        if grade.subject == subject:
            grade.note, grade.note_by = body, by
    session.flush()
    return row
