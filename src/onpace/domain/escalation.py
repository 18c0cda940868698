"""The escalation ladder: who holds a case, and who gets it when a deadline passes unmet.

``policy.escalation`` names the rungs, e.g. ``[owner, unit_head, parent_unit_head]``. A rung is
``owner``, ``unit_head`` (head of the subject's unit), ``parent_unit_head`` (head of that unit's
parent), ``grandparent_unit_head`` or any ``parent_``-prefixed form going further up,
``unit_heads_to_top`` (the head of the subject's unit, then of each unit above it up to the top of
the tree: one rung each), or a person id. The default ladder is ``[owner, unit_heads_to_top]``:
a case climbs to the top of the organisation unless the policy lists its rungs. A rung with nobody on it (a unit without a head) and a rung whose person already holds the
case are skipped (DESIGN.md §4). Each deadline — explain, act, and each corrective action's due
date — escalates once, one rung, when it passes unmet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from onpace.domain.accountability import SubjectInfo
from onpace.domain.calendar import local_day
from onpace.domain.cases import Case, CaseEvent
from onpace.domain.model import Model

UNIT_HEAD = "unit_head"
UNITS_TO_TOP = "unit_heads_to_top"


def _levels_up(prefix: str) -> int | None:
    """Return how many units up a rung prefix climbs ('' 0, 'parent_' 1, 'grandparent_' 2 …)."""
    ups = 0
    rest = prefix
    while rest:
        if rest.startswith("parent_"):
            ups, rest = ups + 1, rest[len("parent_") :]
        elif rest.startswith("grandparent_"):
            ups, rest = ups + 2, rest[len("grandparent_") :]
        elif rest.startswith("great"):
            ups, rest = ups + 1, rest[len("great") :]
            if not rest.startswith("grandparent_"):
                return None
        else:
            return None
    return ups


def rung_person(model: Model, rung: str, owner: str | None, unit: str | None) -> str | None:
    """Return the person standing on ``rung`` for a subject with this owner and unit, or None."""
    if rung == "owner":
        return owner
    if rung.endswith(UNIT_HEAD):
        ups = _levels_up(rung[: -len(UNIT_HEAD)])
        if ups is None:
            return None
        current = model.unit(unit)
        seen: set[str] = set()
        for _ in range(ups):
            if current is None or current.id in seen:
                return None
            seen.add(current.id)
            current = model.unit(current.parent)
        return current.head if current is not None and model.person(current.head) else None
    return rung if model.person(rung) is not None else None


def heads_to_top(model: Model, unit: str | None) -> list[str | None]:
    """Return the head of ``unit`` and of every unit above it, nearest first (None for no head).

    A parent loop in a damaged model stops the climb at the first unit seen twice.
    """
    heads: list[str | None] = []
    current = model.unit(unit)
    seen: set[str] = set()
    while current is not None and current.id not in seen:
        seen.add(current.id)
        heads.append(current.head if model.person(current.head) else None)
        current = model.unit(current.parent)
    return heads


def ladder(model: Model, info: SubjectInfo) -> tuple[str | None, ...]:
    """Return the person on each rung of the policy's ladder for this subject (None where nobody).

    ``unit_heads_to_top`` stands for one rung per unit from the subject's unit to the top.
    """
    people: list[str | None] = []
    for rung in model.policy.escalation:
        if rung == UNITS_TO_TOP:
            people.extend(heads_to_top(model, info.unit))
        else:
            people.append(rung_person(model, rung, info.owner, info.unit))
    return tuple(people)


def first_holder(rungs: Sequence[str | None]) -> tuple[int, str | None]:
    """Return the rung and person who first hold a case: the lowest rung with somebody on it."""
    for index, person in enumerate(rungs):
        if person is not None:
            return index, person
    return 0, None


def next_holder(rungs: Sequence[str | None], rung: int, holder: str | None) -> tuple[int, str] | None:
    """Return the next rung above ``rung`` with a person who does not already hold the case."""
    for index in range(rung + 1, len(rungs)):
        person = rungs[index]
        if person is not None and person != holder:
            return index, person
    return None


def _late(done: dt.datetime | None, due: dt.datetime, now: dt.datetime) -> bool:
    """Return True when a deadline has passed and was not met in time."""
    return now > due and (done is None or done > due)


def missed_deadlines(case: Case, now: dt.datetime, timezone: str = "UTC") -> list[tuple[str, str]]:
    """Return (key, description) of each deadline that has passed unmet and has not escalated yet.

    An action due on a day is late once that day has ended in the org's ``timezone``.
    """
    today = local_day(now, timezone)
    missed: list[tuple[str, str]] = []
    if "explain" not in case.missed and _late(case.explained_at, case.explain_due, now):
        missed.append(("explain", f"no explanation by {case.explain_due.isoformat()}"))
    if "act" not in case.missed and _late(case.acted_at, case.act_due, now):
        missed.append(("act", f"no corrective action committed by {case.act_due.isoformat()}"))
    for action in sorted(case.actions, key=lambda a: (a.due, a.title)):
        if action.key in case.missed:
            continue
        done_day = local_day(action.done_at, timezone) if action.done_at else None
        if today > action.due and (done_day is None or done_day > action.due):
            missed.append(
                (action.key, f"action '{action.title}' ({action.owner}) overdue since {action.due}")
            )
    return missed


def escalate_overdue(
    case: Case, rungs: Sequence[str | None], now: dt.datetime, timezone: str = "UTC"
) -> tuple[Case, list[CaseEvent]]:
    """Climb one rung per deadline that passed unmet; return the updated case and its events.

    A deadline that passes when no rung is left is still recorded as missed (so it is not
    counted again) but raises no event: the case already sits at the top of the ladder.
    """
    if not case.is_open:
        return case, []
    events: list[CaseEvent] = []
    for key, why in missed_deadlines(case, now, timezone):
        step = next_holder(rungs, case.rung, case.holder)
        case = dataclasses.replace(case, missed=(*case.missed, key))
        if step is None:
            continue
        rung, person = step
        previous = case.holder
        participants = case.participants if person in case.participants else (*case.participants, person)
        case = dataclasses.replace(case, rung=rung, holder=person, participants=participants)
        events.append(
            CaseEvent(
                event="case_escalated",
                kind=case.kind,
                subject=case.subject,
                subject_level=case.subject_level,
                at=now,
                owner=case.owner,
                participants=case.participants,
                level=rung,
                family=case.family,
                case_id=case.id,
                detail={"from": previous, "to": person, "deadline": key, "reason": why},
            )
        )
    return case, events
