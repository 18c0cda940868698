"""Owners' check-ins and the mirage test: a reported status better than the data's.

A check-in is an owner's own word on a KR or objective: a status (green/amber/red) and a
confidence 0–10. A **mirage** is the latest check-in on a subject reporting a better status than
the one computed from data — green reported while the data says amber, red or at risk
(DESIGN.md §1, step 5). Its severity is the gap in status scores (green 0, amber or at risk 1,
red 2), so green reported on a red subject is a mirage of severity 2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from onpace.domain.results import SubjectResult

ReportedStatus = Literal["green", "amber", "red"]
REPORTED_STATUSES: tuple[ReportedStatus, ...] = ("green", "amber", "red")
# Status scores of DESIGN.md §4; at risk counts as amber.
SCORE: dict[str, int] = {"green": 0, "amber": 1, "at_risk": 1, "red": 2}


@dataclass(frozen=True)
class CheckIn:
    """One owner's check-in on a KR or objective."""

    subject: str
    date: dt.date
    status: ReportedStatus
    confidence: int
    by: str
    comment: str = ""


@dataclass(frozen=True)
class Mirage:
    """A check-in that reports better than the data: ``severity`` = computed − reported score."""

    subject: str
    reported: str
    computed: str
    severity: int
    checkin: CheckIn


def latest_checkins(
    checkins: Iterable[CheckIn], as_of: dt.date, since: Mapping[str, dt.date] | None = None
) -> dict[str, CheckIn]:
    """Return each subject's latest check-in dated on or before ``as_of``.

    ``since`` gives, per subject, the first date that counts (the start of its cycle): a word
    given in an earlier cycle says nothing about this one. Ties on a date keep the later row.
    """
    latest: dict[str, CheckIn] = {}
    for checkin in checkins:
        if checkin.date > as_of:
            continue
        start = since.get(checkin.subject) if since else None
        if start is not None and checkin.date < start:
            continue
        held = latest.get(checkin.subject)
        if held is None or checkin.date >= held.date:
            latest[checkin.subject] = checkin
    return latest


def mirage_of(checkin: CheckIn, result: SubjectResult | None) -> Mirage | None:
    """Return the mirage this check-in makes against the computed result, or None."""
    if result is None:
        return None
    computed = result.effective_status
    if computed not in SCORE or checkin.status not in SCORE:
        return None
    gap = SCORE[computed] - SCORE[checkin.status]
    if gap <= 0:
        return None
    return Mirage(checkin.subject, checkin.status, computed, gap, checkin)


def find_mirages(
    checkins: Iterable[CheckIn],
    results: Mapping[str, SubjectResult],
    as_of: dt.date,
    since: Mapping[str, dt.date] | None = None,
    valid_for: dt.timedelta | None = None,
) -> dict[str, Mirage]:
    """Return the mirages as of ``as_of``: each subject's latest check-in against today's result.

    A latest check-in ``valid_for`` old or older (``policy.checkin_valid_for``) raises none: a
    three-week-old "green" is not a claim about today, and the owner is not asked to repeat it.
    """
    found: dict[str, Mirage] = {}
    for subject, checkin in sorted(latest_checkins(checkins, as_of, since).items()):
        if valid_for is not None and as_of - checkin.date >= valid_for:
            continue
        mirage = mirage_of(checkin, results.get(subject))
        if mirage is not None:
            found[subject] = mirage
    return found
